/*
** output.c — the output folder (docs/output-files.md): runs.csv, series.csv,
** series_summary.csv, outcomes.csv, finals.csv, events.csv, compare.csv,
** compare_points.csv, points.csv, sensitivity.csv, manifest.yaml.
**
** Results arrive one run at a time in output order (variant, point, run).
** Per-run rows are streamed into files of a staging folder inside the output
** folder (OUTDIR/.tightrope-staging-XXXXXX/); the run also feeds the
** aggregators of its (variant, point) group. When the next group starts,
** the finished group's outcomes.csv, finals.csv and series_summary.csv rows
** are written to their (open) staging files and its per-tick buffers are
** reused, so memory holds one group's series at a time. Only each run's
** outcome and final metric values are kept for every group (indexed by
** group and run, for paired comparisons).
**
** series_summary keeps, for one group, every value of every (tick, metric)
** while runs per group <= OUT_EXACT_RUNS, and computes exact percentiles.
** Above that it streams each value into a gsl_rstat accumulator per (tick,
** metric) (mean and sd exact by Welford's recurrence; p05, p50, p95 by the
** P-squared algorithm), so memory no longer grows with the runs; the
** manifest says which method was used. Both are fed in run order, so both
** are a pure function of the run order, hence of nothing the threads do.
**
** When the experiment is complete, out_finish writes the files that need
** every group: compare.csv (each variant against the baseline, paired by
** point and run index: common random numbers), compare_points.csv (the
** same per point, with several points), points.csv and sensitivity.csv
** (after a sweep; the baseline's per-point outcome shares and metric means
** on the swept paths). docs/experiments.md gives the formulas.
**
** Invariants a reader must keep:
**  - Rows are in run order and every number goes through out_format_number,
**    so the files are byte-identical whatever the thread count.
**  - Files are written aside, then renamed: nothing in the output folder
**    changes until every file is complete, flushed and fsync'ed; after any
**    error the folder's earlier results are untouched (out_abort removes the
**    staging folder). On success the folder holds exactly this
**    experiment's files: stale output files it did not write are removed.
**    manifest.yaml is removed first and renamed in last, so a folder with a
**    manifest is a complete one.
**
** Numbers are formatted with "%.*e" and read back with strtod, which assumes
** the C locale for LC_NUMERIC (the program never calls setlocale).
**
** With --format sqlite or both, every row also goes into results.sqlite, a
** table per CSV file (docs/output-files.md#resultssqlite): each row keeps its
** fields typed as they were formatted (text, integer, real; an empty field
** is NULL), the header row names the table's columns, and the first data
** row gives their types. The database is written in the staging folder
** without a rollback journal (a failed experiment discards it; a resumed
** one rebuilds it from the journal), committed every OUT_SQL_BATCH runs and
** at each group's end, indexed, fsync'ed and renamed like the CSV files.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_rstat.h>
#include <gsl/gsl_statistics_double.h>
#include <sqlite3.h>
#include <yaml.h>
#include <nettle/sha2.h>

#include "base/diag.h"
#include "base/fs.h"
#include "base/number.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "scenario/options.h"
#include "base/rng.h"
#include "run/results.h"
#include "experiment/output.h"
#include "experiment/manifest.h"
#include "base/stats.h"

/* Name prefix of the staging folders inside the output folder. */
#define OUT_STAGING_PREFIX ".tightrope-staging-"

/* ---------------------------------------------------------- CSV rows */

/* A field of a row as typed, for results.sqlite. Text points to strings
** that live at least until the row is emitted. */
enum { OUT_NULL, OUT_TEXT, OUT_REAL, OUT_INT, OUT_U64 };
typedef struct out_field {
  int type;
  double num;
  long long i;
  const char *text;
  char u64[24]; /* OUT_U64 as decimal text (seeds may exceed 2^63-1) */
} out_field;

/* One CSV row under construction; written with a single fwrite. */
typedef struct out_row {
  char *text;
  size_t len, cap;
  int nfields; /* fields so far: a comma precedes the next */
  int oom;
  out_field *fields; /* nfields typed fields */
  int capfields;
} out_row;

static void out_row_append(out_row *row, const char *text, size_t len) {
  if (row->oom) return;
  if (row->len + len + 1 > row->cap) {
    size_t cap = row->cap ? row->cap : 256;
    char *grown;
    while (row->len + len + 1 > cap) cap *= 2;
    grown = realloc(row->text, cap);
    if (!grown) {
      row->oom = 1;
      return;
    }
    row->text = grown;
    row->cap = cap;
  }
  memcpy(row->text + row->len, text, len);
  row->len += len;
  row->text[row->len] = '\0';
}

static void out_row_start(out_row *row) {
  row->len = 0;
  row->nfields = 0;
}

static void out_row_sep(out_row *row) {
  if (row->nfields++ > 0) out_row_append(row, ",", 1);
}

/* The typed field just started by out_row_sep (a scratch one when out of
** memory, with row->oom set). */
static out_field *out_row_field(out_row *row) {
  static _Thread_local out_field lost;
  if (row->nfields > row->capfields) {
    int cap = row->capfields ? 2 * row->capfields : 32;
    out_field *grown = realloc(row->fields, (size_t)cap * sizeof *grown);
    if (!grown) {
      row->oom = 1;
      return &lost;
    }
    row->fields = grown;
    row->capfields = cap;
  }
  return &row->fields[row->nfields - 1];
}


/* Whether a text field would be read as a formula by a spreadsheet: it
** starts with = + - @ (or a tab or CR) and is not a number (OWASP, "CSV
** Injection"). */
static int out_formula_like(const char *text) {
  if (!strchr("=+-@\t\r", text[0]) || !text[0]) return 0;
  char *end;
  strtod(text, &end);
  return end == text || *end != '\0';
}

/* A text field, quoted (RFC 4180) only when it holds , " CR or LF.
** Control characters (a scenario's or script's names may hold them) are
** written as \xNN, and a field a spreadsheet would evaluate is written
** quoted behind a ' (docs/output-files.md "CSV conventions"). */
static void out_row_str(out_row *row, const char *text) {
  out_row_sep(row);
  out_field *fd = out_row_field(row);
  fd->type = text && *text ? OUT_TEXT : OUT_NULL;
  fd->text = text;
  if (!text) return;
  int formula = out_formula_like(text), controls = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p && !controls; p++)
    controls = *p < 0x20 || *p == 0x7f;
  if (!formula && !controls && !strpbrk(text, ",\"")) {
    out_row_append(row, text, strlen(text));
    return;
  }
  out_row_append(row, formula ? "\"'" : "\"", formula ? 2 : 1);
  for (const char *p = text; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (*p == '"') {
      out_row_append(row, "\"\"", 2);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", c);
      out_row_append(row, esc, 4);
    } else {
      out_row_append(row, p, 1);
    }
  }
  out_row_append(row, "\"", 1);
}

/* A number; NaN (an undefined statistic) is an empty field. */
static void out_row_num(out_row *row, double x) {
  char text[OUT_NUMBER_SIZE];
  out_row_sep(row);
  out_field *fd = out_row_field(row);
  fd->type = isnan(x) ? OUT_NULL : OUT_REAL;
  fd->num = x;
  if (isnan(x)) return;
  out_format_number(text, sizeof text, x);
  out_row_append(row, text, strlen(text));
}

static void out_row_u64(out_row *row, uint64_t value) {
  char text[24];
  out_row_sep(row);
  out_field *fd = out_row_field(row);
  fd->type = OUT_U64;
  snprintf(fd->u64, sizeof fd->u64, "%" PRIu64, value);
  snprintf(text, sizeof text, "%" PRIu64, value);
  out_row_append(row, text, strlen(text));
}

static void out_row_int(out_row *row, long long value) {
  char text[24];
  out_row_sep(row);
  out_field *fd = out_row_field(row);
  fd->type = OUT_INT;
  fd->i = value;
  snprintf(text, sizeof text, "%lld", value);
  out_row_append(row, text, strlen(text));
}

/* ------------------------------------------------------- output state */

/* Every file `run` may leave in the output folder. Those this experiment
** does not write are removed on success, so no stale file survives (e.g. an
** old series.csv after a run with --series summary). */
enum {
  OF_RUNS,
  OF_SERIES,
  OF_SUMMARY,
  OF_OUTCOMES,
  OF_FINALS,
  OF_EVENTS,
  OF_COMPARE,
  OF_COMPARE_POINTS,
  OF_POINTS,
  OF_SENSITIVITY,
  OF_ERRORS,
  OF_SQLITE,
  OF_MANIFEST,
  OF_COUNT
};
static const char *const out_file_names[OF_COUNT] = {
    "runs.csv",   "series.csv",     "series_summary.csv", "outcomes.csv", "finals.csv",
    "events.csv", "compare.csv",    "compare_points.csv", "points.csv",   "sensitivity.csv",
    "errors.csv", "results.sqlite", "manifest.yaml"};

/* results.sqlite commits every this many runs (and at each group's end). */
#define OUT_SQL_BATCH 1000

/* Above this many runs per (variant, point), series_summary.csv streams
** (P-squared percentiles) instead of keeping every value. */
#define OUT_EXACT_RUNS 10000

/* At most this much is kept for every run's outcome and final metrics. */
#define OUT_MAX_KEPT_BYTES (16.0 * 1073741824.0)

/* Streaming statistics of one (tick, metric) of series_summary. */
typedef struct out_stream {
  gsl_rstat_workspace *moments;                  /* n, mean, sd (Welford) */
  gsl_rstat_quantile_workspace *q05, *q50, *q95; /* P-squared */
} out_stream;

typedef struct out_file {
  char *staged;          /* path in the staging folder */
  char *final;           /* path in the output folder */
  FILE *f;               /* open while streaming (CSV) */
  int written;           /* this experiment writes it */
  struct sha256_ctx sha; /* of every byte written (out_emit) */
  unsigned long long bytes;
  int active; /* rows go to it (CSV file, SQLite table or both) */
  /* results.sqlite: the header's column names, then the table and its
  ** INSERT statement, made at the first data row. */
  char **columns;
  int ncolumns, has_header;
  sqlite3_stmt *insert;
} out_file;

struct tr_output {
  tr_outspec spec; /* pointers inside must outlive the output */
  tr_diag *d;      /* receives every error, out_add_run's too */
  char *dir, *staging;
  out_file files[OF_COUNT];
  time_t started;
  int failed; /* an error was reported: only abort is left */

  int nmetrics, nresults; /* nresults = noutcomes + 1 (the default) */
  int runs, ngroups;      /* groups = variants x points */

  /* Kept for every group: [group][run-1] outcome (-1 = not received) and
  ** [group][run-1][metric] final values (NaN = not received). */
  int *run_outcomes;
  double *run_finals;

  /* The current group. */
  int group;                /* variant * npoints + point - 1 */
  int last_run;             /* 0 before its first run */
  unsigned *outcome_counts; /* nresults */
  unsigned nruns;           /* runs received */
  /* series_summary: values of the runs still going at each tick,
  ** [tick][metric][i], i < going[tick] (runs in arrival order). */
  double *tick_values;
  unsigned *going;
  int cap_ticks;       /* ticks the buffers hold */
  int max_tick;        /* last tick with a run going, -1: none */
  int streaming;       /* runs > OUT_EXACT_RUNS: P-squared, no buffer */
  out_stream *streams; /* streaming: [tick][metric], cap_ticks ticks */

  double *scratch; /* runs values, sorted by stats_describe */
  out_row row;
  long nfailed; /* --keep-going: runs that failed (errors.csv) */

  int csv;       /* CSV files are written */
  sqlite3 *db;   /* results.sqlite, or NULL */
  long sql_runs; /* runs since the last commit */
};

