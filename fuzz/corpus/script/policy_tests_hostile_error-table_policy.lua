function decide(me, world)
  error({code = 1})
end
