function decide(me, world)
  local s = string.rep("x", 2^20, string.rep("y", 2^20))
end
