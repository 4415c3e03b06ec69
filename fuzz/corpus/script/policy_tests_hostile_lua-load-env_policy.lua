function decide(me, world)
  local f = load("return os.exit(1)", "probe", "t", {})
  f()
end
