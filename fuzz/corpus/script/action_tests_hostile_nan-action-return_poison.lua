function apply(world, actor, target, args)
  return 0/0
end
