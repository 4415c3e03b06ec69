"""`tightrope replay SCENARIO.yaml --run R` (docs/cli.md) prints the run's
metrics formatted as in the CSVs and its outcome; `tightrope replay OUTDIR
--run R [--variant V] [--point P]` re-runs one run from the folder's
manifest.yaml and must end exactly on its runs.csv row, for several runs,
variants and sweep points."""
import re

import helpers
from helpers import Case
from test_engine import STOCH, run_ok


def test_replay_reproduces_a_run():
    c = Case(STOCH)
    try:
        run_ok(c, "run", "s.yaml", "-o", "out", "--series", "all")
        rc, out, err = c.run("replay", "s.yaml", "--run", "4")
        assert rc == 0, err[-500:]
        row = next(r for r in c.csv("out", "runs.csv") if r["variant"] == "baseline" and r["run"] == "4")
        # the replay prints each metric formatted as in the CSVs
        assert row["a"] in out and row["b"] in out, f"replay output lacks the end values {row['a']}, {row['b']}"
        assert row["outcome"] in out
    finally:
        c.close()


SWEPT = {
    "s.yaml": """
        scenario: s
        experiment: {ticks: 30, runs: 6, seed: 4}
        actors:
          a: {role: state, attrs: {x: {value: 0.5, min: 0, max: 1}, k: 0.1}, policy: p.lua,
              params: {step: 0.05}}
          b: {role: state, attrs: {y: 0}}
        events:
          - {name: shock, prob: 0.1, add: {"b.y": 1}}
        metrics: {x: "a.x", y: "b.y"}
        outcomes: {high: "a.x >= 0.95"}
        default_outcome: none
        variants:
          bold: {set: {"a.k": 0.3}}
          careful: {set: {"a.params.step": 0.01}}
        sweep:
          method: lhs
          points: 3
          params:
            "a.x": {min: 0.1, max: 0.6}
    """,
    "p.lua": """
        function decide(me, world)
          me.x = me.x + me.params.step * rng.normal(me.k, 1)
        end
    """,
}


def test_replay_matches_runs_csv_for_runs_variants_points():
    with Case(SWEPT) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "--set", "a.k=0.2")
        assert rc == 0, err[-400:]
        rows = c.csv("out", "runs.csv")
        checked = 0
        for variant in ("baseline", "bold", "careful"):
            for point in (1, 3):
                for run in (1, 4, 6):
                    args = ["replay", "out", "--run", run, "--point", point]
                    if variant != "baseline":
                        args += ["--variant", variant]
                    rc, out, err = c.run(*args)
                    assert rc == 0, f"{variant} p{point} r{run}: exit {rc}: {err[-300:]}"
                    row = next(r for r in rows if r["variant"] == variant
                               and r["point"] == str(point) and r["run"] == str(run))
                    want = ",".join(row[k] for k in ("variant", "point", "run", "seed", "outcome",
                                                     "end_tick", "x", "y"))
                    assert f"runs.csv row: {want}\n" in out, f"replay printed:\n{out[-400:]}"
                    assert "matches" in out
                    # the trace has one block per tick up to end_tick
                    ticks = re.findall(r"^tick (\d+)$", out, re.M)
                    assert ticks == [str(t) for t in range(int(row["end_tick"]) + 1)]
                    checked += 1
        assert checked == 18


def test_replay_of_scenario_with_options_and_error_hint():
    files = dict(SWEPT)
    files["p.lua"] = """
        function decide(me, world)
          if world.run == 3 and world.tick == 5 then error("boom") end
          me.x = me.x + 0.01
        end
    """
    with Case(files) as c:
        rc, _, err = c.run("run", "s.yaml", "-o", "out", "--quiet", "-s", "99")
        assert rc == 3, err[-300:]
        hint = re.search(r"reproduce with: tightrope (replay .*)", err)
        assert hint, err[-400:]
        rc, out, err2 = c.run(*hint.group(1).split())
        assert rc == 3, f"the replayed run must fail the same way: {rc}"
        assert "boom" in out + err2 and "failed at tick 5" in out


def test_replay_usage_errors():
    with Case(SWEPT) as c:
        assert c.run("replay", "s.yaml")[0] == 2                      # no --run
        assert c.run("replay", "s.yaml", "--run", "1", "--point", "9")[0] == 2
        rc, _, err = c.run("replay", "s.yaml", "--run", "1", "--variant", "bolt")
        assert rc == 2 and "bold" in err, err
