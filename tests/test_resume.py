"""Interrupt and resume (docs/cli.md, "--resume"; docs/output-files.md): an
experiment interrupted by SIGINT, SIGTERM or killed with SIGKILL and then
resumed ends with the files of an uninterrupted run, byte for byte; earlier
files in the folder survive the interruption; a resume with other inputs is
refused; one process per output folder."""
import os, re, signal, subprocess

import helpers
from helpers import Case


def outputs(c, out):
    """{file name: bytes} of a finished output folder, manifest aside (its
    times and command line differ by design)."""
    d = c.path(out)
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))
            if os.path.isfile(os.path.join(d, f)) and f != "manifest.yaml"}


def assert_same(want, got, what):
    assert sorted(want) == sorted(got), f"{what}: files {sorted(got)}, expected {sorted(want)}"
    for f in want:
        assert want[f] == got[f], f"{what}: {f} differs from the reference run"


run_ok = helpers.run_ok


# --- interrupt and resume -----------------------------------------------------
# Long enough (a few seconds on one thread) for a signal to land mid-way.
LONG = {
    "slow.lua": """
        function decide(me, world)
          local s = 0
          for i = 1, 300 do s = s + rng.uniform() end
          me.x = me.x + s / 300 - 0.5 + me.drift
          me.y = me.y + rng.normal(0, 1)
        end
    """,
    "long.yaml": """
        scenario: long
        experiment: {ticks: 60, runs: 400, seed: 5}
        actors:
          a: {role: state, attrs: {x: 0, y: 0, drift: 0}, policy: slow.lua}
          b: {role: state, attrs: {x: 0, y: 0, drift: 0}, policy: slow.lua}
        metrics:
          x: "a.x + b.x"
          y: "a.y - b.y"
        outcomes:
          far: "a.y - b.y > 12"
        variants:
          drift: {set: {"a.drift": 0.01}}
    """,
}
LONG_ARGS = ["run", "long.yaml", "--series", "all", "--events"]


def journal(c, out):
    return c.path(out, ".tightrope-partial", "runs.journal")


PAUSE = "TIGHTROPE_TEST_PAUSE_AFTER"


def wait_for_pause(p, runs):
    """Read p's stderr until tightrope says it paused after `runs` runs (the
    test aid TIGHTROPE_TEST_PAUSE_AFTER: it then waits for a signal), so a
    signal sent next always lands mid-way, however fast the machine."""
    seen = []
    for line in p.stderr:
        seen.append(line)
        if f"paused after {runs} runs" in line:
            return
    p.wait()
    raise AssertionError(f"the run ended (exit {p.returncode}) without pausing: {''.join(seen)[-500:]}")


