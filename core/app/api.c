/*
** api.c — the public API's options object, scenario queries and entry
** points (docs/c-api.md). The options a user builds keep what was set; an
** experiment works on a resolved copy with the scenario's defaults filled
** in (opts_resolve), which is what the rest of the engine reads.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "scenario/instances.h"
#include "scenario/options.h"
#include "run/lua.h"
#include "experiment/output.h"
#include "experiment/manifest.h"
#include "app/replay.h"
#include "experiment/sqlite.h"
#include "app/report.h"
#include "scenario/compose.h"
#include "app/scaffold.h"
#include "app/calibrate.h"
#include "experiment/experiment.h"
#include "app/api.h"

const char *tr_version(void) { return TR_VERSION; }

void tr_did_you_mean(char *buf, size_t size, const char *word, const char *const *names, int n) {
  diag_did_you_mean(buf, size, word, names, n);
}

const char *tr_suggest(const char *word, const char *const *names, int n) {
  return diag_suggest(word, names, n);
}

/* -------------------------------------------------------------- options */
tr_options *tr_options_new(void) {
  tr_options *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  o->series = SERIES_SUMMARY;
  o->format = TR_FORMAT_CSV;
  o->quiet = 1;
  o->cancel = &o->cancel_flag;
  return o;
}

static void free_strings(char **v, int n) {
  for (int i = 0; i < n; i++) free(v[i]);
  free(v);
}

void tr_options_free(tr_options *o) {
  if (!o) return;
  free(o->out_owned);
  free_strings(o->sets, o->nsets);
  free_strings(o->variants, o->nvariants);
  free_strings(o->argv, o->argc);
  free(o->sweep_file);
  free(o->variants_file);
  free(o->posterior_file);
  free(o);
}

int tr_options_set_runs(tr_options *o, int runs) {
  if (!o || runs < 1) return -1;
  o->runs = runs;
  o->has_runs = 1;
  return 0;
}

int tr_options_set_ticks(tr_options *o, int ticks) {
  if (!o || ticks < 0 || ticks > 1000000000) return -1;
  o->ticks = ticks;
  o->has_ticks = 1;
  return 0;
}

int tr_options_set_seed(tr_options *o, uint64_t seed) {
  if (!o) return -1;
  o->seed = seed;
  o->has_seed = 1;
  return 0;
}

int tr_options_set_threads(tr_options *o, int threads) {
  if (!o || threads < 1 || threads > 4096) return -1;
  o->threads = threads;
  return 0;
}

int tr_options_set_precision(tr_options *o, double half_width) {
  if (!o || !(half_width > 0 && half_width <= 0.5)) return -1;
  o->precision = half_width;
  return 0;
}

int tr_options_set_batch(tr_options *o, int batch) {
  if (!o || batch < 1) return -1;
  o->batch = batch;
  return 0;
}

int tr_options_set_out(tr_options *o, const char *dir) {
  if (!o) return -1;
  char *copy = NULL;
  if (dir && !(copy = strdup(dir))) return -1;
  free(o->out_owned);
  o->out_owned = copy;
  o->out = copy;
  return 0;
}

static int set_string(char **field, const char *value) {
  char *copy = NULL;
  if (value && !(copy = strdup(value))) return -1;
  free(*field);
  *field = copy;
  return 0;
}

int tr_options_set_posterior(tr_options *o, const char *file) {
  return o ? set_string(&o->posterior_file, file) : -1;
}

int tr_options_set_sweep_file(tr_options *o, const char *path) {
  return o ? set_string(&o->sweep_file, path) : -1;
}

int tr_options_set_variants_file(tr_options *o, const char *path) {
  return o ? set_string(&o->variants_file, path) : -1;
}

tr_scenario *tr_scenario_load(const char *path, tr_diag *d) {
  return scenario_load_with(&script_checks, path, NULL, NULL, NULL, 0, d);
}

tr_scenario *tr_scenario_load_string(const char *text, size_t len, const char *name, tr_diag *d) {
  return scenario_load_text(&script_checks, text, len, name, d);
}

