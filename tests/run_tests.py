#!/usr/bin/env python3
"""tightrope's test runner: every tests/test_*.py module's test_* functions,
then the public conformance suite (../shared/conformance/conform.py).

Usage: run_tests.py --binary PATH [--sanitized] [-k SUBSTRING]
Each test function takes no argument and uses tests/helpers.py (which reads
the binary from the TIGHTROPE environment variable this runner sets).
A test that needs something the machine lacks calls helpers.skip(reason).
Ends with the line 'N passed, N failed, N skipped'.
"""
import argparse, importlib.util, os, subprocess, sys, time, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import helpers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="binary built with sanitizers: slow tests may skip")
    ap.add_argument("-k", default="", help="only tests whose name contains this")
    ap.add_argument("--no-conformance", action="store_true")
    args = ap.parse_args()
    os.environ["TIGHTROPE"] = os.path.abspath(os.path.join(ROOT, args.binary)) \
        if not os.path.isabs(args.binary) else args.binary
    if args.sanitized:
        os.environ["TIGHTROPE_SANITIZED"] = "1"
    passed = failed = skipped = 0
    failures = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for fname in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{name[:-3]}.{fname}"
            if args.k and args.k not in full:
                continue
            t0 = time.time()
            try:
                getattr(mod, fname)()
                passed += 1
                print(f"ok   {full} ({time.time() - t0:.1f}s)", flush=True)
            except helpers.Skip as e:
                skipped += 1
                print(f"skip {full}: {e}", flush=True)
            except Exception as e:  # AssertionError and everything else
                failed += 1
                failures.append(full)
                print(f"FAIL {full}: {type(e).__name__}: {e}", flush=True)
                traceback.print_exc(limit=3, file=sys.stdout)
    conform = os.path.join(ROOT, "..", "shared", "conformance", "conform.py")
    if not args.no_conformance and not args.k and os.path.exists(conform):
        print("-- public conformance suite", flush=True)
        p = subprocess.run([sys.executable, conform, ROOT], capture_output=True, text=True,
                           env=dict(os.environ))
        sys.stdout.write(p.stdout)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        try:
            cp, cf = [int(x.split()[0]) for x in last.split(",")[:2]]
        except (ValueError, IndexError):
            cp, cf = 0, 1
            print(f"conformance did not finish: {p.stderr[-500:]}")
        passed += cp
        failed += cf
        if cf:
            failures.append("conformance")
    if failures:
        print("failed: " + ", ".join(failures))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
