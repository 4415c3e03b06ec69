"""What-if experiments (docs/cli.md; docs/scenario-format.md; docs/output-files.md compare.csv,
points.csv, sensitivity.csv, §7 common random numbers): paired comparisons
whose exact answers are known by construction, sensitivity coefficients of
a response that is a known linear function of the swept paths, and the
sweep designs (grid, Sobol, Latin hypercube) checked point by point.
Every expected number is recomputed here from runs.csv / finals.csv /
points.csv with the standard library, independently of GSL."""
import math
import helpers

from helpers import Case

# A random walk x (shared by every variant through common random numbers)
# and a second walk e. The metric y = x + shift + noise * e: a variant that
# sets shift = 0.3 and noise = 0.1 moves every run's y by 0.3 + 0.1 e, so the
# paired difference has mean 0.3 (E[e] = 0) and sd 0.1 * sd(e) = 0.5 at
# tick 25, while y itself has sd 5: pairing removes the walk x.
WALK = {
    "walk.lua": """
        function decide(me, world)
          me.x = me.x + rng.normal(0, 1)
          me.e = me.e + rng.normal(0, 1)
        end
    """,
    "crn.yaml": """
        scenario: crn
        experiment: {ticks: 25, runs: 200, seed: 3}
        actors:
          a: {role: state, attrs: {x: 0, e: 0, shift: 0, noise: 0, unused: 0},
              policy: walk.lua}
        metrics:
          y: "a.x + a.shift + a.noise * a.e"
          x: "a.x"
        outcomes:
          high: "a.x > 9"
          low: "a.x < -9"
        variants:
          same:
            description: changes an attribute nothing reads
            set: {"a.unused": 1}
          shifted:
            set: {"a.shift": 0.3, "a.noise": 0.1}
    """,
}

COMPARE_COLUMNS = ["variant", "baseline", "kind", "name", "value", "baseline_value",
                   "diff", "ci_low", "ci_high"]


run_ok = helpers.run_ok


def by_variant(rows):
    out = {}
    for r in rows:
        out.setdefault(r["variant"], {})[(int(r["point"]), int(r["run"]))] = r
    return out


def mean(xs):
    return sum(xs) / len(xs)


def sd(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def test_crn_variant_that_changes_nothing_differs_by_exactly_zero():
    # Same seeds, same model: every run of 'same' equals its baseline run,
    # so every paired difference is 0 and the interval has zero width.
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-j", "2")
        assert c.header("out", "compare.csv") == COMPARE_COLUMNS
        rows = [r for r in c.csv("out", "compare.csv") if r["variant"] == "same"]
        # every outcome (the default too) and every metric, in file order
        assert [(r["kind"], r["name"]) for r in rows] == [
            ("outcome", "high"), ("outcome", "low"), ("outcome", "horizon"),
            ("metric", "y"), ("metric", "x")]
        for r in rows:
            assert r["baseline"] == "baseline"
            assert r["value"] == r["baseline_value"], r
            assert (r["diff"], r["ci_low"], r["ci_high"]) == ("0", "0", "0"), r


def test_crn_shift_interval_contains_it_and_beats_unpaired():
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "--variant", "shifted")
        runs = by_variant(c.csv("out", "runs.csv"))
        base, shifted = runs["baseline"], runs["shifted"]
        assert sorted(base) == sorted(shifted) and len(base) == 200
        for key in base:   # common random numbers: run r has one seed
            assert base[key]["seed"] == shifted[key]["seed"]
        row = next(r for r in c.csv("out", "compare.csv")
                   if r["variant"] == "shifted" and r["name"] == "y")
        diffs = [float(shifted[k]["y"]) - float(base[k]["y"]) for k in sorted(base)]
        diff, lo, hi = float(row["diff"]), float(row["ci_low"]), float(row["ci_high"])
        assert abs(diff - mean(diffs)) < 1e-12
        assert abs(float(row["value"]) - mean([float(r["y"]) for r in shifted.values()])) < 1e-12
        # the half-width is t(0.975, 199) * sd / sqrt(n), t between 1.971 and 1.973
        t = (hi - lo) / 2 / (sd(diffs) / math.sqrt(len(diffs)))
        assert 1.971 < t < 1.973, t
        assert abs((lo + hi) / 2 - diff) < 1e-12
        assert lo < 0.3 < hi, (lo, hi)
        # Welch's unpaired interval of the same difference (normal quantile:
        # about 398 degrees of freedom) is many times wider.
        yb = [float(r["y"]) for r in base.values()]
        ys = [float(r["y"]) for r in shifted.values()]
        welch_half = 1.96 * math.sqrt(sd(yb) ** 2 / len(yb) + sd(ys) ** 2 / len(ys))
        assert (hi - lo) / 2 < welch_half / 5, ((hi - lo) / 2, welch_half)
        # x is not touched by the variant: exactly zero
        xrow = next(r for r in c.csv("out", "compare.csv")
                    if r["variant"] == "shifted" and r["name"] == "x")
        assert (xrow["diff"], xrow["ci_low"], xrow["ci_high"]) == ("0", "0", "0")


