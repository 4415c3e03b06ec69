"""Hostile input (docs/scenario-format.md, "Validation"; docs/lua-api.md, "The sandbox"; docs/output-files.md): scenarios, scripts, disks and
numbers that try to break tightrope. Each must end with its documented exit
status and a message that says what went wrong, never with a crash (a
signal, a sanitizer report), a hang or a leak.

The cases live in tests/hostile/: one folder per case with case.yaml, its
scripts and an `expect` file:

    # what the case checks
    args: run case.yaml -o out --quiet     (the command line, split on spaces)
    exit: 3                                 (the exit status it must end with)
    message: instruction limit exceeded     (each must appear in stderr)
    absent: 0x                              (each must not appear in stderr)
    repeat: 6                               (run it this many times, each in a
                                             fresh folder, with -j 1, 2, 3, ...)
    same: out/runs.csv                      (files that must be byte-identical
                                             across the repeats)

tests/hostile/fuzz-regressions/ holds inputs the fuzzers once crashed on
(see fuzz/README.md); they are replayed as scenario files and must end with
exit 0, 1 or 3. Cases that need a file too large to keep in git, a mount
or two processes are made here, below. tests/hostile_pending/ holds cases of
engine bugs not yet fixed: they are not run.
"""
import os, shutil, signal, subprocess, tempfile, time

import helpers
from helpers import Case

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "hostile")
TIMEOUT = 30          # seconds; every case ends well within it (~1 s each)
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault",
               "core dumped")


def read_expect(path):
    exp = {"args": None, "exit": None, "messages": [], "about": "", "absent": [],
           "repeat": 1, "same": []}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                exp["about"] += line[1:].strip() + " "
            elif line.startswith("args:"):
                exp["args"] = line[5:].split()
            elif line.startswith("exit:"):
                exp["exit"] = int(line[5:])
            elif line.startswith("message:"):
                exp["messages"].append(line[8:].strip())
            elif line.startswith("absent:"):
                exp["absent"].append(line[7:].strip())
            elif line.startswith("repeat:"):
                exp["repeat"] = int(line[7:])
            elif line.startswith("same:"):
                exp["same"].append(line[5:].strip())
    return exp


def run_tool(args, cwd, timeout=TIMEOUT, env=None):
    """(exit status, stderr, seconds); a hang kills the process and fails."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.time()
    p = subprocess.Popen([helpers.binary(), *args], cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)   # SIGTERM is not enough for a run stuck in C
        p.communicate()
        raise AssertionError(f"hang: {' '.join(args)} still running after {timeout} s")
    return p.returncode, err.decode("utf-8", "replace"), time.time() - t0


def check_clean(name, rc, err):
    assert rc >= 0, f"{name}: killed by signal {-rc}: {err[-600:]}"
    for mark in CRASH_MARKS:
        assert mark not in err, f"{name}: {mark} in stderr:\n{err[-1500:]}"


def run_case(name, folder):
    exp = read_expect(os.path.join(folder, "expect"))
    outputs = []
    for i in range(exp["repeat"]):
        args = exp["args"] + (["-j", str(i % 3 + 1)] if exp["repeat"] > 1 else [])
        outputs.append(run_once(name, folder, exp, args))
    for f in exp["same"]:
        for i, o in enumerate(outputs[1:], 2):
            assert o[f] == outputs[0][f], \
                f"{name}: {f} differs between repeat 1 and repeat {i} ({exp['about']})"


def run_once(name, folder, exp, args):
    work = tempfile.mkdtemp(prefix="tr-hostile-")
    try:
        for f in os.listdir(folder):
            if f != "expect":
                shutil.copy(os.path.join(folder, f), work)
        rc, err, secs = run_tool(args, work)
        check_clean(name, rc, err)
        assert rc == exp["exit"], f"{name}: exit {rc}, expected {exp['exit']} ({exp['about']}):\n{err[-800:]}"
        for m in exp["messages"]:
            assert m in err, f"{name}: message {m!r} not in stderr:\n{err[-800:]}"
        for m in exp["absent"]:
            assert m not in err, f"{name}: {m!r} in stderr:\n{err[-800:]}"
        if rc != 0:   # nothing written after a failure
            assert not os.path.exists(os.path.join(work, "out", "runs.csv")), \
                f"{name}: exit {rc} but out/runs.csv was written"
        kept = {}
        for f in exp["same"]:
            with open(os.path.join(work, f), "rb") as fh:
                kept[f] = fh.read()
        return kept
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_hostile_cases():
    names = sorted(n for n in os.listdir(CASES)
                   if os.path.isfile(os.path.join(CASES, n, "expect")))
    assert len(names) >= 80, f"only {len(names)} hostile cases found"
    failures = []
    for n in names:
        try:
            run_case(n, os.path.join(CASES, n))
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, f"{len(failures)} of {len(names)} hostile cases failed:\n" + "\n".join(failures)


def test_fuzz_regressions():
    """Inputs a fuzzer once crashed on, replayed with `check` (scenarios)."""
    folder = os.path.join(CASES, "fuzz-regressions")
    if not os.path.isdir(folder):
        helpers.skip("no fuzz regressions recorded")
    for n in sorted(os.listdir(folder)):
        path = os.path.join(folder, n)
        if n.startswith("scenario-"):
            rc, err, _ = run_tool(["check", path], folder)
            check_clean(n, rc, err)
            assert rc in (0, 1), f"{n}: exit {rc}: {err[-600:]}"


# --- scenario files that are made, not kept --------------------------------
SMALL = """\
scenario: small
experiment: {ticks: 2, runs: 2, seed: 1}
actors:
  a: {role: state, attrs: {x: 1}}
