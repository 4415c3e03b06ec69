"""Output files (docs/output-files.md): the statistics of series_summary.csv and
finals.csv recomputed here from the per-run data, row order, the CSV format
(shortest round-trip numbers, quoting, LF), and the all-or-nothing rule for
the output folder (exit 4; earlier results untouched after exit 1, 3, 4)."""
import csv, io, math, os

import helpers
from helpers import Case


run_ok = helpers.run_ok


# --- reference statistics, standard library only ------------------------------
def quantile_sorted(xs, f):
    """gsl_stats_quantile_from_sorted_data: linear interpolation at (n-1) f."""
    n = len(xs)
    idx = f * (n - 1)
    lhs = int(idx)
    delta = idx - lhs
    if lhs == n - 1:
        return xs[lhs]
    return (1 - delta) * xs[lhs] + delta * xs[lhs + 1]


def _betacf(a, b, x):
    # Lentz's continued fraction for the incomplete beta function.
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d; d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c; c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d; d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c; c = c if abs(c) > tiny else tiny
        de = d * c
        h *= de
        if abs(de - 1) < 1e-16:
            break
    return h


def _ibeta(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1 - math.exp(lbt) * _betacf(b, a, 1 - x) / b


def t_quantile(p, df):
    """Student t quantile by bisection on the CDF 1 - I_{df/(df+t^2)}(df/2, 1/2)/2."""
    def cdf(t):
        tail = 0.5 * _ibeta(df / 2, 0.5, df / (df + t * t))
        return 1 - tail if t > 0 else tail
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_reference_t_quantile_matches_tables():
    # Published values: t_{0.975,29} = 2.045229642, t_{0.975,1} = 12.70620474,
    # t_{0.975,4} = 2.776445105; the reference must be right before it judges.
    for df, want in ((29, 2.045229642), (1, 12.70620474), (4, 2.776445105), (9, 2.262157163)):
        assert abs(t_quantile(0.975, df) - want) < 1e-8, (df, t_quantile(0.975, df))


def rel_close(got, want, tol=1e-9):
    return abs(got - want) <= tol * max(1.0, abs(want))


# A random walk that ends early when it wanders off: runs end at different
# ticks, so the summary's n falls over time.
WALK = {
    "w.yaml": """
        scenario: walk
        experiment: {ticks: 15, runs: 30, seed: 5}
        actors:
          a: {role: state, attrs: {x: 0, y: 1}, policy: walk.lua}
        metrics:
          x: "a.x"
          y: "a.y"
          up: "a.x > 0"
        outcomes:
          off: "math.abs(a.x) > 3"
        variants:
          wide: {set: {"a.y": 2}}
    """,
    "walk.lua": """
        function decide(me, world)
          me.x = me.x + rng.normal(0, me.y)
          me.y = me.y * 1.01
        end
    """,
}


def test_series_summary_and_finals_recomputed():
    c = Case(WALK)
    try:
        run_ok(c, "run", "w.yaml", "-o", "all", "--series", "all")
        run_ok(c, "run", "w.yaml", "-o", "sum", "--series", "summary")
        series = c.csv("all", "series.csv")
        runs = c.csv("all", "runs.csv")
        assert c.bytes("all", "runs.csv") == c.bytes("sum", "runs.csv"), "--series must not change the runs"
        metrics = ["x", "y", "up"]
        # Row order: variant (baseline first), point, run, tick.
        order = [(r["variant"] != "baseline", int(r["point"]), int(r["run"]), int(r["tick"])) for r in series]
        assert order == sorted(order), "series.csv rows are ordered variant, point, run, tick"
        assert [r["variant"] for r in runs][:30] == ["baseline"] * 30
        ends = {(r["variant"], r["run"]): int(r["end_tick"]) for r in runs}
        assert len(set(ends.values())) > 2, "the scenario must end runs at different ticks"
        for r in runs:
            rs = [s for s in series if s["variant"] == r["variant"] and s["run"] == r["run"]]
            assert [int(s["tick"]) for s in rs] == list(range(int(r["end_tick"]) + 1)), \
                "a run's series stops at its end_tick"
            for m in metrics:
                assert rs[-1][m] == r[m], "runs.csv holds the metrics at end_tick"
            if r["outcome"] == "off":
                assert abs(float(r["x"])) > 3
            else:
                assert r["outcome"] == "horizon" and r["end_tick"] == "15"
        summary = c.csv("sum", "series_summary.csv")
        assert c.header("sum", "series_summary.csv") == \
            ["variant", "point", "tick", "metric", "n", "mean", "sd", "p05", "p50", "p95"]
        expect = []
        for variant in ("baseline", "wide"):
            for tick in range(16):
                for m in metrics:
                    xs = sorted(float(s[m]) for s in series if s["variant"] == variant and int(s["tick"]) == tick)
                    if xs:
                        expect.append((variant, tick, m, xs))
        assert len(summary) == len(expect), f"{len(summary)} summary rows, expected {len(expect)}"
        for row, (variant, tick, m, xs) in zip(summary, expect):
            assert (row["variant"], row["point"], int(row["tick"]), row["metric"]) == (variant, "1", tick, m), \
                f"summary rows ordered variant, point, tick, metric (in declaration order): {row}"
            n = len(xs)
            assert int(row["n"]) == n, f"{variant} tick {tick}: n {row['n']}, runs still going {n}"
            mean, sd = helpers.mean_sd(xs)
            assert rel_close(float(row["mean"]), mean), (row, mean)
            if n > 1:
                assert rel_close(float(row["sd"]), sd, 1e-8) or abs(float(row["sd"]) - sd) < 1e-12, (row, sd)
            else:
                assert row["sd"] == "", "sd of one value is an empty field"
            for col, f in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
                assert rel_close(float(row[col]), quantile_sorted(xs, f)), (row, col, quantile_sorted(xs, f))

        # finals.csv: over runs, the metric at its end_tick.
        finals = c.csv("all", "finals.csv")
        assert [(f["variant"], f["metric"]) for f in finals] == \
            [(v, m) for v in ("baseline", "wide") for m in metrics]
        tq = t_quantile(0.975, 29)
        assert abs(tq - 2.045229642) < 1e-8
        for f in finals:
            xs = sorted(float(r[f["metric"]]) for r in runs if r["variant"] == f["variant"])
            n = len(xs)
            mean, sd = helpers.mean_sd(xs)
            half = tq * sd / math.sqrt(n)
            assert f["n"] == "30" and f["point"] == "1"
            checks = {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half,
                      "p05": quantile_sorted(xs, 0.05), "p50": quantile_sorted(xs, 0.5),
                      "p95": quantile_sorted(xs, 0.95), "min": xs[0], "max": xs[-1]}
            for col, want in checks.items():
                got = float(f[col])
                assert rel_close(got, want, 1e-8) or abs(got - want) < 1e-12, \
                    f"finals {f['variant']} {f['metric']} {col}: engine {got}, expected {want}"
    finally:
        c.close()


ONE = {
    "one.yaml": """
        scenario: one
        experiment: {ticks: 2, runs: 1, seed: 3}
        actors:
          a:
            role: state
            attrs: {tenth: 0.1, tiny: 1e-7, big: 1e20, third: 0.3333333333333333, whole: 123456, neg: -2.5, half: 0.5, thousandth: 0.001}
        metrics:
          tenth: "a.tenth"
          tiny: "a.tiny"
          big: "a.big"
          third: "a.third"
          whole: "a.whole"
          neg: "a.neg"
          half: "a.half"
          sum: "a.tenth + 0.2"
          thousandth: "a.thousandth"
    """,
}


def shortest_ok(field, value):
    """The field reads back to value and is no longer than the shortest of
    Python's round-trip repr in plain or exponent notation."""
    assert float(field) == value, f"{field!r} does not read back as {value!r}"
    r = repr(value)
    # Shortest digits, then both spellings without padding or '+'.
    mant, _, exp = ("%r" % value).partition("e")
    digits = "{:.17g}".format(value)
    cands = [r]
    d = format(value, ".17g")
    for p in range(1, 18):
        s = format(value, f".{p}g")
        if float(s) == value:
            d = s
            break
    cands.append(d)
    if "e" in d:
        m, e = d.split("e")
        cands.append(m + "e" + str(int(e)))
        plain = format(value, "f").rstrip("0").rstrip(".") if abs(value) >= 1 else None
        if plain is not None and float(plain) == value:
            cands.append(plain)
    assert len(field) <= min(len(x) for x in cands), f"{field!r} is longer than needed for {value!r} ({cands})"


def test_numbers_shortest_round_trip_and_format():
    c = Case(ONE)
    try:
        run_ok(c, "run", "one.yaml", "-o", "out", "--series", "all")
        raw = c.bytes("out", "runs.csv")
        assert b"\r" not in raw and raw.endswith(b"\n"), "LF line ends, final newline"
        row = c.csv("out", "runs.csv")[0]
        assert row["tenth"] == "0.1", f"0.1 must be written 0.1, got {row['tenth']}"
        assert row["tiny"] in ("1e-7", "1e-07"), f"1e-7 must be written in exponent form, got {row['tiny']}"
        assert row["whole"] == "123456"
        assert row["neg"] == "-2.5" and row["half"] == "0.5"
        values = dict(tenth=0.1, tiny=1e-7, big=1e20, third=0.3333333333333333, whole=123456.0,
                      neg=-2.5, half=0.5, sum=0.1 + 0.2, thousandth=0.001)
        for k, v in values.items():
            shortest_ok(row[k], v)
        assert row["sum"] == "0.30000000000000004", "0.1 + 0.2 needs all 17 digits"
        for f in ("runs.csv", "series.csv", "finals.csv", "outcomes.csv"):
            raw = c.bytes("out", f).decode()
            assert "\r" not in raw and '"' not in raw, f"{f}: nothing here needs quoting"
        # one run: sd and the t-interval are undefined, written as empty fields
        fin = {r["metric"]: r for r in c.csv("out", "finals.csv")}
        assert fin["tenth"]["n"] == "1" and fin["tenth"]["sd"] == "", f"sd of one run: {fin['tenth']}"
        assert fin["tenth"]["mean"] == "0.1" and fin["tenth"]["min"] == "0.1"
        run_ok(c, "run", "one.yaml", "-o", "sum")
        summ = c.csv("sum", "series_summary.csv")
        assert all(r["sd"] == "" for r in summ), "sd over one run is empty in series_summary"
    finally:
        c.close()


def test_csv_quoting_rfc4180():
    """Display names and free text never reach the CSVs by docs/output-files.md, so the
    one place a user string lands is the manifest; the CSVs must parse with
    an RFC 4180 reader into exactly the header's column count."""
    c = Case({
        "q.yaml": """
            scenario: q
            title: 'Commas, "quotes" and
              lines'
            experiment: {ticks: 2, runs: 2, seed: 3}
            actors:
              a: {role: state, name: 'A, "the first"', attrs: {x: 1}, policy: p.lua}
            actions:
              poke: {script: poke.lua, cameo: "010", goldstein: 0.5}
            metrics: {x: "a.x"}
        """,
        "p.lua": 'function decide(me, world) me:act("poke", "a") end',
        "poke.lua": "function apply(world, actor, target, args) return 0.25 end",
    })
    try:
        run_ok(c, "run", "q.yaml", "-o", "out", "--events", "--series", "all")
        for f in ("runs.csv", "series.csv", "events.csv", "finals.csv", "outcomes.csv"):
            text = c.bytes("out", f).decode()
            rows = list(csv.reader(io.StringIO(text, newline="")))
            assert all(len(r) == len(rows[0]) for r in rows), f"{f}: ragged rows"
        ev = c.csv("out", "events.csv")
        assert c.header("out", "events.csv") == \
            ["variant", "point", "run", "tick", "actor", "action", "target", "cameo", "goldstein", "value"]
        assert ev[0]["cameo"] == "010", "a CAMEO code keeps its leading zero"
        assert ev[0]["goldstein"] == "0.5" and ev[0]["value"] == "0.25"
    finally:
        c.close()


def test_events_csv_rows_and_values():
    c = Case({
        "e.yaml": """
            scenario: e
            experiment: {ticks: 3, runs: 2, seed: 3}
            actors:
              a: {role: state, attrs: {x: 0}, policy: p.lua}
              b: {role: state, attrs: {x: 0}}
            actions:
              give: {script: give.lua, cameo: "071", goldstein: 7.4}
              nod: {script: nod.lua}
            events:
              - {name: quake, at: 2, add: {"b.x": 1.5}, cameo: "022", goldstein: -1}
              - {name: calm, at: 3, lua: "b.x = 0"}
            metrics: {x: "b.x"}
        """,
        "p.lua": """
            function decide(me, world)
              me:act("give", "b", {amount = world.tick})
              me:act("nod", "b")
            end
        """,
        "give.lua": """
            function apply(world, actor, target, args)
              world:add("b.x", args.amount)
              return args.amount * 2
            end
        """,
        "nod.lua": "function apply(world, actor, target, args) assert(next(args) == nil) end",
    })
    try:
        run_ok(c, "run", "e.yaml", "-o", "out", "--events")
        ev = c.csv("out", "events.csv")
        got = [(r["run"], r["tick"], r["actor"], r["action"], r["target"], r["cameo"], r["goldstein"], r["value"])
               for r in ev]
        want = []
        for run in ("1", "2"):
            for t in (1, 2, 3):
                if t == 2:
                    want.append((run, "2", "", "quake", "", "022", "-1", "1.5"))
                if t == 3:
                    want.append((run, "3", "", "calm", "", "", "", ""))
                want.append((run, str(t), "a", "give", "b", "071", "7.4", str(2 * t)))
                want.append((run, str(t), "a", "nod", "b", "", "", ""))
        assert got == want, "events.csv rows:\n" + "\n".join(map(str, got))
    finally:
        c.close()


# --- exit codes and the output folder -------------------------------------------
GOOD = {
    "g.yaml": """
        scenario: g
        experiment: {ticks: 4, runs: 3, seed: 9}
        actors:
          a: {role: state, attrs: {x: 0}, policy: p.lua}
        metrics: {x: "a.x"}
    """,
    "p.lua": "function decide(me, world) me.x = me.x + rng.uniform() end",
}


def snapshot(c, out):
    d = c.path(out)
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))
            if os.path.isfile(os.path.join(d, f))}


