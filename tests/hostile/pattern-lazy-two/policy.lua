function decide(me, world)
  return string.find(("a"):rep(1e5), ".-.-b")
end
