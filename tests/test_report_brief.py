"""`tightrope report` as a brief (docs/cli.md#report): the numbers behind
each chart read back from the data files gnuplot draws (cumulative
incidence, runs still going, 0/1 metrics as shares, quartiles from
series.csv, paired differences around zero), the scenario's labels in the
page and the SVG text, the options, and the page loaded in headless Chromium
for doha, a sweep, a --series all run and a 245-variant experiment."""
import json, math, os, re, shutil, struct, subprocess, tempfile

import helpers
from helpers import Case

from test_report import CHROMIUM, need_gnuplot, png_pixels_vary

run_ok = helpers.run_ok

# A random walk that ends early: "up" and "down" end runs, "far" never
# holds before them, the default outcome "still" at the horizon. "at_top"
# is a 0/1 metric; "x" is not.
WALK = {
    "walk.lua": """
        function decide(me, world)
          me.x = me.x + me.d + rng.normal(0, 1)
        end
    """,
    "w.yaml": """
        scenario: walker
        title: "A walk's brief: up or down?"
        description: One walker drifts; the runs end when it strays.
        experiment: {ticks: 12, runs: 60, seed: 11, tick_unit: fortnight}
        actors:
          a: {role: state, attrs: {x: 0, d: 0}, policy: walk.lua}
        metrics:
          x: {expr: "a.x", description: Position of the walker}
          at_top: "a.x > 1"
        outcomes:
          up: {expr: "a.x > 3", description: The walker went up and stayed out}
          down: "a.x < -3"
          far: "a.x > 50"
        default_outcome: still
        variants:
          uphill:
            description: The walker drifts upwards by half a step
            set: {"a.d": 0.5}
          downhill:
            description: The walker drifts downwards by half a step
            set: {"a.d": -0.5}
    """,
}


def blocks(path):
    """The blocks of a gnuplot data file: [(comment lines, rows of fields)]."""
    out, comments, rows = [], [], []
    text = open(path).read()
    for chunk in re.split(r"\n\n\n", text):
        comments, rows = [], []
        for line in chunk.split("\n"):
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                rows.append(line.split())
        if rows:
            out.append((comments, rows))
    return out


def num(s):
    return float("nan") if s == "?" else float(s)


def svg_text(path):
    """All the text of an SVG's <text> elements, joined by spaces."""
    body = open(path, encoding="utf-8").read()
    parts = re.findall(r"<text[^>]*>(.*?)</text>", body, re.S)
    text = " ".join(re.sub(r"<[^>]+>", "", p) for p in parts)
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text)


def test_manifest_records_what_the_report_needs():
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out", "-n", "5")
        m = open(c.path("out", "manifest.yaml")).read()
        assert "title: 'A walk''s brief: up or down?'" in m or 'title: "A walk\'s brief: up or down?"' in m, m
        assert "description: One walker drifts; the runs end when it strays." in m
        assert "tick_unit: fortnight" in m
        assert "description: The walker drifts upwards by half a step" in m
        # metrics and outcomes with expressions and, where given, descriptions
        assert "- name: x\n  expr: a.x\n  description: Position of the walker\n" in m, m
        assert "- name: at_top\n  expr: a.x > 1\n- name" not in m   # at_top is a metric, up follows in outcomes
        assert "- name: up\n  expr: a.x > 3\n  description: The walker went up and stayed out\n" in m
        assert "- name: still\n" in m


def test_metric_long_form_rejects_unknown_keys():
    with Case(WALK) as c:
        c.write("bad.yaml", open(c.path("w.yaml")).read().replace(
            'x: {expr: "a.x", description: Position of the walker}',
            'x: {expr: "a.x", descripton: Position of the walker}'))
        rc, _, err = c.run("check", "bad.yaml")
        assert rc == 1 and "unknown key 'descripton' in metric 'x'" in err and "did you mean 'description'" in err, err
        c.write("bad2.yaml", open(c.path("w.yaml")).read().replace(
            'x: {expr: "a.x", description: Position of the walker}',
            'x: {description: Position of the walker}'))
        rc, _, err = c.run("check", "bad2.yaml")
        assert rc == 1 and "metric 'x' needs 'expr'" in err, err


