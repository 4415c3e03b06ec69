-- calm.lua — proxy-web benchmark action: a mediator calms the adversary's
-- hostility towards proxy `target` by 0.1 (at least 0).

function apply(world, actor, target, args)
  local h = world:rel("adv", target.id)
  h.tension = math.max(0, h.tension - 0.1)
end