tr_scenario *tr_scenario_load_options(const char *path, const tr_options *o, tr_diag *d) {
  if (!o) return tr_scenario_load(path, d);
  tr_scenario *sc = scenario_load_with(&script_checks, path, o->sweep_file, o->variants_file,
                                       o->sets, o->nsets, d);
  if (sc && o->strict && diag_count_level(d, DIAG_WARNING)) {
    diag_warnings_to_errors(d); /* --strict: a warning refuses the scenario */
    tr_scenario_free(sc);
    return NULL;
  }
  return sc;
}

int tr_new(const char *dir, tr_diag *d) { return scaffold_new(dir, d); }

static int push_string(char ***v, int *n, const char *s) {
  char *copy = strdup(s);
  char **grown = copy ? realloc(*v, (size_t)(*n + 2) * sizeof *grown) : NULL;
  if (!grown) {
    free(copy);
    return -1;
  }
  grown[(*n)++] = copy;
  grown[*n] = NULL;
  *v = grown;
  return 0;
}

int tr_options_add_set(tr_options *o, const char *path_eq_value) {
  if (!o || !path_eq_value || !strchr(path_eq_value, '=')) return -1;
  return push_string(&o->sets, &o->nsets, path_eq_value);
}

int tr_options_add_variant(tr_options *o, const char *name) {
  if (!o || !name) return -1;
  return push_string(&o->variants, &o->nvariants, name);
}

int tr_options_set_series(tr_options *o, int series) {
  if (!o || series < TR_SERIES_SUMMARY || series > TR_SERIES_NONE) return -1;
  o->series = series;
  return 0;
}

int tr_options_set_events(tr_options *o, int on) {
  if (!o) return -1;
  o->events = on != 0;
  return 0;
}

int tr_options_set_format(tr_options *o, int format) {
  if (!o || format < TR_FORMAT_NONE || format > TR_FORMAT_BOTH) return -1;
  o->format = format;
  return 0;
}

int tr_options_set_resume(tr_options *o, int on) {
  if (!o) return -1;
  o->resume = on != 0;
  return 0;
}

int tr_options_set_keep_going(tr_options *o, int on) {
  if (!o) return -1;
  o->keep_going = on != 0;
  return 0;
}

int tr_options_set_strict(tr_options *o, int on) {
  if (!o) return -1;
  o->strict = on != 0;
  return 0;
}

int tr_options_set_force(tr_options *o, int on) {
  if (!o) return -1;
  o->force = on != 0;
  return 0;
}

int tr_options_set_progress(tr_options *o, int on) {
  if (!o) return -1;
  o->quiet = !on;
  return 0;
}

int tr_options_set_signals(tr_options *o, int on) {
  if (!o) return -1;
  o->signals = on != 0;
  return 0;
}

int tr_options_set_command(tr_options *o, int argc, const char *const *argv) {
  if (!o || argc < 0 || (argc > 0 && !argv)) return -1;
  char **v = NULL;
  int n = 0;
  for (int i = 0; i < argc; i++)
    if (push_string(&v, &n, argv[i] ? argv[i] : "")) {
      free_strings(v, n);
      return -1;
    }
  free_strings(o->argv, o->argc);
  o->argv = v;
  o->argc = n;
  return 0;
}

int tr_options_set_callback(tr_options *o, tr_run_callback fn, void *ctx) {
  if (!o) return -1;
  o->callback = fn;
  o->callback_ctx = ctx;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (!*s || *s == '-' || *s == '+') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = (uint64_t)v;
  return 0;
}

