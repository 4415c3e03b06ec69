function decide(me, world)
  xpcall(function() error("x") end, function(m) while true do end end)
end
