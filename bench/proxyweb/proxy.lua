-- proxy.lua — proxy-web benchmark (bench/README.md): a proxy attacks the
-- adversary with probability hardline * tension, and otherwise builds
-- capability from the support its patrons give it.

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
    local received = 0
    local patronage = mine.patronage
    for k = 1, #patronage do received = received + patronage[k].support end
    me.capability = math.min(1, me.capability + 0.02 * received)
  end
end
