"""The Python package (python/tightrope): tightrope.run returns the numbers
of the command line's CSV files, tightrope.open reads a folder, and errors
carry the tool's messages. The list-of-dicts path always runs; the
DataFrame path only when pandas imports."""
import csv, math, os, shutil, sys, tempfile

import helpers
from helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "python"))
import tightrope  # noqa: E402

DOHA = os.path.join(ROOT, "scenarios", "doha.yaml")
TABLES = ("runs", "outcomes", "finals", "compare", "series")


def _csv(folder, name):
    with open(os.path.join(folder, name + ".csv"), newline="") as f:
        return list(csv.DictReader(f))


def _same(py, text, kind):
    if kind == "float":
        if text == "":
            return isinstance(py, float) and math.isnan(py)
        return py == float(text)
    if kind in ("int", "uint64"):
        return py == int(text)
    return py == (text if text != "" else None)


def _check_equal(result, folder, names, series_name="series"):
    for name in names:
        rows = result.table(name)
        ref = _csv(folder, series_name if name == "series" else name)
        assert rows is not None and len(rows) == len(ref), (name, len(ref))
        types = tightrope._tables._types(name, list(ref[0]))
        for got, want in zip(rows, ref):
            assert list(got) == list(want), (name, list(got), list(want))
            for col, text in want.items():
                assert _same(got[col], text, types[col]), (name, col, got[col], text)
                if types[col] == "float":
                    assert isinstance(got[col], float), (name, col, got[col])


def test_run_returns_the_numbers_of_the_command_line():
    tmp = tempfile.mkdtemp(prefix="tr-py-")
    try:
        r = tightrope.run(DOHA, runs=40, seed=7, set={"qatar.credibility": 0.7},
                          variants=["baseline", "pragmatic_wing"],
                          threads=2, series="all", out=os.path.join(tmp, "py"),
                          binary_path=helpers.binary(), pandas=False)
        c = helpers.Case()
        try:
            helpers.run_ok(c, "run", DOHA, "-n", "40", "-s", "7", "--set", "qatar.credibility=0.7",
                           "--variant", "pragmatic_wing", "--series", "all", "-o", "cli")
            _check_equal(r, c.path("cli"), TABLES)
            assert r.series[0]["tick"] == 0 and len(r.series) == len(_csv(c.path("cli"), "series"))
            assert {row["variant"] for row in r.outcomes} == {"baseline", "pragmatic_wing"}
            assert isinstance(r.runs[0]["seed"], int) and r.runs[0]["seed"] >= 0
            # tightrope.open reads the same folder to the same values.
            again = tightrope.open(os.path.join(tmp, "py"), pandas=False)
            for name in TABLES:
                assert repr(again.table(name)) == repr(r.table(name)), name
            assert "qatar.credibility=0.7" in r.manifest
        finally:
            c.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_run_without_out_uses_a_temporary_folder_removed_with_the_result():
    r = tightrope.run(DOHA, runs=5, seed=3, variants=[], binary_path=helpers.binary(), pandas=False)
    folder = r.folder
    assert os.path.isfile(os.path.join(folder, "runs.csv"))
    assert len(r.runs) == 5 * 6 and r.compare is not None and r.points is None
    del r
    import gc
    gc.collect()
    assert not os.path.exists(folder)


def test_errors_carry_the_tools_messages():
    c = helpers.Case({"bad.yaml": """
        scenario: bad
        experiment: {ticks: 3, runz: 4}
        actors:
          a: {role: mediatr}
        """})
    try:
        try:
            tightrope.run(c.path("bad.yaml"), runs=2, binary_path=helpers.binary(), pandas=False)
            assert False, "no error"
        except tightrope.TightropeError as e:
            rc, _, err = c.run("run", "bad.yaml", "-n", "2", "--quiet")
            assert e.status == rc == 1
            # the very lines the command line prints, and their places
            want = [line for line in err.splitlines() if ": error: " in line]
            assert [str(m).replace(c.path("bad.yaml"), "bad.yaml") for m in e.messages] == want, \
                (e.messages, want)
            m = e.messages[0]
            assert (os.path.basename(m.file), m.line, m.col) == ("bad.yaml", 2, 24), m
            assert "did you mean 'runs'" in m.text
            assert str(e).startswith(c.path("bad.yaml") + ":2:24: error: unknown key 'runz'")
        try:
            tightrope.run(DOHA, runs=2, variants=["pragmatic_wnig"], binary_path=helpers.binary())
            assert False, "no error"
        except tightrope.TightropeError as e:
            assert e.status == 2
            assert e.messages[0].file is None
            assert e.messages[0].text == (f"--variant pragmatic_wnig: no such variant in {DOHA} "
                                          "(did you mean 'pragmatic_wing'?)"), e.messages
    finally:
        c.close()