metrics:
  x: "a.x"
"""


def expect_fail(c, args, status, fragment):
    rc, err, _ = run_tool(args, c.dir)
    check_clean(args[-1], rc, err)
    assert rc == status, f"{args}: exit {rc}, expected {status}: {err[-600:]}"
    assert fragment in err, f"{args}: {fragment!r} not in: {err[-600:]}"


def test_yaml_oversized_file():
    with Case() as c:
        with open(c.path("big.yaml"), "wb") as f:   # sparse: no 17 MiB written
            f.truncate(17 * 1024 * 1024)
        expect_fail(c, ["check", "big.yaml"], 1, "scenarios over 16 MiB are refused")


def test_yaml_device_instead_of_file():
    """/dev/zero never ends: reading stops one byte past the 16 MiB cap."""
    if not os.path.exists("/dev/zero"):
        helpers.skip("no /dev/zero")
    with Case() as c:
        expect_fail(c, ["check", "/dev/zero"], 1, "scenarios over 16 MiB are refused")


def test_yaml_directory_instead_of_file():
    with Case() as c:
        os.mkdir(c.path("d.yaml"))
        expect_fail(c, ["check", "d.yaml"], 1, "is a directory")


def test_yaml_missing_file():
    with Case() as c:
        expect_fail(c, ["check", "nothing.yaml"], 1, "cannot open")


def test_yaml_very_deep_nesting():
    """100,000 levels: refused at level 65, without recursing further."""
    with Case() as c:
        c.write("deep.yaml", SMALL + "model: " + "[" * 100000 + "]" * 100000 + "\n")
        expect_fail(c, ["check", "deep.yaml"], 1, "nesting deeper than 64 levels")


def test_yaml_many_aliases():
    """A billion-laughs file at full size: every alias refused, fast."""
    with Case() as c:
        lines = [SMALL, "description: &a0 lol\n"]
        lines.append("model:\n")
        for i in range(1, 10):
            lines.append(f"  l{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 10) + "]\n")
        c.write("lol.yaml", "".join(lines))
        expect_fail(c, ["check", "lol.yaml"], 1, "YAML anchor '&a0' is not supported")


def test_yaml_huge_mapping():
    """200,000 duplicate keys: reported without a quadratic check. Measured
    in the child's CPU time, which a busy machine does not inflate: a
    quadratic check would need about 2*10^10 comparisons, minutes of CPU;
    the linear one takes well under a second."""
    import resource
    with Case() as c:
        c.write("dup.yaml", SMALL + "model:\n" + "".join("  k: 1\n" for _ in range(200000)))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc, err, _ = run_tool(["check", "dup.yaml"], c.dir)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        check_clean("dup", rc, err)
        assert rc == 1 and "duplicate key 'k'" in err, err[-400:]
        limit = 60 if helpers.sanitized() else 20
        assert cpu < limit, f"{cpu:.1f} CPU s for 200,000 keys"


def test_script_directory_instead_of_file():
    with Case() as c:
        c.write("s.yaml", SMALL.replace("attrs: {x: 1}}", "attrs: {x: 1}, policy: pol}"))
        os.mkdir(c.path("pol"))
        rc, err, _ = run_tool(["check", "s.yaml"], c.dir)
        check_clean("dir-script", rc, err)
        assert rc == 1 and "pol" in err, f"exit {rc}: {err[-400:]}"


# --- output folders ----------------------------------------------------------
def snapshot(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_output_under_a_regular_file():
    with Case({"s.yaml": SMALL}) as c:
        c.write("file", "not a folder\n")
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "file/out", "--quiet"], c.dir)
        check_clean("under-file", rc, err)
        assert rc == 4, f"exit {rc}: {err[-400:]}"
        assert "file/out" in err, err[-400:]


def can_mount():
    if os.geteuid() != 0:
        return False
    d = tempfile.mkdtemp(prefix="tr-mnt-")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", d])
    os.rmdir(d)
    return ok


def test_output_full_disk_keeps_earlier_results():
    """A 64 KiB tmpfs: the first experiment fits, the second (every series of
    200 runs) does not: exit 4, and the first one's files are untouched."""
    if not can_mount():
        helpers.skip("needs root and tmpfs mounts")
    with Case({"s.yaml": SMALL.replace("ticks: 2", "ticks: 50")}) as c:
        mnt = c.path("mnt")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], check=True)
        try:
            rc, err, _ = run_tool(["run", "s.yaml", "-o", "mnt/out", "--quiet", "-n", "2",
                                   "--series", "none"], c.dir)
            assert rc == 0, f"first run: exit {rc}: {err[-400:]}"
            before = snapshot(c.path("mnt", "out"))
            rc, err, _ = run_tool(["run", "s.yaml", "-o", "mnt/out", "--quiet", "-n", "400",
                                   "--series", "all", "-s", "9"], c.dir)
            check_clean("full", rc, err)
            assert rc == 4, f"full disk: exit {rc}: {err[-400:]}"
            assert "No space left on device" in err, err[-400:]
            after = snapshot(c.path("mnt", "out"))
            assert after == before, f"exit 4 changed {sorted(set(before) ^ set(after))}"
            assert not [f for f in os.listdir(c.path("mnt", "out")) if f.startswith(".tightrope-staging-")]
        finally:
            subprocess.run(["umount", mnt])


