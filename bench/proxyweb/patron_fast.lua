-- patron_fast.lua — proxy-web benchmark (bench/README.md), patron.lua with
-- its loop in C: world:nudge moves each sponsored proxy's support by
-- 0.05 * (0.5 - the proxy's capability) plus a normal draw of sd 0.01,
-- clamps it to [0, 1], buffers the write and returns the sum of the new
-- supports (docs/lua-api.md, "Loops in C"). Same draws, same results.

-- One instance for all the actors of this policy (docs/lua-api.md,
-- "Shared instances"): its tables are keyed by me.id.
declare {shared = true}

-- Per actor: its outgoing patronage relations (fixed for a run).
local sponsored = {}
local steer = {toward = "capability", goal = 0.5, gain = 0.05, sd = 0.01, min = 0, max = 1}

function init(me, world)
  local rels = {}
  for _, r in ipairs(world:outgoing(me.id)) do
    if r.kind == "patronage" then rels[#rels + 1] = r end
  end
  sponsored[me.id] = rels
end

function decide(me, world)
  local total = world:nudge(sponsored[me.id], "support", steer)
  me.resources = me.resources + 0.02 - 0.01 * total
end
