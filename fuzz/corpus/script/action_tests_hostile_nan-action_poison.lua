function apply(world, actor, target, args)
  target.x = 0/0
end
