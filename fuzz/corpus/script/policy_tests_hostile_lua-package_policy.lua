function decide(me, world)
  package.loadlib("libc.so.6", "system")
end
