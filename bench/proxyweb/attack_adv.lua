-- attack_adv.lua — proxy-web benchmark action: proxy `actor` strikes the
-- adversary `target`. The adversary loses 0.001 * intensity capability, its
-- hostility towards the attacker rises by 0.05 (at most 1), and the attacker
-- spends 0.01 capability (at least 0).

function apply(world, actor, target, args)
  target.capability = target.capability - 0.001 * args.intensity
  local h = world:rel(target.id, actor.id)
  h.tension = math.min(1, h.tension + 0.05)
  actor.capability = math.max(0, actor.capability - 0.01)
end