static void out_write_error(tr_output *o, const out_file *file, int err) {
  if (!o->failed) diag_error(o->d, NULL, 0, 0, "cannot write '%s': %s", file->final, strerror(err));
  o->failed = 1;
}

static void out_oom(tr_output *o, const char *what) {
  if (!o->failed) diag_error(o->d, NULL, 0, 0, "out of memory for %s", what);
  o->failed = 1;
}

/* ------------------------------------------------------ results.sqlite */

static int out_sql_error(tr_output *o, const char *what) {
  if (!o->failed)
    diag_error(o->d, NULL, 0, 0, "cannot write '%s': %s%s%s", o->files[OF_SQLITE].final, what,
               o->db ? ": " : "", o->db ? sqlite3_errmsg(o->db) : "");
  o->failed = 1;
  return -1;
}

static int out_sql_exec(tr_output *o, const char *sql) {
  if (sqlite3_exec(o->db, sql, NULL, NULL, NULL) != SQLITE_OK) return out_sql_error(o, sql);
  return 0;
}

/* The table of a CSV file: its name without ".csv". */
static char *out_sql_table(int which) {
  const char *name = out_file_names[which];
  return strndup(name, strcspn(name, "."));
}

/* A column's declared type: from the first data row's field, else (a table
** without rows) from its name. */
static const char *out_sql_type(const char *column, const out_field *fd) {
  static const char *const ints[] = {"point", "run", "tick", "end_tick", "n", "count"};
  static const char *const texts[] = {"variant",  "outcome", "metric",  "kind",   "name",
                                      "baseline", "path",    "actor",   "action", "target",
                                      "cameo",    "seed",    "message", "replay"};
  if (fd && fd->type != OUT_NULL)
    return fd->type == OUT_TEXT || fd->type == OUT_U64 ? "TEXT"
        : fd->type == OUT_INT                          ? "INTEGER"
                                                       : "REAL";
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (strcmp(column, ints[i]) == 0) return "INTEGER";
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (strcmp(column, texts[i]) == 0) return "TEXT";
  return "REAL";
}

/* CREATE TABLE for file `which` (types from fields, or NULL) and its
** INSERT statement. */
static int out_sql_create(tr_output *o, int which, const out_field *fields) {
  out_file *file = &o->files[which];
  char *table = out_sql_table(which), *sql = NULL, *ins = NULL;
  size_t len = 0, inslen = 0;
  FILE *f = open_memstream(&sql, &len), *g = open_memstream(&ins, &inslen);
  int rc = -1;

  if (!table || !f || !g) {
    if (f) fclose(f);
    if (g) fclose(g);
    free(sql);
    free(ins);
    free(table);
    out_oom(o, "results.sqlite");
    return -1;
  }
  fprintf(f, "CREATE TABLE \"%s\" (", table);
  fprintf(g, "INSERT INTO \"%s\" VALUES (", table);
  for (int c = 0; c < file->ncolumns; c++) {
    fprintf(f, "%s\"", c ? ", " : "");
    for (const char *p = file->columns[c]; *p; p++) fprintf(f, *p == '"' ? "\"\"" : "%c", *p);
    fprintf(f, "\" %s", out_sql_type(file->columns[c], fields ? &fields[c] : NULL));
    fprintf(g, "%s?", c ? ", " : "");
  }
  fputs(")", f);
  fputs(")", g);
  fclose(f);
  fclose(g);
  if (!sql || !ins) out_oom(o, "results.sqlite");
  else if (out_sql_exec(o, sql) == 0) {
    if (sqlite3_prepare_v2(o->db, ins, -1, &file->insert, NULL) != SQLITE_OK) out_sql_error(o, ins);
    else rc = 0;
  }
  free(sql);
  free(ins);
  free(table);
  return rc;
}

