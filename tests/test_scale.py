"""Scale and robustness (docs/cli.md; docs/output-files.md;):
MPI ranks give the files of one process byte for byte; an experiment
interrupted by SIGINT or killed with SIGKILL and then resumed ends with the
files of an uninterrupted run; a resume with other inputs is refused; one
process per output folder; memory with --series summary stays flat as the
number of runs grows tenfold; the progress line shows on a terminal only;
a scenario of 10,000 actors and 20,000 relations loads and runs.

The MPI tests use build-mpi/tightrope (`make MPI=1`, which `make test`
builds), or the binary named by the TIGHTROPE_MPI environment variable
(empty: no MPI build); they are skipped, with the reason printed, only when
mpirun or that binary is missing."""
import os, pty, re, select, shutil, signal, subprocess, sys, time

import helpers
from helpers import Case

# --- a stochastic scenario that uses every output ---------------------------
# Two random walks tied by a relation; a Lua action with a random magnitude
# (events.csv); an outcome that ends some runs early (end_tick, n falling in
# series_summary.csv); a variant (compare.csv) and a two-point sweep
# (points.csv, sensitivity.csv).
STOCH = {
    "walk.lua": """
        local nxt
        function init(me, world) nxt = me.params.peer end
        function decide(me, world)
          local r = world:rel(me, nxt)
          me.x = me.x + me.drift + rng.normal(0, 1)
          r.w = r.w * 0.9 + 0.1 * rng.uniform()
          if rng.uniform() < 0.25 then me:act("poke", nxt, {k = rng.uniform()}) end
        end
    """,
    "poke.lua": """
        function apply(world, actor, target, args)
          world:add(target.id .. ".x", -args.k)
          return args.k
        end
    """,
    "stoch.yaml": """
        scenario: stoch
        experiment: {ticks: 30, runs: 24, seed: 11}
        actors:
          a: {role: state, attrs: {x: 0, drift: 0}, policy: walk.lua, params: {peer: b}}
          b: {role: state, attrs: {x: 0, drift: 0}, policy: walk.lua, params: {peer: a}}
        kinds: [rival]
        relations:
          - {from: a, to: b, kind: rival, attrs: {w: 0.5}}
          - {from: b, to: a, kind: rival, attrs: {w: 0.5}}
        actions:
          poke: {script: poke.lua, cameo: "190", goldstein: -2}
        metrics:
          x: "a.x"
          gap: "a.x - b.x"
          w: "rel('a', 'b').w"
        outcomes:
          apart: "a.x - b.x > 7"
        variants:
          drifting: {set: {"a.drift": 0.3}}
        sweep:
          params:
            "b.drift": [0, 0.2]
    """,
}


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


# --- MPI ----------------------------------------------------------------------
def mpi_binary():
    if "TIGHTROPE_MPI" in os.environ:
        b = os.environ["TIGHTROPE_MPI"]
        if not b:
            helpers.skip("no MPI build (TIGHTROPE_MPI is empty: `make MPI=1` failed or Open MPI "
                         "could not be installed)")
    else:
        b = os.path.join(helpers.ROOT, "build-mpi", "tightrope")
    if not os.access(b, os.X_OK):
        helpers.skip(f"no MPI build at {b} (run `make MPI=1`)")
    if not shutil.which("mpirun"):
        helpers.skip("mpirun not found (Debian: openmpi-bin)")
    return b


