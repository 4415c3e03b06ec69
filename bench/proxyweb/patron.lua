-- patron.lua — proxy-web benchmark (bench/README.md): a patron nudges the
-- support of each proxy it sponsors towards keeping that proxy at capability
-- 0.5, then pays for the new supports out of its resources.
-- Reads see the start of the tick; writes to me and to my own patronage
-- relations are buffered by the engine (docs/lua-api.md, "The tick").

-- Per actor: its outgoing patronage relations and their proxies' views.
-- One script may serve many patrons, so the cache is keyed by actor id.
local sponsored = {}

function init(me, world)
  local rels, proxies = {}, {}
  for _, r in ipairs(world:outgoing(me.id)) do
    if r.kind == "patronage" then
      rels[#rels + 1] = r
      proxies[#proxies + 1] = world:actor(r.to)
    end
  end
  sponsored[me.id] = {rels = rels, proxies = proxies}
end

function decide(me, world)
  local mine = sponsored[me.id]
  local rels, proxies = mine.rels, mine.proxies
  local total = 0
  for k = 1, #rels do
    local r = rels[k]
    local support = r.support + 0.05 * (0.5 - proxies[k].capability) + rng.normal(0, 0.01)
    if support < 0 then support = 0 elseif support > 1 then support = 1 end
    r.support = support
    total = total + support
  end
  me.resources = me.resources + 0.02 - 0.01 * total
end
