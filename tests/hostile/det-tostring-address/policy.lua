-- tostring and %p exposed heap addresses, different in every process
function decide(me, world)
  local a, f = {}, function() end
  local s = tostring(a) .. tostring(f) .. string.format("%p|%s|%p", a, f, print) ..
            tostring(world) .. tostring(print)
  print(s)
  local h = 0
  for i = 1, #s do h = (h * 31 + s:byte(i)) % 1000000007 end
  me.x = h
end