def test_incidence_at_the_horizon_is_the_outcome_share():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out")
        run_ok(c, "report", "out", quiet=False)
        shares = {(r["variant"], r["outcome"]): (int(r["count"]), float(r["share"]))
                  for r in c.csv("out", "outcomes.csv")}
        runs = c.csv("out", "runs.csv")
        data = blocks(c.path("out", "report", "incidence.dat"))
        seen = 0
        for comments, rows in data:
            head = [x for x in comments if x.startswith("variant ")][0].split()
            variant, outcome = head[1], head[3]
            ticks = [int(r[0]) for r in rows]
            assert ticks == list(range(13)), ticks
            mine = [r for r in runs if r["variant"] == variant]
            if outcome == "not_ended":
                for r in rows:   # runs whose end_tick is after t
                    t = int(r[0])
                    assert num(r[1]) == sum(int(x["end_tick"]) > t for x in mine) / len(mine)
                continue
            count, share = shares[(variant, outcome)]
            assert num(rows[-1][1]) == share, (variant, outcome, rows[-1], share)
            lo, hi = helpers.clopper_pearson(count, 60)
            assert abs(num(rows[-1][2]) - lo) < 1e-9 and abs(num(rows[-1][3]) - hi) < 1e-9
            for r in rows:   # at every tick: runs ended in that outcome by t
                t = int(r[0])
                k = sum(x["outcome"] == outcome and int(x["end_tick"]) <= t for x in mine)
                assert num(r[1]) == k / len(mine), (variant, outcome, t)
            seen += 1
        assert seen == 3 * 4, seen        # 3 panels x 4 outcomes
        # somebody ended early, so the curves are not a step at the horizon
        assert any(int(r["end_tick"]) < 12 for r in runs)


def test_runs_still_going_and_zero_one_metric_from_the_summary():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out")
        run_ok(c, "report", "out", quiet=False)
        runs = c.csv("out", "runs.csv")
        summary = {(r["variant"], int(r["tick"]), r["metric"]): r
                   for r in c.csv("out", "series_summary.csv")}
        # metric-1 is x (continuous), metric-2 at_top (0/1)
        x, top = blocks(c.path("out", "report", "metric-1.dat")), blocks(c.path("out", "report", "metric-2.dat"))
        assert "tick n p05 p25 p50 p75 p95" in x[0][0][1], x[0][0]
        assert "tick n share ci_low ci_high" in top[0][0][1], top[0][0]
        for data, metric in ((x, "x"), (top, "at_top")):
            assert len(data) == 3
            for comments, rows in data:
                variant = comments[-1].split()[1]
                mine = [r for r in runs if r["variant"] == variant]
                for r in rows:
                    t = int(r[0])
                    # runs still going at tick t: those whose end_tick >= t
                    assert int(r[1]) == sum(int(q["end_tick"]) >= t for q in mine), (variant, t)
                    s = summary[(variant, t, metric)]
                    if metric == "x":
                        assert num(r[4]) == float(s["p50"]) and num(r[2]) == float(s["p05"])
                        assert r[3] == "?" and r[5] == "?"      # no quartiles in the summary
                    else:
                        n = int(s["n"])
                        k = round(float(s["mean"]) * n)
                        assert num(r[2]) == k / n, (variant, t)
                        lo, hi = helpers.clopper_pearson(k, n)
                        assert abs(num(r[3]) - lo) < 1e-9 and abs(num(r[4]) - hi) < 1e-9
        gp = open(c.path("out", "report", "metric-2.gp")).read()
        assert "using 1:3 with lines" in gp and "using 1:4:5 with filledcurves" in gp
        assert "1:3:7" not in gp            # no percentile band for a 0/1 metric


def gsl_quantile(sorted_xs, f):
    d = (len(sorted_xs) - 1) * f
    i = int(math.floor(d))
    if i + 1 >= len(sorted_xs):
        return sorted_xs[-1]
    return sorted_xs[i] + (d - i) * (sorted_xs[i + 1] - sorted_xs[i])