def test_output_read_only_folder_keeps_earlier_results():
    """A read-only bind mount of a finished output folder: exit 4, intact."""
    if not can_mount():
        helpers.skip("needs root and mounts")
    with Case({"s.yaml": SMALL}) as c:
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        before = snapshot(c.path("out"))
        subprocess.run(["mount", "--bind", c.path("out"), c.path("out")], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", c.path("out")], check=True)
            rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "-s", "5"], c.dir)
            check_clean("ro", rc, err)
            assert rc == 4, f"read-only folder: exit {rc}: {err[-400:]}"
        finally:
            subprocess.run(["umount", c.path("out")])
        assert snapshot(c.path("out")) == before


OTHER = SMALL.replace("scenario: small", "scenario: other").replace(
    "metrics:", "outcomes:\n  high: \"a.x > 5\"\nmetrics:")


def test_output_of_another_experiment_replaced_only_on_success():
    with Case({"s.yaml": SMALL, "o.yaml": OTHER.replace('"a.x"', '"1 / (a.x - 1)"')}) as c:
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        before = snapshot(c.path("out"))
        rc, err, _ = run_tool(["run", "o.yaml", "-o", "out", "--quiet"], c.dir)
        check_clean("other", rc, err)
        assert rc == 3, f"failing experiment: exit {rc}: {err[-400:]}"
        assert snapshot(c.path("out")) == before, "a failed run changed another experiment's folder"
        c.write("o.yaml", OTHER)
        rc, err, _ = run_tool(["run", "o.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        manifest = open(c.path("out", "manifest.yaml")).read()
        assert "o.yaml" in manifest and "s.yaml" not in manifest


def test_output_two_processes_same_folder():
    slow = SMALL.replace("ticks: 2, runs: 2", "ticks: 100000, runs: 1000").replace(
        "attrs: {x: 1}}", "attrs: {x: 1}, policy: p.lua}")
    with Case({"slow.yaml": slow, "s.yaml": SMALL,
               "p.lua": "function decide(me) me.x = me.x + 1 end\n"}) as c:
        first = subprocess.Popen([helpers.binary(), "run", "slow.yaml", "-o", "out", "--quiet", "-j", "1"],
                                 cwd=c.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 20
            while not os.path.exists(c.path("out", ".tightrope-partial", "runs.journal")):
                assert first.poll() is None, "the first process ended early"
                assert time.time() < deadline, "the first process never started writing"
                time.sleep(0.05)
            rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
            check_clean("second", rc, err)
            assert rc == 4, f"second writer: exit {rc}: {err[-400:]}"
            assert "another tightrope process" in err, err[-400:]
        finally:
            first.send_signal(signal.SIGTERM)
            try:
                first.wait(timeout=20)
            except subprocess.TimeoutExpired:
                first.kill()
                first.wait()
        assert first.returncode == 143, f"interrupted first writer: exit {first.returncode}"


# --- signals inside a run -----------------------------------------------------
FOREVER_YAML = SMALL.replace("attrs: {x: 1}}", "attrs: {x: 1}, policy: p.lua}").replace(
    "actors:", "limits: {instructions: 9223372036854775807, cpu_ms: 1099511627776, memory_mb: 64}\n"
               "actors:")


def start_and_signal(c, args, sig, wait_for=("out", ".tightrope-partial", "runs.journal"),
                     min_bytes=-1, pause=None):
    """Start `tightrope ARGS` in case c, wait until the file wait_for holds
    more than min_bytes bytes (-1: exists), send sig; (exit status, stderr, seconds from the
    signal to the exit)."""
    env = dict(os.environ)
    if pause:     # the test aid: tightrope waits for the signal after `pause` runs
        env["TIGHTROPE_TEST_PAUSE_AFTER"] = str(pause)
    p = subprocess.Popen([helpers.binary(), *args], cwd=c.dir, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        deadline = time.time() + 60
        path = c.path(*wait_for)
        if pause:
            for line in p.stderr:
                if b"paused after" in line:
                    break
        while not (os.path.exists(path) and os.path.getsize(path) > min_bytes):
            assert p.poll() is None, "the run ended by itself: " + p.stderr.read().decode()[-400:]
            assert time.time() < deadline, "the run never got there"
            time.sleep(0.05)
        time.sleep(0.3)
        t0 = time.time()
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        return p.returncode, err.decode("utf-8", "replace"), time.time() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def interrupt_inside_a_run(policy, sig):
    """Start a run whose policy never ends by itself (limits.instructions at
    its maximum), signal it once the journal exists, and return (exit status,
    stderr, seconds from the signal to the exit)."""
    with Case({"s.yaml": FOREVER_YAML, "p.lua": policy}) as c:
        p = subprocess.Popen([helpers.binary(), "run", "s.yaml", "-o", "out", "--quiet", "-j", "1"],
                             cwd=c.dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            deadline = time.time() + 30
            while not os.path.exists(c.path("out", ".tightrope-partial", "runs.journal")):
                assert p.poll() is None, "the run ended by itself"
                assert time.time() < deadline, "the run never started"
                time.sleep(0.05)
            time.sleep(0.3)            # the policy loops for ever: the signal lands in it
            t0 = time.time()
            p.send_signal(sig)
            _, err = p.communicate(timeout=30)
            secs = time.time() - t0
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
        return p.returncode, err.decode("utf-8", "replace"), secs


def test_sigterm_stops_a_run_inside_a_lua_loop():
    rc, err, secs = interrupt_inside_a_run("function decide(me) while true do end end\n",
                                           signal.SIGTERM)
    assert rc == 143, f"exit {rc}: {err[-600:]}"
    assert "interrupted by SIGTERM: 0 of 2 runs finished" in err, err[-600:]
    assert "run failed" not in err, err[-600:]
    assert secs < 20, f"{secs:.1f} s from SIGTERM to exit (generous: a loaded machine)"


def test_sigint_stops_a_run_inside_a_long_c_call():
    """table.move over 2^25 slots, again and again: each call is one long
    C loop the count hook cannot see; the charge before it notices the
    signal (before: more than 10 minutes, deaf to SIGTERM)."""
    rc, err, secs = interrupt_inside_a_run(
        "function decide(me) while true do table.move({}, 1, 2^25 - 1, 1, {}) end end\n",
        signal.SIGINT)
    assert rc == 130, f"exit {rc}: {err[-600:]}"
    assert "interrupted by SIGINT: 0 of 2 runs finished" in err, err[-600:]
    assert secs < 20, f"{secs:.1f} s from SIGINT to exit (generous: a loaded machine)"


# --- what --resume accepts ----------------------------------------------------
def test_resume_refuses_an_edited_policy():
    """Interrupt an experiment (its policy never ends, so the signal always
    lands inside run 1), edit the policy, --resume: refused, naming the
    script, and nothing of the old script's runs is mixed with the new."""
    with Case({"s.yaml": FOREVER_YAML, "p.lua": "function decide(me) while true do end end\n"}) as c:
        rc, err, _ = start_and_signal(c, ["run", "s.yaml", "-o", "out", "--quiet", "-j", "1"],
                                      signal.SIGTERM)
        assert rc == 143, f"exit {rc}: {err[-400:]}"
        c.write("p.lua", "function decide(me) me.x = 2 end\n")
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "--resume"], c.dir)
        check_clean("resume-edited", rc, err)
        assert rc == 2, f"exit {rc}: {err[-400:]}"
        assert "was made with a different policy script" in err and "p.lua" in err, err[-400:]
        assert not os.path.exists(c.path("out", "runs.csv"))


def test_resume_refuses_a_journal_record_of_another_seed():
    """Two interrupted experiments, -s 99 and -s 5, each with 5 finished runs
    in its journal (each pauses there until the signal comes); the -s 99
    journal copied into the -s 5 folder: --resume refuses it, naming the
    record, instead of writing the -s 99 runs into the -s 5 results."""
    slow = SMALL.replace("ticks: 2, runs: 2", "ticks: 200, runs: 1000000").replace(
        "attrs: {x: 1}}", "attrs: {x: 1}, policy: p.lua}")
    with Case({"s.yaml": slow, "p.lua": "function decide(me) me.x = me.x + rng.uniform() end\n"}) as c:
        for out, seed in (("a", "99"), ("b", "5")):
            rc, err, _ = start_and_signal(
                c, ["run", "s.yaml", "-o", out, "--quiet", "-j", "1", "-s", seed, "--series", "none"],
                signal.SIGTERM, wait_for=(out, ".tightrope-partial", "runs.journal"), pause=5)
            assert rc == 143, f"exit {rc}: {err[-400:]}"
        shutil.copy(c.path("a", ".tightrope-partial", "runs.journal"),
                    c.path("b", ".tightrope-partial", "runs.journal"))
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "b", "--quiet", "-j", "1", "-s", "5",
                               "--series", "none", "--resume"], c.dir)
        check_clean("resume-foreign", rc, err)
        assert rc == 2, f"exit {rc}: {err[-600:]}"
        assert "record 1 of the journal" in err and "belongs to another experiment" in err, err[-600:]
        assert not os.path.exists(c.path("b", "runs.csv"))


def test_resume_refuses_results_changed_after_their_manifest():
    """A finished experiment in out/, then a second one (-s 5, 2000 runs)
    stopped after 4 runs (the workers' window is far smaller than 2000).
    runs.csv is edited by hand: --resume would replace it, so it refuses,
    naming the file, and leaves every byte of the folder as it was; --force
    lets it finish. With the manifest gone instead (an install that was
    stopped), --resume completes the experiment: its 2000 runs are there,
    the last replays, and the folder holds one experiment's files."""
    many = SMALL.replace("ticks: 2, runs: 2", "ticks: 2, runs: 2000").replace(
        "attrs: {x: 1}}", "attrs: {x: 1}, policy: p.lua}")
    with Case({"s.yaml": many, "p.lua": "function decide(me) me.x = me.x + rng.uniform() end\n"}) as c:
        for case in ("edited", "no-manifest"):
            shutil.rmtree(c.path("out"), ignore_errors=True)
            rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "-s", "1"], c.dir)
            assert rc == 0, err[-400:]
            rc, err, _ = start_and_signal(c, ["run", "s.yaml", "-o", "out", "--quiet", "-j", "1",
                                              "-s", "5"], signal.SIGTERM, pause=4)
            assert rc == 143, f"exit {rc}: {err[-400:]}"
            if case == "edited":
                with open(c.path("out", "runs.csv"), "a") as f:
                    f.write("99,baseline,,1,horizon,2\n")
                before = snapshot(c.path("out"))
                resume = ["run", "s.yaml", "-o", "out", "--quiet", "-j", "1", "-s", "5", "--resume"]
                rc, err, _ = run_tool(resume, c.dir)
                check_clean("resume-edited-results", rc, err)
                assert rc == 4, f"exit {rc}: {err[-400:]}"
                assert "out/runs.csv" in err and "--resume would replace the files of out" in err, \
                    err[-600:]
                assert snapshot(c.path("out")) == before
                rc, err, _ = run_tool(resume + ["--force"], c.dir)
            else:
                os.remove(c.path("out", "manifest.yaml"))
                rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "-j", "1", "-s", "5",
                                       "--resume"], c.dir)
            assert rc == 0, f"{case}: exit {rc}: {err[-400:]}"
            assert len(c.csv("out", "runs.csv")) == 2000
            r = subprocess.run([helpers.binary(), "replay", "out", "--run", "2000"], cwd=c.dir,
                               capture_output=True, text=True, timeout=TIMEOUT)
            assert r.returncode == 0 and "matches" in r.stdout, f"{case}: {r.stdout[-300:]}{r.stderr[-300:]}"