def test_failed_runs_leave_earlier_results_untouched():
    c = Case(GOOD)
    try:
        run_ok(c, "run", "g.yaml", "-o", "out", "--series", "all", "--events")
        before = snapshot(c, "out")
        assert "runs.csv" in before and "series.csv" in before
        # exit 1: an invalid scenario
        c.write("bad.yaml", GOOD["g.yaml"].replace("attrs: {x: 0}", "atrs: {x: 0}"))
        rc, _, err = c.run("run", "bad.yaml", "-o", "out", "--quiet")
        assert rc == 1, f"exit {rc}: {err[-300:]}"
        assert snapshot(c, "out") == before, "exit 1 changed the output folder"
        # exit 3: a run-time error, on the last run only (others finish first)
        c.write("p3.lua", "function decide(me, world) if world.run == 3 and world.tick == 4 then error('boom') end "
                          "me.x = me.x + 1 end")
        c.write("g3.yaml", GOOD["g.yaml"].replace("p.lua", "p3.lua"))
        rc, _, err = c.run("run", "g3.yaml", "-o", "out", "--quiet", "-j", "1")
        assert rc == 3, f"exit {rc}: {err[-300:]}"
        assert snapshot(c, "out") == before, "exit 3 changed the output folder"
    finally:
        c.close()


