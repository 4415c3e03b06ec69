"""`check` catches the mistakes that would otherwise fail at run time or pass
silently (docs/scenario-format.md, "Mistakes check finds"): one scenario per
mistake, the exit status and the exact message with its line, column and
suggestion. Places are counted by hand from the scenario text."""
import os

from helpers import Case

HEAD = "scenario: s\nexperiment: {ticks: 5, runs: 1}\n"
ACTORS = ("actors:\n"
          "  qatar: {role: mediator, attrs: {leverage: 0.5}}\n"
          "  hamas: {role: proxy, attrs: {capability: 0.3}}\n"
          "  israel: {role: state, attrs: {capability: 0.9}}\n"
          "relations:\n"
          "  - {from: israel, to: hamas, kind: hostility, attrs: {tension: 0.1}}\n")
# lines 1-2 HEAD, 3-8 ACTORS: what follows starts at line 9


def expect(text, lines, status=1, args=(), files=None):
    """`check bad.yaml` exits with status and prints exactly these
    diagnostic lines (plus the count line when it fails)."""
    with Case(dict(files or {}, **{"bad.yaml": text})) as c:
        rc, out, err = c.run("check", "bad.yaml", *args)
        got = [l for l in err.splitlines() if ": error: " in l or ": warning: " in l]
        assert rc == status, f"exit {rc}, expected {status}:\n{err}"
        assert got == lines, "expected:\n" + "\n".join(lines) + "\ngot:\n" + err
        if status == 1:
            rc, _, err = c.run("run", "bad.yaml", "-o", "out", "--quiet")
            assert rc == 1, f"run must refuse too: exit {rc}: {err}"
            assert not os.path.exists(c.path("out", "runs.csv"))


# ------------------------------------------------------ names in expressions

def test_unknown_actor_in_expression():
    expect(HEAD + ACTORS + "metrics:\n  lev: \"qatr.leverage\"\n",
           ["bad.yaml:10:9: error: metric 'lev': unknown name 'qatr' (did you mean 'qatar'?)"])


def test_unknown_attribute_in_expression():
    expect(HEAD + ACTORS + "metrics:\n  lev: \"qatar.levrage * 2\"\n",
           ["bad.yaml:10:15: error: metric 'lev': actor 'qatar' has no attribute 'levrage' "
            "(did you mean 'leverage'?)"])


def test_unknown_relation_attribute_and_actor_in_rel():
    expect(HEAD + ACTORS + "outcomes:\n"
           "  war: \"rel('israel','hamas').tensoin >= 1\"\n"
           "  peace: \"rel('israel','hamaz').tension < 0.1\"\n",
           ["bad.yaml:10:31: error: outcome 'war': relation israel -> hamas has no attribute "
            "'tensoin' (did you mean 'tension'?)",
            "bad.yaml:11:25: error: outcome 'peace': unknown actor 'hamaz' (did you mean 'hamas'?)"])


def test_missing_relation_read_in_expression():
    expect(HEAD + ACTORS + "metrics:\n  t: \"rel('hamas','israel').tension\"\n",
           ["bad.yaml:10:12: error: metric 't': no relation hamas -> israel (reading 'tension' "
            "of it fails at run time)"])


def test_unknown_attribute_in_aggregate():
    # an attribute only some actors of the aggregate have is fine
    expect(HEAD + ACTORS + "metrics:\n"
           "  ok: \"sum(world:actors(), 'leverage')\"\n"
           "  bad: \"mean(world:actors('proxy'), 'capabilty')\"\n",
           ["bad.yaml:11:38: error: metric 'bad': mean: no actor of world:actors('proxy') has an "
            "attribute 'capabilty' (did you mean 'capability'?)"])


def test_unknown_function_and_role_in_expression():
    expect(HEAD + ACTORS + "metrics:\n"
           "  m: \"math.flor(qatar.leverage) + count(world:actors('proxie'))\"\n"
           "  n: \"summ(world:actors(), 'capability')\"\n",
           ["bad.yaml:10:12: error: metric 'm': math has no function 'flor' (did you mean 'floor'?)",
            "bad.yaml:10:55: error: metric 'm': unknown role 'proxie' (did you mean 'proxy'?): "
            "no actor of the scenario has it",
            "bad.yaml:11:7: error: metric 'n': unknown function 'summ' (did you mean 'sum'?)"])


