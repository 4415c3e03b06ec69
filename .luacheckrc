-- luacheck configuration for tightrope's Lua scripts (docs/lua-api.md).
-- `make lint` runs luacheck over scripts/ and every script beside a bundled
-- scenario in scenarios/.

std = "lua54"

-- What the sandbox gives every script besides Lua's standard library
-- (docs/lua-api.md, "The sandbox"): the run's random stream.
read_globals = {
  rng = {
    fields = {
      "uniform", "normal", "bernoulli", "binomial", "poisson", "exponential",
      "gamma", "beta", "lognormal", "choice", "shuffle", "pick",
    },
  },
  -- parameter declarations at a script's top level (docs/lua-api.md)
  "declare",
}

-- The entry points a script defines as globals: a policy's decide and init,
-- and an action's apply.
globals = { "decide", "init", "apply" }

-- Not in the sandbox: flag any use (docs/lua-api.md, "The sandbox").
not_globals = { "io", "os", "package", "require", "debug", "dofile", "loadfile", "coroutine" }

max_line_length = 120

-- The entry points have fixed signatures (decide(me, world), apply(world,
-- actor, target, args)): a script need not use every argument.
unused_args = false

-- Hostile test cases are meant to misbehave.
exclude_files = { "tests/hostile/**", "build*/**", "fuzz/**" }
