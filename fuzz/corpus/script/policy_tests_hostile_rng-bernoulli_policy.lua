function decide(me, world)
  rng.bernoulli(1.5)
end
