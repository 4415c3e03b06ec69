function decide(me, world)
  _G.io.open("/etc/passwd")
end
