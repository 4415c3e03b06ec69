-- proxy_fast.lua — proxy-web benchmark (bench/README.md), proxy.lua with
-- its loop in C: world:sum adds up the support of the patronage relations
-- into me (docs/lua-api.md, "Loops in C"). Same draws, same results.

-- One instance for all the actors of this policy (docs/lua-api.md,
-- "Shared instances"): its tables are keyed by me.id.
declare {shared = true}

-- Per actor: the hostility relation adv -> me and the patronage relations
-- into me (both lists are fixed for a run).
local links = {}

function init(me, world)
  local hostility, patronage = nil, {}
  for _, r in ipairs(world:incoming(me.id)) do
    if r.kind == "hostility" then hostility = r
    elseif r.kind == "patronage" then patronage[#patronage + 1] = r end
  end
  links[me.id] = {hostility = hostility, patronage = patronage}
end

local attack = {intensity = 0.1}

function decide(me, world)
  local mine = links[me.id]
  if rng.bernoulli(me.hardline * mine.hostility.tension) then
    me:act("attack_adv", "adv", attack)
  else
    local received = world:sum(mine.patronage, "support")
    me.capability = math.min(1, me.capability + 0.02 * received)
  end
end