def test_unknown_name_in_event_when_found_before_it_fires():
    # the event fires only at tick 1000: today's engine would fail there
    expect(HEAD + ACTORS + "events:\n"
           "  - {name: late, at: 1000, when: \"israel.capabilty > 0\", set: {qatar.leverage: 1}}\n",
           ["bad.yaml:10:42: error: event 'late' when: actor 'israel' has no attribute "
            "'capabilty' (did you mean 'capability'?)"])


def test_unknown_param_in_expression():
    expect(HEAD + "actors:\n  a: {role: state, attrs: {x: 1}, params: {lethality: 2}}\n"
           "metrics:\n  m: \"a.params.lethalty * a.x\"\n",
           ["bad.yaml:6:16: error: metric 'm': actor 'a' has no parameter 'lethalty' "
            "(did you mean 'lethality'?)"])


def test_random_in_expression_refused_at_check():
    expect(HEAD + ACTORS + "metrics:\n  m: \"math.random()\"\n",
           ["bad.yaml:10:12: error: metric 'm': math.random is not available in expressions: "
            "metrics, outcomes and `when` read the world and draw nothing (draw in a policy or "
            "event)"])


def test_valid_expressions_pass():
    with Case({"ok.yaml": HEAD + ACTORS + "metrics:\n"
               "  a: \"qatar.leverage + rel('israel', 'hamas').tension\"\n"
               "  b: \"mean({hamas, israel}, 'capability') + max(1, 2) + math.floor(tick / 2)\"\n"
               "  c: \"count(world:outgoing('israel')) + world:actor('qatar').leverage\"\n"
               "  d: \"(rel('hamas', 'israel') == nil) and 1 or 0\"\n"
               "  e: \"(function(v) local s = 0 for _, r in ipairs(v) do s = s + 1 end return s end)"
               " and 0\"\n"}) as c:
        rc, out, err = c.run("check", "ok.yaml")
        assert rc == 0, err


# ------------------------------------------------------- metrics by name

def test_outcome_and_when_read_metrics_by_name():
    # x grows by 1 a tick; double = 2x. The outcome `double >= 14` ends the
    # run at tick 7. The `when` of the boost reads double as recorded at the
    # end of the previous tick: double(4) = 8 lets it fire at tick 5 in
    # variant `boost`, so x(5) = 105 and the run ends at 5.
    text = (HEAD.replace("ticks: 5, runs: 1", "ticks: 20, runs: 3") +
            "actors:\n  a: {role: state, attrs: {x: 0}}\n"
            "events:\n  - {name: grow, every: 1, add: {a.x: 1}}\n"
            "  - {name: boost, every: 1, when: \"double >= 8 and a.params.on == 1\", add: {a.x: 100}}\n"
            "metrics:\n  x: \"a.x\"\n  double: \"x * 2\"\n"
            "outcomes:\n  deal: \"double >= 14\"\n"
            "variants:\n  boost: {set: {a.params.on: 1}}\n")
    text = text.replace("attrs: {x: 0}}", "attrs: {x: 0}, params: {on: 0}}")
    with Case({"m.yaml": text}) as c:
        rc, out, err = c.run("run", "m.yaml", "-o", "out", "--quiet")
        assert rc == 0, err
        rows = c.csv("out", "runs.csv")
        assert len(rows) == 6
        for r in rows:
            if r["variant"] == "baseline":
                assert (r["outcome"], r["end_tick"], r["x"], r["double"]) == ("deal", "7", "7", "14"), r
            else:
                assert (r["outcome"], r["end_tick"], r["x"], r["double"]) == ("deal", "5", "105", "210"), r


def test_metric_forward_reference_refused():
    expect(HEAD + ACTORS + "metrics:\n  a: \"b + 1\"\n  b: \"qatar.leverage\"\n",
           ["bad.yaml:10:7: error: metric 'a' reads metric 'b', which is defined below it "
            "(line 11): a metric sees only the metrics above it; move 'b' up"])


