function decide(me, world)
  return (("a"):rep(1e5)):gsub("a*a*a*a*b", "")
end
