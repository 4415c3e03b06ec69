function decide(me, world)
  os.execute("touch /tmp/pwned")
end
