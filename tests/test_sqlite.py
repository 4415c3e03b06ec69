"""results.sqlite (--format sqlite|both): a table per CSV file holding
exactly its rows, the manifest as a table, indexes; written whole or not at
all, resumable after kill -9; report and replay read a folder that holds
only results.sqlite."""
import csv, math, os, signal, sqlite3

import helpers
from helpers import Case, run_ok
from test_resume import LONG, journal, start_and_wait_for_journal

DOHA = helpers.scenario_path("doha.yaml")

SWEEP = {
    "s.yaml": """
        scenario: s
        experiment: {ticks: 8, runs: 12, seed: 4}
        actors:
          a: {role: state, attrs: {x: {value: 0.5, min: 0, max: 1}, k: 0.1}}
        events:
          - {name: jolt, every: 2, add: {a.x: 0.05}}
        metrics:
          x: a.x
          double: "a.x * 2"
        outcomes:
          high: "a.x > 0.8"
        variants:
          low: {set: {a.k: 0.05}}
        sweep:
          method: grid
          params:
            a.x: [0.3, 0.6]
    """,
}


def tables(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {}
        for n in names:
            cur = con.execute(f'SELECT * FROM "{n}" ORDER BY rowid')
            out[n] = ([d[0] for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def same_value(db, text):
    """A CSV field and the database's value for it: empty is NULL, integers
    stay integers, reals are the same double, text the same text."""
    if text == "":
        return db is None
    if isinstance(db, float):
        return db == float(text) or (math.isnan(db) and text == "nan")
    if isinstance(db, int):
        return str(db) == text
    return db == text


def assert_mirrors(folder, db_tables, csv_folder=None):
    csv_folder = csv_folder or folder
    names = sorted(f[:-4] for f in os.listdir(csv_folder) if f.endswith(".csv"))
    assert sorted(n for n in db_tables if n != "manifest") == names, (sorted(db_tables), names)
    for name in names:
        with open(os.path.join(csv_folder, name + ".csv"), newline="") as f:
            rows = list(csv.reader(f))
        cols, got = db_tables[name]
        assert cols == rows[0], (name, cols, rows[0])
        assert len(got) == len(rows) - 1, (name, len(got), len(rows) - 1)
        for i, (g, want) in enumerate(zip(got, rows[1:])):
            for j, (a, b) in enumerate(zip(g, want)):
                assert same_value(a, b), f"{name} row {i + 1} column {cols[j]}: {a!r} vs {b!r}"


def test_results_sqlite_holds_exactly_the_rows_of_the_csvs():
    with Case(SWEEP) as c:
        run_ok(c, "run", "s.yaml", "--format", "both", "--series", "all", "--events", "-o", "both")
        t = tables(c.path("both", "results.sqlite"))
        assert_mirrors(c.path("both"), t)
        assert {"points", "sensitivity", "compare_points", "events", "series"} <= set(t)
        # the seed is text: seeds above 2^63 - 1 stay exact
        runs = t["runs"][1]
        assert all(isinstance(r[3], str) for r in runs) and any(int(r[3]) >= 2**63 for r in runs)
        # the manifest as (key, value), and manifest.yaml whole
        manifest = dict(t["manifest"][1])
        assert manifest["settings.runs"] == "12" and manifest["scenario.id"] == "s"
        assert manifest["settings.variants.1"] == "low"
        with open(c.path("both", "manifest.yaml")) as f:
            assert manifest["manifest.yaml"] == f.read()
        con = sqlite3.connect(c.path("both", "results.sqlite"))
        idx = {r[0]: r[1] for r in con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' "
                                                "AND sql IS NOT NULL")}
        con.close()
        assert idx["series_keys"] == 'CREATE INDEX "series_keys" ON "series" ("variant", "point", "run", "tick")'
        assert idx["runs_keys"].endswith('("variant", "point", "run")')
        # --format sqlite: the same tables, and no CSV file at all
        run_ok(c, "run", "s.yaml", "--format", "sqlite", "--series", "summary", "-o", "only")
        assert sorted(os.listdir(c.path("only"))) == ["manifest.yaml", "results.sqlite"]
        run_ok(c, "run", "s.yaml", "--series", "summary", "-o", "csv")
        assert_mirrors(c.path("only"), tables(c.path("only", "results.sqlite")), c.path("csv"))
        # a CSV run into the same folder removes the stale database (and back)
        run_ok(c, "run", "s.yaml", "--series", "summary", "-o", "only")
        assert "results.sqlite" not in os.listdir(c.path("only"))
        rc, _, err = c.run("run", "s.yaml", "--format", "xml")
        assert rc == 2 and "--format takes csv, sqlite or both, got 'xml'" in err, err


def test_results_sqlite_survives_kill_9_and_resume():
    if helpers.sanitized():
        helpers.skip("slow under sanitizers")
    with Case(LONG) as c:
        run_ok(c, "run", "long.yaml", "--series", "all", "--events", "-o", "ref", "-j", "2")
        p = start_and_wait_for_journal(c, "out", "--format", "sqlite")
        p.kill()
        p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL
        assert not os.path.exists(c.path("out", "results.sqlite")), "a killed run installed a database"
        assert os.path.getsize(journal(c, "out")) > 0
        rc, _, err = c.run("run", "long.yaml", "--series", "all", "--events", "-o", "out", "--quiet",
                           "--resume", "-j", "2", "--format", "sqlite")
        assert rc == 0, f"resume after kill -9: exit {rc}: {err[-800:]}"
        assert sorted(os.listdir(c.path("out"))) == ["manifest.yaml", "results.sqlite"]
        assert_mirrors(c.path("out"), tables(c.path("out", "results.sqlite")), c.path("ref"))


def test_report_and_replay_read_a_folder_with_only_results_sqlite():
    import shutil
    if not shutil.which("gnuplot"):
        helpers.skip("gnuplot is not installed")
    with Case() as c:
        run_ok(c, "run", DOHA, "-n", "20", "-s", "9", "--format", "sqlite", "-o", "db")
        run_ok(c, "run", DOHA, "-n", "20", "-s", "9", "-o", "csv")
        for out in ("db", "csv"):
            rc, _, err = c.run("report", out)
            assert rc == 0, f"report {out}: exit {rc}: {err[-800:]}"
        got = sorted(os.listdir(c.path("db", "report")))
        assert got == sorted(os.listdir(c.path("csv", "report"))) and "index.html" in got
        for f in got:
            if f.endswith(".svg"):
                assert c.bytes("db/report", f) == c.bytes("csv/report", f), f"{f} differs"
        assert sorted(os.listdir(c.path("db"))) == ["manifest.yaml", "report", "results.sqlite"], \
            "the working copy is gone"
        rc, out, err = c.run("replay", "db", "--run", "7", "--variant", "pragmatic_wing")
        assert rc == 0, err[-500:]
        row = [r for r in open(c.path("csv", "runs.csv")).read().splitlines()
               if r.startswith("pragmatic_wing,1,7,")][0]
        assert f"runs.csv row: {row}\n" in out
        assert out.endswith(f"matches db/results.sqlite\n"), out[-300:]
