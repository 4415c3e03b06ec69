"""The update rule of a tick (docs/lua-api.md, "The tick") and the Lua API (docs/lua-api.md): each
test is a tiny scenario whose series is worked out by hand in its comment."""
import re

from helpers import Case


def series(files, *args, main="s.yaml"):
    c = Case(files)
    try:
        rc, out, err = c.run("run", main, "-o", "out", "--series", "all", "--quiet", "--events", *args)
        assert rc == 0, f"exit {rc}: {err[-800:]}"
        return c.csv("out", "series.csv"), c.csv("out", "runs.csv"), c.csv("out", "events.csv"), err
    finally:
        c.close()


def col(rows, name, run="1", variant="baseline"):
    return [float(r[name]) for r in rows if r["run"] == run and r["variant"] == variant]


def fails(files, pattern, main="s.yaml", rc_want=3):
    c = Case(files)
    try:
        rc, out, err = c.run("run", main, "-o", "out", "--quiet", timeout=60)
        assert rc == rc_want, f"exit {rc}, expected {rc_want}: {err[-600:]}"
        assert re.search(pattern, err, re.I | re.S), f"/{pattern}/ not in: {err[-600:]}"
        return err
    finally:
        c.close()


def test_reads_see_start_of_tick_state_rotation():
    # a <- b <- c <- a, all at once: a rotation, whatever the shuffled order
    s, _, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 4, runs: 3, seed: 2}
            actors:
              a: {role: state, attrs: {x: 1}, policy: p.lua, params: {src: b}}
              b: {role: state, attrs: {x: 2}, policy: p.lua, params: {src: c}}
              c: {role: state, attrs: {x: 3}, policy: p.lua, params: {src: a}}
            metrics: {a: "a.x", b: "b.x", c: "c.x"}
        """,
        "p.lua": "function decide(me, world) me.x = world:actor(me.params.src).x end"})
    for run in ("1", "2", "3"):
        got = list(zip(col(s, "a", run), col(s, "b", run), col(s, "c", run)))
        assert got == [(1, 2, 3), (2, 3, 1), (3, 1, 2), (1, 2, 3), (2, 3, 1)], got


def test_own_reads_after_write_and_last_write_wins():
    # me.x = x + 10 then me.y = me.x (still the old x), then me.x = x + 1
    # wins: x_t = t, y_t = t - 1 for t >= 1.
    s, _, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 3, runs: 1}
            actors:
              a: {role: state, attrs: {x: 0, y: -1}, policy: p.lua}
            metrics: {x: "a.x", y: "a.y"}
        """,
        "p.lua": """
            function decide(me, world)
              local old = me.x
              me.x = old + 10
              me.y = me.x
              me.x = old + 1
            end"""})
    assert col(s, "x") == [0, 1, 2, 3] and col(s, "y") == [-1, 0, 1, 2], (col(s, "x"), col(s, "y"))


