function decide(me, world)
  local t = {}
  for i = 1, 2000 do t[i] = ("x"):rep(4096) end
  local all = {}
  for j = 1, 1e9 do all[j] = table.concat(t) end
end
