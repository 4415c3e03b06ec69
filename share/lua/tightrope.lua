---@meta tightrope
-- LuaLS annotations of tightrope's Lua API (docs/lua-api.md), so that an
-- editor running the Lua language server completes and type-checks policies,
-- action scripts and event snippets. Installed as
-- PREFIX/share/tightrope/lua/tightrope.lua; point the language server at it
-- with `"workspace.library": ["PREFIX/share/tightrope/lua"]` in .luarc.json.
-- This file only declares; tightrope never loads it.

---An actor's view (docs/lua-api.md, "Actor views"). Every declared attribute
---reads as a number field; reading an undeclared name is an error.
---@class tr.ActorView
---@field id string the actor id
---@field role string the actor's role (`mediator`, `patron`, `proxy`, `state`, or any other)
---@field name string the display name (the id when none was given)
---@field params table<string, any> the actor's `params`, read-only
---@field [string] number each declared attribute, by name
local ActorView = {}

---Queue the named action for this tick (docs/lua-api.md, "Acting").
---Only `decide` can act, and only for its own actor.
---@param action string a Lua action declared under `actions:`, or a built-in action of the model
---@param target? string|tr.ActorView the target actor (an id or a view), or nil
---@param args? table named arguments, handed to the action's `apply` as is
function ActorView:act(action, target, args) end

---A relation's view (docs/lua-api.md, "Relation views").
---@class tr.RelationView
---@field from string the FROM actor's id
---@field to string the TO actor's id
---@field kind string the relation's kind (`""` when none)
---@field [string] number each declared attribute, by name

---@alias tr.Actor string|tr.ActorView an actor id or an actor view
---@alias tr.View tr.ActorView|tr.RelationView

---The world (docs/lua-api.md, "The world"): the second argument of `init`
---and `decide`, the first of an action's `apply`, and a name in expressions.
---@class tr.World
---@field tick integer the current tick (0 during `init`)
---@field ticks integer the horizon T
---@field run integer the run index, 1..N
---@field rejected integer writes that `on_bound: reject` dropped so far in this run
local World = {}

---The actor's view; an unknown id is an error with a suggestion.
---@param id tr.Actor
---@return tr.ActorView
function World:actor(id) end

---Actor views in file order; only those of `role` when given.
---@param role? string
---@return tr.ActorView[]
function World:actors(role) end

---The relation view FROM -> TO, or nil when there is none.
---@param from tr.Actor
---@param to tr.Actor
---@return tr.RelationView?
function World:rel(from, to) end

---The relation views FROM this actor, in file order, then those the run's
---networks drew (relations by random rule are drawn anew in each run).
---@param actor tr.Actor
---@return tr.RelationView[]
function World:outgoing(actor) end

---The relation views TO this actor, in the order of World:outgoing.
---@param actor tr.Actor
---@return tr.RelationView[]
function World:incoming(actor) end

---End the run when the current tick completes, with a declared outcome or
---the default outcome.
---@param outcome string
function World:end_run(outcome) end

---Set an attribute by path (`ACTOR.ATTR` or `FROM:TO.ATTR`); action scripts
---and event snippets only.
---@param path string
---@param value number
function World:set(path, value) end

---Add to an attribute by path; action scripts and event snippets only.
---@param path string
---@param delta number
function World:add(path, delta) end

---`true` when the actor or relation has a declared attribute `name`.
---@param view tr.View|string
---@param name string
---@return boolean
function World:has(view, name) end

---The actors in this run but `me`, in file order; only those of `role` when given.
---@param me tr.Actor
---@param role? string
---@return tr.ActorView[]
function World:others(me, role) end

---Action scripts and event snippets: move up to `amount` (>= 0) of `attr`
---from one actor to another at once, never taking `from` below its lower
---bound nor `to` above its upper bound. Returns the amount moved.
---@param from tr.Actor
---@param to tr.Actor
---@param attr string
---@param amount number
---@return number
function World:transfer(from, to, attr, amount) end

---The sum of `attr` over a list of actor or relation views, in list order,
---computed in C (docs/lua-api.md, "Loops in C"); 0 for an empty list.
---@param list tr.View[]
---@param attr string
---@return number
function World:sum(list, attr) end

---The mean of `attr` over a list of views; nil for an empty list.
---@param list tr.View[]
---@param attr string
---@return number?
function World:mean(list, attr) end