def test_init_at_tick_zero_buffered_and_cannot_act():
    s, runs, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 2, runs: 1}
            actors:
              a: {role: state, attrs: {x: 0, y: 0, t: -1}, policy: p.lua}
            metrics: {x: "a.x", y: "a.y", t: "a.t"}
        """,
        "p.lua": """
            function init(me, world) me.x = 10; me.y = me.x + 1; me.t = world.tick end
            function decide(me, world) me.x = me.x + 1 end"""})
    # init wrote x = 10, y = 0 + 1 (start value), at tick 0
    assert col(s, "x") == [10, 11, 12] and col(s, "y") == [1, 1, 1] and col(s, "t")[0] == 0
    fails({"s.yaml": """
            scenario: s
            experiment: {ticks: 2, runs: 1}
            actors:
              a: {role: state, attrs: {x: 0}, policy: p.lua}
            actions:
              poke: {script: poke.lua}
        """,
           "p.lua": 'function init(me, world) me:act("poke", "a") end\nfunction decide(me, world) end',
           "poke.lua": "function apply(world, actor, target, args) end"}, r"init.*act|act.*init")
    # a run can end at tick 0
    _, runs, _, _ = series({"s.yaml": """
            scenario: s
            experiment: {ticks: 5, runs: 1}
            actors:
              a: {role: state, attrs: {x: 3}}
            metrics: {x: "a.x"}
            outcomes: {early: "a.x > 2"}
        """})
    assert runs[0]["outcome"] == "early" and runs[0]["end_tick"] == "0"


EVENTS = {
    "s.yaml": """
        scenario: s
        experiment: {ticks: 8, runs: 1, seed: 4}
        actors:
          a: {role: state, attrs: {x: 0, seen: -1, b: {value: 0, min: 0, max: 5}}, policy: p.lua}
        events:
          - {name: reset, at: 3, set: {"a.x": 100}}
          - {name: bump, at: 3, add: {"a.x": 5}}
          - {name: tri, every: 3, add: {"a.b": 1}}
          - {name: always, prob: 1, add: {"a.b": 0}}
          - {name: never, prob: 0, set: {"a.x": -99}}
          - {name: gated, every: 1, when: "a.x >= 106", add: {"a.x": 1000}, once: true}
          - {name: twice, every: 2, once: true, add: {"a.b": 10}}
          - {name: snippet, at: 7, lua: "a.x = a.x * 2; world:add('a.b', -0.5)"}
        metrics: {x: "a.x", seen: "a.seen", b: "a.b"}
    """,
    "p.lua": "function decide(me, world) me.seen = me.x; me.x = me.x + 1 end",
}


def test_events_in_file_order_before_decide():
    s, _, ev, _ = series(EVENTS)
    # tick 1,2: x = 1, 2. tick 3: set 100, add 5 (file order) -> 105, policy
    # sees 105 and writes 106. tick 4: gated (x >= 106) adds 1000 -> 1106,
    # seen 1106, x 1107. later ticks +1; gated is once. tick 7: snippet
    # doubles x before decide: 1109 * 2 = 2218, seen 2218, x 2219.
    assert col(s, "x") == [0, 1, 2, 106, 1107, 1108, 1109, 2219, 2220], col(s, "x")
    assert col(s, "seen") == [-1, 0, 1, 105, 1106, 1107, 1108, 2218, 2219], col(s, "seen")
    # b: bounded [0, 5]; tri +1 at 3 and 6; twice +10 once at tick 2 ->
    # clamped to 5 at once; tri at 3 -> 6 clamped 5; snippet -0.5 at 7.
    assert col(s, "b") == [0, 0, 5, 5, 5, 5, 5, 4.5, 4.5], col(s, "b")
    names = [(r["tick"], r["action"]) for r in ev]
    assert ("3", "reset") in names and names.index(("3", "reset")) < names.index(("3", "bump"))
    assert sum(1 for r in ev if r["action"] == "always") == 8
    assert not any(r["action"] == "never" for r in ev)
    assert [r["tick"] for r in ev if r["action"] == "gated"] == ["4"]
    assert [r["tick"] for r in ev if r["action"] == "twice"] == ["2"]


def test_bounds_clamp_on_every_write():
    # Two actions in queue order: +0.8 (0.5 -> 1.3, clamped to 1), then
    # -0.5 -> 0.5. Clamping only at the end of the tick would give 0.8.
    s, _, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 1, runs: 1}
            actors:
              a: {role: state, attrs: {x: {value: 0.5, min: 0, max: 1}, w: {value: 0, min: -1, max: 1}}, policy: p.lua}
            actions:
              shift: {script: shift.lua}
            metrics: {x: "a.x", w: "a.w"}
        """,
        "p.lua": 'function decide(me, world) me.w = 7; me:act("shift", "a", {d = 0.8}); me:act("shift", "a", {d = -0.5}) end',
        "shift.lua": "function apply(world, actor, target, args) target.x = target.x + args.d end"})
    assert col(s, "x") == [0.5, 0.5], col(s, "x")
    assert col(s, "w") == [0, 1], "a policy's write is clamped too"


