function decide(me, world)
  me:act("poison", "a")
end