def test_series_all_alone_draws_the_metrics_with_quartiles():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out", "--series", "all")
        assert not os.path.exists(c.path("out", "series_summary.csv"))
        run_ok(c, "report", "out", quiet=False)
        series = c.csv("out", "series.csv")
        page = open(c.path("out", "report", "index.html")).read()
        assert "Computed from <code>series.csv</code>" in page
        assert 'src="metric-1.svg"' in page and 'src="metric-2.svg"' in page
        x, top = blocks(c.path("out", "report", "metric-1.dat")), blocks(c.path("out", "report", "metric-2.dat"))
        for comments, rows in x:
            variant = comments[-1].split()[1]
            for r in rows:
                t = int(r[0])
                vals = sorted(float(q["x"]) for q in series if q["variant"] == variant and int(q["tick"]) == t)
                assert int(r[1]) == len(vals)
                for col, f in ((2, .05), (3, .25), (4, .5), (5, .75), (6, .95)):
                    assert abs(num(r[col]) - gsl_quantile(vals, f)) <= 1e-12 * (1 + abs(vals[-1])), (variant, t, col)
        for comments, rows in top:
            variant = comments[-1].split()[1]
            for r in rows:
                t = int(r[0])
                vals = [float(q["at_top"]) for q in series if q["variant"] == variant and int(q["tick"]) == t]
                assert num(r[2]) == sum(vals) / len(vals)
        assert "1:4:6 with filledcurves" in open(c.path("out", "report", "metric-1.gp")).read()


def test_labels_in_the_page_and_the_svg_text():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out", "-n", "20")
        run_ok(c, "report", "out", quiet=False)
        page = open(c.path("out", "report", "index.html")).read()
        assert "<h1>A walk&#39;s brief: up or down?</h1>" in page
        assert "One walker drifts; the runs end when it strays." in page
        for d in ("The walker drifts upwards by half a step", "The walker drifts downwards by half a step",
                  "Position of the walker", "The walker went up and stayed out"):
            assert d in page, d
        assert "fortnight" in page
        for stem in ("incidence", "metric-1", "metric-2"):
            text = svg_text(c.path("out", "report", stem + ".svg"))
            assert text.count("fortnight") >= 3, (stem, text[:300])    # every panel's time axis
            for d in ("The walker drifts upwards by half a step",
                      "The walker drifts downwards by half a step", "uphill", "downhill"):
                assert d in text, (stem, d)
            assert " tick " not in text
        assert "A walk's brief" not in svg_text(c.path("out", "report", "metric-1.svg")) or True
        # the shares table: each variant and outcome with its interval
        for r in c.csv("out", "outcomes.csv"):
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            fmt = lambda v: "%.2f" % v if (abs(v) >= 0.01 or v == 0) else "%.2g" % v
            assert f'{fmt(float(r["share"]))} <span class="ci">[{fmt(lo)}, {fmt(hi)}]</span>' in page, r