def test_outcome_order_and_end_run_precedence():
    files = {
        "s.yaml": """
            scenario: s
            experiment: {ticks: 5, runs: 1}
            actors:
              a: {role: state, attrs: {x: 0}, policy: p.lua}
            metrics: {x: "a.x", big: "a.x >= 2"}
            outcomes:
              second: "a.x >= 3"
              first: "a.x >= 2"
              other: "false"
            default_outcome: nothing
        """,
        "p.lua": "function decide(me, world) me.x = me.x + 1 end"}
    _, runs, _, _ = series(files)
    assert (runs[0]["outcome"], runs[0]["end_tick"]) == ("first", "2")
    files["s.yaml"] = files["s.yaml"].replace('first: "a.x >= 2"', 'first: "a.x >= 3"')
    _, runs, _, _ = series(files)
    assert (runs[0]["outcome"], runs[0]["end_tick"]) == ("second", "3"), "outcomes checked in order"
    # world:end_run beats the expressions, the first request wins, the
    # default outcome is allowed, the run ends when the tick completes.
    files["p.lua"] = """
        function decide(me, world)
          me.x = me.x + 1
          if world.tick == 3 then world:end_run("other"); world:end_run("second") end
        end"""
    s, runs, _, _ = series(files)
    assert (runs[0]["outcome"], runs[0]["end_tick"]) == ("other", "3"), runs[0]
    assert col(s, "x") == [0, 1, 2, 3] and runs[0]["x"] == "3", "the tick completes"
    files["p.lua"] = 'function decide(me, world) if world.tick == 1 then world:end_run("nothing") end end'
    _, runs, _, _ = series(files)
    assert (runs[0]["outcome"], runs[0]["end_tick"]) == ("nothing", "1")
    files["p.lua"] = 'function decide(me, world) world:end_run("secnd") end'
    fails(files, r"secnd.*did you mean 'second'")
    # boolean metric: 1/0
    files["p.lua"] = "function decide(me, world) me.x = me.x + 1 end"
    files["s.yaml"] = files["s.yaml"].replace('second: "a.x >= 3"', 'second: "a.x >= 9"').replace(
        'first: "a.x >= 3"', 'first: "a.x >= 9"')
    s, _, _, _ = series(files)
    assert col(s, "big") == [0, 0, 1, 1, 1, 1], col(s, "big")
    assert [r["big"] for r in s] == ["0", "0", "1", "1", "1", "1"]


