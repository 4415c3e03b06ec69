-- proxy.lua — default policy of a proxy, an armed group with a patron
-- (docs/model.md, "Default policies").
--
-- The group fights its adversary, more often the more hardline it is. How
-- hardline it acts is its own `hardline` blended with its patron's `line`
-- by its `autonomy` (principal-agent: the less autonomous the agent, the more
-- its principal's preferences show). While a ceasefire holds it may violate
-- it, more readily as the inducements behind an agreement reached by leverage
-- fade (Beardsley 2008; the `imposed` and `held` relation attributes). It may
-- also negotiate directly with its adversary (the built-in `bargain` action).
--
-- params (all optional except `adversary`):
--   adversary       the actor it fights
--   attack_rate     attack probability per tick at effective hardline 1 (default 0.3)
--   violation_rate  violation probability per tick during a ceasefire at
--                   effective hardline 1 and nothing imposed (default 0.03)
--   imposed_weight  how much a fully imposed ceasefire raises that probability
--                   once its inducements have faded (default 2; an assumption)
--   inducement_half_life  ticks in which half of the inducements behind an
--                   agreement fade (default 26; an assumption)
--   bargain_every   negotiate directly with the adversary every N ticks
--                   (default 0: never; set it on one side of a conflict only)
--   intensity       intensity of its attacks, 0..1 (default 0.5)
--   cooling         share of the tension of its own hostility relation that fades
--                   per tick (default 0)

declare {name = "adversary", type = "actor", doc = "the actor it fights"}
declare {name = "attack_rate", type = "number", default = 0.3, min = 0, max = 1,
         doc = "attack probability per tick at effective hardline 1"}
declare {name = "violation_rate", type = "number", default = 0.03, min = 0, max = 1,
         doc = "violation probability per tick during a ceasefire at hardline 1, nothing imposed"}
declare {name = "imposed_weight", type = "number", default = 2, min = 0,
         doc = "how much a fully imposed ceasefire raises that probability once its inducements have faded"}
declare {name = "inducement_half_life", type = "number", default = 26, min = 1,
         doc = "ticks in which half of the inducements behind an agreement fade"}
declare {name = "bargain_every", type = "integer", default = 0, min = 0,
         doc = "negotiate directly with the adversary every N ticks; 0 = never"}
declare {name = "intensity", type = "number", default = 0.5, min = 0, max = 1, doc = "intensity of its attacks"}
declare {name = "cooling", type = "number", default = 0, min = 0, max = 1,
         doc = "share of the tension of its hostility relation that fades per tick"}

local function param(me, key, default)
  local v = me.params[key]
  if v == nil then return default end
  return v
end

-- An attribute the scenario may or may not declare, with a default.
local function get(world, view, name, default)
  if world:has(view, name) then return view[name] end
  return default
end

-- The hardline that shows in what the group does (see header).
local function effective_hardline(me, world)
  local own = get(world, me, "hardline", 0.5)
  local autonomy = get(world, me, "autonomy", 1)
  for _, r in ipairs(world:incoming(me.id)) do
    if r.kind == "patronage" then
      local line = world:actor(r.from).params.line
      if line then return autonomy * own + (1 - autonomy) * line end
    end
  end
  return own
end

-- The share of an agreement owed to inducements that have faded by now:
-- imposed * (1 - 2^(-age / inducement_half_life)) (docs/model.md, talks).
-- Without a `held` attribute the age is unknown and the inducements count as
-- faded.
local function faded_leverage(me, world, r)
  local imposed = get(world, r, "imposed", 0)
  local age = get(world, r, "held", nil)
  if age == nil then return imposed end
  return imposed * (1 - 0.5 ^ (age / param(me, "inducement_half_life", 26)))
end

function decide(me, world)
  local enemy = me.params.adversary
  local r = enemy and world:rel(me.id, enemy)
  if not r then return end
  -- Own bookkeeping of the relation it owns: cooling and ceasefire age.
  local cooling = param(me, "cooling", 0)
  if cooling ~= 0 then r.tension = r.tension * (1 - cooling) end
  local holds = get(world, r, "ceasefire", 0) >= 1
  if holds and get(world, r, "held", nil) then r.held = r.held + 1 end

  local h = effective_hardline(me, world)
  local p
  if holds then
    p = param(me, "violation_rate", 0.03) * h *
        (1 + param(me, "imposed_weight", 2) * faded_leverage(me, world, r))
  else
    p = param(me, "attack_rate", 0.3) * h
  end
  if rng.bernoulli(math.min(1, p)) then
    me:act("attack", enemy, {intensity = param(me, "intensity", 0.5)})
  end
  local every = param(me, "bargain_every", 0)
  if every > 0 and world.tick % every == 0 then me:act("bargain", enemy) end
end
