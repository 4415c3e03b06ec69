function decide(me, world)
  return string.find(("a"):rep(2^20), ".-b")
end