/* The row in o->row into file `which`'s table; its first row is the header. */
static int out_sql_row(tr_output *o, int which) {
  out_file *file = &o->files[which];
  const out_row *row = &o->row;

  if (!file->has_header) {
    file->columns = calloc((size_t)row->nfields + 1, sizeof *file->columns);
    if (!file->columns) {
      out_oom(o, "results.sqlite");
      return -1;
    }
    file->ncolumns = row->nfields;
    file->has_header = 1;
    for (int c = 0; c < row->nfields; c++)
      if (!(file->columns[c] = strdup(row->fields[c].text ? row->fields[c].text : ""))) {
        out_oom(o, "results.sqlite");
        return -1;
      }
    return 0;
  }
  if (row->nfields != file->ncolumns) {
    diag_error(o->d, NULL, 0, 0, "internal error: a row of %s has %d fields, its header %d",
               out_file_names[which], row->nfields, file->ncolumns);
    o->failed = 1;
    return -1;
  }
  if (!file->insert && out_sql_create(o, which, row->fields)) return -1;
  sqlite3_stmt *st = file->insert;
  for (int c = 0; c < row->nfields; c++) {
    const out_field *fd = &row->fields[c];
    int rc = fd->type == OUT_TEXT ? sqlite3_bind_text(st, c + 1, fd->text, -1, SQLITE_STATIC)
        : fd->type == OUT_U64     ? sqlite3_bind_text(st, c + 1, fd->u64, -1, SQLITE_STATIC)
        : fd->type == OUT_INT     ? sqlite3_bind_int64(st, c + 1, fd->i)
        : fd->type == OUT_REAL    ? sqlite3_bind_double(st, c + 1, fd->num)
                                  : sqlite3_bind_null(st, c + 1);
    if (rc != SQLITE_OK) return out_sql_error(o, "binding a value");
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return out_sql_error(o, "inserting a row");
  return 0;
}

/* Ends the current transaction and starts the next. */
static int out_sql_commit(tr_output *o) {
  if (!o->db || o->failed) return o->failed ? -1 : 0;
  o->sql_runs = 0;
  return out_sql_exec(o, "COMMIT") || out_sql_exec(o, "BEGIN") ? -1 : 0;
}

/* Writes the row built in o->row to a staging file, LF-terminated, and to
** its table of results.sqlite. */
static int out_emit(tr_output *o, int which) {
  out_file *file = &o->files[which];

  out_row_append(&o->row, "\n", 1);
  if (o->row.oom) {
    out_oom(o, "a CSV row");
    return -1;
  }
  if (file->f && fwrite(o->row.text, 1, o->row.len, file->f) != o->row.len) {
    out_write_error(o, file, errno ? errno : EIO);
    return -1;
  }
  if (file->f) {
    sha256_update(&file->sha, o->row.len, (const uint8_t *)o->row.text);
    file->bytes += o->row.len;
  }
  if (o->db && which != OF_MANIFEST) return out_sql_row(o, which);
  return 0;
}

/* A header row from fixed columns then the metric names. */
static int out_header(tr_output *o, int which, const char *const *columns, int ncolumns,
                      int with_metrics) {
  out_row_start(&o->row);
  for (int i = 0; i < ncolumns; i++) out_row_str(&o->row, columns[i]);
  if (with_metrics)
    for (int m = 0; m < o->nmetrics; m++) out_row_str(&o->row, o->spec.sc->metrics[m].name);
  return out_emit(o, which);
}

static void out_close_files(tr_output *o) {
  for (int i = 0; i < OF_COUNT; i++) {
    if (o->files[i].f) {
      fclose(o->files[i].f);
      o->files[i].f = NULL;
    }
    if (o->files[i].insert) {
      sqlite3_finalize(o->files[i].insert);
      o->files[i].insert = NULL;
    }
  }
  if (o->db) {
    sqlite3_close(o->db);
    o->db = NULL;
  }
}

static void out_free(tr_output *o) {
  if (!o) return;
  out_close_files(o);
  for (int i = 0; i < OF_COUNT; i++) {
    free(o->files[i].staged);
    free(o->files[i].final);
    for (int c = 0; c < o->files[i].ncolumns; c++) free(o->files[i].columns[c]);
    free(o->files[i].columns);
  }
  free(o->dir);
  free(o->staging);
  free(o->run_outcomes);
  free(o->run_finals);
  free(o->outcome_counts);
  free(o->tick_values);
  free(o->going);
  if (o->streams) {
    for (size_t i = 0; i < (size_t)o->cap_ticks * (size_t)o->nmetrics; i++) {
      out_stream *st = &o->streams[i];
      if (st->moments) gsl_rstat_free(st->moments);
      if (st->q05) gsl_rstat_quantile_free(st->q05);
      if (st->q50) gsl_rstat_quantile_free(st->q50);
      if (st->q95) gsl_rstat_quantile_free(st->q95);
    }
    free(o->streams);
  }
  free(o->scratch);
  free(o->row.text);
  free(o->row.fields);
  free(o);
}

/* Staging folders left in outdir by a killed process: safe to remove once
** the caller holds the folder's lock (journal_open). */
void out_remove_stale_staging(const char *outdir) {
  DIR *dir = opendir(outdir);
  struct dirent *e;
  if (!dir) return;
  while ((e = readdir(dir)) != NULL) {
    if (strncmp(e->d_name, OUT_STAGING_PREFIX, strlen(OUT_STAGING_PREFIX)) != 0) continue;
    char *p = fs_join(outdir, e->d_name);
    if (p) fs_remove_tree(p);
    free(p);
  }
  closedir(dir);
}

void out_abort(tr_output *o) {
  if (!o) return;
  out_close_files(o);
  if (o->staging) fs_remove_tree(o->staging);
  out_free(o);
}

/* Opens a staging file for writing and marks it as written (its rows go
** to results.sqlite only when no CSV files are written). */
static int out_stage(tr_output *o, int which) {
  out_file *file = &o->files[which];

  file->active = 1;
  if (!o->csv && which != OF_MANIFEST) return 0;
  /* a new file in our own (mkdtemp) folder: never through a symlink */
  int fd = open(file->staged, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  file->f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!file->f) {
    out_write_error(o, file, errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  file->written = 1;
  sha256_init(&file->sha);
  file->bytes = 0;
  return 0;
}

/* The output folder, the staging folder inside it where every file is
** written until out_finish, each file's staged and final paths, and the
** database (--format sqlite). 0, -1 (reported) or -2 (out of memory). */
static int out_open_folder(tr_output *o) {
  const tr_options *opts = o->spec.opts;
  o->dir = strdup(opts->out);
  if (!o->dir) return -2;
  if (fs_mkdirs(o->dir) != 0) {
    diag_error(o->d, NULL, 0, 0, "cannot create the output folder '%s': %s", o->dir,
               strerror(errno));
    return -1;
  }
  if (asprintf(&o->staging, "%s/" OUT_STAGING_PREFIX "XXXXXX", o->dir) < 0) {
    o->staging = NULL;
    return -2;
  }
  if (!mkdtemp(o->staging)) {
    diag_error(o->d, NULL, 0, 0, "cannot write in the output folder '%s': %s", o->dir,
               strerror(errno));
    free(o->staging);
    o->staging = NULL;
    return -1;
  }
  for (int i = 0; i < OF_COUNT; i++) {
    o->files[i].staged = fs_join(o->staging, out_file_names[i]);
    o->files[i].final = fs_join(o->dir, out_file_names[i]);
    if (!o->files[i].staged || !o->files[i].final) return -2;
  }
  o->csv = (opts->format & TR_FORMAT_CSV) != 0;
  if (opts->format & TR_FORMAT_SQLITE) {
    o->files[OF_SQLITE].written = o->files[OF_SQLITE].active = 1;
    if (sqlite3_open_v2(o->files[OF_SQLITE].staged, &o->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
      out_sql_error(o, "cannot create it");
      return -1;
    }
    /* No rollback journal, no syncs while writing: an unfinished database
    ** is never kept (see the top of this file); out_sql_finish syncs. */
    if (out_sql_exec(o, "PRAGMA journal_mode=OFF") || out_sql_exec(o, "PRAGMA synchronous=OFF")
        || out_sql_exec(o, "PRAGMA locking_mode=EXCLUSIVE") || out_sql_exec(o, "BEGIN"))
      return -1;
  }
  return 0;
}

/* What out_finish aggregates: every run's outcome and final metrics, one
** group's outcome counts, and the scratch. 0, -1 (reported: more than this
** machine can hold) or -2 (out of memory). */
static int out_open_aggregators(tr_output *o) {
  const tr_outspec *spec = &o->spec;
  size_t nfinals;
  /* Aggregators: per-run results of every group, one group's counts. */
  nfinals = (size_t)o->ngroups * (size_t)o->runs;
  if (o->nmetrics > 0 && nfinals > SIZE_MAX / sizeof(double) / (size_t)o->nmetrics) return -2;
  {
    /* Every run's outcome and final metrics are kept (finals.csv,
    ** compare.csv): refuse plainly what this machine cannot hold, instead
    ** of dying part-way (docs/experiments.md). */
    double need = (double)nfinals * (sizeof *o->run_outcomes + (double)o->nmetrics * sizeof(double))
        + (double)o->runs * sizeof(double);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && psize > 0 ? (double)pages * (double)psize / 2 : 0;
    if (have <= 0 || have > OUT_MAX_KEPT_BYTES) have = OUT_MAX_KEPT_BYTES;
    if (need > have) {
      diag_error(o->d, NULL, 0, 0,
                 "%d runs x %d variants and points: keeping every run's outcome "
                 "and final metrics (for finals.csv and compare.csv) needs %.1f GiB, more than the "
                 "%.1f GiB allowed (half of this machine's memory, at most 16 GiB); use fewer "
                 "runs (-n)",
                 o->runs, o->ngroups, need / 1073741824.0, have / 1073741824.0);
      return -1;
    }
  }
  o->run_outcomes = malloc((nfinals ? nfinals : 1) * sizeof *o->run_outcomes);
  o->run_finals = malloc((nfinals * (size_t)o->nmetrics + 1) * sizeof(double));
  o->outcome_counts = calloc((size_t)o->nresults, sizeof *o->outcome_counts);
  /* scratch: one group's runs, or every point's value (sensitivity). */
  o->scratch = malloc(((size_t)(o->runs > spec->npoints ? o->runs : spec->npoints) + 1)
                      * sizeof *o->scratch);
  if (!o->run_outcomes || !o->run_finals || !o->outcome_counts || !o->scratch) return -2;
  for (size_t i = 0; i < nfinals; i++) o->run_outcomes[i] = -1;
  for (size_t i = 0; i < nfinals * (size_t)o->nmetrics; i++) o->run_finals[i] = NAN;
  return 0;
}

/* The streamed files the options ask for, staged, their headers written.
** 0, or -1 (reported). */
static int out_open_streams(tr_output *o) {
  static const char *const runs_cols[] = {"variant", "point", "run", "seed", "outcome", "end_tick"};
  static const char *const series_cols[] = {"variant", "point", "run", "tick"};
  static const char *const summary_cols[] = {"variant", "point", "tick", "metric", "n",
                                             "mean",    "sd",    "p05",  "p50",    "p95"};
  static const char *const outcomes_cols[] = {"variant", "point",  "outcome", "count",
                                              "share",   "ci_low", "ci_high"};
  static const char *const finals_cols[] = {"variant", "point",  "metric",  "n",   "mean",
                                            "sd",      "ci_low", "ci_high", "p05", "p50",
                                            "p95",     "min",    "max"};
  static const char *const events_cols[] = {"variant", "point",  "run",   "tick",      "actor",
                                            "action",  "target", "cameo", "goldstein", "value"};
  static const char *const errors_cols[] = {"variant", "point", "run",     "seed",
                                            "tick",    "actor", "message", "replay"};
  const tr_options *opts = o->spec.opts;
  /* Streamed files, headers first. */
  if (out_stage(o, OF_RUNS) || out_header(o, OF_RUNS, runs_cols, 6, 1) || out_stage(o, OF_OUTCOMES)
      || out_header(o, OF_OUTCOMES, outcomes_cols, 7, 0) || out_stage(o, OF_FINALS)
      || out_header(o, OF_FINALS, finals_cols, 13, 0))
    return -1;
  if (opts->series == SERIES_ALL
      && (out_stage(o, OF_SERIES) || out_header(o, OF_SERIES, series_cols, 4, 1)))
    return -1;
  if (opts->series == SERIES_SUMMARY
      && (out_stage(o, OF_SUMMARY) || out_header(o, OF_SUMMARY, summary_cols, 10, 0)))
    return -1;
  if (opts->events && (out_stage(o, OF_EVENTS) || out_header(o, OF_EVENTS, events_cols, 10, 0)))
    return -1;
  if (opts->keep_going && (out_stage(o, OF_ERRORS) || out_header(o, OF_ERRORS, errors_cols, 8, 0)))
    return -1;
  return 0;
}

/* Opens the output of an experiment (docs/output-files.md): the folder, its
** staging folder and the streamed files' headers. NULL (reported) on error. */
tr_output *out_open(const tr_outspec *spec, tr_diag *d) {
  int rc;
  const tr_options *opts = spec->opts;
  tr_output *o = calloc(1, sizeof *o);

  if (!o) {
    diag_error(d, NULL, 0, 0, "out of memory opening the output folder");
    return NULL;
  }
  o->spec = *spec;
  o->d = d;
  o->started = time(NULL);
  o->nmetrics = spec->sc->nmetrics;
  o->nresults = spec->sc->noutcomes + 1;
  o->runs = opts->runs > 0 ? opts->runs : 0;
  o->ngroups = spec->nvariants * spec->npoints;
  o->max_tick = -1;
  o->streaming = o->runs > OUT_EXACT_RUNS;

  if ((rc = out_open_folder(o)) == 0) rc = out_open_aggregators(o);
  if (rc == -2) goto oom;
  if (rc || out_open_streams(o)) goto fail;
  return o;

oom:
  diag_error(d, NULL, 0, 0, "out of memory opening the output folder '%s'", opts->out);
fail:
  out_abort(o);
  return NULL;
}

/* ------------------------------------------------------------- groups */

static const char *out_outcome_name(const tr_output *o, int outcome) {
  const tr_scenario *sc = o->spec.sc;
  return outcome < sc->noutcomes ? sc->outcomes[outcome].name : sc->default_outcome;
}

/* Starts a row with the group's variant and point. */
static void out_row_group(tr_output *o, int group) {
  out_row_start(&o->row);
  out_row_str(&o->row, o->spec.variant_names[group / o->spec.npoints]);
  out_row_int(&o->row, group % o->spec.npoints + 1);
}

/* Copies the numbers (not NaN) of values[i*stride], i < n, to scratch. */
static size_t out_gather(tr_output *o, const double *values, size_t n, size_t stride) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(values[i * stride])) o->scratch[count++] = values[i * stride];
  return count;
}

/* The series_summary statistics of (tick, metric) of the current group
** from its streaming accumulators; the accumulators are reset for the
** next group. Undefined statistics are NaN, as stats_describe gives them
** (gsl_rstat_sd returns 0 for one value: that is an undefined sd). */
static void out_stream_summary(tr_output *o, int tick, int metric, stats_summary *s) {
  out_stream *st = &o->streams[(size_t)tick * (size_t)o->nmetrics + (size_t)metric];
  size_t n = gsl_rstat_n(st->moments);

  memset(s, 0, sizeof *s);
  s->n = n;
  s->mean = n ? gsl_rstat_mean(st->moments) : NAN;
  s->sd = n >= 2 ? gsl_rstat_sd(st->moments) : NAN;
  s->p05 = n ? gsl_rstat_quantile_get(st->q05) : NAN;
  s->p50 = n ? gsl_rstat_quantile_get(st->q50) : NAN;
  s->p95 = n ? gsl_rstat_quantile_get(st->q95) : NAN;
  gsl_rstat_reset(st->moments);
  gsl_rstat_quantile_reset(st->q05);
  gsl_rstat_quantile_reset(st->q50);
  gsl_rstat_quantile_reset(st->q95);
}

/* Writes the outcomes.csv, finals.csv and series_summary.csv rows of the
** current group, then empties its aggregators for the next group. */
static int out_flush_group(tr_output *o) {
  const tr_scenario *sc = o->spec.sc;
  int g = o->group;
  stats_summary s;

  for (int k = 0; k < o->nresults; k++) {
    unsigned count = o->outcome_counts[k];
    double lo, hi;
    stats_clopper_pearson(count, o->nruns, 0.95, &lo, &hi);
    out_row_group(o, g);
    out_row_str(&o->row, out_outcome_name(o, k));
    out_row_int(&o->row, count);
    out_row_num(&o->row, o->nruns ? (double)count / o->nruns : NAN);
    out_row_num(&o->row, lo);
    out_row_num(&o->row, hi);
    if (out_emit(o, OF_OUTCOMES)) return -1;
  }

  for (int m = 0; m < o->nmetrics; m++) {
    const double *finals = o->run_finals + (size_t)g * (size_t)o->runs * (size_t)o->nmetrics + m;
    size_t n = out_gather(o, finals, (size_t)o->runs, (size_t)o->nmetrics);
    stats_describe(o->scratch, n, 0.95, &s);
    out_row_group(o, g);
    out_row_str(&o->row, sc->metrics[m].name);
    out_row_int(&o->row, (long long)s.n);
    out_row_num(&o->row, s.mean);
    out_row_num(&o->row, s.sd);
    out_row_num(&o->row, s.ci_low);
    out_row_num(&o->row, s.ci_high);
    out_row_num(&o->row, s.p05);
    out_row_num(&o->row, s.p50);
    out_row_num(&o->row, s.p95);
    out_row_num(&o->row, s.min);
    out_row_num(&o->row, s.max);
    if (out_emit(o, OF_FINALS)) return -1;
  }

  /* Ticks no run reached have no row. */
  if (o->files[OF_SUMMARY].active)
    for (int t = 0; t <= o->max_tick; t++)
      for (int m = 0; m < o->nmetrics; m++) {
        if (o->streaming) {
          out_stream_summary(o, t, m, &s);
        } else {
          const double *values =
              o->tick_values + ((size_t)t * (size_t)o->nmetrics + (size_t)m) * (size_t)o->runs;
          size_t n = out_gather(o, values, o->going[t], 1);
          stats_describe(o->scratch, n, 0, &s);
        }
        out_row_group(o, g);
        out_row_int(&o->row, t);
        out_row_str(&o->row, sc->metrics[m].name);
        out_row_int(&o->row, (long long)s.n);
        out_row_num(&o->row, s.mean);
        out_row_num(&o->row, s.sd);
        out_row_num(&o->row, s.p05);
        out_row_num(&o->row, s.p50);
        out_row_num(&o->row, s.p95);
        if (out_emit(o, OF_SUMMARY)) return -1;
      }

  memset(o->outcome_counts, 0, (size_t)o->nresults * sizeof *o->outcome_counts);
  o->nruns = 0;
  o->last_run = 0;
  if (o->going) memset(o->going, 0, (size_t)o->cap_ticks * sizeof *o->going);
  o->max_tick = -1;
  return out_sql_commit(o);
}

/* Streaming: accumulators for ticks 0..want-1 (tick-major, so growing
** keeps those in use). */
static int out_reserve_streams(tr_output *o, int want) {
  size_t nm = (size_t)o->nmetrics, have = (size_t)o->cap_ticks * nm, need = (size_t)want * nm;
  out_stream *grown;
  unsigned *going;

  grown = realloc(o->streams, (need + 1) * sizeof *grown);
  if (!grown) {
    out_oom(o, "the series summary");
    return -1;
  }
  o->streams = grown;
  memset(grown + have, 0, (need - have) * sizeof *grown);
  going = realloc(o->going, (size_t)want * sizeof *going);
  if (!going) {
    out_oom(o, "the series summary");
    return -1;
  }
  memset(going + o->cap_ticks, 0, (size_t)(want - o->cap_ticks) * sizeof *going);
  o->going = going;
  o->cap_ticks = want; /* before allocating: out_free frees them */
  for (size_t i = have; i < need; i++) {
    out_stream *st = &grown[i];
    st->moments = gsl_rstat_alloc();
    st->q05 = gsl_rstat_quantile_alloc(0.05);
    st->q50 = gsl_rstat_quantile_alloc(0.50);
    st->q95 = gsl_rstat_quantile_alloc(0.95);
    if (!st->moments || !st->q05 || !st->q50 || !st->q95) {
      out_oom(o, "the series summary");
      return -1;
    }
  }
  return 0;
}

/* Grows the series_summary buffers to hold ticks 0..end_tick. The layout is
** tick-major, so growing keeps the values already stored. */
static int out_reserve_ticks(tr_output *o, int end_tick) {
  size_t per_tick = (size_t)o->nmetrics * (size_t)o->runs, ticks;
  double *values;
  unsigned *going;
  int want;

  if (end_tick < o->cap_ticks) return 0;
  /* Sized by the ticks runs reach, not the horizon: a run that ends at
  ** tick 4 of 10^9 needs 5 ticks. Growth is geometric (at most to the
  ** horizon), so the buffers are reallocated O(log ticks) times. */
  want = end_tick + 1;
  if (o->cap_ticks > 0 && (long long)o->cap_ticks * 2 > want)
    want = o->cap_ticks * 2 > o->spec.opts->ticks + 1 ? o->spec.opts->ticks + 1 : o->cap_ticks * 2;
  if (want < end_tick + 1) want = end_tick + 1;
  ticks = (size_t)want;
  if (o->streaming) return out_reserve_streams(o, want);
  if (per_tick && ticks > SIZE_MAX / sizeof(double) / per_tick) {
    out_oom(o, "the series summary");
    return -1;
  }
  values = realloc(o->tick_values, (ticks * per_tick + 1) * sizeof *values);
  if (!values) {
    diag_error(o->d, NULL, 0, 0,
               "out of memory for the series summary (%d runs x %d ticks x "
               "%d metrics); use --series none or --series all",
               o->runs, want, o->nmetrics);
    o->failed = 1;
    return -1;
  }
  o->tick_values = values;
  going = realloc(o->going, ticks * sizeof *going);
  if (!going) {
    out_oom(o, "the series summary");
    return -1;
  }
  memset(going + o->cap_ticks, 0, (ticks - (size_t)o->cap_ticks) * sizeof *going);
  o->going = going;
  o->cap_ticks = want;
  return 0;
}

/* An internal error: results out of order or out of range. */
static int out_bad_result(tr_output *o, const tr_runresult *r, const char *why) {
  if (!o->failed)
    diag_error(o->d, NULL, 0, 0, "internal error: result of variant %d point %d run %d %s",
               r->variant, r->point, r->run, why);
  o->failed = 1;
  return -1;
}

/* Results arrive in output order: r must come after the last one (its
** group's earlier runs, every earlier group); the groups before it are
** complete and flushed. 0, or -1 (a message through out_bad_result). */
static int out_take_turn(tr_output *o, const tr_runresult *r) {
  int group = r->variant * o->spec.npoints + r->point - 1;
  if (group < o->group || (group == o->group && r->run <= o->last_run))
    return out_bad_result(o, r, "arrived out of order");
  while (o->group < group) {
    if (out_flush_group(o)) return -1;
    o->group++;
  }
  o->last_run = r->run;
  return 0;
}

/* A runs.csv row's first fields: variant, point, run, seed, outcome, end tick. */
static void out_runs_row_start(tr_output *o, const tr_runresult *r, const char *outcome,
                               int end_tick) {
  out_row_start(&o->row);
  out_row_str(&o->row, o->spec.variant_names[r->variant]);
  out_row_int(&o->row, r->point);
  out_row_int(&o->row, r->run);
  out_row_u64(&o->row, r->seed);
  out_row_str(&o->row, outcome);
  out_row_int(&o->row, end_tick);
}

/* Writes one run's rows (runs.csv, series.csv, events.csv) and adds it to the aggregates; 0, or
** -1. Long: each file's row and each aggregate is a short step from the one run
** result, taken in turn while the run holds the writer's turn (out_take_turn). */
int out_add_run(tr_output *o, const tr_runresult *r) {
  const tr_scenario *sc = o->spec.sc;
  const tr_options *opts = o->spec.opts;
  int nm = o->nmetrics, group;
  size_t slot;

  if (o->failed) return -1;
  if (r->variant < 0 || r->variant >= o->spec.nvariants || r->point < 1
      || r->point > o->spec.npoints || r->run < 1 || r->run > o->runs)
    return out_bad_result(o, r, "is out of range");
  if (r->outcome < 0 || r->outcome > sc->noutcomes || r->end_tick < 0)
    return out_bad_result(o, r, "has an invalid outcome or end tick");
  if ((opts->series != SERIES_NONE && !r->series) || (nm > 0 && !r->finals))
    return out_bad_result(o, r, "has no metric values");
  if (out_take_turn(o, r)) return -1;
  group = o->group;

  /* runs.csv */
  out_runs_row_start(o, r, out_outcome_name(o, r->outcome), r->end_tick);
  for (int m = 0; m < nm; m++) out_row_num(&o->row, r->finals[m]);
  if (out_emit(o, OF_RUNS)) return -1;

  /* series.csv */
  if (o->files[OF_SERIES].active)
    for (int t = 0; t <= r->end_tick; t++) {
      out_row_start(&o->row);
      out_row_str(&o->row, o->spec.variant_names[r->variant]);
      out_row_int(&o->row, r->point);
      out_row_int(&o->row, r->run);
      out_row_int(&o->row, t);
      for (int m = 0; m < nm; m++)
        out_row_num(&o->row, r->series[(size_t)t * (size_t)nm + (size_t)m]);
      if (out_emit(o, OF_SERIES)) return -1;
    }

  /* events.csv */
  if (o->files[OF_EVENTS].active)
    for (int i = 0; i < r->nevents; i++) {
      const tr_event *ev = &r->events[i];
      out_row_start(&o->row);
      out_row_str(&o->row, o->spec.variant_names[r->variant]);
      out_row_int(&o->row, r->point);
      out_row_int(&o->row, r->run);
      out_row_int(&o->row, ev->tick);
      out_row_str(&o->row,
                  ev->actor >= 0 && ev->actor < sc->nactors ? sc->actors[ev->actor].id : NULL);
      out_row_str(&o->row, ev->action);
      out_row_str(&o->row,
                  ev->target >= 0 && ev->target < sc->nactors ? sc->actors[ev->target].id : NULL);
      out_row_str(&o->row, ev->cameo);
      out_row_num(&o->row, ev->goldstein);
      out_row_num(&o->row, ev->value);
      if (out_emit(o, OF_EVENTS)) return -1;
    }

  /* Aggregators. */
  o->outcome_counts[r->outcome]++;
  o->nruns++;
  slot = (size_t)group * (size_t)o->runs + (size_t)r->run - 1;
  o->run_outcomes[slot] = r->outcome;
  for (int m = 0; m < nm; m++) o->run_finals[slot * (size_t)nm + (size_t)m] = r->finals[m];

  if (o->files[OF_SUMMARY].active) {
    if (out_reserve_ticks(o, r->end_tick)) return -1;
    for (int t = 0; t <= r->end_tick; t++) {
      unsigned i = o->going[t]++;
      for (int m = 0; m < nm; m++) {
        double x = r->series[(size_t)t * (size_t)nm + (size_t)m];
        if (o->streaming) {
          out_stream *st = &o->streams[(size_t)t * (size_t)nm + (size_t)m];
          if (isnan(x)) continue; /* as out_gather skips it */
          gsl_rstat_add(x, st->moments);
          gsl_rstat_quantile_add(x, st->q05);
          gsl_rstat_quantile_add(x, st->q50);
          gsl_rstat_quantile_add(x, st->q95);
        } else o->tick_values[((size_t)t * (size_t)nm + (size_t)m) * (size_t)o->runs + i] = x;
      }
    }
    if (r->end_tick > o->max_tick) o->max_tick = r->end_tick;
  }
  if (o->db && ++o->sql_runs >= OUT_SQL_BATCH && out_sql_commit(o)) return -1;
  return 0;
}

/* A failed run (--keep-going): its runs.csv row says `error` with the tick
** it failed at and no metric values, its errors.csv row the message and the
** replay command; the statistics never see it. */
int out_add_failed(tr_output *o, const tr_runresult *r, int tick, const char *actor,
                   const char *message, const char *replay) {
  if (o->failed) return -1;
  if (r->variant < 0 || r->variant >= o->spec.nvariants || r->point < 1
      || r->point > o->spec.npoints || r->run < 1 || r->run > o->runs
      || !o->files[OF_ERRORS].active)
    return out_bad_result(o, r, "is out of range");
  if (out_take_turn(o, r)) return -1;

  out_runs_row_start(o, r, "error", tick);
  for (int m = 0; m < o->nmetrics; m++) out_row_num(&o->row, NAN);
  if (out_emit(o, OF_RUNS)) return -1;

  out_row_start(&o->row);
  out_row_str(&o->row, o->spec.variant_names[r->variant]);
  out_row_int(&o->row, r->point);
  out_row_int(&o->row, r->run);
  out_row_u64(&o->row, r->seed);
  out_row_int(&o->row, tick);
  out_row_str(&o->row, actor);
  out_row_str(&o->row, message);
  out_row_str(&o->row, replay);
  if (out_emit(o, OF_ERRORS)) return -1;
  o->nfailed++;
  return 0;
}

/* ----------------------------------------------------------- manifest */

/* The manifest goes through libyaml's emitter; each helper returns 0 or -1
** (the emitter's error, or a write error left in ferror of its file). */
static int out_yaml_emit(yaml_emitter_t *em, yaml_event_t *ev, int ok) {
  if (!ok) return -1;
  return yaml_emitter_emit(em, ev) ? 0 : -1;
}

/* Strings that a YAML reader (1.1 or 1.2) could take for a null, a boolean
** or a number are double-quoted; other strings are written plain when the
** emitter allows it. */
static int out_yaml_ambiguous(const char *s) {
  static const char *const words[] = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"};
  if (!*s || strchr("0123456789.+-~", *s)) return 1;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcasecmp(s, words[i]) == 0) return 1;
  return 0;
}

static int out_yaml_str(yaml_emitter_t *em, const char *s) {
  yaml_event_t ev;
  if (!s) s = "";
  return out_yaml_emit(
      em, &ev,
      yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                   out_yaml_ambiguous(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                         : YAML_ANY_SCALAR_STYLE));
}

/* A plain scalar that is meant to resolve as a number, boolean or null. */
static int out_yaml_plain(yaml_emitter_t *em, const char *s) {
  yaml_event_t ev;
  return out_yaml_emit(em, &ev,
                       yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
                                                    (int)strlen(s), 1, 0, YAML_PLAIN_SCALAR_STYLE));
}

