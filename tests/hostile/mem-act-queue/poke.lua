function apply(world, actor, target, args) end
