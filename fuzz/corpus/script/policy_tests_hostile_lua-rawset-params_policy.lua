function decide(me, world)
  rawset(me.params, "k", 2)
end
