function decide(me, world)
  local t = {}
  for i = 1, 300000 do t[i * 2] = i end
  for _ = 1, 1000 do for k in pairs(t) do break end end
end
