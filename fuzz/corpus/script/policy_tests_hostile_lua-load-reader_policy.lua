function decide(me, world)
  local done = false
  load(function() if done then return nil end done = true return "\27Lua" end)
end
