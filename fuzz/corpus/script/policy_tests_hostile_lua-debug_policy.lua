function decide(me, world)
  debug.sethook()
end