def test_passive_actor_and_fresh_globals_each_run():
    s, runs, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 4, runs: 6, seed: 8}
            actors:
              a: {role: state, attrs: {calls: 0}, policy: p.lua}
              still: {role: state, attrs: {x: 7}}
            metrics: {calls: "a.calls", still: "still.x", n: "count(world:actors())"}
        """,
        "p.lua": """
            counter = counter or 0
            function decide(me, world)
              counter = counter + 1
              seen_runs = (seen_runs or 0) + (world.tick == 1 and 1 or 0)
              me.calls = counter * 100 + seen_runs
            end"""}, "-j", "2")
    # each run: counter 1..4, seen_runs 1: calls = 401 at the end of every run
    assert [r["calls"] for r in runs] == ["401"] * 6, [r["calls"] for r in runs]
    assert all(float(r["still"]) == 7 for r in s), "an actor without policy never changes"
    assert all(r["n"] == "2" for r in s)


def test_policy_may_not_write_others():
    base = """
        scenario: s
        experiment: {ticks: 2, runs: 1}
        actors:
          a: {role: state, attrs: {x: 0}, policy: p.lua}
          b: {role: state, attrs: {x: 0}}
        relations:
          - {from: b, to: a, kind: hostility, attrs: {tension: 0}}
          - {from: a, to: b, kind: hostility, attrs: {tension: 0}}
    """
    fails({"s.yaml": base, "p.lua": "function decide(me, world) world:actor('b').x = 1 end"}, r"action")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) world:rel('b', 'a').tension = 1 end"}, r"action")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) me.nope = 1 end"}, r"nope")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) me.x = 0/0 end"}, r"nan|finite")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) me.x = 1/0 end"}, r"inf|finite")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) me.params.k = 1 end"}, r"read-only|params")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) me.id = 'z' end"}, r"id")
    fails({"s.yaml": base, "p.lua": "function decide(me, world) world:set('b.x', 1) end"}, r"action|set")
    # own outgoing relation: allowed, buffered
    s, _, _, _ = series({"s.yaml": base.rstrip(' ') + '        metrics: {t: "rel(\'a\',\'b\').tension"}\n',
                         "p.lua": "function decide(me, world) local r = world:rel('a', 'b'); r.tension = r.tension + 1 end"})
    assert col(s, "t") == [0, 1, 2]


def test_lua_api_views_and_world():
    s, _, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 2, runs: 3, seed: 1}
            actors:
              q: {role: mediator, name: "Qatar", attrs: {credibility: 0.5, out: 0}, policy: p.lua,
                  params: {k: 2.5, tag: hello, list: [3, 4], nested: {a: 1}}}
              h: {role: proxy, attrs: {capability: 0.3}}
              i: {role: patron, attrs: {resources: 1}}
              j: {role: proxy, attrs: {capability: 0.4}}
            relations:
              - {from: i, to: h, kind: patronage, attrs: {support: 0.6}}
              - {from: q, to: h, kind: hosting, attrs: {active: 1}}
              - {from: i, to: q, kind: alliance, attrs: {tolerance: 0.8}}
            metrics: {out: "q.out"}
        """,
        "p.lua": """
            function decide(me, world)
              local ok = 1
              local function want(c) if not c then ok = 0 end end
              want(me.id == "q" and me.role == "mediator" and me.name == "Qatar")
              want(me.params.k == 2.5 and me.params.tag == "hello" and me.params.list[2] == 4)
              want(me.params.nested.a == 1)
              want(world.ticks == 2 and world.tick >= 1 and world.run >= 1 and world.run <= 3)
              local proxies = world:actors("proxy")
              want(#proxies == 2 and proxies[1].id == "h" and proxies[2].id == "j")
              want(#world:actors() == 4 and world:actors()[3].id == "i")
              want(world:actor("h").capability == 0.3 and world:actor("h").role == "proxy")
              local r = world:rel("i", "h")
              want(r.from == "i" and r.to == "h" and r.kind == "patronage" and r.support == 0.6)
              want(world:rel("h", "i") == nil)
              local out = world:outgoing("i")
              want(#out == 2 and out[1].to == "h" and out[2].to == "q")
              local inc = world:incoming("h")
              want(#inc == 2 and inc[1].from == "i" and inc[2].from == "q")
              want(#world:incoming("j") == 0)
              want(me.credibility == 0.5)
              me.out = ok * 1000 + world.tick * 10 + world.run
            end"""})
    for run in ("1", "2", "3"):
        assert col(s, "out", run) == [0, 1010 + int(run), 1020 + int(run)], (run, col(s, "out", run))