# --- a crash while the results are installed ------------------------------------
def test_crash_at_every_rename_of_the_install():
    """SIGKILL at the Nth rename of the final install (strace's fault
    injection), for every N: the folder is never a mix. Either it has no
    manifest and replay and report refuse it as incomplete, or its manifest
    and every file it lists are one experiment's (replay re-runs run 1 and
    matches runs.csv; the listed sizes and SHA-256 hold). Before the fix a
    kill at the second rename left the new runs.csv under the old manifest."""
    strace = shutil.which("strace")
    if not strace:
        helpers.skip("strace is not installed (make deps installs it)")
    if helpers.sanitized():
        helpers.skip("strace and the sanitizers' ptrace do not mix")
    calls = "rename,renameat,renameat2"
    with Case({"s.yaml": SMALL.replace("runs: 2", "runs: 3")}) as c:
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "-s", "1"], c.dir)
        assert rc == 0, err[-400:]
        probe = subprocess.run([strace, "-f", "-o", "/dev/null", "true"], capture_output=True)
        if probe.returncode != 0:
            helpers.skip("strace cannot trace here: " + probe.stderr.decode()[-200:])
        killed = 0
        for n in range(1, 30):
            p = subprocess.run([strace, "-f", "-o", "/dev/null", "-e", "trace=" + calls,
                                "-e", f"inject={calls}:signal=SIGKILL:when={n}",
                                helpers.binary(), "run", "s.yaml", "-o", "out", "--quiet",
                                "-s", str(2 + n % 2)],
                               cwd=c.dir, capture_output=True, timeout=60)
            r = subprocess.run([helpers.binary(), "replay", "out", "--run", "1"], cwd=c.dir,
                               capture_output=True, text=True, timeout=TIMEOUT)
            rc_r, err_r = r.returncode, r.stdout + r.stderr
            rc_p, err_p, _ = run_tool(["report", "out"], c.dir)
            check_clean(f"replay after kill {n}", rc_r, err_r)
            if os.path.exists(c.path("out", "manifest.yaml")):
                assert rc_r == 0 and "matches" in err_r, \
                    f"kill at rename {n}: manifest present but replay says: {err_r[-400:]}"
                assert rc_p == 0, f"kill at rename {n}: report: {err_p[-400:]}"
            else:
                assert rc_r != 0 and "results are incomplete" in err_r, \
                    f"kill at rename {n}: no manifest, yet replay: exit {rc_r}: {err_r[-400:]}"
                assert rc_p != 0 and "results are incomplete" in err_p, err_p[-400:]
            if p.returncode == 0:
                break
            assert p.returncode in (-9, 137), f"kill at rename {n}: {p.returncode}: {p.stderr[-300:]}"
            killed += 1
        assert killed >= 3, f"only {killed} renames before the install finished"
        # and the folder recovers: the next run installs a complete experiment
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet", "-s", "7"], c.dir)
        assert rc == 0, err[-400:]
        r = subprocess.run([helpers.binary(), "replay", "out", "--run", "3"], cwd=c.dir,
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 0 and "matches" in r.stdout, r.stdout[-400:] + r.stderr[-400:]


def test_replay_and_report_refuse_a_mixed_folder():
    """runs.csv of one experiment beside the manifest of another (what a
    crash mid-install used to leave): both readers refuse, naming the file."""
    with Case({"s.yaml": SMALL}) as c:
        for out, seed in (("a", "1"), ("b", "2")):
            rc, err, _ = run_tool(["run", "s.yaml", "-o", out, "--quiet", "-s", seed], c.dir)
            assert rc == 0, err[-400:]
        shutil.copy(c.path("b", "runs.csv"), c.path("a", "runs.csv"))
        for args in (["replay", "a", "--run", "1"], ["report", "a"]):
            rc, err, _ = run_tool(args, c.dir)
            check_clean(args[0], rc, err)
            assert rc != 0, f"{args}: exit 0"
            assert "a/runs.csv" in err and "is not the file" in err and "mixes two experiments" in err, \
                err[-400:]


# --- the output folder is the only place written ---------------------------------
def test_symlinked_journal_file_does_not_overwrite_its_target():
    with Case({"s.yaml": SMALL}) as c:
        c.write("victim", "precious\n")
        os.makedirs(c.path("out", ".tightrope-partial"))
        os.symlink("../../victim", c.path("out", ".tightrope-partial", "experiment"))
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        check_clean("symlink-experiment", rc, err)
        assert rc == 4, f"exit {rc}: {err[-400:]}"
        assert "out/.tightrope-partial/experiment" in err and "symbolic link" in err, err[-400:]
        assert open(c.path("victim")).read() == "precious\n"


def test_symlinked_report_folder_leaves_its_target_alone():
    if not shutil.which("gnuplot"):
        helpers.skip("gnuplot is not installed")
    with Case({"s.yaml": SMALL}) as c:
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        os.makedirs(c.path("site"))
        for name in ("index.html", "metric-1.svg", "outcomes.svg"):
            c.write(os.path.join("site", name), "mine\n")
        before = snapshot(c.path("site"))
        os.symlink("../site", c.path("out", "report"))
        rc, err, _ = run_tool(["report", "out"], c.dir)
        check_clean("symlink-report", rc, err)
        assert rc == 4, f"exit {rc}: {err[-400:]}"
        assert "out/report" in err and "symbolic link" in err, err[-400:]
        assert snapshot(c.path("site")) == before


def test_symlink_in_place_of_a_result_file_is_refused():
    with Case({"s.yaml": SMALL}) as c:
        c.write("victim", "precious\n")
        os.makedirs(c.path("out"))
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        os.remove(c.path("out", "runs.csv"))
        os.symlink("../victim", c.path("out", "runs.csv"))
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 4 and "out/runs.csv" in err and "symbolic link" in err, f"exit {rc}: {err[-400:]}"
        assert open(c.path("victim")).read() == "precious\n"
        assert os.path.islink(c.path("out", "runs.csv"))


def test_foreign_folder_with_our_file_names_needs_force():
    with Case({"s.yaml": SMALL}) as c:
        mine = {"manifest.yaml": "my own manifest\n", "points.csv": "a,b\n1,2\n",
                "series.csv": "x\n", "events.csv": "y\n", "notes.txt": "keep\n"}
        for name, text in mine.items():
            c.write(os.path.join("data", name), text)
        before = snapshot(c.path("data"))
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "data", "--quiet"], c.dir)
        check_clean("foreign", rc, err)
        assert rc == 4, f"exit {rc}: {err[-400:]}"
        assert "is not a tightrope output folder" in err and "--force" in err and "points.csv" in err, \
            err[-400:]
        assert snapshot(c.path("data")) == before
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "data", "--quiet", "--force"], c.dir)
        assert rc == 0, err[-400:]
        assert open(c.path("data", "notes.txt")).read() == "keep\n"
        # once ours, no --force is needed again
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "data", "--quiet", "-s", "3"], c.dir)
        assert rc == 0, err[-400:]