def mpirun(c, nranks, *args, timeout=180):
    cmd = ["mpirun", "--oversubscribe", "-np", str(nranks)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    p = subprocess.run(cmd + [mpi_binary(), *map(str, args)], cwd=c.dir, capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_mpi_ranks_give_the_files_of_one_process():
    mpi_binary()
    with Case(STOCH) as c:
        for mode in (["--series", "all", "--events"], ["--series", "summary"]):
            run_ok(c, "run", "stoch.yaml", "-o", "one", "-j", "1", *mode)
            want = outputs(c, "one")
            expected = {"runs.csv", "outcomes.csv", "finals.csv", "compare.csv", "points.csv",
                        "sensitivity.csv"}
            expected |= {"series.csv", "events.csv"} if "all" in mode else {"series_summary.csv"}
            assert expected <= set(want), f"reference run wrote {sorted(want)}"
            ends = {r["end_tick"] for r in c.csv("one", "runs.csv")}
            assert len(ends) > 1, "some runs should end early (the test needs end_tick to vary)"
            # 2 ranks of one thread, 3 ranks of two threads each
            for nranks, threads in ((2, 1), (3, 2)):
                out = f"np{nranks}"
                rc, _, err = mpirun(c, nranks, "run", "stoch.yaml", "-o", out, "-j", threads,
                                    "--quiet", *mode)
                assert rc == 0, f"mpirun -np {nranks}: exit {rc}: {err[-800:]}"
                assert_same(want, outputs(c, out), f"mpirun -np {nranks} -j {threads} {' '.join(mode)}")


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


# --- progress -----------------------------------------------------------------
def run_on_pty(c, *args, timeout=120):
    """(exit code, what the process wrote to its stderr, a terminal)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([helpers.binary(), *map(str, args)], cwd=c.dir, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    t0 = time.time()
    while time.time() - t0 < timeout:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            break
    os.close(master)
    p.wait(timeout=timeout)
    return p.returncode, b"".join(chunks).decode(errors="replace")


def test_progress_on_a_terminal_only():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        # 800 runs on one thread: over a second, several updates (4 a second)
        t0 = time.time()
        rc, text = run_on_pty(c, "run", "long.yaml", "-j", "1", "-o", "tty")
        took = time.time() - t0
        assert rc == 0, f"exit {rc}: {text[-500:]}"
        assert "/800 runs" in text and "runs/s" in text, \
            f"no progress line on a terminal in {took:.2f}s: {text[-300:]!r}"
        assert text.count("runs/s") >= 2, f"the line is updated while it runs ({took:.2f}s): {text[-300:]!r}"
        assert text.rstrip("\r\n").endswith("tightrope: results in tty"), "the line is cleared at the end"
        # not when stderr is a file
        args = ["run", "long.yaml", "-n", "200", "-j", "1"]
        with open(c.path("err.txt"), "w") as f:
            p = subprocess.run([helpers.binary(), *args, "-o", "file"], cwd=c.dir, stderr=f,
                               stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=120)
        assert p.returncode == 0
        text = open(c.path("err.txt")).read()
        assert "runs/s" not in text and "\r" not in text, f"progress written to a file: {text[-300:]!r}"
        # nor with --quiet on a terminal
        rc, text = run_on_pty(c, *args, "-o", "quiet", "--quiet")
        assert rc == 0 and "runs/s" not in text, f"--quiet still shows progress: {text[-300:]!r}"


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


def test_mpi_run_stopped_by_sigterm_resumes_with_another_rank_count():
    # A batch system's time limit sends SIGTERM to mpirun, which passes it to
    # the ranks: rank 0 keeps the finished runs, and a later resume — here by
    # one process with two threads — completes the same files.
    mpi_binary()
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        want = reference(c)
        cmd = ["mpirun", "--oversubscribe", "-np", "2"]
        if os.geteuid() == 0:
            cmd.insert(1, "--allow-run-as-root")
        # Rank 0 pauses after 50 runs until the signal comes (the test aid
        # TIGHTROPE_TEST_PAUSE_AFTER), so the signal always lands mid-way.
        env = dict(os.environ)
        env[PAUSE] = "50"
        cmd[1:1] = ["-x", PAUSE]
        p = subprocess.Popen(cmd + [mpi_binary(), *LONG_ARGS, "-o", "out", "-j", "1", "--quiet"],
                             cwd=c.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        wait_for_pause(p, 50)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        # mpirun itself exits 1 after forwarding SIGTERM (docs/cluster.md);
        # rank 0's own line says what happened.
        assert p.returncode != 0, "an interrupted MPI run exits non-zero"
        m = re.search(r"interrupted by SIGTERM: (\d+) of (\d+) runs finished", err)
        assert m and 50 <= int(m.group(1)) < int(m.group(2)) == 800, \
            f"rank 0 reports the runs kept: {err[-500:]}"
        assert csvs(c, "out") == []
        rc, _, err = c.run(*LONG_ARGS, "-o", "out", "--quiet", "--resume", "-j", "2")
        assert rc == 0, f"resume: exit {rc}: {err[-800:]}"
        assert_same(want, outputs(c, "out"), "mpirun -np 2, SIGTERM, then --resume in one process")