int tr_options_load_manifest(tr_options *o, const char *outdir, char **scenario, tr_diag *d) {
  char *path = manifest_path(outdir);
  *scenario = NULL;
  if (!path) return TR_EOUTPUT;
  if (out_verify(outdir, d)) { /* one finished experiment, or refused */
    free(path);
    return TR_EUSAGE;
  }
  ynode *m = manifest_load(outdir, d);
  int status = TR_OK;
  const ynode *file = manifest_get(m, "scenario", "abspath");
  if (!file) file = manifest_get(m, "scenario", "path");
  const ynode *seed = manifest_get(m, "settings", "seed");
  const ynode *ticks = manifest_get(m, "settings", "ticks");
  const ynode *sets = manifest_get(m, "settings", "set");
  const ynode *sweep = manifest_get(m, "scenario", "sweep_file");
  const ynode *post_file = ynode_get(manifest_get(m, "settings", "posterior"), "file");
  const ynode *variants = manifest_get(m, "scenario", "variants_file");
  uint64_t seed_value = 0, ticks_value = 0;
  if (!m || !file || file->type != YN_SCALAR || !seed || seed->type != YN_SCALAR
      || parse_u64(seed->str, &seed_value) || !ticks || ticks->type != YN_SCALAR
      || parse_u64(ticks->str, &ticks_value) || ticks_value > 1000000000) {
    if (m)
      diag_error(d, path, 0, 0, "not a tightrope manifest (scenario path, seed or ticks missing)");
    status = TR_EUSAGE;
  } else {
    tr_options_set_seed(o, seed_value);
    tr_options_set_ticks(o, (int)ticks_value);
    *scenario = strdup(file->str);
    if (sweep && sweep->type == YN_SCALAR) tr_options_set_sweep_file(o, sweep->str);
    if (post_file && post_file->type == YN_SCALAR) tr_options_set_posterior(o, post_file->str);
    if (variants && variants->type == YN_SCALAR) tr_options_set_variants_file(o, variants->str);
    int from_cli = o->nsets > 0;
    for (int i = 0; !from_cli && sets && sets->type == YN_SEQ && i < sets->n; i++)
      if (sets->items[i]->type == YN_SCALAR) tr_options_add_set(o, sets->items[i]->str);
  }
  ynode_free(m);
  free(path);
  return status;
}

int opts_resolve(const tr_options *opts, const tr_scenario *sc, tr_options *o, char *out_buf,
                 size_t out_size, tr_diag *d) {
  *o = *opts;
  /* Run until precise (docs/experiments.md): the runs are the ceiling. */
  if (!(o->precision > 0)) o->precision = sc->precision;
  if (o->batch < 1) o->batch = sc->batch > 0 ? sc->batch : 100;
  o->runs = opts->has_runs ? opts->runs : sc->has_runs ? sc->runs : o->precision > 0 ? 10000 : 100;
  o->ticks = opts->has_ticks ? opts->ticks : sc->has_ticks ? sc->ticks : 100;
  o->seed = opts->has_seed ? opts->seed : sc->has_seed ? sc->seed : 1;
  o->has_runs = o->has_ticks = o->has_seed = 1;
  if (o->threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = n > 0 ? (int)n : 1;
  }
  for (int i = 0; i < o->nvariants; i++) {
    int found = strcmp(o->variants[i], "baseline") == 0; /* it always runs */
    const char *names[sc->nvariants + 1];
    for (int v = 0; v < sc->nvariants; v++) {
      names[v] = sc->variants[v].name;
      if (strcmp(names[v], o->variants[i]) == 0) found = 1;
    }
    if (!found) {
      char hint[DIAG_HINT_SIZE] = "";
      diag_did_you_mean(hint, sizeof hint, o->variants[i], names, sc->nvariants);
      diag_error(d, NULL, 0, 0, "--variant %s: no such variant in %s%s", o->variants[i], sc->path,
                 hint);
      return TR_EUSAGE;
    }
  }
  if (!opts->out) {
    snprintf(out_buf, out_size, "results/%s", sc->id);
    o->out = out_buf;
  }
  return TR_OK;
}

/* ------------------------------------------------------------- scenario */
int tr_scenario_compile(const tr_scenario *sc, tr_diag *d) { return script_compile_all(sc, d); }

const char *tr_scenario_id(const tr_scenario *sc) { return sc ? sc->id : NULL; }

int tr_scenario_count(const tr_scenario *sc, int what) {
  if (!sc) return 0;
  switch (what) {
    case TR_ACTORS: return sc->nactors;
    case TR_RELATIONS: return sc->nrels;
    case TR_METRICS: return sc->nmetrics;
    case TR_OUTCOMES: return sc->noutcomes;
    case TR_VARIANTS: return sc->nvariants;
    case TR_NETWORKS: return sc->nnetrules;
  }
  return 0;
}

const char *tr_scenario_name(const tr_scenario *sc, int what, int i) {
  if (!sc || i < 0) return NULL;
  switch (what) {
    case TR_ACTORS: return i < sc->nactors ? sc->actors[i].id : NULL;
    case TR_RELATIONS: return NULL; /* relations have no single name */
    case TR_METRICS: return i < sc->nmetrics ? sc->metrics[i].name : NULL;
    case TR_OUTCOMES:
      return i < sc->noutcomes ? sc->outcomes[i].name
          : i == sc->noutcomes ? sc->default_outcome
                               : NULL;
    case TR_VARIANTS: return i < sc->nvariants ? sc->variants[i].name : NULL;
  }
  return NULL;
}

