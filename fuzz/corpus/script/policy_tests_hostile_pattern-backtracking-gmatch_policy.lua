function decide(me, world)
  for w in ("a"):rep(1e5):gmatch("%s*.-%s*.-%s*b") do end
end
