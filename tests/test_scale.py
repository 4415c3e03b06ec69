"""Scale (docs/cli.md; docs/output-files.md): memory with --series summary
stays flat as the number of runs grows tenfold; a scenario of 10,000 actors
and 20,000 relations loads and runs. (Resume, MPI and the progress line are
in test_resume.py, test_mpi.py and test_progress.py.)"""
import os, subprocess

import helpers
from helpers import Case

run_ok = helpers.run_ok


# --- memory -------------------------------------------------------------------
TINY = {
    "w.lua": """
        function decide(me, world)
          me.x = me.x + rng.normal(0, 1)
          me.y = me.y + rng.uniform()
          me.z = me.z * 0.9 + rng.uniform()
        end
    """,
    "tiny.yaml": """
        scenario: tiny
        experiment: {ticks: 40, runs: 100, seed: 3}
        actors:
          a: {role: state, attrs: {x: 0, y: 0, z: 0}, policy: w.lua}
        metrics: {x: "a.x", y: "a.y", z: "a.z"}
    """,
}

MEMORY_FACTOR = 1.5


def peak_rss_kb(c, *args):
    """Peak resident set of one child process (its own rusage, via wait4)."""
    p = subprocess.Popen([helpers.binary(), *map(str, args)], cwd=c.dir, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, f"exit {p.returncode}: {err[-500:]}"
    return ru.ru_maxrss


def test_memory_flat_for_ten_times_more_runs_with_series_summary():
    if helpers.sanitized():
        helpers.skip("sanitizers change memory use")
    with Case(TINY) as c:
        # 2,000 runs: exact quantiles (values kept); 20,000: past the 10,000
        # threshold, streaming accumulators.
        small = peak_rss_kb(c, "run", "tiny.yaml", "-n", 2000, "-o", "s", "--quiet", "-j", 2)
        large = peak_rss_kb(c, "run", "tiny.yaml", "-n", 20000, "-o", "l", "--quiet", "-j", 2)
        assert large < MEMORY_FACTOR * small, \
            f"peak RSS {small} kB at 2,000 runs, {large} kB at 20,000: more than x{MEMORY_FACTOR}"
        man = open(c.path("l", "manifest.yaml")).read()
        assert "series_quantiles: p2-approximate" in man, "the manifest records the approximation"
        assert "series_quantiles: exact" in open(c.path("s", "manifest.yaml")).read()
        rows = c.csv("l", "series_summary.csv")
        assert rows and all(r["n"] == "20000" for r in rows)


# --- many actors --------------------------------------------------------------
def big_scenario(n, ticks=3, runs=2):
    lines = [f"scenario: big{n}", f"experiment: {{ticks: {ticks}, runs: {runs}, seed: 5}}", "actors:"]
    for i in range(n):
        lines.append(f"  a{i}: {{role: state, attrs: {{x: {i % 7}, y: 0}}, policy: p.lua}}")
    lines.append("kinds: [link]")
    lines.append("relations:")
    for i in range(n):
        for d in (1, 2):
            lines.append(f"  - {{from: a{i}, to: a{(i + d) % n}, kind: link, attrs: {{w: 0.5}}}}")
    lines += ["metrics:", '  x0: "a0.x"', f'  ylast: "a{n - 1}.y"']
    return "\n".join(lines) + "\n"


BIG_POLICY = """
    local nxt
    function init(me, world) nxt = world:outgoing(me)[1].to end
    function decide(me, world)
      me.y = me.y + me.x * world:rel(me, nxt).w + 1
    end
"""


def test_ten_thousand_actors_and_twenty_thousand_relations():
    with Case({"big.yaml": big_scenario(10000), "p.lua": BIG_POLICY}) as c:
        rc, out, err = c.run("check", "big.yaml", timeout=120)
        assert rc == 0, f"check: exit {rc}: {err[-500:]}"
        assert "10000 actors" in out + err and "20000 relations" in out + err, out + err
        run_ok(c, "run", "big.yaml", "-o", "out", "-j", "2", "--series", "all", timeout=120)
        rows = c.csv("out", "series.csv")
        assert len(rows) == 2 * 4, "2 runs of ticks 0..3"
        # a9999.y grows by x * w + 1 a tick, x = 9999 % 7 = 3, w = 0.5
        assert [float(r["ylast"]) for r in rows if r["run"] == "1"] == [0, 2.5, 5, 7.5]
