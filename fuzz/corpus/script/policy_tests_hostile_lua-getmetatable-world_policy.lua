function decide(me, world)
  local mt = getmetatable(world)
  mt.__index = nil
end