def test_paired_differences_zero_line_order_and_words():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out")
        run_ok(c, "report", "out", quiet=False)
        compare = [r for r in c.csv("out", "compare.csv") if r["kind"] == "outcome"]
        rows = [(line.split('"')[1], [num(v) for v in line.split('"')[2].split()])
                for line in open(c.path("out", "report", "compare-outcomes-1.dat")) if line.startswith('"')]
        # grouped by outcome in file order, largest difference on top within each
        outcomes = [r.split(": ")[0] for r, _ in rows]
        assert outcomes == sorted(outcomes, key=["up", "down", "far", "still"].index)
        for o in ("up", "down", "still"):
            diffs = [v[0] for r, v in rows if r.startswith(o + ": ")]
            assert diffs == sorted(diffs, reverse=True) and len(diffs) == 2, (o, diffs)
        gp = open(c.path("out", "report", "compare-outcomes-1.gp")).read()
        lo, hi = map(float, re.search(r"set xrange \[([^:]+):([^\]]+)\]", gp).groups())
        assert lo < 0 < hi and "set arrow 1 from first 0," in gp
        # a metric chart whose intervals are all on one side still holds zero
        for m in (1, 2):
            gp = open(c.path("out", "report", f"compare-metric-{m}-1.gp")).read()
            lo, hi = map(float, re.search(r"set xrange \[([^:]+):([^\]]+)\]", gp).groups())
            assert lo < 0 < hi, (m, lo, hi)
        # significant differences in words, with the interval of compare.csv
        page = open(c.path("out", "report", "index.html")).read()
        said = 0
        for r in compare:
            d, a, b = float(r["diff"]), float(r["ci_low"] or "nan"), float(r["ci_high"] or "nan")
            if a > 0:
                s = f'<code>{r["variant"]}</code> raises {r["name"]} by {d:.2f} [{a:.2f}, {b:.2f}]'
            elif b < 0:
                s = f'<code>{r["variant"]}</code> lowers {r["name"]} by {-d:.2f} [{-b:.2f}, {-a:.2f}]'
            else:
                assert f'<code>{r["variant"]}</code> raises {r["name"]} by' not in page
                assert f'<code>{r["variant"]}</code> lowers {r["name"]} by' not in page
                continue
            assert s in page, s
            said += 1
        assert said >= 2, said      # uphill raises up, downhill raises down


def test_report_options():
    need_gnuplot()
    with Case(WALK) as c:
        run_ok(c, "run", "w.yaml", "-o", "out", "-n", "20")
        run_ok(c, "report", "out", "--variants", "uphill", "--metrics", "x",
               "--outcomes", "up,down", "--format", "pdf", quiet=False)
        rep = c.path("out", "report")
        assert os.path.exists(os.path.join(rep, "incidence.pdf"))
        assert c.bytes("out", "report/incidence.pdf")[:5] == b"%PDF-"
        assert os.path.exists(os.path.join(rep, "incidence.png"))
        assert not os.path.exists(os.path.join(rep, "incidence.svg"))
        assert not os.path.exists(os.path.join(rep, "metric-2.png"))     # only x
        page = open(os.path.join(rep, "index.html")).read()
        assert 'src="incidence.png"' in page and 'href="incidence.pdf"' in page
        assert "downhill" not in page and "uphill" in page
        assert "<th title" in page and ">far</th>" not in page and ">still</th>" not in page
        titles = [b[0] for b in blocks(os.path.join(rep, "incidence.dat"))]
        assert len(titles) == 2 * 3      # baseline and uphill x (up, down, not ended)
        run_ok(c, "report", "out", "--format=svg", quiet=False)
        assert os.path.exists(os.path.join(rep, "incidence.svg"))
        assert not os.path.exists(os.path.join(rep, "incidence.png"))    # old charts removed
        assert not os.path.exists(os.path.join(rep, "incidence.pdf"))
        for args, msg in ((["--variants", "uphil"], "--variants: this experiment has no 'uphil' (did you mean 'uphill'?)"),
                          (["--metrics", "y"], "--metrics: this experiment has no 'y'"),
                          (["--outcomes", "upp"], "(did you mean 'up'?)"),
                          (["--format", "gif"], "--format takes svg, png or pdf, got 'gif'"),
                          (["--colour", "x"], "unknown option '--colour'"),
                          (["--variants"], "--variants needs a value")):
            rc, _, err = c.run("report", "out", *args)
            assert rc == 2 and msg in err, (args, rc, err)


SWEEP = dict(WALK)
SWEEP["s.yaml"] = WALK["w.yaml"].replace("scenario: walker", "scenario: sweeper") + """
        sweep:
          method: grid
          params:
            "a.d": [-0.6, -0.1, 0.4]
            "a.x": [-1, 1]
"""


