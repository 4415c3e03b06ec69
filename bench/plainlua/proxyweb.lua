-- proxyweb.lua — the proxy-web model (bench/README.md) in plain Lua 5.4 over
-- plain tables, with the tick semantics of tightrope (docs/model.md): the
-- policy actors decide in an order shuffled every tick; reads see the state
-- at the start of the tick; a policy's writes are buffered and applied in
-- the order made (clamped to the attribute's bounds), then the queued
-- actions resolve in order against the live state, writing at once; two
-- metrics are recorded every tick. The policies and actions are those of
-- bench/proxyweb/*.lua, with `x.a = v` written `set(x, "a", v)` (the buffer)
-- and me:act as act(me, ...). Run by bench/plainlua.c, which provides rng
-- (GSL's mt19937) and math.random from the same stream.

local rng, math_random, math_min, math_max = rng, math.random, math.min, math.max

-- The write buffer and the action queue of one tick.
local bobj, bkey, bval, nb = {}, {}, {}, 0
local qname, qactor, qtarget, qargs, nq = {}, {}, {}, {}, 0
local function set(obj, key, v)
  nb = nb + 1
  bobj[nb], bkey[nb], bval[nb] = obj, key, v
end
local function act(me, name, target, args)
  nq = nq + 1
  qname[nq], qactor[nq], qtarget[nq], qargs[nq] = name, me, target, args
end
-- Bounds of the attributes, as the scenario declares them.
local lo = {capability = 0, support = 0, credibility = 0, tension = 0}
local hi = {capability = 1, support = 1, credibility = 1, tension = 1}
local function put(obj, key, v)            -- an immediate, clamped write
  local l, h = lo[key], hi[key]
  if l and v < l then v = l elseif h and v > h then v = h end
  obj[key] = v
end

-- ---------------------------------------------------------------- policies
-- Each is a factory, called once per actor and run, as tightrope runs a
-- policy script's top level once per actor and run: top-level locals belong
-- to the actor.

-- patron.lua
local function patron_script()
  local sponsored = {}
  local function init(me, world)
    local rels, proxies = {}, {}
    for _, r in ipairs(world.outgoing(me.id)) do
      if r.kind == "patronage" then
        rels[#rels + 1] = r
        proxies[#proxies + 1] = world.actor(r.to)
      end
    end
    sponsored[me.id] = {rels = rels, proxies = proxies}
  end
  local function decide(me, world)
    local mine = sponsored[me.id]
    local rels, proxies = mine.rels, mine.proxies
    local total = 0
    for k = 1, #rels do
      local r = rels[k]
      local support = r.support + 0.05 * (0.5 - proxies[k].capability) + rng.normal(0, 0.01)
      if support < 0 then support = 0 elseif support > 1 then support = 1 end
      set(r, "support", support)
      total = total + support
    end
    set(me, "resources", me.resources + 0.02 - 0.01 * total)
  end
  return init, decide
end

-- proxy.lua
local function proxy_script()
  local links = {}
  local function init(me, world)
    local hostility, patronage = nil, {}
    for _, r in ipairs(world.incoming(me.id)) do
      if r.kind == "hostility" then hostility = r
      elseif r.kind == "patronage" then patronage[#patronage + 1] = r end
    end
    links[me.id] = {hostility = hostility, patronage = patronage}
  end
  local attack = {intensity = 0.1}
  local function decide(me, world)
    local mine = links[me.id]
    if rng.bernoulli(me.hardline * mine.hostility.tension) then
      act(me, "attack_adv", "adv", attack)
    else
      local received = 0
      local patronage = mine.patronage
      for k = 1, #patronage do received = received + patronage[k].support end
      set(me, "capability", math_min(1, me.capability + 0.02 * received))
    end
  end
  return init, decide
end

-- mediator.lua
local function mediator_script()
  local hostilities
  local function init(me, world)
    if not hostilities then hostilities = world.outgoing("adv") end
  end
  local function decide(me, world)
    local h = hostilities[math_random(#hostilities)]
    if rng.bernoulli(me.credibility * (1 - h.tension)) then
      act(me, "calm", h.to)
    end
  end
  return init, decide
end

-- attack_adv.lua and calm.lua
local actions = {
  attack_adv = function(world, actor, target, args)
    put(target, "capability", target.capability - 0.001 * args.intensity)
    local h = world.rel(target.id, actor.id)
    put(h, "tension", math_min(1, h.tension + 0.05))
    put(actor, "capability", math_max(0, actor.capability - 0.01))
  end,
  calm = function(world, actor, target, args)
    local h = world.rel("adv", target.id)
    put(h, "tension", math_max(0, h.tension - 0.1))
  end,
}

-- ------------------------------------------------------------------- world
-- Actors in file order: px0.., pat0.., med0.., adv; relations patron ->
-- proxy (patronage) then adv -> proxy (hostility), as gen_proxyweb.py writes.
local function build(k)
  local np, nm = math_max(1, k // 4), math_max(1, k // 8)
  local actors, byid, out, inc, rel = {}, {}, {}, {}, {}
  local function actor(a) actors[#actors + 1] = a; byid[a.id] = a; out[a.id] = {}; inc[a.id] = {}; rel[a.id] = {} end
  for i = 0, k - 1 do actor({id = "px" .. i, role = "proxy", script = proxy_script, hardline = (i + 0.5) / k}) end
  for j = 0, np - 1 do actor({id = "pat" .. j, role = "patron", script = patron_script}) end
  for m = 0, nm - 1 do actor({id = "med" .. m, role = "mediator", script = mediator_script}) end
  actor({id = "adv", role = "state"})
  local rels = {}
  local function relation(from, to, kind)
    local r = {from = from, to = to, kind = kind}
    rels[#rels + 1] = r
    out[from][#out[from] + 1] = r
    inc[to][#inc[to] + 1] = r
    rel[from][to] = r
  end
  for i = 0, k - 1 do relation("pat" .. (i % np), "px" .. i, "patronage") end
  for i = 0, k - 1 do relation("adv", "px" .. i, "hostility") end
  local world = {
    actor = function(id) return byid[id] end,
    outgoing = function(id) local l = {} for i, r in ipairs(out[id]) do l[i] = r end return l end,
    incoming = function(id) local l = {} for i, r in ipairs(inc[id]) do l[i] = r end return l end,
    rel = function(from, to) return rel[from][to] end,
  }
  local policy, proxies = {}, {}
  for _, a in ipairs(actors) do
    if a.script then policy[#policy + 1] = a end
    if a.role == "proxy" then proxies[#proxies + 1] = a end
  end
  return {actors = actors, rels = rels, world = world, policy = policy, proxies = proxies,
          adv_out = out.adv, adv = byid.adv}
end

local function reset(m, k)
  for _, a in ipairs(m.actors) do
    if a.role == "proxy" then a.capability = 0.5
    elseif a.role == "patron" then a.resources = 1.0
    elseif a.role == "mediator" then a.credibility = 0.6
    else a.capability = 1.0 end
  end
  for _, r in ipairs(m.rels) do
    if r.kind == "patronage" then r.support = 0.1 else r.tension = 0.3 end
  end
  for _, a in ipairs(m.policy) do a.init, a.decide = a.script() end
end

local function measure(m, series, t)
  local st, sc, hs, ps = 0, 0, m.adv_out, m.proxies
  for i = 1, #hs do st = st + hs[i].tension end
  for i = 1, #ps do sc = sc + ps[i].capability end
  series[2 * t + 1], series[2 * t + 2] = st / #hs, sc / #ps
end

local function apply_buffer()
  for i = 1, nb do put(bobj[i], bkey[i], bval[i]) end
  nb = 0
end

-- main(K, T, RUNS, SEED): runs seeded SEED + run, as bench/proxyweb.c;
-- returns the horizon means of both metrics over the runs.
function main(k, ticks, runs, seed)
  local m = build(k)
  local world, policy, order = m.world, m.policy, {}
  local sum_t, sum_c = 0, 0
  for run = 1, runs do
    rng.seed(seed + run)
    reset(m, k)
    local series = {}
    for _, a in ipairs(policy) do a.init(a, world) end
    apply_buffer()
    measure(m, series, 0)
    for t = 1, ticks do
      for i = 1, #policy do order[i] = policy[i] end
      rng.shuffle(order)
      for i = 1, #order do local a = order[i]; a.decide(a, world) end
      apply_buffer()
      for i = 1, nq do
        local actor, target = qactor[i], qtarget[i]
        actions[qname[i]](world, actor, target and world.actor(target), qargs[i] or {})
        qargs[i] = nil
      end
      nq = 0
      measure(m, series, t)
    end
    sum_t, sum_c = sum_t + series[2 * ticks + 1], sum_c + series[2 * ticks + 2]
  end
  return sum_t / runs, sum_c / runs, #m.actors
end
