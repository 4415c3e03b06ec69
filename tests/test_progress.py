"""The progress line (docs/cli.md, "--quiet"): shown on a terminal only,
updated while the experiment runs and cleared at the end; never written to
a file, nor with --quiet."""
import os, pty, select, subprocess, time

import helpers
from helpers import Case
from test_resume import LONG


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