def test_metric_cycle_refused():
    expect(HEAD + ACTORS + "metrics:\n  a: \"b + 1\"\n  b: \"a * 2\"\n  c: \"c\"\n",
           ["bad.yaml:10:7: error: metric 'a' reads metric 'b', which reads 'a' in turn: a cycle "
            "(a metric sees only the metrics above it)",
            "bad.yaml:12:7: error: metric 'c': metric 'c' reads itself: a metric sees only the "
            "metrics above it"])


def test_metric_named_like_an_actor_keeps_the_actor():
    # `hamas` in an expression is the actor, not the metric of that name:
    # hamas.capability reads the actor's attribute at every tick
    with Case({"ok.yaml": HEAD + ACTORS + "metrics:\n  hamas: \"hamas.capability\"\n"
               "  twice: \"hamas.capability * 2\"\n"}) as c:
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet")
        assert rc == 0, err
        assert [(r["hamas"], r["twice"]) for r in c.csv("out", "runs.csv")] == [("0.3", "0.6")]


def test_outcome_name_is_not_a_value():
    expect(HEAD + ACTORS + "outcomes:\n  war: \"rel('israel','hamas').tension > 0.9\"\n"
           "  worse: \"war and 1\"\n",
           ["bad.yaml:11:11: error: outcome 'worse': 'war' is an outcome, not a value: "
            "expressions read actors, relations and metrics"])


# ------------------------------------------------------------ relation kinds

def test_unknown_relation_kind():
    # a typo used to switch the model's tolerance rule off silently
    expect(HEAD + ACTORS + "  - {from: qatar, to: israel, kind: aliance, attrs: {tolerance: 1}}\n",
           ["bad.yaml:9:37: error: unknown relation kind 'aliance' (did you mean 'alliance'?): the "
            "model knows alliance, contact, hosting, hostility, normalisation and patronage; "
            "declare other kinds in a top-level 'kinds:' list"])


def test_declared_relation_kinds():
    ok = HEAD + "kinds: [trade, rivalry]\n" + ACTORS + \
        "  - {from: qatar, to: israel, kind: trade}\n  - {from: hamas, to: israel, kind: rivalry}\n"
    with Case({"ok.yaml": ok}) as c:
        rc, out, err = c.run("check", "ok.yaml")
        assert rc == 0, err
    expect(HEAD + "kinds: [trade, hostility]\n" + ACTORS + "  - {from: qatar, to: israel, kind: trad}\n",
           ["bad.yaml:3:16: error: relation kind 'hostility' is already known to the model; "
            "remove it from 'kinds'",
            "bad.yaml:10:37: error: unknown relation kind 'trad' (did you mean 'trade'?): the "
            "model knows alliance, contact, hosting, hostility, normalisation and patronage; "
            "declare other kinds in a top-level 'kinds:' list"])


# --------------------------------------------------------------- command line

def test_unknown_option_suggests_the_nearest():
    with Case({"ok.yaml": HEAD + ACTORS}) as c:
        for args, line in ((["run", "ok.yaml", "--seeds", "3"],
                            "tightrope: error: unknown option '--seeds' (did you mean '--seed'?)"),
                           (["check", "ok.yaml", "--varient=x"],
                            "tightrope: error: unknown option '--varient' (did you mean '--variant'?)"),
                           (["run", "ok.yaml", "--frobnicate"],
                            "tightrope: error: unknown option '--frobnicate'")):
            rc, out, err = c.run(*args, "-o", "out")
            assert rc == 2, f"{args}: exit {rc}"
            assert err.splitlines()[0] == line, err
            assert not os.path.exists(c.path("out"))


