function decide(me, world)
  setmetatable({}, setmetatable({}, {__index = {__gc = function() while true do end end}}))
end