static int out_yaml_num(yaml_emitter_t *em, double x) {
  char text[OUT_NUMBER_SIZE];
  out_format_number(text, sizeof text, x);
  return out_yaml_plain(em, text);
}

static int out_yaml_int(yaml_emitter_t *em, long long value) {
  char text[24];
  snprintf(text, sizeof text, "%lld", value);
  return out_yaml_plain(em, text);
}

static int out_yaml_map(yaml_emitter_t *em, int start) {
  yaml_event_t ev;
  if (start)
    return out_yaml_emit(
        em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
  return out_yaml_emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

static int out_yaml_seq(yaml_emitter_t *em, int start, int flow) {
  yaml_event_t ev;
  if (start)
    return out_yaml_emit(em, &ev,
                         yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                              flow ? YAML_FLOW_SEQUENCE_STYLE
                                                                   : YAML_BLOCK_SEQUENCE_STYLE));
  return out_yaml_emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

static int out_yaml_kv(yaml_emitter_t *em, const char *key, const char *value) {
  return out_yaml_str(em, key) || out_yaml_str(em, value) ? -1 : 0;
}

/* ISO 8601 UTC, e.g. 2024-05-01T12:00:00Z. */
static void out_iso_time(char *buf, size_t size, time_t when) {
  struct tm tm;
  if (!gmtime_r(&when, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(buf, size, "unknown");
}


static const tr_variantdecl *out_find_variant(const tr_scenario *sc, const char *name) {
  for (int v = 0; v < sc->nvariants; v++)
    if (strcmp(sc->variants[v].name, name) == 0) return &sc->variants[v];
  return NULL;
}

/* The value a path has in the scenario as written (before variants, sweep
** and --set), or NaN when it has none. */
static double out_path_written(const tr_scenario *sc, const tr_options *opts, const tr_path *p) {
  switch (p->kind) {
    case PATH_ACTOR_ATTR: return sc->actors[p->actor].attrs[p->attr].value;
    case PATH_REL_ATTR: return sc->rels[p->rel].attrs[p->attr].value;
    case PATH_MODEL: return sc->model[p->model].value;
    case PATH_TICKS: return opts->ticks;
    case PATH_PARAM: {
      const tr_value *v = &sc->actors[p->actor].params;
      const char *key = p->key;
      while (v && v->type == TV_MAP) {
        const char *dot = strchr(key, '.');
        size_t n = dot ? (size_t)(dot - key) : strlen(key);
        const tr_value *next = NULL;
        for (int i = 0; i < v->n; i++)
          if (strlen(v->keys[i]) == n && strncmp(v->keys[i], key, n) == 0) next = &v->items[i];
        if (!next || !dot) return next && next->type == TV_NUM ? next->num : NAN;
        v = next;
        key = dot + 1;
      }
      return NAN;
    }
  }
  return NAN;
}

/* What the report labels its charts with (docs/output-files.md#manifestyaml):
** the metrics and outcomes with their expressions and descriptions, and the
** swept paths with their values in the scenario as written. */
static int out_yaml_report_labels(tr_output *o, yaml_emitter_t *em) {
  const tr_scenario *sc = o->spec.sc;
  static const char *const methods[] = {"none",   "grid", "sobol",   "lhs",
                                        "random", "file", "saltelli"};

  for (int k = 0; k < 2; k++) {
    const tr_exprdecl *list = k ? sc->outcomes : sc->metrics;
    int n = k ? sc->noutcomes : sc->nmetrics;
    if (out_yaml_str(em, k ? "outcomes" : "metrics") || out_yaml_seq(em, 1, 0)) return -1;
    for (int i = 0; i < n; i++)
      if (out_yaml_map(em, 1) || out_yaml_kv(em, "name", list[i].name)
          || out_yaml_kv(em, "expr", list[i].expr)
          || (list[i].description && out_yaml_kv(em, "description", list[i].description))
          || out_yaml_map(em, 0))
        return -1;
    if (k
        && (out_yaml_map(em, 1)
            || out_yaml_kv(em, "name", sc->default_outcome ? sc->default_outcome : "horizon")
            || out_yaml_kv(em, "description",
                           "the default outcome: no other outcome held by the horizon")
            || out_yaml_map(em, 0)))
      return -1;
    if (out_yaml_seq(em, 0, 0)) return -1;
  }
  if (sc->nsweep <= 0) return 0;
  if (out_yaml_str(em, "sweep") || out_yaml_map(em, 1)
      || out_yaml_kv(em, "method",
                     sc->sweep_method >= 0
                             && sc->sweep_method < (int)(sizeof methods / sizeof methods[0])
                         ? methods[sc->sweep_method]
                         : "other")
      || out_yaml_str(em, "params") || out_yaml_seq(em, 1, 0))
    return -1;
  for (int i = 0; i < sc->nsweep; i++) {
    double v = out_path_written(sc, o->spec.opts, &sc->sweep[i].path);
    if (out_yaml_map(em, 1) || out_yaml_kv(em, "path", sc->sweep[i].path.text)
        || out_yaml_str(em, "scenario_value")
        || (isfinite(v) ? out_yaml_num(em, v) : out_yaml_plain(em, "null")) || out_yaml_map(em, 0))
      return -1;
  }
  return out_yaml_seq(em, 0, 0) || out_yaml_map(em, 0) ? -1 : 0;
}

/* A composed scenario (docs/scenario-format.md, "Composing scenarios"):
** every file it was read from, and the --sweep / --variants files by
** absolute path, which replay applies again. Absent for one file. */
static int out_manifest_file(yaml_emitter_t *em, const char *key, const char *path) {
  if (!path) return 0;
  char *abspath = realpath(path, NULL);
  int bad = out_yaml_kv(em, key, abspath ? abspath : path);
  free(abspath);
  return bad;
}

static int out_manifest_composed(yaml_emitter_t *em, const tr_scenario *sc) {
  if (sc->files.n <= 1) return 0;
  if (out_yaml_str(em, "files") || out_yaml_seq(em, 1, 1)) return -1;
  for (int i = 0; i < sc->files.n; i++)
    if (out_yaml_str(em, sc->files.paths[i])) return -1;
  return out_yaml_seq(em, 0, 0) || out_manifest_file(em, "sweep_file", sc->sweep_file)
      || out_manifest_file(em, "variants_file", sc->variants_file);
}

/* command: the command line, word by word. */
static int out_yaml_command(const tr_options *opts, yaml_emitter_t *em) {
  if (out_yaml_str(em, "command") || out_yaml_seq(em, 1, 1)) return -1;
  for (int i = 0; i < opts->argc; i++)
    if (out_yaml_str(em, opts->argv[i])) return -1;
  return out_yaml_seq(em, 0, 0);
}

/* scenario: its path, id, title, SHA-256 and the files it is composed of. */
static int out_yaml_scenario(const tr_scenario *sc, yaml_emitter_t *em) {
  char *abspath = realpath(sc->path, NULL); /* replay finds it from anywhere */
  int bad = out_yaml_str(em, "scenario") || out_yaml_map(em, 1) || out_yaml_kv(em, "path", sc->path)
      || out_yaml_kv(em, "abspath", abspath ? abspath : sc->path) || out_yaml_kv(em, "id", sc->id)
      || out_yaml_kv(em, "title", sc->title ? sc->title : sc->id)
      || (sc->description && out_yaml_kv(em, "description", sc->description))
      || out_yaml_kv(em, "tick_unit", sc->tick_unit ? sc->tick_unit : "tick")
      || out_yaml_str(em, "sha256")
      || (sc->sha256[0] ? out_yaml_str(em, sc->sha256) : out_yaml_plain(em, "null"))
      || out_manifest_composed(em, sc) || out_yaml_map(em, 0);
  free(abspath);
  return bad ? -1 : 0;
}

/* settings.precision: the rule of run until precise, and what it reached
** (docs/output-files.md). */
static int out_yaml_precision(const tr_options *opts, yaml_emitter_t *em) {
  return out_yaml_str(em, "precision") || out_yaml_map(em, 1)
          || out_yaml_kv(em, "rule",
                         "batches of `batch` runs until every outcome share of "
                         "every variant and point has a 95% Clopper-Pearson half-width <= "
                         "half_width, at most `ceiling` runs")
          || out_yaml_str(em, "half_width") || out_yaml_num(em, opts->precision)
          || out_yaml_str(em, "batch") || out_yaml_int(em, opts->batch)
          || out_yaml_str(em, "ceiling") || out_yaml_int(em, opts->precision_ceiling)
          || out_yaml_str(em, "runs") || out_yaml_int(em, opts->runs) || out_yaml_str(em, "reached")
          || out_yaml_plain(em, opts->precision_reached ? "true" : "false")
          || out_yaml_str(em, "widest_half_width") || out_yaml_num(em, opts->precision_widest)
          || out_yaml_map(em, 0)
      ? -1
      : 0;
}

/* settings: what the experiment was run with. */
static int out_yaml_settings(tr_output *o, int series, yaml_emitter_t *em) {
  static const char *const series_names[] = {"summary", "all", "none"};
  const tr_options *opts = o->spec.opts;
  if (out_yaml_str(em, "settings") || out_yaml_map(em, 1) || out_yaml_str(em, "runs")
      || out_yaml_int(em, opts->runs) || out_yaml_str(em, "ticks") || out_yaml_int(em, opts->ticks)
      || out_yaml_str(em, "seed"))
    return -1;
  {
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, opts->seed);
    if (out_yaml_plain(em, seed)) return -1;
  }
  if (out_yaml_str(em, "threads") || out_yaml_int(em, opts->threads)
      || out_yaml_kv(em, "series", series_names[series]) || out_yaml_str(em, "events")
      || out_yaml_plain(em, opts->events ? "true" : "false") || out_yaml_kv(em, "out", o->dir)
      || out_yaml_str(em, "set") || out_yaml_seq(em, 1, 1))
    return -1;
  for (int i = 0; i < opts->nsets; i++)
    if (out_yaml_str(em, opts->sets[i])) return -1;
  if (out_yaml_seq(em, 0, 0)) return -1;
  if (opts->posterior
      && (out_yaml_str(em, "posterior") || out_yaml_map(em, 1)
          || out_yaml_kv(em, "file", opts->posterior->file)
          || out_yaml_kv(em, "sha256", opts->posterior->sha256) || out_yaml_map(em, 0)))
    return -1;
  if (0 || out_yaml_str(em, "variants") || out_yaml_seq(em, 1, 1)) return -1;
  for (int v = 0; v < o->spec.nvariants; v++)
    if (out_yaml_str(em, o->spec.variant_names[v])) return -1;
  if (out_yaml_seq(em, 0, 0) || out_yaml_str(em, "points") || out_yaml_int(em, o->spec.npoints)
      || out_yaml_kv(em, "series_quantiles",
                     series != SERIES_SUMMARY ? "none"
                         : o->streaming       ? "p2-approximate (runs > 10000)"
                                              : "exact"))
    return -1;
  if (opts->precision > 0 && out_yaml_precision(opts, em)) return -1;
  return out_yaml_map(em, 0);
}

/* variants: each one's name, description and changes. */
static int out_yaml_variants(tr_output *o, yaml_emitter_t *em) {
  const tr_scenario *sc = o->spec.sc;
  if (out_yaml_str(em, "variants") || out_yaml_seq(em, 1, 0)) return -1;
  for (int v = 0; v < o->spec.nvariants; v++) {
    const char *name = o->spec.variant_names[v];
    const tr_variantdecl *decl = v > 0 ? out_find_variant(sc, name) : NULL;
    if (out_yaml_map(em, 1) || out_yaml_kv(em, "name", name)) return -1;
    if (v == 0) {
      if (out_yaml_kv(em, "description", "the scenario as written, with the --set overrides"))
        return -1;
    } else if (decl) {
      if (decl->description && out_yaml_kv(em, "description", decl->description)) return -1;
      if (out_yaml_str(em, "changes") || out_yaml_seq(em, 1, 0)) return -1;
      for (int c = 0; c < decl->nchanges; c++) {
        const tr_change *ch = &decl->changes[c];
        if (out_yaml_map(em, 1) || out_yaml_kv(em, "op", ch->op == CHANGE_ADD ? "add" : "set")
            || out_yaml_kv(em, "path", ch->path.text) || out_yaml_str(em, "value")
            || out_yaml_num(em, ch->value) || out_yaml_map(em, 0))
          return -1;
      }
      if (out_yaml_seq(em, 0, 0)) return -1;
    }
    if (out_yaml_map(em, 0)) return -1;
  }
  return out_yaml_seq(em, 0, 0);
}

/* files: the result files, and each one's size and SHA-256. */
static int out_yaml_files(tr_output *o, yaml_emitter_t *em) {
  if (o->spec.opts->keep_going && (out_yaml_str(em, "failed_runs") || out_yaml_int(em, o->nfailed)))
    return -1;
  if (out_yaml_str(em, "files") || out_yaml_seq(em, 1, 1)) return -1;
  for (int i = 0; i < OF_COUNT; i++)
    if ((o->files[i].written || i == OF_MANIFEST) && out_yaml_str(em, out_file_names[i])) return -1;
  if (out_yaml_seq(em, 0, 0)) return -1;
  /* Each result file's size and SHA-256: replay and report refuse a folder
  ** whose files are not these (docs/output-files.md "manifest.yaml"). */
  if (out_yaml_str(em, "integrity") || out_yaml_map(em, 1)) return -1;
  for (int i = 0; i < OF_COUNT; i++) {
    out_file *file = &o->files[i];
    /* results.sqlite holds the manifest itself (its manifest table) */
    if (!file->written || i == OF_MANIFEST || i == OF_SQLITE) continue;
    uint8_t digest[SHA256_DIGEST_SIZE];
    char hex[2 * SHA256_DIGEST_SIZE + 1];
    sha256_digest(&file->sha, SHA256_DIGEST_SIZE, digest);
    for (int k = 0; k < SHA256_DIGEST_SIZE; k++) snprintf(hex + 2 * k, 3, "%02x", digest[k]);
    if (out_yaml_str(em, out_file_names[i]) || out_yaml_map(em, 1) || out_yaml_str(em, "bytes")
        || out_yaml_int(em, (long long)file->bytes) || out_yaml_kv(em, "sha256", hex)
        || out_yaml_map(em, 0))
      return -1;
  }
  return out_yaml_map(em, 0);
}

/* The manifest's body, key by key in the order docs/output-files.md lists. */
static int out_yaml_body(tr_output *o, yaml_emitter_t *em) {
  const tr_options *opts = o->spec.opts;
  char started[40], finished[40];
  int series = opts->series >= 0 && opts->series <= SERIES_NONE ? opts->series : SERIES_SUMMARY;

  out_iso_time(started, sizeof started, o->started);
  out_iso_time(finished, sizeof finished, time(NULL));
  if (out_yaml_map(em, 1) || out_yaml_kv(em, "tool", "tightrope")
      || out_yaml_kv(em, "version", TR_VERSION) || out_yaml_command(opts, em)
      || out_yaml_scenario(o->spec.sc, em) || out_yaml_settings(o, series, em))
    return -1;
  if (out_yaml_kv(em, "seeds",
                  "run r of every variant and point uses the seed rng_run_seed(master, r), "
                  "derived from the master seed and the run index alone (common random "
                  "numbers: variants and points compare paired by run index)"))
    return -1;
  if (out_yaml_variants(o, em) || out_yaml_report_labels(o, em) || out_yaml_files(o, em)) return -1;
  if (out_yaml_kv(em, "started", started) || out_yaml_kv(em, "finished", finished)
      || out_yaml_map(em, 0))
    return -1;
  return 0;
}

static int out_write_manifest(tr_output *o) {
  out_file *file = &o->files[OF_MANIFEST];
  yaml_emitter_t em;
  yaml_event_t ev;
  int rc;

  if (out_stage(o, OF_MANIFEST)) return -1;
  if (!yaml_emitter_initialize(&em)) {
    out_oom(o, "the manifest");
    return -1;
  }
  yaml_emitter_set_output_file(&em, file->f);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, 78);
  rc = out_yaml_emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
          || out_yaml_emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
          || out_yaml_body(o, &em)
          || out_yaml_emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1))
          || out_yaml_emit(&em, &ev, yaml_stream_end_event_initialize(&ev))
          || !yaml_emitter_flush(&em)
      ? -1
      : 0;
  if (rc) {
    if (ferror(file->f) || em.error == YAML_WRITER_ERROR)
      out_write_error(o, file, errno ? errno : EIO);
    else if (!o->failed) {
      diag_error(o->d, NULL, 0, 0, "cannot write '%s': %s", file->final,
                 em.problem ? em.problem : "YAML emitter error");
      o->failed = 1;
    }
  }
  yaml_emitter_delete(&em);
  return rc;
}

