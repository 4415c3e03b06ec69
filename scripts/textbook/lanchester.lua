-- lanchester.lua — Lanchester's square law of aimed fire, one explicit
-- Euler step per tick:
--   dx/dt = -beta * y,   dy/dt = -alpha * x
-- Each side's losses are the enemy's strength times the enemy's lethality.
-- params:
--   enemy      id of the opposing force
--   dt         time step per tick
-- The side's own lethality (alpha for x, beta for y) lives in its params as
-- `lethality`; the enemy's is read through the enemy's view.
-- Strength is a bounded attribute with min 0, so the engine clamps an
-- overshoot on the final step to zero (docs/scenario-format.md).

declare {name = "enemy", type = "actor", doc = "the opposing force"}
declare {name = "dt", type = "number", min = 0, doc = "time step per tick"}
declare {name = "lethality", type = "number", min = 0, doc = "this side's lethality (alpha or beta)"}

function decide(me, world)
  local enemy = world:actor(me.params.enemy)
  me.strength = me.strength - me.params.dt * enemy.params.lethality * enemy.strength
end