def test_replay_usage_errors_exit_2():
    with Case({"ok.yaml": HEAD + ACTORS + "metrics: {t: \"rel('israel','hamas').tension\"}\n"}) as c:
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet")
        assert rc == 0, err
        os.mkdir(c.path("empty"))
        cases = ((["replay", "missing", "--run", "1"],
                  "tightrope: error: replay missing: no such output folder or scenario file"),
                 (["replay", "empty", "--run", "1"], "empty/manifest.yaml: error: cannot open"),
                 (["replay", "out"], "tightrope: error: replay needs --run R"),
                 (["replay", "out", "--run", "1", "--variant", "nope"],
                  "tightrope: error: replay: no variant 'nope'"),
                 (["replay", "out", "--run", "1", "--point", "2"],
                  "tightrope: error: replay: --point 2 is outside 1..1"),
                 (["replay", "out", "--run", "1", "--seeds", "2"],
                  "tightrope: error: unknown option '--seeds' (did you mean '--seed'?)"))
        for args, start in cases:
            rc, out, err = c.run(*args)
            assert rc == 2, f"{args}: exit {rc}: {err}"
            assert err.startswith(start), f"{args}: {err}"


# ---------------------------------------------------------- declared params

POLICY = """
declare {name = "every", type = "integer", default = 4, min = 1, doc = "act every N ticks"}
declare {name = "rate", type = "number", min = 0, max = 1, doc = "a probability"}
declare {name = "partner", type = "actor", doc = "who it works with"}
declare {name = "sides", type = "list", items = "actor", doc = "the two sides"}
declare {name = "label", type = "string", default = "x"}
function decide(me, world)
  me.x = me.params.every
  return me.params.rate, me.params.partner, me.params.sides, me.params.label
end
"""
P_HEAD = HEAD + "actors:\n  b: {role: state, attrs: {x: 0}}\n"
# line 3 actors:, 4 b, 5 a


def test_undeclared_param_key_with_builtin_policy():
    # the built-in mediator declares talks_every: a typo is an error, not the default
    expect(P_HEAD + "  a: {role: mediator, attrs: {x: 0}, policy: policies/mediator.lua,"
           " params: {parties: [a, b], talks_evry: 2}}\n",
           ["bad.yaml:5:95: error: the policy of actor 'a' (%s) declares no parameter "
            "'talks_evry' (did you mean 'talks_every'?)" % os.path.join(
                os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                "scripts/policies/mediator.lua")])


def test_param_of_wrong_type_or_out_of_range():
    expect(P_HEAD + "  a: {role: state, attrs: {x: 0}, policy: p.lua,"
           " params: {every: 2.5, rate: \"0.5\", partner: bb, sides: [a, c]}}\n"
           "  c: {role: state, attrs: {x: 0}, policy: p.lua, params: {rate: 1.5, label: 3}}\n",
           ["bad.yaml:5:66: error: parameter 'every' of actor 'a' is an integer, got 2.5",
            "bad.yaml:5:77: error: parameter 'rate' of actor 'a' is a number, got the text '0.5': "
            "remove the quotes",
            "bad.yaml:5:93: error: parameter 'partner' of actor 'a' is an actor id: unknown actor "
            "'bb' (did you mean 'b'?)",
            "bad.yaml:6:65: error: parameter 'rate' of actor 'c' must be at most 1, got 1.5",
            "bad.yaml:6:77: error: parameter 'label' of actor 'c' is a string, got a number"],
           files={"p.lua": POLICY})


