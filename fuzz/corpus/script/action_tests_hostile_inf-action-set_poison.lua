function apply(world, actor, target, args)
  world:set('a.x', -math.huge)
end
