function decide(me, world)
  local i = 0
  while true do i = i + 1 end
end
