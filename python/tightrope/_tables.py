"""Reading an output folder: the CSV files, or the tables of results.sqlite
(same names, same columns, same rows), into pandas DataFrames with proper
dtypes, or into lists of dicts with Python values when pandas is absent."""
import csv
import os
import sqlite3

S, I, U, F = "str", "int", "uint64", "float"

# Every table: its fixed columns and their types, and the type of the
# columns after them (metrics, swept paths; None: inferred).
TABLES = {
    "runs": ([("variant", S), ("point", I), ("run", I), ("seed", U), ("outcome", S),
              ("end_tick", I)], F),
    "series": ([("variant", S), ("point", I), ("run", I), ("tick", I)], F),
    "series_summary": ([("variant", S), ("point", I), ("tick", I), ("metric", S), ("n", I)], F),
    "outcomes": ([("variant", S), ("point", I), ("outcome", S), ("count", I)], F),
    "finals": ([("variant", S), ("point", I), ("metric", S), ("n", I)], F),
    "events": ([("variant", S), ("point", I), ("run", I), ("tick", I), ("actor", S),
                ("action", S), ("target", S), ("cameo", S)], F),
    "compare": ([("variant", S), ("baseline", S), ("kind", S), ("name", S)], F),
    "compare_points": ([("variant", S), ("point", I), ("baseline", S), ("kind", S), ("name", S)], F),
    "points": ([("point", I)], F),
    "sensitivity": ([("variant", S), ("kind", S), ("name", S), ("path", S)], F),
    "errors": ([("variant", S), ("point", I), ("run", I), ("seed", U), ("tick", I), ("actor", S),
                ("message", S), ("replay", S)], S),
}

# Columns named by the user (metrics, swept paths) follow the fixed ones in
# these tables; elsewhere a column's name says its type.
_USER_COLUMNS = ("runs", "series", "points")
_NAMED = {"variant": S, "point": I, "run": I, "seed": U, "tick": I, "end_tick": I, "n": I,
          "count": I, "outcome": S, "metric": S, "kind": S, "name": S, "baseline": S, "path": S,
          "actor": S, "action": S, "target": S, "cameo": S, "message": S, "replay": S}


def _types(table, columns):
    fixed, rest = TABLES.get(table, ([], None))
    known = dict(fixed)
    if table not in _USER_COLUMNS:
        known = {**_NAMED, **known}
    return {c: known.get(c, rest) for c in columns}


def _convert(value, kind):
    """A CSV field (text) or an SQLite value to its Python value."""
    if value is None or value == "":
        return float("nan") if kind == F else None
    if kind == S:
        return str(value)
    if kind in (I, U):
        return int(value)
    if kind == F:
        return float(value)
    if isinstance(value, str):       # inferred: a number when it reads as one
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _pandas():
    try:
        import pandas
        return pandas
    except ImportError:
        return None


class Result:
    """The results of one experiment, read from its folder on first use.

    runs, outcomes, finals, compare, compare_points, series, series_summary,
    events, points, sensitivity, errors: DataFrames (lists of dicts without pandas),
    None when the experiment did not write that table. series is what was
    recorded: every run's metrics per tick (series="all"), else the per-tick
    summary across runs. manifest: the text of manifest.yaml.
    folder: the output folder; source: "csv" or "sqlite"."""

    def __init__(self, folder, pandas=None):
        self.folder = os.fspath(folder)
        if not os.path.isfile(os.path.join(self.folder, "manifest.yaml")):
            raise FileNotFoundError(f"{self.folder}: no manifest.yaml: not a finished tightrope experiment")
        self._pd = _pandas() if pandas in (None, True) else None
        if pandas is True and self._pd is None:
            raise ImportError("pandas=True but pandas does not import")
        db = os.path.join(self.folder, "results.sqlite")
        has_csv = os.path.isfile(os.path.join(self.folder, "runs.csv"))
        self.source = "csv" if has_csv or not os.path.isfile(db) else "sqlite"
        self._db = db
        self._cache = {}

    def __repr__(self):
        return f"<tightrope.Result {self.folder!r} ({self.source})>"

    @property
    def manifest(self):
        with open(os.path.join(self.folder, "manifest.yaml"), encoding="utf-8") as f:
            return f.read()

    def table(self, name):
        """Any table by name ("runs", "outcomes", ...), or None when absent."""
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name):
        if self._pd is not None:
            return self._read_pandas(name)
        if self.source == "sqlite":
            con = sqlite3.connect(f"file:{self._db}?mode=ro", uri=True)
            try:
                exists = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                     (name,)).fetchone()
                if not exists:
                    return None
                cur = con.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
                columns = [d[0] for d in cur.description]
                rows = cur.fetchall()
            finally:
                con.close()
        else:
            path = os.path.join(self.folder, name + ".csv")
            if not os.path.isfile(path):
                return None
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                columns = next(reader)
                rows = list(reader)
        types = _types(name, columns)
        kinds = [types[c] for c in columns]
        return [{c: _convert(v, k) for c, v, k in zip(columns, row, kinds)} for row in rows]

    def _read_pandas(self, name):
        """pandas reads the file or the query itself (fast, no Python rows);
        the columns then get the dtypes of TABLES."""
        pd = self._pd
        dtypes = {S: "string", I: "int64", U: "uint64", F: "float64"}
        if self.source == "sqlite":
            con = sqlite3.connect(f"file:{self._db}?mode=ro", uri=True)
            try:
                if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                   (name,)).fetchone():
                    return None
                df = pd.read_sql_query(f'SELECT * FROM "{name}" ORDER BY rowid', con)
            finally:
                con.close()
            for c, k in _types(name, list(df.columns)).items():
                if k in dtypes:
                    df[c] = df[c].astype(dtypes[k])
            return df
        path = os.path.join(self.folder, name + ".csv")
        if not os.path.isfile(path):
            return None
        with open(path, newline="", encoding="utf-8") as f:
            columns = next(csv.reader(f))
        types = _types(name, columns)
        df = pd.read_csv(path, dtype={c: dtypes[k] for c, k in types.items() if k in dtypes},
                         keep_default_na=False, float_precision="round_trip",
                         na_values={c: [""] for c, k in types.items() if k not in (S, I, U)})
        for c, k in types.items():
            if k == S:
                df[c] = df[c].replace("", pd.NA)
        return df

    runs = property(lambda self: self.table("runs"))
    outcomes = property(lambda self: self.table("outcomes"))
    finals = property(lambda self: self.table("finals"))
    compare = property(lambda self: self.table("compare"))
    compare_points = property(lambda self: self.table("compare_points"))
    series_summary = property(lambda self: self.table("series_summary"))
    events = property(lambda self: self.table("events"))
    points = property(lambda self: self.table("points"))
    sensitivity = property(lambda self: self.table("sensitivity"))
    errors = property(lambda self: self.table("errors"))

    @property
    def series(self):
        s = self.table("series")
        return s if s is not None else self.table("series_summary")


def open_folder(folder, pandas=None):
    return Result(folder, pandas=pandas)