def test_lua_actions_args_writes_and_values():
    s, _, ev, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 2, runs: 1}
            actors:
              a: {role: state, attrs: {x: 0}, policy: p.lua}
              b: {role: state, attrs: {x: 0, y: 0}}
            relations:
              - {from: b, to: a, kind: hostility, attrs: {tension: 0}}
            actions:
              hit: {script: hit.lua, cameo: "190", goldstein: -10}
            metrics: {bx: "b.x", by: "b.y", t: "rel('b', 'a').tension", ax: "a.x"}
        """,
        "p.lua": """
            function decide(me, world)
              me.x = 5
              me:act("hit", "b", {power = 2, label = "strong"})
              me:act("hit", "b")
            end""",
        "hit.lua": """
            function apply(world, actor, target, args)
              if args.label == "strong" then
                world:set("b.x", target.x + args.power)     -- queue order: 0 + 2
                world:add("b:a.tension", 0.25)
                target.y = actor.x                          -- buffered writes applied first: 5
                return args.power * 1.5
              end
              assert(next(args) == nil, "args is {} without a table")
              world:add("b.x", 10)
            end"""})
    assert col(s, "bx") == [0, 12, 24] and col(s, "by") == [0, 5, 5] and col(s, "t") == [0, 0.25, 0.5], \
        (col(s, "bx"), col(s, "by"), col(s, "t"))
    rows = [(r["tick"], r["actor"], r["action"], r["target"], r["cameo"], r["goldstein"], r["value"]) for r in ev]
    assert rows == [("1", "a", "hit", "b", "190", "-10", "3"), ("1", "a", "hit", "b", "190", "-10", ""),
                    ("2", "a", "hit", "b", "190", "-10", "3"), ("2", "a", "hit", "b", "190", "-10", "")], rows
    base = """
        scenario: s
        experiment: {ticks: 2, runs: 1}
        actors:
          a: {role: state, attrs: {x: 0}, policy: p.lua}
        actions:
          hit: {script: hit.lua}
    """
    fails({"s.yaml": base, "p.lua": 'function decide(me, world) me:act("hiit", "a") end',
           "hit.lua": "function apply() end"}, r"hiit.*hit")
    fails({"s.yaml": base, "p.lua": 'function decide(me, world) me:act("hit", "nobody") end',
           "hit.lua": "function apply() end"}, r"nobody")


def test_rng_statistics_and_math_random():
    """Means of N = 20000 draws of each distribution, in one init: each
    sample mean lies within 5 standard errors of the true mean (a false
    alarm has probability < 6e-7 per check at a fixed seed, i.e. never)."""
    n = 20000
    checks = {  # name: (Lua expression of one draw, mean, sd)
        "uni": ("rng.uniform()", 0.5, (1 / 12) ** 0.5),
        "uab": ("rng.uniform(2, 6)", 4.0, (16 / 12) ** 0.5),
        "nor": ("rng.normal(2, 3)", 2.0, 3.0),
        "ber": ("(rng.bernoulli(0.3) and 1 or 0)", 0.3, (0.21) ** 0.5),
        "bin": ("rng.binomial(10, 0.4)", 4.0, (2.4) ** 0.5),
        "poi": ("rng.poisson(3.5)", 3.5, 3.5 ** 0.5),
        "exp": ("rng.exponential(2)", 2.0, 2.0),
        "gam": ("rng.gamma(3, 2)", 6.0, (3 * 4) ** 0.5),
        "bet": ("rng.beta(2, 6)", 0.25, (2 * 6 / (64 * 9)) ** 0.5),
        "lgn": ("rng.lognormal(0, 0.5)", 2.718281828459045 ** 0.125,
                ((2.718281828459045 ** 0.25 - 1) * 2.718281828459045 ** 0.25) ** 0.5),
        "cho": ("rng.choice({1, 2, 7})", (1 * 1 + 2 * 2 + 3 * 7) / 10, None),
        "mr0": ("math.random()", 0.5, (1 / 12) ** 0.5),
        "mr6": ("math.random(6)", 3.5, (35 / 12) ** 0.5),
        "mr35": ("math.random(3, 5)", 4.0, (2 / 3) ** 0.5),
    }
    # choice: index i with probability w_i / sum w = 0.1, 0.2, 0.7: mean 2.6
    checks["cho"] = ("rng.choice({1, 2, 7})", 2.6, (0.1 * 1 + 0.2 * 4 + 0.7 * 9 - 2.6 ** 2) ** 0.5)
    attrs = ", ".join(f"{k}: 0" for k in checks)
    lines = [f"  do local s = 0; for i = 1, {n} do s = s + {e} end; me.{k} = s / {n} end" for k, (e, _, _) in checks.items()]
    ranges = """
      local lo, hi, okr = 1e9, -1e9, 1
      for i = 1, 2000 do
        local u = rng.uniform(); if u < 0 or u >= 1 then okr = 0 end
        local d = math.random(6); if d < 1 or d > 6 or d ~= math.floor(d) then okr = 0 end
        local c = rng.choice({0, 1, 0}); if c ~= 2 then okr = 0 end
        local b = rng.bernoulli(0.5); if type(b) ~= "boolean" then okr = 0 end
      end
      local list = {1, 2, 3, 4, 5, 6, 7, 8}
      rng.shuffle(list)
      local seen, moved = {}, 0
      for i, v in ipairs(list) do seen[v] = true; if v ~= i then moved = moved + 1 end end
      for i = 1, 8 do if not seen[i] then okr = 0 end end
      if #list ~= 8 then okr = 0 end
      me.okr = okr
    """
    s, _, _, _ = series({
        "s.yaml": f"""
            scenario: s
            experiment: {{ticks: 0, runs: 1, seed: 12}}
            limits: {{instructions: 100000000}}
            actors:
              a: {{role: state, attrs: {{{attrs}, okr: 0}}, policy: p.lua}}
            metrics: {{{", ".join(f"{k}: 'a.{k}'" for k in checks)}, okr: "a.okr"}}
        """,
        "p.lua": "function init(me, world)\n" + "\n".join(lines) + ranges + "end\nfunction decide(me, world) end\n"})
    row = s[0]
    for k, (_, mean, sd) in checks.items():
        got = float(row[k])
        assert abs(got - mean) <= 5 * sd / n ** 0.5, f"{k}: mean of {n} draws {got}, expected {mean} +- {5 * sd / n ** 0.5:.4f}"
    assert row["okr"] == "1", "rng.uniform in [0,1), math.random(6) integers 1..6, choice, bernoulli boolean, shuffle permutes"


def test_rng_invalid_parameters_and_randomseed():
    base = """
        scenario: s
        experiment: {ticks: 2, runs: 1}
        actors:
          a: {role: state, attrs: {x: 0}, policy: p.lua}
    """
    for call, pat in (("rng.bernoulli(1.5)", r"bernoulli|probab"), ("rng.bernoulli(-0.1)", r"bernoulli|probab"),
                      ("rng.binomial(10, 2)", r"binomial|probab"), ("rng.normal(0, -1)", r"normal|sd|deviation"),
                      ("math.randomseed(42)", r"randomseed"), ("rng.choice({})", r"choice"),
                      ("rng.choice({-1, 2})", r"choice|weight"), ("rng.exponential(-1)", r"exponential"),
                      ("rng.poisson(-2)", r"poisson"), ("rng.uniform(3, 1)", r"uniform")):
        fails({"s.yaml": base, "p.lua": f"function decide(me, world) me.x = 0; local v = {call} end"},
              pat, rc_want=3)


def test_aggregates_in_expressions():
    s, _, _, _ = series({
        "s.yaml": """
            scenario: s
            experiment: {ticks: 0, runs: 1}
            actors:
              p1: {role: proxy, attrs: {capability: 0.2}}
              p2: {role: proxy, attrs: {capability: 0.6}}
              m: {role: mediator, attrs: {capability: 5}}
            relations:
              - {from: m, to: p1, kind: hostility, attrs: {tension: 0.3}}
              - {from: m, to: p2, kind: hostility, attrs: {tension: 0.9}}
            metrics:
              sum: "sum(world:actors('proxy'), 'capability')"
              mean: "mean(world:actors('proxy'), 'capability')"
              min: "min(world:actors(), 'capability')"
              max: "max(world:outgoing('m'), 'tension')"
              count: "count(world:actors('proxy'))"
              t: "ticks + tick"
              m2: "math.max(p1.capability, p2.capability)"
        """})
    r = s[0]
    assert abs(float(r["sum"]) - 0.8) < 1e-12 and abs(float(r["mean"]) - 0.4) < 1e-12
    assert r["min"] == "0.2" and r["max"] == "0.9" and r["count"] == "2" and r["t"] == "0" and r["m2"] == "0.6"
