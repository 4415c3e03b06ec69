function decide(me, world)
  local t = {}
  for i = 1, 100000 do t["k" .. i] = i end
  local k = next(t)
  while k ~= nil do k = next(t, k) end
end