/* ------------------------------------------------ experiment-wide files */

/* compare.csv rows of variant v against the baseline (variant 0), and
** their compare_points.csv rows. A pair is (point, run): run r of variant v
** at point p against run r of the baseline at point p; both used the same
** seed (common random numbers). point 0 pools every point (compare.csv),
** point p >= 1 takes that point alone (compare_points.csv). Per pair, an
** outcome contributes the difference of its indicators (1 when the run
** ended in that outcome, else 0) and a metric the difference of its final
** values; a pair with a run or a value missing is left out. */
/* Pooled compare.csv after a sweep: for each run r with at least one pair,
** the mean over the points of its differences (variant - baseline) of the
** indicator of outcome `item`, or of metric item - nresults's final value;
** written to means[], their number returned. */
static size_t out_compare_run_means(tr_output *o, int v, int item, double *means) {
  int nm = o->nmetrics, is_outcome = item < o->nresults, m = item - o->nresults;
  size_t n = 0;

  for (int r = 0; r < o->runs; r++) {
    double sum = 0;
    int count = 0;
    for (int p = 1; p <= o->spec.npoints; p++) {
      size_t gv = ((size_t)v * (size_t)o->spec.npoints + (size_t)p - 1) * (size_t)o->runs;
      size_t gb = ((size_t)p - 1) * (size_t)o->runs;
      double a, b;
      if (is_outcome) {
        int oa = o->run_outcomes[gv + (size_t)r], ob = o->run_outcomes[gb + (size_t)r];
        if (oa < 0 || ob < 0) continue;
        a = oa == item;
        b = ob == item;
      } else {
        a = o->run_finals[(gv + (size_t)r) * (size_t)nm + (size_t)m];
        b = o->run_finals[(gb + (size_t)r) * (size_t)nm + (size_t)m];
        if (isnan(a) || isnan(b)) continue;
      }
      sum += a - b;
      count++;
    }
    if (count) means[n++] = sum / count;
  }
  return n;
}

