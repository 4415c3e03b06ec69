"""When one file of the output folder cannot be replaced, `run` must exit 4
and leave every earlier file as it was: the files are installed as one
transaction (docs/cli.md: "after exit 1, 3 or 4 the folder's earlier results
are untouched")."""
import os

from helpers import Case
from test_outputs import GOOD, run_ok, snapshot


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
