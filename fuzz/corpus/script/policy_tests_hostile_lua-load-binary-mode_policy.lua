function decide(me, world)
  load("return 1", "c", "b")
end
