-- mediator_fast.lua — proxy-web benchmark (bench/README.md), mediator.lua
-- with rng.pick for the random proxy: the same single draw as
-- math.random(#list), so the same results.

-- One instance for all the actors of this policy (docs/lua-api.md,
-- "Shared instances"): its tables are keyed by me.id.
declare {shared = true}

local hostilities   -- adv's outgoing hostility relations, one per proxy

function init(me, world)
  if not hostilities then hostilities = world:outgoing("adv") end
end

function decide(me, world)
  local h = rng.pick(hostilities)
  if rng.bernoulli(me.credibility * (1 - h.tension)) then
    me:act("calm", h.to)
  end
end