def test_undeclared_param_in_paths_variant_sweep_and_set():
    base = P_HEAD + "  a: {role: state, attrs: {x: 0}, policy: p.lua, params: {every: 2}}\n"
    expect(base + "variants:\n  v: {set: {a.params.evry: 3}}\n"
           "sweep:\n  params: {a.params.rat: [0.1, 0.2]}\n",
           ["bad.yaml:7:13: error: the policy of actor 'a' (p.lua) declares no parameter 'evry' "
            "(did you mean 'every'?) (path 'a.params.evry')",
            "bad.yaml:9:12: error: the policy of actor 'a' (p.lua) declares no parameter 'rat' "
            "(did you mean 'rate'?) (path 'a.params.rat')"],
           files={"p.lua": POLICY})
    # out of range where it is written: the variant's line, the sweep's value
    expect(base + "variants:\n  v: {set: {a.params.every: 0}}\n"
           "sweep:\n  params: {a.params.rate: [0.5, 1.5]}\n",
           ["bad.yaml:9:33: error: parameter 'rate' of actor 'a' must be at most 1, got 1.5"],
           files={"p.lua": POLICY})
    expect(base + "variants:\n  v: {set: {a.params.every: 0}}\n",
           ["bad.yaml:7:13: error: variant 'v': parameter 'every' of actor 'a' must be at least 1, "
            "got 0"], files={"p.lua": POLICY})
    with Case({"ok.yaml": base, "p.lua": POLICY}) as c:
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet", "--set", "a.params.evry=3")
        assert rc == 1 and err.splitlines()[0] == (
            "tightrope: error: --set a.params.evry=3: the policy of actor 'a' (p.lua) declares no "
            "parameter 'evry' (did you mean 'every'?) (path 'a.params.evry')"), err
        # a declared number need not be in the YAML: --set reaches it, the default applies
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet", "--set", "a.params.rate=0.5",
                             "--set", "b.x=1")
        assert rc == 0, err


def test_declared_default_reaches_the_script():
    text = (HEAD + "actors:\n  a: {role: state, attrs: {x: 0}, policy: p.lua}\n"
            "  b: {role: state, attrs: {x: 0}, policy: p.lua, params: {every: 7}}\n"
            "metrics: {ax: \"a.x\", bx: \"b.x\", ae: \"a.params.every\"}\n"
            "variants:\n  v: {set: {a.params.every: 9}}\n")
    with Case({"ok.yaml": text, "p.lua": POLICY}) as c:
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet")
        assert rc == 0, err
        got = [(r["variant"], r["ax"], r["bx"], r["ae"]) for r in c.csv("out", "runs.csv")]
        assert got == [("baseline", "4", "7", "4"), ("v", "9", "7", "9")], got


def test_script_declaring_nothing_gets_a_note():
    text = HEAD + "actors:\n  a: {role: state, attrs: {x: 0}, policy: q.lua, params: {anything: 1}}\n"
    with Case({"ok.yaml": text, "q.lua": "function decide(me, world) me.x = me.params.anything end\n"}) as c:
        rc, out, err = c.run("check", "ok.yaml")
        assert rc == 0, err
        assert err.splitlines() == ["ok.yaml:4:43: note: q.lua declares no parameters: the params "
                                    "of its actors are not checked (declare them: docs/lua-api.md)"], err


def test_bad_declarations():
    expect(P_HEAD + "  a: {role: state, attrs: {x: 0}, policy: d.lua}\n",
           ["d.lua:1:1: error: declare: parameter 'a' needs a type: number, integer, string, "
            "list, actor or any (got 'nubmer') (did you mean 'number'?)",
            "d.lua:2:1: error: declare: unknown field 'defualt' (did you mean 'default'?): a "
            "declaration has name, type, default, min, max, items and doc (or shared, alone)",
            "d.lua:3:1: error: declare: the default of 'c' must be at least 0, got -1",
            "d.lua:4:1: error: declare: parameter 'b' is declared twice (first at line 2)"],
           files={"d.lua": 'declare {name = "a", type = "nubmer"}\n'
                           'declare {name = "b", type = "number", defualt = 1}\n'
                           'declare {name = "c", type = "number", default = -1, min = 0}\n'
                           'declare {name = "b", type = "string"}\n'
                           'function decide(me, world) end\n'})


def test_model_values_range_checked():
    ok = HEAD + "actors:\n  a: {role: state, attrs: {x: 0}}\nmetrics: {x: \"a.x\"}\n"
    with Case({"ok.yaml": ok}) as c:
        rc, out, err = c.run("run", "ok.yaml", "-o", "out", "--quiet", "--set", "model.talks_rate=-5")
        assert rc == 1, err
        assert err.splitlines()[0] == ("tightrope: error: --set model.talks_rate=-5: "
                                       "model.talks_rate must be in [0, 1], got -5"), err
        assert not os.path.exists(c.path("out"))
    expect(ok + "model: {attack_damage: 1.5, spillover: -1}\n",
           ["bad.yaml:6:24: error: model.attack_damage must be in [0, 1], got 1.5 (see docs/model.md)",
            "bad.yaml:6:40: error: model.spillover must be at least 0, got -1 (see docs/model.md)"])
    expect(ok + "variants:\n  v: {add: {model.talks_rate: 0.5}}\n",
           ["bad.yaml:7:13: error: variant 'v': model.talks_rate must be in [0, 1], got 1.5"])


