function decide(me, world)
  me:act("spin", "a")
end
