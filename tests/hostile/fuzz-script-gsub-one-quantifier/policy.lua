function decide(me, world)
  return (("a"):rep(1e5)):gsub("a*b", "")
end
