function decide(me, world)
  local s = string.rep("x", 2^40)
end
