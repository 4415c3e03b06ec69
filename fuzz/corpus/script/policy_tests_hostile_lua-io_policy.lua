function decide(me, world)
  io.open("/etc/passwd")
end