def start_and_wait_for_journal(c, out, *extra, runs=40):
    """Start `run` in the background; return once `runs` runs are finished
    and journalled, with the process paused there until it gets a signal."""
    env = dict(os.environ)
    env[PAUSE] = str(runs)
    p = subprocess.Popen([helpers.binary(), *LONG_ARGS, "-o", out, "-j", "1", "--quiet", *extra],
                         cwd=c.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    wait_for_pause(p, runs)
    assert p.poll() is None
    return p


def csvs(c, out):
    d = c.path(out)
    return sorted(f for f in os.listdir(d) if f.endswith(".csv")) if os.path.isdir(d) else []


def reference(c):
    run_ok(c, *LONG_ARGS, "-o", "ref", "-j", "2")
    return outputs(c, "ref")


def test_sigint_then_resume_is_byte_identical_and_keeps_earlier_files():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        want = reference(c)
        # An earlier, finished experiment in the folder: it must survive the
        # interruption untouched.
        run_ok(c, *LONG_ARGS, "-o", "out", "-n", "3")
        earlier = {f: open(c.path("out", f), "rb").read() for f in os.listdir(c.path("out"))
                   if os.path.isfile(c.path("out", f))}
        assert "runs.csv" in earlier and "manifest.yaml" in earlier

        p = start_and_wait_for_journal(c, "out", runs=40)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 130, f"SIGINT: exit {p.returncode}, expected 130: {err[-500:]}"
        assert "--resume" in err, f"the message says how to resume: {err[-500:]}"
        m = re.search(r"(\d+) of (\d+) runs finished", err)
        assert m, f"the message says how many runs are kept: {err[-500:]}"
        # paused after 40 runs; the runs already done in the window are kept too
        assert 40 <= int(m.group(1)) < int(m.group(2)) == 800, f"interrupted mid-way: {m.group(0)}"
        assert "interrupted by SIGINT" in err, f"the summary names the signal: {err[-500:]}"
        now = {f: open(c.path("out", f), "rb").read() for f in os.listdir(c.path("out"))
               if os.path.isfile(c.path("out", f))}
        assert now == earlier, "after exit 130 the folder holds the earlier experiment's files, untouched"
        kept = os.path.getsize(journal(c, "out"))
        assert kept > 0, "finished runs are kept in the journal"
        assert not [f for f in os.listdir(c.path("out")) if f.startswith(".tightrope-staging")], \
            "no staging folder is left behind after a clean interruption"

        # Resuming with other inputs is refused, and the journal survives it.
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume", "-s", "6")
        assert rc == 2, f"resume with another seed: exit {rc}, expected 2: {err[-300:]}"
        assert "--resume" in err and "option" in err, f"the message names the cause: {err[-300:]}"
        c.write("long.yaml", LONG["long.yaml"] + "# edited\n")
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume")
        assert rc == 2, f"resume with an edited scenario: exit {rc}, expected 2: {err[-300:]}"
        assert "scenario" in err, f"the message names the scenario: {err[-300:]}"
        c.write("long.yaml", LONG["long.yaml"])
        assert os.path.getsize(journal(c, "out")) == kept, "a refused resume leaves the journal alone"

        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume", "-j", "2")
        assert rc == 0, f"resume: exit {rc}: {err[-800:]}"
        assert_same(want, outputs(c, "out"), "SIGINT then --resume")
        assert not os.path.exists(c.path("out", ".tightrope-partial")), "the journal is removed once done"
        # Nothing left to resume now.
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume")
        assert rc == 2, f"--resume of a finished experiment: exit {rc}: {err[-300:]}"


def test_sigkill_then_resume_is_byte_identical():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        want = reference(c)
        # Several records in the journal, so the kill lands well after the start.
        p = start_and_wait_for_journal(c, "out", runs=60)
        p.kill()
        p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL
        assert csvs(c, "out") == [], f"a killed run left CSVs: {csvs(c, 'out')}"
        assert os.path.getsize(journal(c, "out")) > 0
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume", "-j", "2")
        assert rc == 0, f"resume after kill -9: exit {rc}: {err[-800:]}"
        assert_same(want, outputs(c, "out"), "SIGKILL then --resume")
        left = [f for f in os.listdir(c.path("out")) if f.startswith(".tightrope")]
        assert left == [], f"resume left {left} behind"


def test_sigterm_exits_143_and_resumes():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        p = start_and_wait_for_journal(c, "out")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 143, f"SIGTERM: exit {p.returncode}, expected 143: {err[-500:]}"
        assert csvs(c, "out") == []
        # Resuming with -n changed is refused too (the runs are part of the experiment).
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume", "-n", "401")
        assert rc == 2, f"resume with other runs: exit {rc}: {err[-300:]}"


def test_second_process_on_the_same_folder_is_refused():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        p = start_and_wait_for_journal(c, "out")
        try:
            rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "-n", "2")
            assert rc == 4, f"second process: exit {rc}, expected 4: {err[-300:]}"
            assert "another" in err, f"the message says why: {err[-300:]}"
            rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume")
            assert rc == 4, f"--resume while the first still runs: exit {rc}, expected 4: {err[-300:]}"
            assert p.poll() is None, "the first process is not disturbed"
        finally:
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=60)
        assert p.returncode == 130
