function apply(world, actor, target, args)
  while true do end
end
