-- probe.lua — not part of the model: with `gen_proxyweb.py --probe`, one
-- extra actor (the last in file order) prints the size of its worker's Lua
-- heap when its top level runs — after every other policy's top level, so
-- it holds the views, environments and script instances, not yet the
-- policies' own data — and again at tick 1, after every init and decide.
-- bench/run.sh derives the heap per actor and relation from two sizes.

print(string.format("heap_kb_loaded=%.3f", collectgarbage("count")))

function decide(me, world)
  if world.tick == 1 then print(string.format("heap_kb_tick1=%.3f", collectgarbage("count"))) end
end
