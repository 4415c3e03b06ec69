function decide(me, world)
  for i = 1, 1e9 do pcall(function() local s = "x" while true do s = s .. s end end) end
end
