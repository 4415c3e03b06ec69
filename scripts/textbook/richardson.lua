-- richardson.lua — Richardson's (1960) arms race, one explicit Euler step
-- of dx/dt = a*y - m*x + r per tick (the exact discrete recurrence).
--
-- Each side runs this policy with its own params:
--   rival      id of the other side (whose `spending` it reacts to)
--   reaction   a (or b): how strongly it answers the rival's spending
--   fatigue    m (or n): how much its own spending holds it back
--   grievance  r (or s): spending it keeps up whatever the rival does
--   dt         time step per tick, the same for both sides
--   noise      optional sd of a normal shock per unit time (default 0):
--              0 keeps the run deterministic and equal to the recurrence.
-- Reads see the start-of-tick state (docs/lua-api.md, "The tick"), so both sides update
-- from the same (x, y): the update is synchronous, as in the equations.

declare {name = "rival", type = "actor", doc = "the other side, whose spending it reacts to"}
declare {name = "reaction", type = "number", doc = "a (or b): how strongly it answers the rival's spending"}
declare {name = "fatigue", type = "number", doc = "m (or n): how much its own spending holds it back"}
declare {name = "grievance", type = "number", doc = "r (or s): spending it keeps up whatever the rival does"}
declare {name = "dt", type = "number", min = 0, doc = "time step per tick"}
declare {name = "noise", type = "number", default = 0, min = 0, doc = "sd of a normal shock per unit time"}
declare {name = "treaty_tick", type = "integer", doc = "read by the scenario's treaty event"}

function decide(me, world)
  local p = me.params
  local rival = world:actor(p.rival)
  local drift = p.reaction * rival.spending - p.fatigue * me.spending + p.grievance
  local next_spending = me.spending + p.dt * drift
  local noise = p.noise or 0
  if noise > 0 then
    next_spending = next_spending + rng.normal(0, noise * math.sqrt(p.dt))
  end
  me.spending = next_spending
end