/* ----------------------------------------------------------- experiment */
int tr_experiment_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d) {
  if (!sc || !opts) return TR_EUSAGE;
  gsl_set_error_handler_off(); /* GSL reports through return values, never aborts */
  tr_options o;
  char out[4096];
  int status = opts_resolve(opts, sc, &o, out, sizeof out, d);
  if (status) return status;
  if (o.format == TR_FORMAT_NONE && o.resume) {
    diag_error(d, NULL, 0, 0, "--resume needs an output folder (the format is none)");
    return TR_EUSAGE;
  }
  __atomic_store_n(o.cancel, 0, __ATOMIC_SEQ_CST);
  tr_posterior *post = NULL;
  if (o.posterior_file && !(post = posterior_load(sc, o.posterior_file, d))) return TR_EINVALID;
  if (post) o.posterior = post;
  status = exp_run(sc, &o, d);
  posterior_free(post);
  return status;
}

int tr_experiment_check(const tr_scenario *sc, const tr_options *opts, int *npoints, tr_diag *d) {
  if (!sc || !opts) return TR_EUSAGE;
  gsl_set_error_handler_off();
  tr_options o;
  char out[4096];
  int status = opts_resolve(opts, sc, &o, out, sizeof out, d);
  if (status) return status;
  tr_plan plan;
  params_notes(sc, d);
  tr_posterior *post = NULL;
  if (o.posterior_file && !(post = posterior_load(sc, o.posterior_file, d))) status = TR_EINVALID;
  if (post) o.posterior = post;
  if (exp_plan(sc, &o, &plan, d)) status = TR_EINVALID;
  else if (npoints) *npoints = plan.npoints;
  exp_plan_free(&plan);
  posterior_free(post);
  return status;
}

int tr_replay(const tr_scenario *sc, const tr_options *opts, const char *variant, int point,
              int run, const char *outdir, tr_diag *d) {
  if (!sc || !opts || run < 1 || point < 1) return TR_EUSAGE;
  gsl_set_error_handler_off();
  tr_options base = *opts, o;
  base.nvariants = 0; /* replay looks the variant up itself */
  char out[4096];
  int status = opts_resolve(&base, sc, &o, out, sizeof out, d);
  if (status) return status;
  /* The recorded row: runs.csv, else results.sqlite's runs table. */
  char *runs_csv = NULL;
  struct stat st;
  if (outdir && asprintf(&runs_csv, "%s/runs.csv", outdir) < 0) return TR_EOUTPUT;
  if (runs_csv && stat(runs_csv, &st) != 0) {
    char *db = NULL;
    if (asprintf(&db, "%s/results.sqlite", outdir) >= 0 && stat(db, &st) == 0) {
      free(runs_csv);
      runs_csv = db;
    } else {
      free(db);
    }
  }
  /* a run of --posterior drew its parameters: draw the same particle again */
  tr_posterior *post = NULL;
  if (o.posterior_file && !(post = posterior_load(sc, o.posterior_file, d))) {
    free(runs_csv);
    return TR_EINVALID;
  }
  if (post) o.posterior = post;
  status = replay_run(sc, &o, variant, point, run, runs_csv, d);
  posterior_free(post);
  free(runs_csv);
  return status;
}

