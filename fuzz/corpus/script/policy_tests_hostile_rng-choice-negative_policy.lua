function decide(me, world)
  rng.choice({1, -1})
end
