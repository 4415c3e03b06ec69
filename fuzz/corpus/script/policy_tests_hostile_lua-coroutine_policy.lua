function decide(me, world)
  local co = coroutine.wrap(function() while true do end end)
  co()
end