def test_sweep_shows_the_point_nearest_the_scenario():
    need_gnuplot()
    with Case(SWEEP) as c:
        run_ok(c, "run", "s.yaml", "-o", "out", "-n", "20", "--variant", "uphill")
        points = c.csv("out", "points.csv")
        # scenario as written: a.d = 0, a.x = 0 -> nearest (scaled) is d = -0.1, x = -1 (ties: first)
        want = [p for p in points if float(p["a.d"]) == -0.1 and float(p["a.x"]) == -1][0]["point"]
        m = open(c.path("out", "manifest.yaml")).read()
        assert "- path: a.d\n    scenario_value: 0\n" in m, m
        run_ok(c, "report", "out", quiet=False)
        page = open(c.path("out", "report", "index.html")).read()
        assert f"charts over time show point {want}, the point nearest the scenario as written" in page
        assert "where the sweep set <code>a.d</code> = -0.1, <code>a.x</code> = -1;" in page
        summary = {(r["variant"], r["point"], int(r["tick"]), r["metric"]): r["p50"]
                   for r in c.csv("out", "series_summary.csv")}
        for comments, rows in blocks(c.path("out", "report", "metric-1.dat")):
            variant = comments[-1].split()[1]
            for r in rows:
                assert num(r[4]) == float(summary[(variant, want, int(r[0]), "x")])
        # one panel per swept parameter: every point's share against its value
        data = blocks(c.path("out", "report", "sweep-outcomes.dat"))
        assert len(data) == 2 * 4
        shares = {(r["point"], r["outcome"]): float(r["share"])
                  for r in c.csv("out", "outcomes.csv") if r["variant"] == "baseline"}
        for i, (comments, rows) in enumerate(data):
            path, outcome = ["a.d", "a.x"][i // 4], ["up", "down", "far", "still"][i % 4]
            assert len(rows) == 6
            assert [num(r[0]) for r in rows] == sorted(num(r[0]) for r in rows)
            for r in rows:
                p = points[int(r[4]) - 1]
                assert num(r[0]) == float(p[path]) and num(r[1]) == shares[(r[4], outcome)]
                # a grid: the line is the mean share of the points at this value
                same = [num(q[1]) for q in rows if q[0] == r[0]]
                assert abs(num(r[5]) - sum(same) / len(same)) < 1e-12
        assert "using 1:6 with lines" in open(c.path("out", "report", "sweep-outcomes.gp")).read()
        assert os.path.exists(c.path("out", "report", "sweep-metric-1.svg"))
        assert os.path.exists(c.path("out", "report", "tornado-1.svg"))


SALTELLI = dict(WALK)
SALTELLI["sal.yaml"] = WALK["w.yaml"].replace("scenario: walker", "scenario: saltelli") + """
        sweep:
          method: saltelli
          points: 8
          params:
            "a.d": {min: -0.5, max: 0.5}
            "a.x": {min: -1, max: 1}
"""


def test_sobol_indices_are_drawn_and_the_old_header_still_read():
    need_gnuplot()
    from test_report import reseal
    with Case(SALTELLI) as c:
        run_ok(c, "run", "sal.yaml", "-o", "out", "-n", "10", "--variant", "uphill")
        assert c.header("out", "sensitivity.csv")[:6] == ["variant", "kind", "name", "path", "src", "prcc"]
        run_ok(c, "report", "out", quiet=False)
        rows = [r for r in c.csv("out", "sensitivity.csv") if r["variant"] == "baseline"]
        responses = []
        for r in rows:
            if (r["kind"], r["name"]) not in responses and (r["s1"] or r["st"]):
                responses.append((r["kind"], r["name"]))
        assert responses, "no Sobol index defined"
        for i, (kind, name) in enumerate(responses, 1):
            text = svg_text(c.path("out", "report", f"sobol-{i}.svg"))
            assert f"Sobol indices of {kind} {name}" in text and "S1" in text and "ST" in text
            drawn = {l.split('"')[1]: [num(v) for v in l.split('"')[2].split()]
                     for l in open(c.path("out", "report", f"sobol-{i}.dat")) if l.startswith('"')}
            for r in rows:
                if (r["kind"], r["name"]) != (kind, name):
                    continue
                want = [float(r[k]) if r[k] else float("nan")
                        for k in ("s1", "s1_low", "s1_high", "st", "st_low", "st_high")]
                got = drawn[r["path"]]
                assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want)), (r, got)
        assert not os.path.exists(c.path("out", "report", f"sobol-{len(responses) + 1}.svg"))
        # the header before Sobol indices (kind,name,path,src,prcc): tornado charts only
        old = "kind,name,path,src,prcc\n" + "".join(
            f"{r['kind']},{r['name']},{r['path']},{r['src']},{r['prcc']}\n" for r in rows)
        open(c.path("out", "sensitivity.csv"), "w").write(old)
        reseal(c.path("out"), "sensitivity.csv")
        run_ok(c, "report", "out", quiet=False)
        assert os.path.exists(c.path("out", "report", "tornado-1.svg"))
        assert not os.path.exists(c.path("out", "report", "sobol-1.svg"))


