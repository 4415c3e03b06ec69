function decide(me, world)
  local s = string.rep("a", 100000000)
  for i = 1, 1000 do utf8.len(s) end
end
