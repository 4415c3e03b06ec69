function decide(me, world)
  local n = 0
  repeat local ok = pcall(function() while true do end end); n = n + 1 until n > 1e9
end
