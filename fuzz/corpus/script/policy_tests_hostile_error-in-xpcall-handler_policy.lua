function decide(me, world)
  local ok, m = xpcall(function() error("first") end, function(m) error("second") end)
  error("after handler: " .. tostring(ok))
end