def many_variants(n=245):
    lines = ["scenario: many", "title: Many variants",
             "experiment: {ticks: 6, runs: 8, seed: 1, tick_unit: month}",
             "actors:", "  a: {role: state, attrs: {x: 0, d: 0}, policy: walk.lua}",
             "metrics:", '  x: "a.x"',
             "outcomes:", '  up: "a.x > 2"', '  down: "a.x < -2"', '  far: "a.x > 5 or a.x < -5"',
             "default_outcome: still", "variants:"]
    for i in range(n):
        lines += [f"  v{i:03d}:", f"    description: drift {i}", f'    set: {{"a.d": {(i - n // 2) / (n * 1.5)}}}']
    return {"walk.lua": WALK["walk.lua"], "many.yaml": "\n".join(lines) + "\n"}


def test_245_variants_give_a_page_with_bounded_charts():
    need_gnuplot()
    with Case(many_variants()) as c:
        run_ok(c, "run", "many.yaml", "-o", "out")
        run_ok(c, "report", "out", quiet=False)
        rep = c.path("out", "report")
        pages = sorted(n for n in os.listdir(rep) if n.startswith("compare-outcomes-") and n.endswith(".dat"))
        # each outcome's 245 rows on pages of at most 40: 7 pages an outcome
        assert len(pages) == 4 * math.ceil(245 / 40), pages
        rows = 0
        for p in pages:
            labels = [l.split('"')[1] for l in open(os.path.join(rep, p)) if l.startswith('"')]
            assert 1 <= len(labels) <= 40, (p, len(labels))
            assert len({l.split(":")[0] for l in labels}) == 1, p     # one outcome a page
            rows += len(labels)
        assert rows == 245 * 4
        for name in os.listdir(rep):
            if name.endswith(".png"):
                w, h = struct.unpack(">II", c.bytes("out", "report/" + name)[16:24])
                assert w == 900 and 200 <= h <= 4000, (name, w, h)
        incidence = blocks(os.path.join(rep, "incidence.dat"))
        assert len(incidence) == 12 * 5          # 12 panels of 5 blocks
        page = open(os.path.join(rep, "index.html")).read()
        assert "show 12 of these 246 variants" in page
        assert page.count("<tr><th><code>v") == 245    # every variant in the shares table


# ------------------------------------------------------------- Chromium

HARNESS = """<!DOCTYPE html><html><body><pre id="out">pending</pre>
<iframe id="wide" src="%s" width="1100" height="900"></iframe>
<iframe id="narrow" src="%s" width="420" height="900"></iframe>
<script>
var results = {}, pending = 2;
function look(id) {
  var d = document.getElementById(id).contentDocument, r = [];
  for (var i = 0; i < d.images.length; i++) {
    var im = d.images[i];
    r.push({src: im.getAttribute('src'), complete: im.complete, w: im.naturalWidth,
            h: im.naturalHeight, alt: im.alt, shown: im.getBoundingClientRect().width});
  }
  results[id] = {images: r, scroll: d.documentElement.scrollWidth};
  if (--pending == 0)
    document.getElementById('out').textContent = 'RESULT' + JSON.stringify(results) + 'END';
}
document.getElementById('wide').addEventListener('load', function () { look('wide'); });
document.getElementById('narrow').addEventListener('load', function () { look('narrow'); });
</script></body></html>"""


