function decide(me, world)
  return string.find(string.rep("a", 14000), "(.-)%1x")
end
