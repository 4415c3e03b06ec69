function decide(me, world)
  local io2 = load("return io")()
  io2.open("/etc/passwd")
end
