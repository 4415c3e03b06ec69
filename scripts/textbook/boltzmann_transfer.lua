-- Action `give`: one unit of wealth from actor to target, never overdrawing
-- (world:transfer moves what the giver's lower bound allows: 1 or 0).
function apply(world, actor, target)
  return world:transfer(actor, target, "wealth", 1)
end
