function decide(me, world)
  require("os")
end