def test_root_and_home_are_refused_as_output_folders():
    with Case({"s.yaml": SMALL}) as c:
        home = c.path("home")
        os.makedirs(home)
        for out in ("/", home, home + "/"):
            rc, err, _ = run_tool(["run", "s.yaml", "-o", out, "--quiet"], c.dir, env={"HOME": home})
            check_clean("root-home", rc, err)
            assert rc == 2, f"-o {out}: exit {rc}: {err[-400:]}"
            assert "refuses to use that one" in err, err[-400:]
        assert os.listdir(home) == []
        assert not os.path.exists("/.tightrope-partial")


def test_non_utf8_output_path_refused_before_the_first_run():
    slow = SMALL.replace("runs: 2", "runs: 100000")
    with Case({"s.yaml": slow}) as c:
        out = os.fsencode(c.dir) + b"/out\xff"
        p = subprocess.run([os.fsencode(helpers.binary()), b"run", b"s.yaml", b"-o", out, b"--quiet"],
                           cwd=c.dir, capture_output=True, timeout=TIMEOUT)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 2, f"exit {p.returncode}: {err[-400:]}"
        assert "not valid UTF-8" in err, err[-400:]
        assert not os.path.exists(out), "the folder was made (runs started)"


def test_replay_and_report_refuse_pipes_devices_and_links():
    """A folder someone handed you: a FIFO, a device and a symlink to
    /dev/zero where a CSV should be. A clear error, never a hang or a read
    without end."""
    with Case({"s.yaml": SMALL}) as c:
        rc, err, _ = run_tool(["run", "s.yaml", "-o", "out", "--quiet"], c.dir)
        assert rc == 0, err[-400:]
        for name, make in (("runs.csv", lambda p: os.mkfifo(p)),
                           ("outcomes.csv", lambda p: os.symlink("/dev/zero", p)),
                           ("finals.csv", lambda p: os.symlink("/dev/null", p))):
            shutil.rmtree(c.path("h"), ignore_errors=True)
            shutil.copytree(c.path("out"), c.path("h"))
            os.remove(c.path("h", name))
            make(c.path("h", name))
            for args in (["replay", "h", "--run", "1"], ["report", "h"]):
                rc, err, secs = run_tool(args, c.dir)
                check_clean(f"{name} {args[0]}", rc, err)
                assert rc != 0, f"{name} {args}: exit 0"
                assert f"h/{name}" in err and "not a regular file" in err, f"{name} {args}: {err[-400:]}"