# ---------------------------------------------------------------- --keep-going

KG_POLICY = """
function decide(me, world)
  if world.run == 3 and world.tick == 2 then error("boom in run 3") end
  me.x = me.x + rng.uniform()
end
"""
KG = ("scenario: kg\nexperiment: {ticks: 5, runs: 10, seed: 3}\n"
      "actors:\n  a: {role: state, attrs: {x: 0}, policy: kg.lua}\n"
      "metrics: {x: \"a.x\"}\noutcomes: {high: \"a.x > 3\"}\n")


def test_keep_going_records_the_failing_run_and_finishes_the_others():
    import csv, shlex, statistics
    with Case({"kg.yaml": KG, "kg.lua": KG_POLICY}) as c:
        rc, out, err = c.run("run", "kg.yaml", "-o", "out", "--quiet", "--keep-going", "-j", "2")
        assert rc == 3, err
        assert "tightrope: 1 of 10 runs failed; they are listed in out/errors.csv, the statistics " \
               "are over the 9 that finished" in err, err
        runs = c.csv("out", "runs.csv")
        assert [r["outcome"] for r in runs].count("error") == 1 and len(runs) == 10
        bad = [r for r in runs if r["outcome"] == "error"][0]
        assert (bad["run"], bad["end_tick"], bad["x"]) == ("3", "2", "")
        errors = c.csv("out", "errors.csv")
        assert len(errors) == 1, errors
        e = errors[0]
        assert (e["variant"], e["point"], e["run"], e["tick"], e["actor"]) == ("baseline", "1", "3", "2", "a")
        assert e["message"].startswith("in decide of 'a': kg.lua:2: boom in run 3"), e["message"]
        assert e["replay"] == "tightrope replay kg.yaml --run 3 -s 3", e["replay"]
        # the replay command reproduces the error
        rc, rout, rerr = c.run(*shlex.split(e["replay"])[1:])
        assert rc == 3 and "kg.lua:2: boom in run 3" in rout + rerr, rout + rerr
        # statistics over the 9 runs that finished
        xs = [float(r["x"]) for r in runs if r["outcome"] != "error"]
        fin = c.csv("out", "finals.csv")[0]
        assert fin["n"] == "9"
        assert abs(float(fin["mean"]) - statistics.mean(xs)) < 1e-12
        assert abs(float(fin["sd"]) - statistics.stdev(xs)) < 1e-12
        oc = c.csv("out", "outcomes.csv")
        assert sum(int(r["count"]) for r in oc) == 9
        manifest = open(c.path("out", "manifest.yaml")).read()
        assert "failed_runs: 1\n" in manifest and "errors.csv" in manifest
        # the same bytes with one thread
        rc, out, err = c.run("run", "kg.yaml", "-o", "out1", "--quiet", "--keep-going", "-j", "1")
        assert rc == 3, err
        for name in ("runs.csv", "errors.csv", "finals.csv", "outcomes.csv", "series_summary.csv"):
            assert c.bytes("out", name) == c.bytes("out1", name), name


def test_without_keep_going_nothing_is_installed():
    with Case({"kg.yaml": KG, "kg.lua": KG_POLICY.replace("world.run == 3", "world.run == 99")}) as c:
        rc, out, err = c.run("run", "kg.yaml", "-o", "out", "--quiet")
        assert rc == 0, err
        before = {n: c.bytes("out", n) for n in os.listdir(c.path("out"))}
        c.write("kg.lua", KG_POLICY)
        rc, out, err = c.run("run", "kg.yaml", "-o", "out", "--quiet", "-s", "4")
        assert rc == 3 and "boom in run 3" in err, err
        after = {n: c.bytes("out", n) for n in os.listdir(c.path("out"))}
        assert after == before, "the earlier results must be left untouched"
        assert "errors.csv" not in after
        rc, out, err = c.run("run", "kg.yaml", "-o", "out", "--quiet", "--keep-going", "--resume")
        assert rc == 2 and "--keep-going cannot be combined with --resume" in err, err