def test_compare_outcome_rows_are_paired_indicator_differences():
    # A variant that moves the walk's threshold changes which runs end in
    # 'high'; the row must be the mean and t-interval of the per-run
    # differences of the indicators, recomputed from runs.csv.
    files = dict(WALK)
    files["crn.yaml"] = files["crn.yaml"].replace(
        'high: "a.x > 9"', 'high: "a.x > 9 - a.shift * 10"')
    with Case(files) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "--variant", "shifted")
        runs = by_variant(c.csv("out", "runs.csv"))
        base, shifted = runs["baseline"], runs["shifted"]
        rows = {r["name"]: r for r in c.csv("out", "compare.csv") if r["kind"] == "outcome"}
        for name in ("high", "low", "horizon"):
            d = [(shifted[k]["outcome"] == name) - (base[k]["outcome"] == name)
                 for k in sorted(base)]
            r = rows[name]
            assert abs(float(r["diff"]) - mean(d)) < 1e-12, (name, r)
            share = mean([s["outcome"] == name for s in shifted.values()])
            assert abs(float(r["value"]) - share) < 1e-12
            if len(set(d)) > 1:
                half = (float(r["ci_high"]) - float(r["ci_low"])) / 2
                t = half / (sd(d) / math.sqrt(len(d)))
                assert 1.971 < t < 1.973, (name, t)
            else:
                assert r["ci_low"] == r["ci_high"] == r["diff"]
        assert float(rows["high"]["diff"]) > 0   # the lower threshold ends more runs high


def test_compare_with_a_sweep_pools_points_and_lists_them_in_compare_points():
    files = dict(WALK)
    files["crn.yaml"] += """
        sweep:
          method: grid
          params:
            "a.noise": [0, 0.05]
    """
    # the sweep sets noise at every point, after the variant: only shift moves y
    with Case(files) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "50", "--variant", "shifted")
        rows = [r for r in c.csv("out", "compare.csv") if r["name"] == "y"]
        assert len(rows) == 1
        # y differs by exactly shift at every (point, run) pair, up to rounding
        assert abs(float(rows[0]["diff"]) - 0.3) < 1e-12
        assert float(rows[0]["ci_low"]) <= float(rows[0]["ci_high"])
        per_point = [r for r in c.csv("out", "compare_points.csv") if r["name"] == "y"]
        assert c.header("out", "compare_points.csv") == \
            ["variant", "point"] + COMPARE_COLUMNS[1:]
        assert [r["point"] for r in per_point] == ["1", "2"]
        runs = by_variant(c.csv("out", "runs.csv"))
        for r in per_point:
            p = int(r["point"])
            d = [float(runs["shifted"][(p, k)]["y"]) - float(runs["baseline"][(p, k)]["y"])
                 for k in range(1, 51)]
            assert abs(float(r["diff"]) - mean(d)) < 1e-12


