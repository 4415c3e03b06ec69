-- patron.lua — default policy of a patron (docs/model.md, "Default policies").
--
-- A patron funds or arms each proxy it has a `patronage` relation to (the
-- `support` attribute of that relation sets the flow; the built-in `support`
-- action moves it and updates the proxy's autonomy), collects an income, and,
-- if its params say so, strikes the proxy's adversary directly when the proxy
-- is losing: the escalation path from proxy war to regional war.
--
-- params (all optional):
--   every         support every N ticks (default 1)
--   kind          "military" (default) or "economic" aid
--   amount        multiplier of the flow (default 1)
--   income        resources the patron gains per tick (default 0)
--   line          how belligerent the patron wants its proxies, 0..1: read by
--                 proxy.lua (default: the proxy's own hardline)
--   adversary     id of the actor it may strike directly
--   rescue_below  a proxy capability under which the patron considers a strike
--   escalate      probability per tick of that strike (default 0)
--   intensity     intensity of the strike, 0..1 (default 0.5)
--   retaliate     strike the adversary with probability
--                 retaliate * tension^escalation of its hostility relation to
--                 it, each tick (default 0)
--   escalation    exponent of that tension (default 1)
--   cooling       share of the tension of its own hostility relations that
--                 fades per tick (default 0)

declare {name = "every", type = "integer", default = 1, min = 0, doc = "support every N ticks; 0 = never"}
declare {name = "kind", type = "string", default = "military", doc = "\"military\" or \"economic\" aid"}
declare {name = "amount", type = "number", default = 1, min = 0, doc = "multiplier of the flow"}
declare {name = "income", type = "number", default = 0, doc = "resources the patron gains per tick"}
declare {name = "line", type = "number", min = 0, max = 1,
         doc = "how belligerent it wants its proxies (read by proxy.lua)"}
declare {name = "adversary", type = "actor", doc = "the actor it may strike directly"}
declare {name = "rescue_below", type = "number", default = -1,
         doc = "a proxy capability under which it considers a strike"}
declare {name = "escalate", type = "number", default = 0, min = 0, max = 1,
         doc = "probability per tick of that strike"}
declare {name = "intensity", type = "number", default = 0.5, min = 0, max = 1, doc = "intensity of a strike"}
declare {name = "retaliate", type = "number", default = 0, min = 0, max = 1,
         doc = "strike probability per tick at tension 1 of its hostility to the adversary"}
declare {name = "escalation", type = "number", default = 1, min = 0, doc = "exponent of that tension"}
declare {name = "cooling", type = "number", default = 0, min = 0, max = 1,
         doc = "share of the tension of its hostility relations that fades per tick"}

local function param(me, key, default)
  local v = me.params[key]
  if v == nil then return default end
  return v
end

function decide(me, world)
  local income = param(me, "income", 0)
  if income ~= 0 and world:has(me, "resources") then
    me.resources = me.resources + income
  end
  local cooling = param(me, "cooling", 0)
  local every = param(me, "every", 1)
  local losing = false
  for _, r in ipairs(world:outgoing(me.id)) do
    if r.kind == "patronage" then
      if every > 0 and world.tick % every == 0 then
        me:act("support", r.to, {kind = param(me, "kind", "military"),
                                 amount = param(me, "amount", 1)})
      end
      local proxy = world:actor(r.to)
      if world:has(proxy, "capability") and proxy.capability < param(me, "rescue_below", -1) then
        losing = true
      end
    elseif r.kind == "hostility" and cooling ~= 0 and world:has(r, "tension") then
      r.tension = r.tension * (1 - cooling)
    end
  end
  local adversary = me.params.adversary
  if not adversary then return end
  local p = losing and param(me, "escalate", 0) or 0
  local h = world:rel(me.id, adversary)
  if h and world:has(h, "tension") then
    p = p + (1 - p) * param(me, "retaliate", 0) * h.tension ^ param(me, "escalation", 1)
  end
  if rng.bernoulli(math.min(1, p)) then
    me:act("attack", adversary, {intensity = param(me, "intensity", 0.5)})
  end
end
