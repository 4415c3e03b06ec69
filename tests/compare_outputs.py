#!/usr/bin/env python3
"""compare_outputs.py — byte-for-byte comparison of two tightrope binaries.

    python3 tests/compare_outputs.py OLD_BIN NEW_BIN [--runs N] [--only NAME]

Runs every scenario in scenarios/ and the proxy-web benchmark model
(bench/gen_proxyweb.py) at K = 16 and K = 1000 with `--series all --events`,
once with `-j 1` and once with `-j 2`, under both binaries, and compares
every output file byte for byte: each binary's -j 1 and -j 2 outputs must
be identical, and OLD's must be identical to NEW's. The manifest is
compared after dropping what legitimately differs between two invocations
(the command line, the thread count, the output folder and the start and
finish times).

A speed change must never change a result: run it before and after every
change to the engine's hot path. Exit status 0 when everything matches,
1 otherwise (each difference is listed).
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lines of manifest.yaml that depend on the invocation, not on the results.
VOLATILE = re.compile(r"^(command|  threads|  out|started|finished):")


def manifest_lines(path):
    out, skip_deeper = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            indent = len(line) - len(line.lstrip(" "))
            if skip_deeper is not None and indent > skip_deeper:
                continue                      # continuation of a wrapped value
            skip_deeper = None
            if VOLATILE.match(line):
                skip_deeper = indent
                continue
            out.append(line)
    return out


def same_dirs(a, b):
    """Differences between two output folders, as a list of strings."""
    diffs = []
    fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
    if fa != fb:
        return [f"files differ: {fa} vs {fb}"]
    for name in fa:
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if name == "manifest.yaml":
            if manifest_lines(pa) != manifest_lines(pb):
                diffs.append(name)
        elif not filecmp.cmp(pa, pb, shallow=False):
            diffs.append(name)
    return diffs


def cases(runs):
    """(name, scenario path, extra args) for every case; writes proxy-web."""
    scratch = tempfile.mkdtemp(prefix="tr-compare-scen.")
    os.symlink(os.path.join(ROOT, "bench", "proxyweb"), os.path.join(scratch, "proxyweb"))
    out = []
    for name in sorted(os.listdir(os.path.join(ROOT, "scenarios"))):
        if name.endswith(".yaml"):
            out.append((name[:-5], os.path.join(ROOT, "scenarios", name), ["-n", str(runs)]))
    for k, n in ((16, max(2, runs)), (1000, max(2, runs // 10))):
        path = os.path.join(scratch, f"proxyweb-k{k}.yaml")
        text = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_proxyweb.py"),
                               str(k), "100", str(n), "1"], check=True, capture_output=True,
                              text=True).stdout
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out.append((f"proxyweb-k{k}", path, []))
    return scratch, out


def run(binary, scenario, extra, threads, outdir):
    cmd = [binary, "run", scenario, "-j", str(threads), "--series", "all", "--events",
           "--quiet", "-o", outdir] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("COMPARE_RUNS", "40")),
                    help="runs per variant for the bundled scenarios (default 40)")
    ap.add_argument("--only", action="append", help="only cases whose name contains this")
    args = ap.parse_args()
    scratch, todo = cases(args.runs)
    work = tempfile.mkdtemp(prefix="tr-compare-out.")
    failed = 0
    try:
        for name, scen, extra in todo:
            if args.only and not any(o in name for o in args.only):
                continue
            dirs = {}
            problems = []
            for label, binary in (("old", args.old), ("new", args.new)):
                for j in (1, 2):
                    d = os.path.join(work, f"{name}-{label}-j{j}")
                    rc, err = run(os.path.abspath(binary), scen, extra, j, d)
                    dirs[(label, j)] = (rc, err, d)
            for key, (rc, err, _) in dirs.items():
                if rc != 0:
                    problems.append(f"{key[0]} -j{key[1]} exit {rc}: {err.strip()[-300:]}")
            if not problems:
                for a, b in ((("old", 1), ("old", 2)), (("new", 1), ("new", 2)),
                             (("old", 1), ("new", 1)), (("old", 2), ("new", 2))):
                    d = same_dirs(dirs[a][2], dirs[b][2])
                    if d:
                        problems.append(f"{a[0]} -j{a[1]} vs {b[0]} -j{b[1]}: {', '.join(d)}")
            print(f"{name:24s} {'identical' if not problems else 'DIFFERENT'}", flush=True)
            for p in problems:
                print(f"    {p}")
            failed += bool(problems)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(todo) - failed if not args.only else 'some'} cases identical, {failed} different")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
