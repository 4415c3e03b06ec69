-- pairs over table, function and mixed keys: tables came in address order
function decide(me, world)
  local t = {}
  local made = {}
  for i = 1, 30 do
    local k = (i % 3 == 0) and function() end or {}
    made[i] = k
    t[k] = i
  end
  t[world] = 99
  t[print] = 98
  t[math.floor] = 97
  local h, first = 0, nil
  for k, v in pairs(t) do
    first = first or v
    h = (h * 31 + v) % 1000000007
  end
  me.x = h
  me.y = first
end
