"""`tightrope replay SCENARIO.yaml --run R` (docs/cli.md) prints the run's
metrics formatted as in the CSVs and its outcome."""
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
