-- 1.5 million queued actions in one tick: the queue lives outside the Lua
-- heap, and reached 678 MB under memory_mb: 16
function decide(me, world)
  for i = 1, 1500000 do me:act("poke") end
end
