function decide(me, world)
  for i = 1, 1e9 do xpcall(function() while true do end end, function(m) return m end) end
end
