"""tightrope for notebooks: run an experiment and read its results.

    import tightrope
    r = tightrope.run("scenarios/doha.yaml", runs=1000, seed=7,
                      set={"qatar.credibility": 0.7},
                      variants=["pragmatic_wing"])
    r.outcomes          # a pandas DataFrame (a list of dicts without pandas)
    r = tightrope.open("results/doha")

The package drives the `tightrope` command line (docs/python.md says why)
and reads the files it writes: CSV files or results.sqlite, whichever the
folder holds. Standard library only; pandas is used when it imports.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import weakref

from ._tables import Result, open_folder, TABLES

__all__ = ["run", "open", "check", "TightropeError", "Message", "Result", "binary", "TABLES"]
__version__ = "0.1.0"

_HERE = os.path.dirname(os.path.abspath(__file__))


class Message:
    """One diagnostic of the tool: FILE:LINE:COL: error: TEXT (file None and
    line, col 0 when the message has no place)."""

    def __init__(self, file, line, col, text):
        self.file, self.line, self.col, self.text = file, line, col, text

    def __repr__(self):
        return f"Message({self.file!r}, {self.line}, {self.col}, {self.text!r})"

    def __str__(self):
        if self.file is None:
            return f"tightrope: error: {self.text}"
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: error: {self.text}"
        return f"{self.file}: error: {self.text}"


_PLACED = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$")
_FILED = re.compile(r"^(.+?): error: (.*)$")


def _parse_messages(stderr):
    """The tool's error messages; lines that follow one (Lua tracebacks, the
    replay command, '(see ...)') belong to it."""
    out = []
    for line in stderr.splitlines():
        m = _PLACED.match(line)
        if m and not line.startswith("tightrope: "):
            out.append(Message(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
            continue
        if line.startswith("tightrope: error: "):
            out.append(Message(None, 0, 0, line[len("tightrope: error: "):]))
            continue
        m = _FILED.match(line)
        if m and " " not in m.group(1).strip():
            out.append(Message(m.group(1), 0, 0, m.group(2)))
            continue
        if out and line.strip():
            out[-1].text += "\n" + line
    return out


class TightropeError(Exception):
    """The command failed. status: its exit status (1 invalid scenario, 2
    usage, 3 a run failed, 4 output, 130/143 interrupted); messages: the
    diagnostics as Message objects; stderr: everything it printed. str(e) is
    the tool's own text."""

    def __init__(self, status, stderr, command):
        self.status = status
        self.stderr = stderr
        self.command = command
        self.messages = _parse_messages(stderr)
        text = stderr.strip() or f"tightrope exited with status {status}"
        super().__init__(text)


def binary(explicit=None):
    """The tightrope executable used: the argument, else $TIGHTROPE_BINARY,
    else the source tree's build/tightrope when this package is used in
    place, else the one `make install` recorded, else `tightrope` on PATH."""
    if explicit:
        return explicit
    env = os.environ.get("TIGHTROPE_BINARY")
    if env:
        return env
    in_tree = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build", "tightrope")
    if os.access(in_tree, os.X_OK):
        return in_tree
    try:
        from ._installed import BINARY
        if os.access(BINARY, os.X_OK):
            return BINARY
    except ImportError:
        pass
    found = shutil.which("tightrope")
    if found:
        return found
    raise FileNotFoundError("no tightrope binary: build it (make), install it (make install), "
                            "or set TIGHTROPE_BINARY")


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"set= values are numbers, got {v!r}")
    return repr(float(v)) if isinstance(v, float) else str(v)


def _execute(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate()
    except KeyboardInterrupt:
        # A notebook's interrupt reaches the kernel, not the child: pass it on,
        # so the tool keeps its finished runs for resume=True.
        p.send_signal(signal.SIGINT)
        p.communicate()
        raise
    if p.returncode != 0:
        raise TightropeError(p.returncode, err, cmd)
    return out, err


def run(scenario, runs=None, seed=None, set=None, variants=None, threads=None, out=None,
        ticks=None, series="summary", events=False, format="csv", resume=False,
        keep_going=False, force=False, precision=None, batch=None, sweep=None,
        variants_file=None, args=(), binary_path=None, pandas=None):
    """Run the experiment of `scenario` (a path) and return its Result.

    runs, seed, ticks, threads: as -n, -s, -t, -j; set: {PATH: number} as
    --set; variants: names as --variant (the baseline always runs and may be
    named; None: every variant; ["baseline"]: the baseline only); series:
    "summary", "all" or "none"; events: write events; format: "csv",
    "sqlite" or "both"; out: the output folder (None: a temporary folder
    removed with the Result); resume: finish an interrupted experiment in
    out; keep_going, force, precision, batch, sweep (a file), variants_file:
    --keep-going, --force, --precision, --batch, --sweep, --variants; args:
    any further command-line arguments. pandas: None uses it when it
    imports, False gives lists of dicts. Raises TightropeError carrying the
    tool's messages; with keep_going, runs that failed are in .errors and a
    warning repeats the tool's messages instead."""
    cmd = [binary(binary_path), "run", os.fspath(scenario), "--quiet"]
    if runs is not None:
        cmd += ["-n", str(int(runs))]
    if seed is not None:
        cmd += ["-s", str(int(seed))]
    if ticks is not None:
        cmd += ["-t", str(int(ticks))]
    if threads is not None:
        cmd += ["-j", str(int(threads))]
    for path, value in (set or {}).items():
        cmd += ["--set", f"{path}={_number(value)}"]
    if isinstance(variants, str):
        variants = [variants]
    for v in variants or []:
        cmd += ["--variant", v]
    cmd += ["--series", series, "--format", format]
    if events:
        cmd.append("--events")
    if keep_going:
        cmd.append("--keep-going")
    if force:
        cmd.append("--force")
    if precision is not None:
        cmd += ["--precision", _number(precision)]
    if batch is not None:
        cmd += ["--batch", str(int(batch))]
    if sweep is not None:
        cmd += ["--sweep", os.fspath(sweep)]
    if variants_file is not None:
        cmd += ["--variants", os.fspath(variants_file)]
    cmd += [str(a) for a in args]
    if resume:
        if out is None:
            raise ValueError("resume=True needs the out= folder of the interrupted experiment")
        cmd.append("--resume")
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix="tightrope-")
        out = os.path.join(tmp, "out")
    cmd += ["-o", os.fspath(out)]
    try:
        _execute(cmd)
    except TightropeError as e:
        finished = os.path.isfile(os.path.join(os.fspath(out), "manifest.yaml"))
        if not (keep_going and e.status == 3 and finished):
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        import warnings
        warnings.warn(f"some runs failed (they are in .errors):\n{e}", RuntimeWarning, stacklevel=2)
    except BaseException:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    result = open_folder(out, pandas=pandas)
    if tmp:
        weakref.finalize(result, shutil.rmtree, tmp, True)
    return result


def open(folder, pandas=None):  # noqa: A001 (tightrope.open reads a folder)
    """The Result of a finished experiment in `folder` (CSV files or
    results.sqlite)."""
    return open_folder(folder, pandas=pandas)


def check(scenario, binary_path=None):
    """Validate a scenario and compile its scripts (`tightrope check`);
    returns the tool's summary line, or raises TightropeError."""
    out, _ = _execute([binary(binary_path), "check", os.fspath(scenario)])
    return out.strip()