# --- sweeps and sensitivity ----------------------------------------------------
# y = -2 p + 0 q + noise. Under common random numbers every point would get
# the same noise (run r has one seed at every point), which would make y an
# exact function of p; the policy therefore skips a point-dependent number
# of draws first, so each point sees its own noise, as a sweep over a real
# model would.
SENS = {
    "noise.lua": """
        function decide(me, world)
          local skip = math.floor(me.p * 7919 + me.q * 104729) % 50
          for i = 1, skip do rng.uniform() end
          me.e = rng.normal(0, 0.6)
        end
    """,
    "sens.yaml": """
        scenario: sens
        experiment: {ticks: 1, runs: 10, seed: 5}
        actors:
          a: {role: state, attrs: {p: 0.5, q: 0.5, e: 0, flat: 1}, policy: noise.lua}
        metrics:
          y: "-2 * a.p + 0 * a.q + a.e"
          flat: "a.flat"
        outcomes:
          never: "a.flat > 2"
        sweep:
          method: lhs
          points: 64
          params:
            "a.p": {min: 0, max: 1}
            "a.q": {min: 0, max: 1}
    """,
}


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j + 2) / 2
        i = j + 1
    return r


def corr(a, b):
    ma, mb = mean(a), mean(b)
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    return sab / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))


def residuals(y, x):
    """Residuals of y on [1, x] (simple least squares)."""
    mx, my = mean(x), mean(y)
    beta = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)
    return [b - my - beta * (a - mx) for a, b in zip(x, y)]


def reference_src(p, q, y):
    """SRC of two regressors: the normal equations in correlations."""
    rpq, rpy, rqy = corr(p, q), corr(p, y), corr(q, y)
    det = 1 - rpq * rpq
    return (rpy - rpq * rqy) / det, (rqy - rpq * rpy) / det


def test_sensitivity_of_a_known_linear_response():
    with Case(SENS) as c:
        run_ok(c, "run", "sens.yaml", "-o", "out")
        assert c.header("out", "sensitivity.csv") == [
            "variant", "kind", "name", "path", "src", "prcc",
            "s1", "s1_low", "s1_high", "st", "st_low", "st_high"]
        assert c.header("out", "points.csv") == ["point", "a.p", "a.q"]
        pts = c.csv("out", "points.csv")
        assert [int(r["point"]) for r in pts] == list(range(1, 65))
        finals = {int(r["point"]): float(r["mean"]) for r in c.csv("out", "finals.csv")
                  if r["metric"] == "y" and r["variant"] == "baseline"}
        p = [float(r["a.p"]) for r in pts]
        q = [float(r["a.q"]) for r in pts]
        y = [finals[i] for i in range(1, 65)]
        rows = {(r["name"], r["path"]): r for r in c.csv("out", "sensitivity.csv")}
        src_p, src_q = float(rows[("y", "a.p")]["src"]), float(rows[("y", "a.q")]["src"])
        prcc_p, prcc_q = float(rows[("y", "a.p")]["prcc"]), float(rows[("y", "a.q")]["prcc"])
        # The effective path: near -1 (signal sd 0.58 against noise sd 0.19).
        assert src_p < -0.9 and prcc_p < -0.9, (src_p, prcc_p)
        # The null path: near 0 (sampling sd about 1/sqrt(61) = 0.13).
        assert abs(src_q) < 0.35 and abs(prcc_q) < 0.4, (src_q, prcc_q)
        # Both agree with the formulas recomputed here.
        want_p, want_q = reference_src(p, q, y)
        assert abs(src_p - want_p) < 1e-9 and abs(src_q - want_q) < 1e-9
        rp, rq, ry = ranks(p), ranks(q), ranks(y)
        assert abs(prcc_p - corr(residuals(rp, rq), residuals(ry, rq))) < 1e-9
        assert abs(prcc_q - corr(residuals(rq, rp), residuals(ry, rp))) < 1e-9
        # A constant response has no coefficient: empty fields.
        for key in [("flat", "a.p"), ("flat", "a.q"), ("never", "a.p"), ("horizon", "a.q")]:
            assert rows[key]["src"] == "" and rows[key]["prcc"] == "", rows[key]
        # Sobol indices belong to the saltelli design only: empty here.
        for r in c.csv("out", "sensitivity.csv"):
            assert all(r[col] == "" for col in ("s1", "s1_low", "s1_high", "st", "st_low",
                                                "st_high")), r
            assert r["variant"] == "baseline"
        kinds = [(r["kind"], r["name"]) for r in c.csv("out", "sensitivity.csv")][::2]
        assert kinds == [("outcome", "never"), ("outcome", "horizon"),
                         ("metric", "y"), ("metric", "flat")]