static int out_compare_variant(tr_output *o, int v, int point, double *mine, double *theirs,
                               double *diffs) {
  const tr_scenario *sc = o->spec.sc;
  int which = point ? OF_COMPARE_POINTS : OF_COMPARE;
  int first = point ? point : 1, last = point ? point : o->spec.npoints;
  int nm = o->nmetrics;

  for (int item = 0; item < o->nresults + nm; item++) {
    int is_outcome = item < o->nresults, m = item - o->nresults;
    double value, base_value, diff, lo, hi;
    size_t n = 0;

    for (int p = first; p <= last; p++) {
      size_t gv = ((size_t)v * (size_t)o->spec.npoints + (size_t)p - 1) * (size_t)o->runs;
      size_t gb = ((size_t)p - 1) * (size_t)o->runs;
      for (int r = 0; r < o->runs; r++) {
        double a, b;
        if (is_outcome) {
          int oa = o->run_outcomes[gv + (size_t)r], ob = o->run_outcomes[gb + (size_t)r];
          if (oa < 0 || ob < 0) continue;
          a = oa == item;
          b = ob == item;
        } else {
          a = o->run_finals[(gv + (size_t)r) * (size_t)nm + (size_t)m];
          b = o->run_finals[(gb + (size_t)r) * (size_t)nm + (size_t)m];
          if (isnan(a) || isnan(b)) continue;
        }
        mine[n] = a;
        theirs[n] = b;
        diffs[n] = a - b;
        n++;
      }
    }
    value = n ? gsl_stats_mean(mine, 1, n) : NAN;
    base_value = n ? gsl_stats_mean(theirs, 1, n) : NAN;
    if (first < last) {
      /* Pooled over points: run r has the same seed at every point, so its
      ** differences are correlated; the independent units are the runs.
      ** The interval is over each run's mean difference across the points
      ** (R - 1 degrees of freedom). */
      n = out_compare_run_means(o, v, item, diffs);
    }
    stats_paired(diffs, n, 0.95, &diff, &lo, &hi);

    out_row_start(&o->row);
    out_row_str(&o->row, o->spec.variant_names[v]);
    if (point) out_row_int(&o->row, point);
    out_row_str(&o->row, o->spec.variant_names[0]);
    out_row_str(&o->row, is_outcome ? "outcome" : "metric");
    out_row_str(&o->row, is_outcome ? out_outcome_name(o, item) : sc->metrics[m].name);
    out_row_num(&o->row, value);
    out_row_num(&o->row, base_value);
    out_row_num(&o->row, diff);
    out_row_num(&o->row, lo);
    out_row_num(&o->row, hi);
    if (out_emit(o, which)) return -1;
  }
  return 0;
}

static int out_write_compare(tr_output *o) {
  static const char *const cols[] = {"variant",        "baseline", "kind",   "name",   "value",
                                     "baseline_value", "diff",     "ci_low", "ci_high"};
  static const char *const point_cols[] = {"variant", "point",  "baseline",       "kind",
                                           "name",    "value",  "baseline_value", "diff",
                                           "ci_low",  "ci_high"};
  size_t pairs = (size_t)o->spec.npoints * (size_t)o->runs + 1;
  double *mine = malloc(pairs * sizeof *mine);
  double *theirs = malloc(pairs * sizeof *theirs);
  double *diffs = malloc(pairs * sizeof *diffs);
  int per_point = o->spec.npoints > 1, rc = -1;

  if (!mine || !theirs || !diffs) {
    out_oom(o, "compare.csv");
    goto done;
  }
  if (out_stage(o, OF_COMPARE) || out_header(o, OF_COMPARE, cols, 9, 0)) goto done;
  if (per_point
      && (out_stage(o, OF_COMPARE_POINTS) || out_header(o, OF_COMPARE_POINTS, point_cols, 10, 0)))
    goto done;
  for (int v = 1; v < o->spec.nvariants; v++) {
    if (out_compare_variant(o, v, 0, mine, theirs, diffs)) goto done;
    for (int p = 1; per_point && p <= o->spec.npoints; p++)
      if (out_compare_variant(o, v, p, mine, theirs, diffs)) goto done;
  }
  rc = 0;
done:
  free(mine);
  free(theirs);
  free(diffs);
  return rc;
}

/* points.csv: every point of the sweep, in sweep order. */
static int out_write_points(tr_output *o) {
  const tr_scenario *sc = o->spec.sc;
  int k = sc->nsweep;

  int saltelli = sc->sweep_method == SWEEP_SALTELLI, N = sc->sweep_points;

  if (out_stage(o, OF_POINTS)) return -1;
  out_row_start(&o->row);
  out_row_str(&o->row, "point");
  if (saltelli) {
    out_row_str(&o->row, "matrix");
    out_row_str(&o->row, "row");
  }
  for (int j = 0; j < k; j++) out_row_str(&o->row, sc->sweep[j].path.text);
  if (out_emit(o, OF_POINTS)) return -1;
  for (int p = 0; p < o->spec.npoints; p++) {
    out_row_start(&o->row);
    out_row_int(&o->row, p + 1);
    if (saltelli) { /* A, B, then A_B^(i) as AB1 .. ABk */
      char name[24];
      int m = p / N;
      if (m < 2) snprintf(name, sizeof name, "%s", m ? "B" : "A");
      else snprintf(name, sizeof name, "AB%d", m - 1);
      out_row_str(&o->row, name);
      out_row_int(&o->row, p % N + 1);
    }
    for (int j = 0; j < k; j++)
      out_row_num(&o->row, o->spec.points[(size_t)p * (size_t)k + (size_t)j]);
    if (out_emit(o, OF_POINTS)) return -1;
  }
  return 0;
}

