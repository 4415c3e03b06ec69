function decide(me, world)
  rng.binomial(10, -0.1)
end