---@class tr.Nudge
---@field gain? number feedback rate (with `goal`)
---@field goal? number the value `y` is pulled towards (with `gain`)
---@field toward? string attribute of each relation's TO actor used as `y` (default: the relation's own `attr`)
---@field sd? number standard deviation of a normal draw added to each relation (one draw each)
---@field min? number lower clamp of the new value
---@field max? number upper clamp of the new value

---For each relation view r of rels in order: x = r[attr] + gain * (goal - y)
---+ rng.normal(0, sd), clamped to [min, max], written to r[attr] as a view
---write is; returns the sum of the values written (docs/lua-api.md, "Loops in C").
---@param rels tr.RelationView[]
---@param attr string
---@param how tr.Nudge
---@return number
function World:nudge(rels, attr, how) end

---The run's random stream (docs/lua-api.md, "Random numbers"). Every draw
---comes from GSL over the run's own generator.
rng = {}

---A number in [0, 1), or in [a, b) when both are given (a <= b).
---@param a? number
---@param b? number
---@return number
function rng.uniform(a, b) end

---A normal draw; mu defaults to 0, sd to 1 (sd >= 0).
---@param mu? number
---@param sd? number
---@return number
function rng.normal(mu, sd) end

---`true` with probability p in [0, 1].
---@param p number
---@return boolean
function rng.bernoulli(p) end

---An integer: n trials of probability p.
---@param n integer
---@param p number
---@return integer
function rng.binomial(n, p) end

---An integer with mean mu >= 0.
---@param mu number
---@return integer
function rng.poisson(mu) end

---A draw with the given mean > 0.
---@param mean number
---@return number
function rng.exponential(mean) end

---A gamma draw; shape, scale > 0.
---@param shape number
---@param scale number
---@return number
function rng.gamma(shape, scale) end

---A beta draw; a, b > 0.
---@param a number
---@param b number
---@return number
function rng.beta(a, b) end

---exp of a normal(zeta, sigma) draw; sigma >= 0.
---@param zeta number
---@param sigma number
---@return number
function rng.lognormal(zeta, sigma) end

---An index 1..#weights, drawn with probability weight / sum.
---@param weights number[]
---@return integer
function rng.choice(weights) end

---Shuffle `list` in place and return it.
---@generic T
---@param list T[]
---@return T[]
function rng.shuffle(list) end

---An item of `list`, each equally likely; items rawequal to `exclude` are
---left out. An error when nothing is left to pick.
---@generic T
---@param list T[]
---@param exclude? any
---@return T
function rng.pick(list, exclude) end

---A policy's first call, at tick 0 (optional). Writes are buffered; no acts.
---@param me tr.ActorView
---@param world tr.World
function init(me, world) end

---A policy's call every tick (required in a policy script). Reads see the
---start-of-tick state; writes to the actor's own attributes and outgoing
---relations are buffered; actions are queued with `me:act`.
---@param me tr.ActorView
---@param world tr.World
function decide(me, world) end

---An action script's entry point: runs in the resolve step with write
---access to every actor and relation. A returned number is the action's
---`value` in events.csv.
---@param world tr.World
---@param actor tr.ActorView the actor that acted
---@param target tr.ActorView? the target, or nil
---@param args table the table the policy passed, or {}
---@return number?
function apply(world, actor, target, args) end

---@class tr.ParamDecl
---@field name string the key under the actor's `params:`
---@field type "number"|"integer"|"string"|"list"|"actor"|"any"
---@field default? any the value when the scenario leaves the key out
---@field min? number lower bound of a number or integer
---@field max? number upper bound of a number or integer
---@field items? "number"|"integer"|"string"|"actor" the type of a list's items
---@field doc? string a one-line description

---One instance of a policy per run, shared by all its actors
---(docs/lua-api.md, "Shared instances"): `declare {shared = true}`.
---@class tr.SharedDecl
---@field shared boolean true: one instance per run; false: one per actor (the default)

---Declares a parameter the script reads, at its top level
---(docs/lua-api.md, "Declaring parameters"); `check` then refuses params it
---does not declare and values that do not fit. `declare {shared = true}`
---instead makes a policy's instance one per run ("Shared instances").
---@param decl tr.ParamDecl|tr.SharedDecl
function declare(decl) end
