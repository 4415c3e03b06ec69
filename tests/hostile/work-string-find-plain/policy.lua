function decide(me, world)
  local s = string.rep("a", 20000000)
  for i = 1, 1000000 do string.find(s, "b", 1, true) end
end