def test_sensitivity_needs_more_points_than_paths_plus_one():
    files = dict(SENS)
    files["sens.yaml"] = files["sens.yaml"].replace("points: 64", "points: 3")
    with Case(files) as c:
        run_ok(c, "run", "sens.yaml", "-o", "out")
        for r in c.csv("out", "sensitivity.csv"):
            assert r["src"] == "" and r["prcc"] == "", r   # 3 points < 2 paths + 2


def sweep_case(method, points, seed=1):
    return {
        "s.yaml": f"""
            scenario: s
            experiment: {{ticks: 0, runs: 1, seed: {seed}}}
            actors:
              a: {{role: state, attrs: {{u: 0, v: 0, w: 0}}}}
            metrics: {{u: "a.u"}}
            sweep:
              method: {method}
              points: {points}
              params:
                "a.u": {{min: -1, max: 3}}
                "a.v": {{min: 10, max: 11}}
                "a.w": {{min: 0, max: 0.001}}
        """
    }


RANGES = {"a.u": (-1, 3), "a.v": (10, 11), "a.w": (0, 0.001)}


def read_points(c, out="out"):
    return [{k: float(v) for k, v in r.items() if k != "point"} for r in c.csv(out, "points.csv")]


def test_lhs_one_point_per_stratum_in_each_dimension_and_seeded():
    P = 37
    with Case(sweep_case("lhs", P)) as c:
        run_ok(c, "run", "s.yaml", "-o", "a")
        run_ok(c, "run", "s.yaml", "-o", "b", "-j", "1")
        run_ok(c, "run", "s.yaml", "-o", "other", "-s", "2")
        pts = read_points(c, "a")
        assert len(pts) == P
        for path, (lo, hi) in RANGES.items():
            xs = [pt[path] for pt in pts]
            assert all(lo <= x <= hi for x in xs), path
            strata = sorted(min(P - 1, int((x - lo) / (hi - lo) * P)) for x in xs)
            assert strata == list(range(P)), (path, strata)
        assert c.bytes("a", "points.csv") == c.bytes("b", "points.csv")
        assert c.bytes("a", "points.csv") != c.bytes("other", "points.csv")
        # every point ran, in order
        assert [r["point"] for r in c.csv("a", "runs.csv")] == [str(i) for i in range(1, P + 1)]


def test_sobol_points_in_range_reproducible_and_low_discrepancy():
    P = 64
    with Case(sweep_case("sobol", P)) as c:
        run_ok(c, "run", "s.yaml", "-o", "a")
        run_ok(c, "run", "s.yaml", "-o", "b", "-s", "99")
        pts = read_points(c, "a")
        assert len(pts) == P
        for path, (lo, hi) in RANGES.items():
            xs = [pt[path] for pt in pts]
            assert all(lo <= x <= hi for x in xs), path
            # Points 0..63 of a Sobol sequence put 8 in each of 8 equal
            # slices of a dimension; GSL's sequence starts after the origin
            # (points 1..64), so one slice may lose one and another gain one.
            # Pseudo-random points would be far less even.
            counts = [0] * 8
            for x in xs:
                counts[min(7, int((x - lo) / (hi - lo) * 8))] += 1
            assert all(7 <= k <= 9 for k in counts) and sum(counts) == P, (path, counts)
        # a quasi-random sequence does not depend on the seed
        assert c.bytes("a", "points.csv") == c.bytes("b", "points.csv")


