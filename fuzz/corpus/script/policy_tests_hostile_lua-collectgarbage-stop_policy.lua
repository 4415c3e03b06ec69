function decide(me, world)
  collectgarbage("stop")
end
