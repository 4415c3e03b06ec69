function decide(me, world)
  setmetatable(me, {__index = function() return 1 end})
end