# --- text a scenario or script chose, on the terminal and in CSV ------------------
ESCAPES = """\
scenario: esc
experiment: {ticks: 2, runs: 1, seed: 1}
actors:
  a: {role: state, attrs: {x: 1}, policy: p.lua}
actions:
  poke: {script: poke.lua, cameo: "\\\\e[2J"}
events:
  - {name: bump, at: 1, add: {a.x: 1}, cameo: "=1+2"}
metrics:
  x: "a.x"
""".replace("\\\\e", "\\e")


def test_control_characters_never_reach_the_terminal_or_csv_raw():
    with Case({"s.yaml": ESCAPES, "poke.lua": "function apply(world, actor, target, args) end\n",
               "p.lua": 'function decide(me, world) print("\\27]0;PWNED\\7 \\194\\155x") '
                        'me:act("poke") end\n'}) as c:
        p = subprocess.run([helpers.binary(), "run", "s.yaml", "-o", "out", "--quiet", "--events"],
                           cwd=c.dir, capture_output=True, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr[-400:]
        assert b"\x1b" not in p.stderr and b"\x07" not in p.stderr and b"\xc2\x9b" not in p.stderr, p.stderr
        assert b"\\x1b]0;PWNED\\x07 \\u009bx" in p.stderr, p.stderr
        events = open(c.path("out", "events.csv"), "rb").read()
        assert b"\x1b" not in events, events
        assert b',"\\x1b[2J",' in events, events
        # a field a spreadsheet would evaluate is quoted behind a '
        assert b",\"'=1+2\"," in events, events
        # an error message a script chose: escaped too
        c.write("p.lua", 'function decide(me) error("\\27[2J\\27]0;PWNED\\7") end\n')
        p = subprocess.run([helpers.binary(), "run", "s.yaml", "-o", "out2", "--quiet"],
                           cwd=c.dir, capture_output=True, timeout=TIMEOUT)
        assert p.returncode == 3, p.stderr[-400:]
        assert b"\x1b" not in p.stderr and b"\\x1b[2J" in p.stderr, p.stderr[-400:]
        r = subprocess.run([helpers.binary(), "replay", "s.yaml", "--run", "1", "-s", "1"],
                           cwd=c.dir, capture_output=True, timeout=TIMEOUT)
        assert b"\x1b" not in r.stdout + r.stderr, r.stdout[-400:]


def test_printed_commands_are_shell_quoted():
    """resume with: and reproduce with: paste back as the same arguments,
    spaces and quotes in paths included."""
    with Case() as c:
        folder = c.path("my scen's")
        os.makedirs(folder)
        yaml = FOREVER_YAML
        with open(os.path.join(folder, "s s.yaml"), "w") as f:
            f.write(yaml)
        with open(os.path.join(folder, "p.lua"), "w") as f:
            f.write("function decide(me) while true do end end\n")
        rc, err, _ = start_and_signal(
            c, ["run", "my scen's/s s.yaml", "-o", "out dir/it's", "--quiet", "-j", "1"],
            signal.SIGINT, wait_for=("out dir/it's", ".tightrope-partial", "runs.journal"))
        assert rc == 130, f"exit {rc}: {err[-400:]}"
        line = [l for l in err.splitlines() if l.startswith("resume with:")][0]
        import shlex
        words = shlex.split(line[len("resume with:"):])
        assert words[1:] == ["run", "my scen's/s s.yaml", "-o", "out dir/it's", "--quiet", "-j", "1",
                             "--resume"], words
        with open(os.path.join(folder, "p.lua"), "w") as f:
            f.write("function decide(me) error('boom') end\n")
        rc, err, _ = run_tool(["run", "my scen's/s s.yaml", "-o", "o2", "--quiet", "--set", "a.x=2"], c.dir)
        assert rc == 3, err[-400:]
        line = [l for l in err.splitlines() if l.startswith("reproduce with:")][0]
        words = shlex.split(line[len("reproduce with:"):])
        assert words[:4] == ["tightrope", "replay", "my scen's/s s.yaml", "--run"], words
        assert words[-2:] == ["--set", "a.x=2"], words


# --- memory the engine allocates for scripts and horizons --------------------------
RSS_PROBE = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
             "sys.stderr.buffer.write(p.stderr)\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def run_measured(c, args):
    """(exit status, stderr, peak resident memory of tightrope in MiB),
    measured with resource in a process of its own."""
    import sys
    p = subprocess.run([sys.executable, "-c", RSS_PROBE, helpers.binary(), *args], cwd=c.dir,
                       capture_output=True, text=True, timeout=120)
    rc, kb = p.stdout.split()
    return int(rc), p.stderr, int(kb) / 1024


def test_memory_is_bounded_by_the_ticks_reached():
    """A run that ends at tick 0 of a 3,000,000-tick horizon, and -t 1e9 -n 1
    (the run ends at once): buffers follow the ticks reached (before: 2.4 GB
    and 3.9 GB)."""
    if helpers.sanitized():
        helpers.skip("the sanitizers' own memory would be measured")
    yaml = SMALL.replace("ticks: 2, runs: 2", "ticks: 3000000, runs: 50").replace(
        "metrics:", "outcomes:\n  done: \"a.x > 0\"\nmetrics:")
    with Case({"s.yaml": yaml}) as c:
        for extra in ([], ["-t", "1000000000", "-n", "1"]):
            rc, err, mib = run_measured(c, ["run", "s.yaml", "-o", "out", "--quiet", *extra])
            assert rc == 0, err[-400:]
            assert mib < 200, f"{extra}: {mib:.0f} MiB for runs that end at tick 0"


def test_absurd_run_count_gets_a_precise_message():
    with Case({"s.yaml": SMALL}) as c:
        rc, err, mib = run_measured(c, ["run", "s.yaml", "-o", "out", "--quiet", "-n", "2147483647"])
        assert rc == 4, f"exit {rc}: {err[-400:]}"
        assert "2147483647 runs" in err and "GiB" in err and "use fewer runs" in err, err[-400:]
        assert mib < 200, f"{mib:.0f} MiB"


def test_queued_actions_count_against_the_memory_limit():
    """1.5 million me:act in one tick under memory_mb: 16 (before: 678 MB)."""
    if helpers.sanitized():
        helpers.skip("the sanitizers' own memory would be measured")
    case = os.path.join(CASES, "mem-act-queue")
    with Case({n: open(os.path.join(case, n)).read() for n in ("case.yaml", "policy.lua", "poke.lua")}) as c:
        rc, err, mib = run_measured(c, ["run", "case.yaml", "-o", "out", "--quiet", "--events", "-j", "1"])
        assert rc == 3 and "memory limit exceeded (limits.memory_mb = 16)" in err, err[-400:]
        assert mib < 16 * 2 + 60, f"{mib:.0f} MiB under memory_mb: 16"


def test_non_utf8_scenario_path_refused_before_the_first_run():
    with Case() as c:
        name = b"s\xff.yaml"
        with open(os.path.join(os.fsencode(c.dir), name), "w") as f:
            f.write(SMALL.replace("runs: 2", "runs: 100000"))
        p = subprocess.run([os.fsencode(helpers.binary()), b"run", name, b"-o", b"out", b"--quiet"],
                           cwd=c.dir, capture_output=True, timeout=TIMEOUT)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 2, f"exit {p.returncode}: {err[-400:]}"
        assert "scenario's path is not valid UTF-8" in err, err[-400:]
        assert not os.path.exists(c.path("out")), "runs started"