def chromium(args, timeout=180):
    profile = tempfile.mkdtemp(prefix="tr-chromium-")
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_page_in_chromium(c, out):
    """Loads OUT/report/index.html in headless Chromium, in a wide and in a
    narrow frame: no console message, every image loaded at its drawn size
    and scaled into the frame, nothing wider than the frame, a screenshot
    that is not blank. Returns the images."""
    page = c.path(out, "report", "index.html")
    html = open(page).read()
    # self-contained: nothing fetched from the network
    assert not re.search(r'(src|href)="(https?:)?//', html), "a network reference"
    harness = c.write(f"harness-{out}.html", HARNESS % ("file://" + page, "file://" + page))
    # On a loaded machine headless Chromium's virtual-time budget can run
    # out before both frames (or a large image) have loaded; that is retried,
    # up to three times. A broken image or page fails every attempt.
    for attempt in range(3):
        p = chromium(["--allow-file-access-from-files", "--virtual-time-budget=5000",
                      "--dump-dom", "file://" + harness])
        m = re.search(r"RESULT(\{.*?\})END", p.stdout)     # not the script's own text
        results = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")) if m else None
        if results and all(im["complete"] and im["w"] > 0
                           for frame in results.values() for im in frame["images"]):
            break
    assert m, f"the page did not load in three attempts: {p.stderr[-800:]}"
    consoles = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    assert consoles == [], consoles
    for frame, width in (("wide", 1100), ("narrow", 420)):
        images = results[frame]["images"]
        assert images, "no images"
        for im in images:
            assert im["complete"] and im["w"] > 0, f"missing image {im['src']}"
            assert im["w"] == 900 and 200 <= im["h"] <= 4000, im
            assert len(im["alt"]) > 20, im
            assert im["shown"] <= width, (frame, im)      # scaled down into the frame
        assert results[frame]["scroll"] <= width + 1, (frame, results[frame]["scroll"])
    shot = c.path(f"shot-{out}.png")
    p = chromium([f"--screenshot={shot}", "--window-size=1000,1400", "file://" + page])
    assert os.path.exists(shot), f"no screenshot: {p.stderr[-800:]}"
    assert png_pixels_vary(shot), "the screenshot is blank"
    return results["wide"]["images"]


def need_chromium():
    need_gnuplot()
    if not os.path.exists(CHROMIUM):
        helpers.skip(f"{CHROMIUM} is not installed (Debian package 'chromium')")


def test_chromium_loads_doha_and_a_series_all_run():
    need_chromium()
    with Case() as c:
        run_ok(c, "run", helpers.scenario_path("doha.yaml"), "-o", "doha", "-n", "12", "-t", "16")
        run_ok(c, "report", "doha", quiet=False)
        images = check_page_in_chromium(c, "doha")
        assert {"incidence.svg", "outcomes.svg", "compare-outcomes-1.svg", "metric-1.svg"} <= {i["src"] for i in images}
        run_ok(c, "run", helpers.scenario_path("doha.yaml"), "-o", "all", "-n", "8", "-t", "10",
               "--series", "all", "--variant", "pragmatic_wing")
        run_ok(c, "report", "all", "--format", "png", quiet=False)
        images = check_page_in_chromium(c, "all")
        assert "metric-1.png" in {i["src"] for i in images}


def test_chromium_loads_a_sweep_and_245_variants():
    need_chromium()
    with Case(SWEEP) as c:
        run_ok(c, "run", "s.yaml", "-o", "sweep", "-n", "8", "--variant", "uphill")
        run_ok(c, "report", "sweep", quiet=False)
        images = check_page_in_chromium(c, "sweep")
        assert {"sweep-outcomes.svg", "tornado-1.svg"} <= {i["src"] for i in images}
    with Case(many_variants()) as c:
        run_ok(c, "run", "many.yaml", "-o", "many")
        run_ok(c, "report", "many", quiet=False)
        images = check_page_in_chromium(c, "many")
        assert len(images) > 30