def test_dataframes_have_proper_dtypes_when_pandas_imports():
    try:
        import pandas  # noqa: F401
    except ImportError:
        helpers.skip("pandas is not installed: the list-of-dicts path is tested instead")
    r = tightrope.run(DOHA, runs=10, seed=5, variants=["pragmatic_wing"],
                      binary_path=helpers.binary())
    runs = r.runs
    assert str(runs["seed"].dtype) == "uint64" and str(runs["run"].dtype) == "int64"
    assert str(runs["tension"].dtype) == "float64" and str(runs["variant"].dtype) == "string"
    plain = tightrope.open(r.folder, pandas=False).runs
    assert [int(s) for s in runs["seed"]] == [row["seed"] for row in plain]
    assert list(runs["tension"]) == [row["tension"] for row in plain]
    assert str(r.outcomes["count"].dtype) == "int64"


def test_a_folder_with_only_results_sqlite_reads_to_the_same_values():
    tmp = tempfile.mkdtemp(prefix="tr-py-")
    try:
        kw = dict(runs=15, seed=8, variants=["pragmatic_wing"], series="all", events=True,
                  binary_path=helpers.binary(), pandas=False)
        a = tightrope.run(DOHA, out=os.path.join(tmp, "csv"), **kw)
        b = tightrope.run(DOHA, out=os.path.join(tmp, "db"), format="sqlite", **kw)
        assert (a.source, b.source) == ("csv", "sqlite")
        for name in ("runs", "outcomes", "finals", "compare", "series", "events"):
            assert repr(a.table(name)) == repr(b.table(name)), name
        assert b.series_summary is None and b.points is None
        try:
            import pandas  # noqa: F401
        except ImportError:
            return
        fa = tightrope.open(os.path.join(tmp, "csv"))
        fb = tightrope.open(os.path.join(tmp, "db"))
        for name in ("runs", "series", "events"):
            assert fa.table(name).equals(fb.table(name)), name
            assert list(fa.table(name).dtypes) == list(fb.table(name).dtypes), name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_sweep_tables_read_with_their_types():
    from test_sqlite import SWEEP
    with helpers.Case(SWEEP) as c:
        helpers.run_ok(c, "run", "s.yaml", "-o", "cli")
        r = tightrope.open(c.path("cli"), pandas=False)
        _check_equal(r, c.path("cli"), ("points", "sensitivity", "compare_points", "outcomes"))
        assert {type(row["a.x"]) for row in r.points} == {float}
        assert {type(row["variant"]) for row in r.sensitivity} == {str}


def test_keep_going_returns_the_finished_runs_and_the_errors():
    import warnings
    c = helpers.Case({"k.yaml": """
        scenario: k
        experiment: {ticks: 3, runs: 6, seed: 2}
        actors:
          a: {role: state, attrs: {x: 0}, policy: p.lua}
        metrics:
          x: a.x
        """, "p.lua": """
        function decide(me, world)
          if rng.uniform() < 0.3 then error("boom") end
          me.x = me.x + 1
        end
        """})
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = tightrope.run(c.path("k.yaml"), keep_going=True, out=c.path("py"),
                              binary_path=helpers.binary(), pandas=False)
        rc, _, err = c.run("run", c.path("k.yaml"), "--keep-going", "-o", "cli", "--quiet")
        assert rc == 3, err
        _check_equal(r, c.path("cli"), ("runs", "errors"))
        assert r.errors and "boom" in r.errors[0]["message"]
        assert caught and "boom" in str(caught[0].message)
        try:
            tightrope.run(c.path("k.yaml"), out=c.path("py2"), binary_path=helpers.binary())
            assert False, "no error without keep_going"
        except tightrope.TightropeError as e:
            assert e.status == 3 and "boom" in str(e)
    finally:
        c.close()
