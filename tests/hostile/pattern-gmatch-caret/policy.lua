function decide(me, world)
  for m in string.gmatch(string.rep("^", 3000), "^.-.-x") do end
end
