-- Boltzmann wealth model (Dragulescu & Yakovenko 2000; Mesa's tutorial):
-- an agent with wealth gives one unit to another agent picked at random.
-- With params.single = 1 the agents stay put and the scenario's event does
-- the exchange instead (one random giver per tick).
declare {name = "single", type = "integer", default = 0, min = 0, max = 1,
         doc = "1: the agents wait and the scenario's exchange event trades"}

function decide(me, world)
  if me.params.single == 1 then return end
  if me.wealth > 0 then
    me:act("give", rng.pick(world:others(me)))
  end
end
