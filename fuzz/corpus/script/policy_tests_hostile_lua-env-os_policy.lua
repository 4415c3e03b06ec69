function decide(me, world)
  local e = _ENV
  e.os.exit(0)
end