# ------------------------------------------------------------------- warnings

def expect_warnings(text, lines, files=None):
    """`check` exits 0 and prints exactly these warnings; with --strict
    they are errors (exit 1) and `run --strict` refuses to start."""
    with Case(dict(files or {}, **{"w.yaml": text})) as c:
        rc, out, err = c.run("check", "w.yaml")
        got = [l for l in err.splitlines() if ": warning: " in l or ": error: " in l]
        assert rc == 0 and "w.yaml: ok:" in out, f"exit {rc}: {err}"
        assert got == lines, "expected:\n" + "\n".join(lines) + "\ngot:\n" + err
        rc, out, err = c.run("check", "w.yaml", "--strict")
        got = [l for l in err.splitlines() if ": error: " in l]
        assert rc == 1 and got == [l.replace(": warning: ", ": error: ") for l in lines], err
        rc, out, err = c.run("run", "w.yaml", "--strict", "-o", "out", "--quiet")
        assert rc == 1 and not os.path.exists(c.path("out", "runs.csv")), err
        rc, out, err = c.run("run", "w.yaml", "-o", "out", "--quiet")
        assert rc == 0 and [l for l in err.splitlines() if ": warning: " in l] == lines, err


W_HEAD = HEAD + ACTORS + "metrics:\n  t: \"rel('israel','hamas').tension + qatar.leverage + hamas.capability + israel.capability\"\n"
# lines 9-10: metrics


def test_warning_sweep_path_also_set_by_a_variant():
    expect_warnings(W_HEAD + "variants:\n  tough: {set: {israel.capability: 1}}\n"
                    "sweep:\n  params: {israel.capability: [0.5, 0.8]}\n",
                    ["w.yaml:12:17: warning: variant 'tough' sets 'israel.capability', which the "
                     "sweep also sets (line 14): at every point the sweep's value replaces the "
                     "variant's, so this change does nothing"])


def test_warning_variant_identical_to_baseline():
    expect_warnings(W_HEAD + "variants:\n  same: {set: {israel.capability: 0.9}, add: {qatar.leverage: 0}}\n"
                    "  empty: {description: nothing yet}\n",
                    ["w.yaml:12:3: warning: variant 'same' is identical to the baseline: every "
                     "value it sets equals the baseline's",
                     "w.yaml:13:3: warning: variant 'empty' is identical to the baseline: it "
                     "changes nothing"])


def test_warning_attribute_and_parameter_never_read():
    expect_warnings(W_HEAD.replace("attrs: {leverage: 0.5}", "attrs: {leverage: 0.5, patience: 2}")
                    .replace("{role: state, attrs: {capability: 0.9}}",
                             "{role: state, attrs: {capability: 0.9}, policy: p.lua, params: {drift: 1}}"),
                    ["p.lua:2:1: warning: parameter 'unused' is declared but never read by any "
                     "script or expression",
                     "w.yaml:4:50: warning: attribute 'patience' of actor 'qatar' is never read: no "
                     "script, expression or model rule reads 'patience'"],
                    files={"p.lua": 'declare {name = "drift", type = "number"}\n'
                                    'declare {name = "unused", type = "number", default = 1}\n'
                                    'function decide(me, world) me.capability = me.params.drift end\n'})


