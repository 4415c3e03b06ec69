"""Helpers for tightrope's tests: run the binary on scenarios written into a
temporary folder, read the CSVs, and reference statistics computed
independently of the engine (standard library only)."""
import csv, math, os, shutil, subprocess, tempfile, textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Skip(Exception):
    """Raised by a test that cannot run on this machine (with the reason)."""


def skip(reason):
    raise Skip(reason)


def binary():
    return os.environ.get("TIGHTROPE") or os.path.join(ROOT, "build", "tightrope")


def sanitized():
    return os.environ.get("TIGHTROPE_SANITIZED") == "1"


class Case:
    """A scenario and its scripts in a fresh temporary folder; removed by
    close() (use as a context manager)."""

    def __init__(self, files=None):
        self.dir = tempfile.mkdtemp(prefix="tr-test-")
        for name, text in (files or {}).items():
            self.write(name, text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(path, mode) as f:
            f.write(text if isinstance(text, bytes) else textwrap.dedent(text).lstrip("\n"))
        return path

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *args, timeout=300, env=None, input=None):
        """(exit code, stdout, stderr) of `tightrope ARGS` run in the folder."""
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([binary(), *map(str, args)], cwd=self.dir, capture_output=True,
                           text=True, timeout=timeout, env=e,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def csv(self, out, name):
        with open(self.path(out, name), newline="") as f:
            return list(csv.DictReader(f))

    def header(self, out, name):
        with open(self.path(out, name), newline="") as f:
            return next(csv.reader(f))

    def bytes(self, out, name):
        with open(self.path(out, name), "rb") as f:
            return f.read()

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run_ok(c, *args, timeout=300, quiet=True):
    """Run `tightrope ARGS` in case c (with --quiet unless quiet=False) and
    require exit 0; returns (stdout, stderr)."""
    rc, out, err = c.run(*args, *(["--quiet"] if quiet else []), timeout=timeout)
    assert rc == 0, f"exit {rc}: {err[-800:]}"
    return out, err


def scenario_path(name):
    """Path of a file in the repository's scenarios/ folder."""
    return os.path.join(ROOT, "scenarios", name)


# --- reference statistics (independent of GSL) ---------------------------
def binom_tail_ge(x, n, p):
    """P(X >= x), X ~ Binomial(n, p), summed in log space."""
    if x <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq
             for k in range(x, n + 1)]
    m = max(terms)
    return min(1.0, math.exp(m) * sum(math.exp(t - m) for t in terms))


def clopper_pearson(x, n, conf=0.95):
    """Exact two-sided binomial interval by bisection on the tails."""
    a = (1 - conf) / 2

    def solve(f, target):
        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if f(mid) < target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    lower = 0.0 if x == 0 else solve(lambda p: binom_tail_ge(x, n, p), a)
    upper = 1.0 if x == n else solve(lambda p: binom_tail_ge(x + 1, n, p), 1 - a)
    return lower, upper


def mean_sd(xs):
    n = len(xs)
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else float("nan")
    return m, sd