/* report reads CSV files. A folder with results.sqlite and no CSV files is
** reported from a working copy: OUTDIR/.tightrope-report-XXXXXX/ gets
** manifest.yaml and every table but series, events and manifest as the CSV
** file it mirrors; its report/ folder then replaces OUTDIR/report/.
** Long: the working copy is made, used and removed in one place so that every exit path removes
** it. */
static int report_sqlite(const char *outdir, const char *db, const report_opts *o, tr_diag *d) {
  char *work = NULL, *path = NULL, *from = NULL, *to = NULL, *old = NULL;
  char **tables = NULL;
  int status = TR_EOUTPUT, n = -1;
  /* the folder itself is checked; the working copy made from it is ours */
  if (out_verify(outdir, d)) return TR_EINVALID;
  report_opts mine = {NULL, NULL, NULL, 1, 1, 0, 1};
  if (o) {
    mine = *o;
    mine.verified = 1;
  }
  o = &mine;
  if (asprintf(&work, "%s/.tightrope-report-XXXXXX", outdir) < 0) return TR_EOUTPUT;
  if (!mkdtemp(work)) {
    diag_error(d, NULL, 0, 0, "cannot write in '%s': %s", outdir, strerror(errno));
    free(work);
    return TR_EOUTPUT;
  }
  if (asprintf(&from, "%s/manifest.yaml", outdir) < 0
      || asprintf(&to, "%s/manifest.yaml", work) < 0)
    goto out;
  /* The folder is checked as it is; the working copy's manifest leaves out
  ** its integrity block, which lists the CSV files written (none here), so
  ** that report accepts the exported ones. */
  if (out_verify(outdir, d)) {
    status = TR_EINVALID;
    goto out;
  }
  FILE *in = fopen(from, "r"), *copy = in ? fopen(to, "w") : NULL;
  if (in && !copy) {
    diag_error(d, NULL, 0, 0, "cannot write '%s': %s", to, strerror(errno));
    fclose(in);
    goto out;
  }
  if (copy) {
    char *line = NULL;
    size_t cap = 0;
    int skipping = 0;
    while (getline(&line, &cap, in) > 0) {
      if (strncmp(line, "integrity:", 10) == 0) skipping = 1;
      else if (line[0] != ' ' && line[0] != '-') skipping = 0;
      if (!skipping) fputs(line, copy);
    }
    free(line);
    fclose(in);
    if (fclose(copy) != 0) {
      diag_error(d, NULL, 0, 0, "cannot write '%s': %s", to, strerror(errno));
      goto out;
    }
  }
  n = sqlite_tables(db, &tables);
  if (n < 0) {
    diag_error(d, db, 0, 0, "cannot open the database");
    status = TR_EINVALID;
    goto out;
  }
  for (int i = 0; i < n; i++) {
    if (!strcmp(tables[i], "series") || !strcmp(tables[i], "events")
        || !strcmp(tables[i], "manifest"))
      continue;
    free(path);
    path = NULL;
    if (asprintf(&path, "%s/%s.csv", work, tables[i]) < 0
        || sqlite_export_csv(db, tables[i], path, d) < 0)
      goto out;
  }
  status = report_run_opts(work, o, d);
  if (status != TR_OK) goto out;
  free(from);
  free(to);
  from = to = NULL;
  if (asprintf(&from, "%s/report", work) < 0 || asprintf(&to, "%s/report", outdir) < 0
      || asprintf(&old, "%s/previous-report", work) < 0) {
    status = TR_EOUTPUT;
    goto out;
  }
  struct stat st;
  if ((lstat(to, &st) == 0 && rename(to, old) != 0) || rename(from, to) != 0) {
    diag_error(d, NULL, 0, 0, "cannot write '%s': %s", to, strerror(errno));
    status = TR_EOUTPUT;
  }
out:
  fs_remove_tree(work);
  for (int i = 0; i < n; i++) free(tables[i]);
  free(tables);
  free(work);
  free(path);
  free(from);
  free(to);
  free(old);
  return status;
}

int tr_report(const char *outdir, tr_diag *d) { return report_any(outdir, NULL, d); }

/* A calibration's folder: posterior.csv beside a manifest with a calibration. */
static int cal_folder(const char *outdir) {
  char *p = NULL;
  struct stat st;
  int yes =
      asprintf(&p, "%s/posterior.csv", outdir) >= 0 && lstat(p, &st) == 0 && S_ISREG(st.st_mode);
  free(p);
  return yes;
}

int report_any(const char *outdir, const report_opts *o, tr_diag *d) {
  if (!outdir) return TR_EUSAGE;
  gsl_set_error_handler_off();
  char *csv = NULL, *db = NULL;
  struct stat st;
  int status;
  if (asprintf(&csv, "%s/outcomes.csv", outdir) < 0
      || asprintf(&db, "%s/results.sqlite", outdir) < 0)
    status = TR_EOUTPUT;
  else if (stat(csv, &st) != 0 && stat(db, &st) == 0) status = report_sqlite(outdir, db, o, d);
  else if (stat(csv, &st) != 0 && cal_folder(outdir)) status = calreport_run(outdir, d);
  else status = report_run_opts(outdir, o, d);
  free(csv);
  free(db);
  return status;
}
