function decide(me, world)
  return string.match(("a"):rep(1e4), "(.-)(.-)(.-)(.-)(.-)b")
end
