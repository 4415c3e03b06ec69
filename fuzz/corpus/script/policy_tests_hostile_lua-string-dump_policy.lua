function decide(me, world)
  return string.dump(decide)
end