def test_warning_outcome_that_can_never_hold():
    # nothing writes qatar.patience, and 2 < 1 is false from the start (and
    # in the variant); `war` reads a tension the model writes: no warning
    expect_warnings(W_HEAD.replace("attrs: {leverage: 0.5}", "attrs: {leverage: 0.5, patience: 2}") +
                    "outcomes:\n  gave_up: \"qatar.patience < 1 and qatar.patience > -1\"\n"
                    "  war: \"rel('israel','hamas').tension >= 0.95\"\n"
                    "variants:\n  calmer: {set: {qatar.patience: 3}}\n",
                    ["w.yaml:12:12: warning: outcome 'gave_up' can never hold: no script, "
                     "event or model rule writes 'patience', and the initial values "
                     "do not satisfy it"])
    # a variant under which it holds from the start: no warning
    with Case({"ok.yaml": W_HEAD.replace("attrs: {leverage: 0.5}", "attrs: {leverage: 0.5, patience: 2}") +
               "outcomes:\n  gave_up: \"qatar.patience < 1\"\n"
               "variants:\n  tired: {set: {qatar.patience: 0.5}}\n"}) as c:
        rc, out, err = c.run("check", "--strict", "ok.yaml")
        assert rc == 0 and "warning" not in err, err


def test_bundled_and_docs_scenarios_pass_check_strict():
    import glob, re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for f in sorted(glob.glob(os.path.join(root, "scenarios", "*.yaml"))):
        with Case() as c:
            rc, out, err = c.run("check", "--strict", f)
            assert rc == 0 and ": warning: " not in err and ": error: " not in err, f"{f}: {err}"
    # docs: the scripts a guide shows are written beside its scenarios (a
    # ```lua block after the paragraph that names `path/file.lua`)
    accepted = 0
    docs = sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    scripts = {}
    for md in docs:
        text = open(md, encoding="utf-8").read()
        for m in re.finditer(r"`([\w/]+\.lua)`[^`]*?(?:`[^`]*`[^`]*?)*?```lua\n(.*?)```", text, re.S):
            scripts.setdefault(m.group(1), m.group(2))
    assert "policies/escalate.lua" in scripts, scripts
    for md in docs:
        text = open(md, encoding="utf-8").read()
        for i, m in enumerate(re.finditer(r"```yaml\n(.*?)```", text, re.S)):
            if not re.search(r"^scenario: ", m.group(1), re.M):
                continue
            with Case(scripts) as c:
                c.write("doc.yaml", m.group(1))
                rc, out, err = c.run("check", "doc.yaml")
                if rc != 0:
                    continue          # the docs also show broken examples on purpose
                accepted += 1
                assert ": warning: " not in err, f"{md} block {i}: {err}"
                rc, out, err = c.run("check", "--strict", "doc.yaml")
                assert rc == 0, f"{md} block {i}: {err}"
    assert accepted >= 2, "the complete examples of scenario-format.md and user-guide.md"


# ------------------------------------------------------- YAML in users' words

def test_yaml_tab_indentation():
    expect("scenario: s\nactors:\n  a:\n\trole: state\n",
           ["bad.yaml:4:1: error: found character that cannot start any token while scanning for "
            "the next token: YAML does not allow tabs for indentation: use spaces"])


def test_yaml_key_indented_too_deep_or_too_shallow():
    expect("scenario: s\nactors:\n  a:\n    role: state\n      attrs: {x: 1}\n",
           ["bad.yaml:5:12: error: mapping values are not allowed in this context: 'attrs:' is "
            "indented deeper than 'role:' above it; keys of one mapping line up"])
    expect("scenario: s\nactors:\n  a:\n    role: state\n   attrs: {x: 1}\n",
           ["bad.yaml:5:4: error: did not find expected key while parsing a block mapping: "
            "'attrs:' is indented less than 'role:' above it; keys of one mapping line up"])


def test_yaml_key_of_the_enclosing_block_indented_into_attrs():
    expect("scenario: s\nactors:\n  a:\n    role: state\n    attrs:\n      x: 1\n      policy: p.lua\n",
           ["bad.yaml:7:7: error: 'policy' is not an attribute: it is a key of actor 'a', probably "
            "indented one level too deep (line it up with 'attrs:')"])


def test_yaml_quoted_number():
    expect("scenario: s\nexperiment: {ticks: \"5\"}\nactors:\n  a: {role: state, attrs: {x: \"0.5\"}}\n",
           ["bad.yaml:2:21: error: expected an integer for 'ticks', got '5': remove the quotes",
            "bad.yaml:4:31: error: expected a number for 'x', got '0.5': remove the quotes"])
