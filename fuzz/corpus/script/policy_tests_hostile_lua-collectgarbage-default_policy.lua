function decide(me, world)
  collectgarbage()
end