/* sensitivity.csv: for each variant, each outcome (its share) and each
** metric (its final mean), computed per point on that variant's runs, the
** SRC and PRCC of every swept path (stats_sensitivity) and, after a
** saltelli sweep, its Sobol indices with bootstrap intervals
** (stats_sobol). Each variant is analysed on its own points: variants are
** never pooled, since a variant shifts the response at every point.
** docs/experiments.md gives the formulas. */
#define OUT_SOBOL_RESAMPLES 1000

/* sensitivity.csv: per variant and output, the SRC and PRCC of each swept parameter, and the
** Sobol indices under a Saltelli design. Long: the estimators share the scratch of each output's
** values over the points, filled once per variant and output. */
static int out_write_sensitivity(tr_output *o) {
  static const char *const cols[] = {"variant", "kind",   "name",    "path", "src",    "prcc",
                                     "s1",      "s1_low", "s1_high", "st",   "st_low", "st_high"};
  const tr_scenario *sc = o->spec.sc;
  int k = sc->nsweep, np = o->spec.npoints, nm = o->nmetrics;
  int saltelli = sc->sweep_method == SWEEP_SALTELLI;
  size_t N = saltelli ? (size_t)sc->sweep_points : 0;
  /* SRC and PRCC: over every point, or over A and B (the first 2N points:
  ** a sample of the input space; the A_B^(i) rows repeat A's values). */
  size_t nreg = saltelli ? 2 * N : (size_t)np;
  double *y = o->scratch; /* np values */
  double *ind = malloc(((size_t)k * 8 + 1) * sizeof *ind);
  gsl_rng *rng = saltelli ? gsl_rng_alloc(rng_type()) : NULL;
  int rc = -1;

  if (!ind || (saltelli && !rng)) {
    out_oom(o, "sensitivity.csv");
    goto done;
  }
  if (out_stage(o, OF_SENSITIVITY) || out_header(o, OF_SENSITIVITY, cols, 12, 0)) goto done;
  for (int v = 0; v < o->spec.nvariants; v++)
    for (int item = 0; item < o->nresults + nm; item++) {
      int is_outcome = item < o->nresults, m = item - o->nresults, defined = 1;
      double *src = ind, *prcc = ind + k, *s1 = ind + 2 * k, *s1_lo = ind + 3 * k,
             *s1_hi = ind + 4 * k, *st = ind + 5 * k, *st_lo = ind + 6 * k, *st_hi = ind + 7 * k;
      for (int i = 0; i < 8 * k; i++) ind[i] = NAN;
      for (int p = 0; p < np; p++) {
        size_t g = ((size_t)v * (size_t)np + (size_t)p) * (size_t)o->runs;
        double sum = 0;
        size_t n = 0;
        for (int r = 0; r < o->runs; r++) {
          if (is_outcome) {
            int oc = o->run_outcomes[g + (size_t)r];
            if (oc < 0) continue;
            sum += oc == item;
          } else {
            double x = o->run_finals[(g + (size_t)r) * (size_t)nm + (size_t)m];
            if (isnan(x)) continue;
            sum += x;
          }
          n++;
        }
        y[p] = n ? sum / (double)n : NAN;
        defined = defined && n > 0;
      }
      if (defined && stats_sensitivity(o->spec.points, nreg, (size_t)k, y, src, prcc)) {
        out_oom(o, "sensitivity.csv");
        goto done;
      }
      if (defined && saltelli) {
        /* The same resamples for every (variant, response): a stream of its
        ** own from the master seed (run index 2^64 - 1, which no run has). */
        gsl_rng_set(rng, (unsigned long)rng_run_seed(o->spec.opts->seed, UINT64_MAX));
        if (stats_sobol(y, y + N, y + 2 * N, N, (size_t)k, OUT_SOBOL_RESAMPLES, rng, 0.95, s1,
                        s1_lo, s1_hi, st, st_lo, st_hi)) {
          out_oom(o, "sensitivity.csv");
          goto done;
        }
      }
      for (int j = 0; j < k; j++) {
        out_row_start(&o->row);
        out_row_str(&o->row, o->spec.variant_names[v]);
        out_row_str(&o->row, is_outcome ? "outcome" : "metric");
        out_row_str(&o->row, is_outcome ? out_outcome_name(o, item) : sc->metrics[m].name);
        out_row_str(&o->row, sc->sweep[j].path.text);
        out_row_num(&o->row, src[j]);
        out_row_num(&o->row, prcc[j]);
        out_row_num(&o->row, s1[j]);
        out_row_num(&o->row, s1_lo[j]);
        out_row_num(&o->row, s1_hi[j]);
        out_row_num(&o->row, st[j]);
        out_row_num(&o->row, st_lo[j]);
        out_row_num(&o->row, st_hi[j]);
        if (out_emit(o, OF_SENSITIVITY)) goto done;
      }
    }
  rc = 0;
done:
  free(ind);
  if (rng) gsl_rng_free(rng);
  return rc;
}

/* ------------------------------------------------------------- finish */

/* The manifest as a table of (key, value): every scalar of manifest.yaml
** under its dotted path (a list's items under their index from 0), and the
** whole text under the key "manifest.yaml". */
static int out_sql_manifest_node(tr_output *o, sqlite3_stmt *st, const ynode *n, const char *key) {
  if (n->type == YN_SCALAR) {
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, n->str, (int)n->len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : out_sql_error(o, "writing the manifest table");
  }
  for (int i = 0; i < n->n; i++) {
    char *sub = NULL;
    int len = n->type == YN_MAP ? asprintf(&sub, "%s%s%s", key, *key ? "." : "", n->keys[i]->str)
                                : asprintf(&sub, "%s%s%d", key, *key ? "." : "", i);
    if (len < 0) {
      out_oom(o, "results.sqlite");
      return -1;
    }
    int rc = out_sql_manifest_node(o, st, n->items[i], sub);
    free(sub);
    if (rc) return -1;
  }
  return 0;
}

