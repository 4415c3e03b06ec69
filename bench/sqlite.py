#!/usr/bin/env python3
"""sqlite.py — results.sqlite against the CSV files (bench/README.md#sqlite).

    python3 bench/sqlite.py [BINARY] [RUNS]     (defaults: build/tightrope, 400)

Runs scenarios/doha.yaml (6 variants) with --series all at RUNS and 4 x RUNS
runs per variant, with --series none (the simulation alone), then
--format csv and --format sqlite; prints for each the wall time, the CPU
time, the write cost (CPU time above --series none's, which is the same
simulation: CPU time does not depend on how busy the machine is) as series
rows written per CPU second, the peak memory of the process, the size of
the files, and the time to load the series of one variant (pragmatic_wing)
with pandas when it imports, else with the csv and sqlite3 modules.
BENCH_REPEAT (default 1): the run with the least CPU time counts. Needs
/usr/bin/time (Debian: time). Speed is never asserted: these are
measurements."""
import csv, os, shutil, sqlite3, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "tightrope")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 400
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))
DOHA = os.path.join(ROOT, "scenarios", "doha.yaml")
VARIANT = "pragmatic_wing"


def run(out, runs, *args):
    """(wall seconds, CPU seconds, peak RSS in MiB) of the fastest of REPEAT
    runs. Measured by /usr/bin/time: a child forked from this Python process
    would report Python's own peak memory as its ru_maxrss (Linux keeps it
    across exec)."""
    best = None
    for _ in range(REPEAT):
        shutil.rmtree(out, ignore_errors=True)
        p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", BIN, "run", DOHA, "-n", str(runs),
                            "-s", "1", "-j", "2", "--quiet", "-o", out, *args],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"bench: {BIN} failed: {p.stderr[-500:]}")
        line = [x for x in p.stderr.splitlines() if x.startswith("TIME ")][-1].split()
        m = (float(line[1]), float(line[2]) + float(line[3]), int(line[4]) / 1024)
        best = m if best is None or m[1] < best[1] else best
    return best


def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
                   if f.endswith(".csv"))
    return os.path.getsize(path)


def load_csv(folder, pd):
    t0 = time.perf_counter()
    if pd:
        df = pd.read_csv(os.path.join(folder, "series.csv"))
        n = len(df[df["variant"] == VARIANT])
    else:
        with open(os.path.join(folder, "series.csv"), newline="") as f:
            r = csv.reader(f)
            next(r)
            rows = [[x[0], int(x[1]), int(x[2]), int(x[3])] + [float(v) if v else None for v in x[4:]]
                    for x in r if x[0] == VARIANT]
        n = len(rows)
    return time.perf_counter() - t0, n


def load_sqlite(folder, pd):
    t0 = time.perf_counter()
    con = sqlite3.connect(os.path.join(folder, "results.sqlite"))
    if pd:
        n = len(pd.read_sql_query("SELECT * FROM series WHERE variant = ?", con, params=(VARIANT,)))
    else:
        n = len(con.execute("SELECT * FROM series WHERE variant = ?", (VARIANT,)).fetchall())
    con.close()
    return time.perf_counter() - t0, n


def main():
    try:
        import pandas as pd
    except ImportError:
        pd = None
    how = "pandas " + pd.__version__ if pd else "csv and sqlite3 modules (pandas is not installed)"
    tmp = tempfile.mkdtemp(prefix="tr-bench-sqlite-")
    print(f"tightrope results.sqlite vs CSV: {DOHA}, --series all, -j 2, fastest of {REPEAT}")
    print(f"loading one variant's series with {how}\n")
    print(f"{'runs':>7} {'format':<7} {'wall s':>7} {'cpu s':>7} {'write s':>8} {'rows/s':>10} "
          f"{'peak MiB':>9} {'size MiB':>9} {'load s':>7} {'rows loaded':>11}")
    try:
        for runs in (RUNS, 4 * RUNS):
            base_wall, base, base_rss = run(os.path.join(tmp, "none"), runs, "--series", "none")
            rows = None
            for fmt in ("csv", "sqlite"):
                out = os.path.join(tmp, fmt)
                wall, secs, rss = run(out, runs, "--series", "all", "--format", fmt)
                if rows is None:
                    with open(os.path.join(out, "series.csv")) as f:
                        rows = sum(1 for _ in f) - 1
                fsize = size(out) if fmt == "csv" else size(os.path.join(out, "results.sqlite"))
                lt, n = (load_csv if fmt == "csv" else load_sqlite)(out, pd)
                write = max(secs - base, 1e-9)
                print(f"{6 * runs:>7} {fmt:<7} {wall:7.2f} {secs:7.2f} {write:8.2f} {rows / write:10.0f} "
                      f"{rss:9.1f} {fsize / 2**20:9.1f} {lt:7.2f} {n:>11}")
            print(f"{6 * runs:>7} {'none':<7} {base_wall:7.2f} {base:7.2f} {'':8} {'':10} {base_rss:9.1f}"
                  f"   (--series none; {rows} series rows above)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