def test_random_sweep_in_range_and_seeded():
    with Case(sweep_case("random", 20)) as c:
        run_ok(c, "run", "s.yaml", "-o", "a")
        run_ok(c, "run", "s.yaml", "-o", "b")
        pts = read_points(c, "a")
        for path, (lo, hi) in RANGES.items():
            assert all(lo <= pt[path] <= hi for pt in pts)
        assert c.bytes("a", "points.csv") == c.bytes("b", "points.csv")


def test_grid_points_first_path_slowest():
    files = {"g.yaml": """
        scenario: g
        experiment: {ticks: 0, runs: 1}
        actors:
          a: {role: state, attrs: {u: 0, v: 0}}
        metrics: {u: "a.u", v: "a.v"}
        sweep:
          method: grid
          params:
            "a.u": [1, 2]
            "a.v": {min: 0, max: 1, steps: 3}
    """}
    with Case(files) as c:
        run_ok(c, "run", "g.yaml", "-o", "out")
        pts = [(r["a.u"], r["a.v"]) for r in c.csv("out", "points.csv")]
        assert pts == [("1", "0"), ("1", "0.5"), ("1", "1"), ("2", "0"), ("2", "0.5"), ("2", "1")]
        # the point's values reached the runs
        runs = c.csv("out", "runs.csv")
        assert [(r["u"], r["v"]) for r in runs] == pts


# --- series_summary above 10,000 runs ------------------------------------------
def test_series_summary_streams_above_10000_runs():
    # 10001 runs: mean and sd stay exact (Welford), percentiles become P²
    # estimates; the manifest says so, and -j 1 and -j 2 agree byte for byte.
    files = {
        "u.lua": "function decide(me, world) me.x = rng.uniform() end\n",
        "u.yaml": """
            scenario: u
            experiment: {ticks: 2, runs: 10001, seed: 4}
            actors:
              a: {role: state, attrs: {x: 0}, policy: u.lua}
            metrics: {x: "a.x"}
        """,
    }
    with Case(files) as c:
        run_ok(c, "run", "u.yaml", "-o", "j1", "-j", "1")
        run_ok(c, "run", "u.yaml", "-o", "j2", "-j", "2")
        run_ok(c, "run", "u.yaml", "-o", "all", "--series", "all", "-j", "2")
        assert c.bytes("j1", "series_summary.csv") == c.bytes("j2", "series_summary.csv")
        manifest = open(c.path("j1", "manifest.yaml")).read()
        assert "series_quantiles: p2-approximate (runs > 10000)" in manifest, manifest
        assert "series_quantiles: none" in open(c.path("all", "manifest.yaml")).read()
        series = c.csv("all", "series.csv")
        for row in c.csv("j1", "series_summary.csv"):
            t = row["tick"]
            xs = sorted(float(r["x"]) for r in series if r["tick"] == t)
            assert int(row["n"]) == len(xs) == 10001
            assert abs(float(row["mean"]) - mean(xs)) < 1e-12
            assert abs(float(row["sd"]) - sd(xs)) < 1e-9
            if t == "0":
                continue
            # uniform(0, 1): the P² estimates are within 0.01 of the truth
            for col, f in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
                exact = xs[int(f * (len(xs) - 1))]
                assert abs(float(row[col]) - exact) < 0.01, (col, row[col], exact)


def test_manifest_says_exact_quantiles_at_10000_runs_or_fewer():
    with Case(WALK) as c:
        run_ok(c, "run", "crn.yaml", "-o", "out", "-n", "20")
        assert "series_quantiles: exact" in open(c.path("out", "manifest.yaml")).read()