/* Tables of files without rows, the manifest table, the indexes; then the
** last commit, and the file closed and fsync'ed. */
static int out_sql_finish(tr_output *o) {
  static const char *const keys[] = {"variant", "point", "run", "tick"};
  for (int i = 0; i < OF_COUNT; i++) {
    out_file *file = &o->files[i];
    if (file->has_header && !file->insert && out_sql_create(o, i, NULL)) return -1;
  }
  for (int i = 0; i < OF_COUNT; i++) {
    out_file *file = &o->files[i];
    char cols[128] = "", *table = NULL, *sql = NULL;
    if (!file->insert) continue;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      for (int c = 0; c < file->ncolumns; c++)
        if (strcmp(file->columns[c], keys[k]) == 0)
          snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s\"%s\"", cols[0] ? ", " : "",
                   keys[k]);
    if (!cols[0]) continue;
    table = out_sql_table(i);
    if (!table
        || asprintf(&sql, "CREATE INDEX \"%s_keys\" ON \"%s\" (%s)", table, table, cols) < 0) {
      free(table);
      out_oom(o, "results.sqlite");
      return -1;
    }
    int rc = out_sql_exec(o, sql);
    free(sql);
    free(table);
    if (rc) return -1;
  }

  sqlite3_stmt *st = NULL;
  size_t len = 0;
  char *text = NULL;
  FILE *f = fopen(o->files[OF_MANIFEST].staged, "rb");
  if (f) {
    FILE *m = open_memstream(&text, &len);
    char buf[4096];
    size_t got;
    while (m && (got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, m);
    if (m) fclose(m);
    fclose(f);
  }
  ynode *root = text ? ynode_load_string(text, len, out_file_names[OF_MANIFEST], o->d) : NULL;
  int rc = -1;
  if (!root) out_sql_error(o, "cannot read the manifest back");
  else if (out_sql_exec(o, "CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT)") == 0) {
    if (sqlite3_prepare_v2(o->db, "INSERT INTO manifest VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
      out_sql_error(o, "writing the manifest table");
    else if (out_sql_manifest_node(o, st, root, "") == 0) {
      sqlite3_bind_text(st, 1, out_file_names[OF_MANIFEST], -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
      rc = sqlite3_step(st) == SQLITE_DONE ? 0 : out_sql_error(o, "writing the manifest table");
      sqlite3_reset(st);
    }
  }
  sqlite3_finalize(st);
  ynode_free(root);
  free(text);
  if (rc || out_sql_exec(o, "COMMIT")) return -1;
  for (int i = 0; i < OF_COUNT; i++)
    if (o->files[i].insert) {
      sqlite3_finalize(o->files[i].insert);
      o->files[i].insert = NULL;
    }
  if (sqlite3_close(o->db) != SQLITE_OK) return out_sql_error(o, "closing it");
  o->db = NULL;
  int fd = open(o->files[OF_SQLITE].staged, O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    out_write_error(o, &o->files[OF_SQLITE], errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

/* Flushes, fsyncs and closes a staging file, reporting any write error. */
static int out_close_file(tr_output *o, int which) {
  out_file *file = &o->files[which];
  FILE *f = file->f;
  int err = 0;

  if (!f) return 0;
  file->f = NULL;
  if (fflush(f) != 0 || ferror(f)) err = errno ? errno : EIO;
  else if (fsync(fileno(f)) != 0 && errno != EINVAL) err = errno;
  if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
  if (err) {
    out_write_error(o, file, err);
    return -1;
  }
  return 0;
}

static void out_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Writes the aggregated files of an experiment and moves every file into place, the manifest
** last, as one step that an interruption leaves whole or not at all (docs/output-files.md).
** Long: the move into place and its undo on failure must be read together: the backups, the
** renames and the rollback share their indices. */
int out_finish(tr_output *o, tr_diag *d) {
  int rc = -1;

  if (d) o->d = d;
  if (o->failed) goto done;

  /* The last group, and any groups after it that got no run. */
  for (;;) {
    if (out_flush_group(o)) goto done;
    if (o->group + 1 >= o->ngroups) break;
    o->group++;
  }
  if (o->spec.nvariants > 1 && out_write_compare(o)) goto done;
  if (o->spec.points && o->spec.sc->nsweep > 0 && (out_write_points(o) || out_write_sensitivity(o)))
    goto done;
  if (out_write_manifest(o)) goto done;
  for (int i = 0; i < OF_COUNT; i++)
    if (out_close_file(o, i)) goto done;
  if (o->db && out_sql_finish(o)) goto done;
  out_fsync_dir(o->staging);

  /* Every file is complete: move them into place, manifest last, as one
  ** transaction. First check that every target can be replaced and keep a
  ** hard link of each earlier file in the staging folder; if a rename then
  ** fails, the earlier files are put back: the folder holds one complete
  ** experiment or the other, never a mix. */
  int order[OF_COUNT], n = 0;
  for (int i = 0; i < OF_COUNT; i++)
    if (i != OF_MANIFEST) order[n++] = i;
  order[n++] = OF_MANIFEST;
  char *backup[OF_COUNT] = {0};
  int done_upto = -1, manifest_removed = 0;
  for (int k = 0; k < n; k++) {
    out_file *file = &o->files[order[k]];
    struct stat st;
    if (lstat(file->final, &st) != 0) {
      if (errno == ENOENT) continue;
      out_write_error(o, file, errno);
      goto rollback;
    }
    if (!S_ISREG(st.st_mode)) {
      out_write_error(o, file, S_ISDIR(st.st_mode) ? EISDIR : EEXIST);
      goto rollback;
    }
    char *b = NULL;
    if (asprintf(&b, "%s/previous-%s", o->staging, out_file_names[order[k]]) < 0) b = NULL;
    backup[order[k]] = b;
    if (!b || link(file->final, b) != 0) {
      out_write_error(o, file, b ? errno : ENOMEM);
      goto rollback;
    }
  }
  /* The old manifest goes first: from here until the new one is renamed
  ** in, the folder has none, so a crash in between leaves a folder that
  ** replay and report refuse instead of one mixing two experiments. */
  if (backup[OF_MANIFEST]) {
    if (unlink(o->files[OF_MANIFEST].final) != 0) {
      out_write_error(o, &o->files[OF_MANIFEST], errno);
      goto rollback;
    }
    manifest_removed = 1;
    out_fsync_dir(o->dir);
  }
  for (int k = 0; k < n; k++) {
    out_file *file = &o->files[order[k]];
    if (order[k] == OF_MANIFEST) out_fsync_dir(o->dir); /* every result file is in place first */
    if (file->written ? rename(file->staged, file->final) != 0
                      : unlink(file->final) != 0 && errno != ENOENT) {
      out_write_error(o, file, errno);
      goto rollback;
    }
    done_upto = k;
  }
  for (int i = 0; i < OF_COUNT; i++) free(backup[i]);
  out_fsync_dir(o->dir);
  rc = 0;
  goto done;

rollback:
  for (int k = done_upto; k >= 0; k--) {
    out_file *file = &o->files[order[k]];
    if (backup[order[k]]) rename(backup[order[k]], file->final);
    else unlink(file->final);
  }
  if (manifest_removed && done_upto < n - 1)
    rename(backup[OF_MANIFEST], o->files[OF_MANIFEST].final);
  for (int i = 0; i < OF_COUNT; i++) free(backup[i]);

done:
  out_abort(o); /* removes the (now empty) staging folder */
  return rc;
}

/* ------------------------------------------------- reading a folder back */

static const char *out_kind(mode_t m);

/* SHA-256 (hex) of a regular file opened without following a symlink; -1
** when it cannot be read. */
static int out_file_sha256(const char *path, char hex[65]) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  unsigned char chunk[65536];
  ssize_t got;
  while ((got = read(fd, chunk, sizeof chunk)) > 0) sha256_update(&ctx, (size_t)got, chunk);
  close(fd);
  if (got < 0) return -1;
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  for (int k = 0; k < SHA256_DIGEST_SIZE; k++) snprintf(hex + 2 * k, 3, "%02x", digest[k]);
  return 0;
}

/* Checks that dir holds a whole output of ours: its manifest, and every file the manifest lists
** with its size and digest; 0, or -1 (reported). Long: the manifest's checks and each listed
** file's checks share the parsed manifest and the one failure flag. */
int out_verify(const char *dir, tr_diag *d) {
  char *mpath = fs_join(dir, "manifest.yaml");
  struct stat st;
  int bad = 0;

  if (!mpath) {
    diag_error(d, NULL, 0, 0, "out of memory");
    return -1;
  }
  if (lstat(mpath, &st) != 0) {
    /* no manifest: result files here mean an install that did not finish */
    for (int i = 0; i < OF_COUNT && !bad; i++) {
      char *p = fs_join(dir, out_file_names[i]);
      if (p && lstat(p, &st) == 0) {
        diag_error(d, dir, 0, 0,
                   "holds %s but no manifest.yaml: its results are incomplete "
                   "(a run that wrote them was stopped while installing them); run the "
                   "experiment again into this folder",
                   out_file_names[i]);
        bad = 1;
      }
      free(p);
    }
    free(mpath);
    return bad ? -1 : 0;
  }
  if (!S_ISREG(st.st_mode)) {
    diag_error(d, mpath, 0, 0, "is not a regular file (%s)",
               S_ISLNK(st.st_mode)       ? "a symbolic link"
                   : S_ISDIR(st.st_mode) ? "a folder"
                                         : "a device, pipe or socket");
    free(mpath);
    return -1;
  }
  ynode *m = ynode_load_file(mpath, d);
  const ynode *integ = m ? ynode_get(m, "integrity") : NULL;
  if (!m) bad = 1;
  for (int i = 0; m && !integ && i < OF_COUNT; i++) {
    /* a manifest of an earlier version: no sizes to check, but still only
    ** regular files are read */
    char *p = fs_join(dir, out_file_names[i]);
    if (p && lstat(p, &st) == 0 && !S_ISREG(st.st_mode)) {
      diag_error(d, p, 0, 0, "is %s, not a result file", out_kind(st.st_mode));
      bad = 1;
    }
    free(p);
  }
  /* Only results.sqlite written (--format sqlite): CSV files beside it are
  ** not the experiment's (report exports its tables as CSV next to a link
  ** of the manifest), so only the listed ones are checked. */
  int only_db = integ && integ->type == YN_MAP && integ->n == 0;
  for (int i = 0; integ && i < OF_COUNT; i++) {
    if (i == OF_MANIFEST || i == OF_SQLITE) continue;
    const ynode *e = integ->type == YN_MAP ? ynode_get(integ, out_file_names[i]) : NULL;
    const ynode *bytes = e ? ynode_get(e, "bytes") : NULL, *sha = e ? ynode_get(e, "sha256") : NULL;
    char *p = fs_join(dir, out_file_names[i]);
    int exists = p && lstat(p, &st) == 0;
    char hex[65];
    if (!p) {
      bad = 1;
    } else if (!e) {
      if (exists && !only_db) {
        diag_error(d, p, 0, 0,
                   "does not belong to the experiment of %s (it is not listed "
                   "there); remove it, or run the experiment again into this folder",
                   mpath);
        bad = 1;
      }
    } else if (!exists) {
      diag_error(d, p, 0, 0, "is missing (%s lists it)", mpath);
      bad = 1;
    } else if (!S_ISREG(st.st_mode)) {
      diag_error(d, p, 0, 0, "is not a regular file (%s)", out_kind(st.st_mode));
      bad = 1;
    } else if (!bytes || bytes->type != YN_SCALAR || !sha || sha->type != YN_SCALAR
               || strtoull(bytes->str, NULL, 10) != (unsigned long long)st.st_size
               || out_file_sha256(p, hex) != 0 || strcmp(hex, sha->str) != 0) {
      diag_error(d, p, 0, 0,
                 "is not the file %s lists (its size or SHA-256 differs): the "
                 "folder mixes two experiments' files; run the experiment again into this folder",
                 mpath);
      bad = 1;
    }
    free(p);
  }
  ynode_free(m);
  free(mpath);
  return bad ? -1 : 0;
}

/* Whether s is well-formed UTF-8 (no overlongs, surrogates or bytes past
** U+10FFFF). */
static int out_utf8_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    int n = c < 0x80         ? 0
        : (c & 0xE0) == 0xC0 ? 1
        : (c & 0xF0) == 0xE0 ? 2
        : (c & 0xF8) == 0xF0 ? 3
                             : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4)) return 0;
    unsigned cp = n ? c & (0x3Fu >> n) : c;
    for (int k = 1; k <= n; k++) {
      if ((p[k] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[k] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    p += n + 1;
  }
  return 1;
}

static const char *out_kind(mode_t m) {
  return S_ISLNK(m)              ? "a symbolic link"
      : S_ISDIR(m)               ? "a folder"
      : S_ISFIFO(m)              ? "a pipe (FIFO)"
      : S_ISCHR(m) || S_ISBLK(m) ? "a device"
      : S_ISSOCK(m)              ? "a socket"
                                 : "not a regular file";
}

/* Checks, before an experiment runs, that its output folder can be written and is ours to
** replace: no link, device or pipe in place of our files, no foreign folder holding files with
** our names (without --force), a whole earlier output under --resume; TR_OK or an error
** (reported). Long: a list of independent refusals, each a few lines, checked one after the
** other before anything is written. */
int out_check_target(const tr_scenario *sc, const tr_options *opts, tr_diag *d) {
  const char *dir = opts->out;
  struct stat st;

  if (!out_utf8_ok(dir)) {
    diag_error(d, NULL, 0, 0,
               "the output folder's name is not valid UTF-8 (the manifest, a "
               "UTF-8 file, could not name it); choose another -o");
    return TR_EUSAGE;
  }
  if (!out_utf8_ok(sc->path)) {
    diag_error(d, NULL, 0, 0,
               "the scenario's path is not valid UTF-8 (the manifest, a UTF-8 "
               "file, could not name it); rename the file or its folder");
    return TR_EUSAGE;
  }
  char *real = realpath(dir, NULL);
  if (real) {
    const char *home = getenv("HOME");
    char *realhome = home && *home ? realpath(home, NULL) : NULL;
    int root = strcmp(real, "/") == 0, ishome = realhome && strcmp(real, realhome) == 0;
    free(realhome);
    free(real);
    if (root || ishome) {
      diag_error(d, NULL, 0, 0,
                 "-o %s is %s: tightrope replaces and removes result files in its "
                 "output folder, so it refuses to use that one; give a folder of its own (e.g. "
                 "-o results/NAME)",
                 dir, root ? "the root folder" : "your home folder");
      return TR_EUSAGE;
    }
  }
  if (lstat(dir, &st) != 0) return TR_OK;                         /* created later */
  if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) return TR_OK; /* journal_open reports it */

  /* Our own folder and files: a symbolic link, device or pipe in their
  ** place would send our writes elsewhere. */
  static const char *const ours[] = {".tightrope-partial", ".tightrope-partial/experiment",
                                     ".tightrope-partial/runs.journal", NULL};
  int bad = 0;
  for (int i = 0; i < OF_COUNT + 3 && !bad; i++) {
    const char *name = i < OF_COUNT ? out_file_names[i] : ours[i - OF_COUNT];
    char *p = fs_join(dir, name);
    if (p && lstat(p, &st) == 0) {
      int want_dir = i == OF_COUNT;
      if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        diag_error(d, p, 0, 0,
                   "is %s where tightrope keeps its own %s; remove it, or choose "
                   "another -o",
                   out_kind(st.st_mode), want_dir ? "folder" : "file");
        bad = 1;
      }
    }
    free(p);
  }
  if (bad) return TR_EOUTPUT;

  /* A folder that is not ours but holds files with our names. */
  char *mpath = fs_join(dir, "manifest.yaml"), *ppath = fs_join(dir, ".tightrope-partial");
  int has_manifest = mpath && lstat(mpath, &st) == 0;
  int ours_m = has_manifest && manifest_is_ours(mpath);
  int has_partial = ppath && lstat(ppath, &st) == 0;
  free(ppath);
  if (!ours_m && !has_partial && !opts->force) {
    char found[512] = "";
    size_t used = 0;
    for (int i = 0; i < OF_COUNT; i++) {
      char *p = fs_join(dir, out_file_names[i]);
      if (p && lstat(p, &st) == 0 && used < sizeof found)
        used += (size_t)snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "",
                                 out_file_names[i]);
      free(p);
    }
    if (used) {
      diag_error(d, dir, 0, 0,
                 "is not a tightrope output folder (%s) but holds %s: the results "
                 "would replace or remove them; choose another -o, or add --force",
                 has_manifest ? "its manifest.yaml was not written by tightrope"
                              : "no manifest.yaml",
                 found);
      free(mpath);
      return TR_EOUTPUT;
    }
  }
  free(mpath);

  /* --resume rebuilds every result file from the journal and replaces the
  ** ones in the folder. Files that do not match the manifest beside them
  ** were edited or copied in from elsewhere: they are not an experiment's,
  ** possibly someone's own work, so they are kept unless --force. A folder
  ** with no manifest (an install that was stopped) is what --resume is for. */
  if (opts->resume && ours_m && !opts->force && out_verify(dir, d)) {
    diag_error(d, NULL, 0, 0,
               "--resume would replace the files of %s, which do not all belong "
               "to its manifest.yaml (they were changed after it was written); move them away "
               "(the journal keeps the finished runs) and --resume again, or add --force",
               dir);
    return TR_EOUTPUT;
  }
  return TR_OK;
}
