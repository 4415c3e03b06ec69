-- 100,000 actions a tick, each logged with --events: the run's event log
-- lives outside the Lua heap (a 195 MB events.csv under memory_mb: 16)
function decide(me, world)
  for i = 1, 100000 do me:act("poke") end
end
