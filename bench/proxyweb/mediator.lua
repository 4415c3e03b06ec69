-- mediator.lua — proxy-web benchmark (bench/README.md): a mediator picks a
-- proxy uniformly and calms the adversary's hostility towards it with
-- probability credibility * (1 - tension).

local hostilities   -- adv's outgoing hostility relations, one per proxy

function init(me, world)
  if not hostilities then hostilities = world:outgoing("adv") end
end

function decide(me, world)
  local h = hostilities[math.random(#hostilities)]
  if rng.bernoulli(me.credibility * (1 - h.tension)) then
    me:act("calm", h.to)
  end
end
