-- mediator.lua — default policy of a mediator (docs/model.md, "Default policies").
--
-- A mediator convenes talks between the parties of a conflict every few ticks,
-- and manages the office it gives an armed group (a `hosting` relation) under
-- the eye of the great power it is allied with (an `alliance` relation whose
-- `tolerance` measures the power's patience with that office).
--
-- params (all optional except `parties`):
--   parties       {A, B}: the two sides it mediates between (actor ids)
--   talks_every   convene talks every N ticks; 0 = never (a passive mediator)
--   start         first tick at which it convenes talks (default 1)
--   consolidate   1 = keep convening while a ceasefire holds (default 1)
--   expel_below   close a hosted office when a patron power's tolerance falls
--                 below this (default -1: never)
--   expel_prob    probability per tick of acting on expel_below (default 0.25)
--   rehost_above  reopen a closed office when every tolerance is above this
--                 (default 2: never)
-- Copy this file next to your scenario and edit it to script another mediator.

declare {name = "parties", type = "list", items = "actor", doc = "the two sides it mediates between"}
declare {name = "talks_every", type = "integer", default = 4, min = 0,
         doc = "convene talks every N ticks; 0 = never (a passive mediator)"}
declare {name = "start", type = "integer", default = 1, min = 0, doc = "first tick at which it convenes talks"}
declare {name = "consolidate", type = "integer", default = 1, min = 0, max = 1,
         doc = "1 = keep convening while a ceasefire holds"}
declare {name = "expel_below", type = "number", default = -1,
         doc = "close a hosted office when a patron power's tolerance falls below this"}
declare {name = "expel_prob", type = "number", default = 0.25, min = 0, max = 1,
         doc = "probability per tick of acting on expel_below"}
declare {name = "rehost_above", type = "number", default = 2,
         doc = "reopen a closed office when every tolerance is above this"}

local function param(me, key, default)
  local v = me.params[key]
  if v == nil then return default end
  return v
end

-- The tolerance each allied power has for me (incoming `alliance` relations
-- that declare `tolerance`): returns the lowest, or nil when none.
local function lowest_tolerance(me, world)
  local low
  for _, r in ipairs(world:incoming(me.id)) do
    if r.kind == "alliance" then
      if world:has(r, "tolerance") and (low == nil or r.tolerance < low) then low = r.tolerance end
    end
  end
  return low
end

-- Does a ceasefire hold between a and b (either direction)?
local function ceasefire_holds(world, a, b)
  for _, pair in ipairs({{a, b}, {b, a}}) do
    local r = world:rel(pair[1], pair[2])
    if r then
      if world:has(r, "ceasefire") and r.ceasefire >= 1 then return true end
    end
  end
  return false
end

function decide(me, world)
  local t = world.tick
  local parties = me.params.parties
  local every = param(me, "talks_every", 4)
  -- 1. Talks: every `talks_every` ticks from `start`.
  if parties and every > 0 and t >= param(me, "start", 1) and t % every == 0 then
    local a, b = parties[1], parties[2]
    if not ceasefire_holds(world, a, b) or param(me, "consolidate", 1) == 1 then
      me:act("talks", a, {with = b})
    end
  end
  -- 2. The office: expel under pressure, reopen when patience returns.
  local tol = lowest_tolerance(me, world)
  if tol == nil then return end
  for _, r in ipairs(world:outgoing(me.id)) do
    if r.kind == "hosting" then
      if r.active >= 0.5 and tol < param(me, "expel_below", -1)
         and rng.bernoulli(param(me, "expel_prob", 0.25)) then
        me:act("expel", r.to)
      elseif r.active < 0.5 and tol > param(me, "rehost_above", 2) then
        me:act("host", r.to)
      end
    end
  end
end
