"""MPI (docs/cluster.md): ranks give the files of one process byte for byte,
and an MPI run stopped by SIGTERM resumes with another rank count.

The MPI tests use build-mpi/tightrope (`make MPI=1`, which `make test`
builds), or the binary named by the TIGHTROPE_MPI environment variable
(empty: no MPI build); they are skipped, with the reason printed, only when
mpirun or that binary is missing."""
import os, re, shutil, signal, subprocess

import helpers
from helpers import Case
from test_resume import LONG, LONG_ARGS, PAUSE, assert_same, csvs, outputs, reference, run_ok, \
    wait_for_pause

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
