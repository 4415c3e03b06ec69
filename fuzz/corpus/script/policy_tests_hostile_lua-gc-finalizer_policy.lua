function decide(me, world)
  setmetatable({}, {__gc = function() while true do end end})
end
