-- state.lua — default policy of a state that is neither mediator, patron nor
-- proxy; params.behaviour picks one of three (docs/model.md, "Default policies").
--
-- "adversary"    fights its `enemies`: each tick it strikes an enemy with
--                probability aggression * tension^escalation of its hostility
--                relation to it (escalation > 1: an escalation ladder with a
--                threshold above which strikes feed on themselves); during a ceasefire it violates with probability
--                violation_rate * (1 + imposed_weight * imposed * (1 - 2^(-held / inducement_half_life)))
--                (the inducements behind an agreement fade: Beardsley 2008).
--                It owns its hostility relations: they lose the share
--                `cooling` of their tension per tick and it keeps their
--                ceasefire age `held`. Every `bargain_every` ticks it
--                negotiates directly with the enemy (the `bargain` action).
--                params: enemies (list); aggression (0.5), escalation (1),
--                cooling (0) and bargain_every (0: never) are numbers or maps
--                enemy -> number; intensity (0.5), violation_rate (0.02),
--                imposed_weight (2), inducement_half_life (26)
-- "great_power"  watches the mediator it is allied with (`mediator`): its
--                tolerance drifts by `drift` per tick (patience wearing thin
--                when negative); below `pressure_below` it presses the
--                mediator every `pressure_every` ticks; it may sanction a
--                `sanction` target every `sanction_every` ticks.
-- "regional"     a state that normalised relations with an adversary: the
--                `ties` of its `normalisation` relations cool as the
--                adversary's highest tension rises (tie_sensitivity, 0.02),
--                and recover slowly when it falls below 0.5 (tie_recovery, 0.005).

declare {name = "behaviour", type = "string", default = "adversary",
         doc = "\"adversary\", \"great_power\" or \"regional\""}
-- adversary
declare {name = "enemies", type = "list", items = "actor", doc = "the actors it fights"}
declare {name = "aggression", type = "any",
         doc = "strike probability at tension 1: a number, or a map enemy -> number (0.5)"}
declare {name = "escalation", type = "any", doc = "exponent of tension: a number, or a map enemy -> number (1)"}
declare {name = "cooling", type = "any",
         doc = "share of tension that fades per tick: a number, or a map enemy -> number (0)"}
declare {name = "intensity", type = "number", default = 0.5, min = 0, max = 1, doc = "intensity of its strikes"}
declare {name = "violation_rate", type = "number", default = 0.02, min = 0, max = 1,
         doc = "violation probability per tick during a ceasefire"}
declare {name = "imposed_weight", type = "number", default = 2, min = 0,
         doc = "how much a fully imposed ceasefire raises that probability once its inducements have faded"}
declare {name = "inducement_half_life", type = "number", default = 26, min = 1,
         doc = "ticks in which half of the inducements behind an agreement fade"}
declare {name = "bargain_every", type = "any",
         doc = "negotiate directly every N ticks: a number, or a map enemy -> number (0: never)"}
-- great_power
declare {name = "mediator", type = "actor", doc = "the mediator it is allied with"}
declare {name = "drift", type = "number", default = 0, doc = "change of its tolerance per tick"}
declare {name = "pressure_below", type = "number", default = -1, doc = "tolerance under which it presses the mediator"}
declare {name = "pressure_every", type = "integer", default = 4, min = 0, doc = "press every N ticks; 0 = never"}
declare {name = "pressure_intensity", type = "number", default = 1, min = 0, max = 1, doc = "intensity of the pressure"}
declare {name = "sanction", type = "actor", doc = "the actor it may sanction"}
declare {name = "sanction_every", type = "integer", default = 0, min = 0, doc = "sanction every N ticks; 0 = never"}
declare {name = "sanction_intensity", type = "number", default = 1, min = 0, max = 1, doc = "intensity of a sanction"}
-- regional
declare {name = "tie_sensitivity", type = "number", default = 0.02, min = 0,
         doc = "ties lost per tick per unit of the adversary's highest tension"}
declare {name = "tie_recovery", type = "number", default = 0.005, min = 0,
         doc = "ties regained per tick while that tension is below 0.5"}

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

-- A parameter that is either one number or a map enemy -> number.
local function per_enemy(me, key, enemy, default)
  local v = param(me, key, default)
  if type(v) == "table" then return v[enemy] or default end
  return v
end

local behaviours = {}

function behaviours.adversary(me, world)
  local enemies = me.params.enemies or {}
  for i = 1, #enemies do
    local enemy = enemies[i]
    local r = world:rel(me.id, enemy)
    local cooling = per_enemy(me, "cooling", enemy, 0)
    if r then
      local tension = get(world, r, "tension", 0)
      if cooling ~= 0 then r.tension = tension * (1 - cooling) end
      local holds = get(world, r, "ceasefire", 0) >= 1
      if holds and get(world, r, "held", nil) then r.held = r.held + 1 end
      local p
      if holds then
        local faded = get(world, r, "imposed", 0)
        local age = get(world, r, "held", nil)
        if age ~= nil then    -- without `held` the inducements count as faded
          faded = faded * (1 - 0.5 ^ (age / param(me, "inducement_half_life", 26)))
        end
        p = param(me, "violation_rate", 0.02) * (1 + param(me, "imposed_weight", 2) * faded)
      else
        p = per_enemy(me, "aggression", enemy, 0.5) *
            tension ^ per_enemy(me, "escalation", enemy, 1)
      end
      if rng.bernoulli(math.min(1, math.max(0, p))) then
        me:act("attack", enemy, {intensity = param(me, "intensity", 0.5)})
      end
      local every = per_enemy(me, "bargain_every", enemy, 0)
      if every > 0 and world.tick % every == 0 then me:act("bargain", enemy) end
    end
  end
end

function behaviours.great_power(me, world)
  local m = me.params.mediator
  local r = m and world:rel(me.id, m)
  if r and get(world, r, "tolerance", nil) then
    local drift = param(me, "drift", 0)
    if drift ~= 0 then r.tolerance = r.tolerance + drift end
    local every = param(me, "pressure_every", 4)
    if r.tolerance < param(me, "pressure_below", -1) and every > 0
       and world.tick % every == 0 then
      me:act("pressure", m, {intensity = param(me, "pressure_intensity", 1)})
    end
  end
  local target = me.params.sanction
  local every = param(me, "sanction_every", 0)
  if target and every > 0 and world.tick % every == 0 then
    me:act("sanction", target, {intensity = param(me, "sanction_intensity", 1)})
  end
end

function behaviours.regional(me, world)
  for _, r in ipairs(world:outgoing(me.id)) do
    if r.kind == "normalisation" and get(world, r, "ties", nil) then
      local hottest = 0
      for _, h in ipairs(world:outgoing(r.to)) do
        hottest = math.max(hottest, get(world, h, "tension", 0))
      end
      if hottest > 0.5 then
        r.ties = r.ties - param(me, "tie_sensitivity", 0.02) * hottest
      else
        r.ties = r.ties + param(me, "tie_recovery", 0.005)
      end
    end
  end
end

function decide(me, world)
  local b = behaviours[me.params.behaviour or "adversary"]
  if not b then
    error("state.lua: unknown behaviour '" .. tostring(me.params.behaviour) ..
          "' (adversary, great_power or regional)")
  end
  b(me, world)
end