def test_output_not_writable_exit_4():
    c = Case(GOOD)
    try:
        c.write("afile", "not a folder\n")
        rc, _, err = c.run("run", "g.yaml", "-o", "afile", "--quiet")
        assert rc == 4, f"output over a file: exit {rc}"
        assert "afile" in err, f"message names the folder: {err[-300:]}"
        rc, _, err = c.run("run", "g.yaml", "-o", "afile/sub", "--quiet")
        assert rc == 4, f"output under a file: exit {rc}"
        assert open(c.path("afile")).read() == "not a folder\n"
        if os.geteuid() != 0:
            os.mkdir(c.path("ro"))
            os.chmod(c.path("ro"), 0o555)
            rc, _, err = c.run("run", "g.yaml", "-o", "ro/out", "--quiet")
            assert rc == 4, f"read-only parent: exit {rc}"
    finally:
        c.close()


def test_default_output_folder_and_manifest():
    c = Case(GOOD)
    try:
        run_ok(c, "run", "g.yaml")
        assert os.path.exists(c.path("results", "g", "runs.csv")), "default -o is results/<scenario id>"
        man = c.bytes("results/g", "manifest.yaml").decode()
        import hashlib
        sha = hashlib.sha256(open(c.path("g.yaml"), "rb").read()).hexdigest()
        assert sha in man, "manifest records the scenario's SHA-256"
        leftovers = [f for f in os.listdir(c.path("results", "g")) if f.startswith(".") or f.endswith(".tmp")]
        assert leftovers == [] or all(not f.endswith(".tmp") for f in leftovers), leftovers
    finally:
        c.close()


# When one file of the output folder cannot be replaced, `run` exits 4 and
# leaves every earlier file as it was: the files are installed as one
# transaction (docs/cli.md: "after exit 1, 3 or 4 the folder's earlier
# results are untouched").
def test_exit_4_leaves_earlier_results_untouched():
    c = Case(GOOD)
    try:
        run_ok(c, "run", "g.yaml", "-o", "out")
        # a directory stands where outcomes.csv goes: that one file cannot
        # be replaced, so the run must fail with 4 and change nothing
        os.remove(c.path("out", "outcomes.csv"))
        os.mkdir(c.path("out", "outcomes.csv"))
        os.mkdir(c.path("out", "outcomes.csv", "keep"))
        before = snapshot(c, "out")
        rc, _, err = c.run("run", "g.yaml", "-o", "out", "--quiet", "-s", "10")
        assert rc == 4, f"exit {rc} when outcomes.csv cannot be written: {err[-300:]}"
        after = snapshot(c, "out")
        changed = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
        assert not changed, f"exit 4 changed {changed}"
    finally:
        c.close()
