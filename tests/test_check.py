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
