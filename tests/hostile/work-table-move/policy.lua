function decide(me, world)
  table.move({}, 1, 1e12, 1, {})
end
