function decide(me, world)
  local t = setmetatable({}, {})
  getmetatable(t).__tostring = function(s) return tostring(s) end
  print(t)
end
