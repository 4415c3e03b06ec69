/*
** replay.c — re-run one run of an experiment exactly and print its trace:
** per tick the events and actions (as events.csv would list them) and the
** metrics (formatted as in the CSVs), then the outcome and the run's
** runs.csv row. Given an output folder, the scenario, seed, horizon and
** --set overrides (and a --posterior file, whose particle for the run is
** drawn again) come from its manifest.yaml, and the row is compared with
** the folder's runs.csv.
**
** Invariant: a run is a pure function of (scenario, instance, run seed), and
** replay builds the same plan as `run` (exp_plan), so the replayed run is
** the recorded one, to the last digit.
*/
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "base/diag.h"
#include "base/number.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "scenario/options.h"
#include "base/rng.h"
#include "run/results.h"
#include "run/world.h"
#include "run/lua.h"
#include "app/replay.h"
#include "experiment/sqlite.h"
#include "experiment/experiment.h"

static void print_num(FILE *f, double x) {
  char buf[OUT_NUMBER_SIZE];
  out_format_number(buf, sizeof buf, x);
  fputs(buf, f);
}

/* The run's row as runs.csv has it (no quoting needed: names are ids). */
static char *row_text(const tr_scenario *sc, const char *variant, const tr_runresult *r) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f) return NULL;
  fprintf(f, "%s,%d,%d,%llu,%s,%d", variant, r->point, r->run, (unsigned long long)r->seed,
          r->outcome < sc->noutcomes ? sc->outcomes[r->outcome].name : sc->default_outcome,
          r->end_tick);
  for (int i = 0; i < sc->nmetrics; i++) {
    fputc(',', f);
    print_num(f, r->finals[i]);
  }
  fclose(f);
  return s;
}

/* The line of runs_csv for (variant, point, run), or NULL; runs_csv may be
** a results.sqlite (its runs table). */
static char *find_row(const char *runs_csv, const char *variant, int point, int run) {
  size_t n = strlen(runs_csv);
  if (n > 7 && strcmp(runs_csv + n - 7, ".sqlite") == 0)
    return sqlite_run_row(runs_csv, variant, point, run);
  /* a regular file only, never through a symbolic link (docs/security.md) */
  int fd = open(runs_csv, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s,%d,%d,", variant, point, run);
  char *line = NULL, *found = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    if (len > (1 << 20)) break; /* no row of ours is that long */
    if (strncmp(line, prefix, strlen(prefix)) == 0) {
      if (line[len - 1] == '\n') line[len - 1] = 0;
      found = strdup(line);
      break;
    }
  }
  free(line);
  fclose(f);
  return found;
}

static void print_event(const tr_scenario *sc, const tr_event *e) {
  if (e->actor >= 0) printf("  action %s %s", sc->actors[e->actor].id, e->action);
  else printf("  event %s", e->action);
  if (e->target >= 0) printf(" -> %s", sc->actors[e->target].id);
  if (e->cameo[0]) printf("  cameo=%s", e->cameo);
  if (!isnan(e->goldstein)) {
    printf("  goldstein=");
    print_num(stdout, e->goldstein);
  }
  if (!isnan(e->value)) {
    printf("  value=");
    print_num(stdout, e->value);
  }
  putchar('\n');
}

/* The index of VARIANT (NULL: the baseline) in plan into *v, with point
** and run checked against it. TR_OK, or TR_EUSAGE (reported). */
static int replay_pick(const tr_scenario *sc, const tr_plan *plan, const char *variant, int point,
                       int run, int *v, tr_diag *d) {
  *v = 0;
  if (variant) {
    for (int i = 1; i < plan->nvariants; i++)
      if (strcmp(plan->variant_names[i], variant) == 0) *v = i;
    if (*v == 0 && strcmp(variant, "baseline") != 0) {
      char msg[256];
      snprintf(msg, sizeof msg, "replay: no variant '%s' in %s", variant, sc->path);
      diag_did_you_mean(msg, sizeof msg, variant, plan->variant_names, plan->nvariants);
      diag_error(d, NULL, 0, 0, "%s", msg);
      return TR_EUSAGE;
    }
  }
  if (point < 1 || point > plan->npoints) {
    diag_error(d, NULL, 0, 0, "replay: --point %d is outside 1..%d", point, plan->npoints);
    return TR_EUSAGE;
  }
  if (run < 1) {
    diag_error(d, NULL, 0, 0, "replay: --run must be at least 1");
    return TR_EUSAGE;
  }
  return TR_OK;
}

/* Each tick of a replayed run up to last: its events, then its metrics
** (but for a failing tick, which has none). */
static void replay_print_ticks(const tr_scenario *sc, const tr_runresult *res, int last, int rc,
                               const tr_runerror *err) {
  size_t nm = (size_t)sc->nmetrics;
  int ev = 0;
  for (int t = 0; t <= last; t++) {
    printf("tick %d\n", t);
    for (; ev < res->nevents && res->events[ev].tick == t; ev++) print_event(sc, &res->events[ev]);
    if (rc && t >= err->tick) break; /* the failing tick has no metrics */
    printf("  metrics");
    for (size_t i = 0; i < nm; i++) {
      printf("  %s=", sc->metrics[i].name);
      print_num(stdout, res->series[(size_t)t * nm + i]);
    }
    putchar('\n');
  }
}

/* Where and why a replayed run failed. Frees err's message. */
static void replay_print_failure(const tr_scenario *sc, tr_runerror *err) {
  printf("failed at tick %d%s%s, in ", err->tick, err->actor >= 0 ? ", actor " : "",
         err->actor >= 0 ? sc->actors[err->actor].id : "");
  diag_put_text(stdout, err->what);
  fputs(":\n", stdout);
  diag_put_text(stdout, err->message ? err->message : "");
  fputc('\n', stdout);
  free(err->message);
}

/* Compares a replayed run's row of runs.csv with the one runs_csv
** recorded for it (variant, point, run). TR_ERUNTIME (reported) when
** they differ, else TR_OK. */
static int replay_check_row(const char *runs_csv, const char *variant, int point, int run,
                            const char *row, tr_diag *d) {
  int status = TR_OK;
  char *recorded = find_row(runs_csv, variant, point, run);
  if (!recorded) {
    printf("not in %s (was this run part of the experiment?)\n", runs_csv);
  } else if (row && strcmp(recorded, row) == 0) {
    printf("matches %s\n", runs_csv);
  } else {
    printf("DIFFERS from %s, which has:\n              %s\n", runs_csv, recorded);
    diag_error(d, NULL, 0, 0,
               "replay differs from the recorded run (has the scenario or a "
               "script changed since?)");
    status = TR_ERUNTIME;
  }
  free(recorded);
  return status;
}

/* tightrope replay: one run of the experiment, tick by tick, on stdout;
** with runs_csv, checked against the row recorded for it. */
int replay_run(const tr_scenario *sc, const tr_options *opts, const char *variant, int point,
               int run, const char *runs_csv, tr_diag *d) {
  tr_plan plan;
  if (exp_plan(sc, opts, &plan, d)) {
    exp_plan_free(&plan);
    return TR_EINVALID;
  }
  int v;
  int status = replay_pick(sc, &plan, variant, point, run, &v, d);
  if (status != TR_OK) {
    exp_plan_free(&plan);
    return status;
  }
  const tr_instance *in = &plan.inst[v * plan.npoints + point - 1];
  tr_instance drawn; /* under --posterior: the run's particle applied */
  memset(&drawn, 0, sizeof drawn);
  if (opts->posterior) {
    char perr[512] = "out of memory";
    if (instance_base(sc, opts->ticks, &drawn)
        || posterior_apply(sc, opts->posterior, posterior_pick(opts->posterior, opts->seed, run),
                           in, &drawn, perr, sizeof perr)) {
      diag_error(d, opts->posterior->file, 0, 0, "%s", perr);
      free(drawn.init);
      free(drawn.model);
      exp_plan_free(&plan);
      return TR_EINVALID;
    }
    in = &drawn;
  }
  size_t nm = (size_t)sc->nmetrics;
  tr_runresult res;
  memset(&res, 0, sizeof res);
  res.finals = calloc(nm + 1, sizeof(double));
  res.series = calloc(((size_t)in->ticks + 1) * nm + 1, sizeof(double));
  tr_world *w = world_new(sc);
  tr_lua *lx = w ? script_new(sc, w, d) : NULL;
  if (!res.finals || !res.series || !lx) {
    if (!tr_diag_count(d)) diag_error(d, NULL, 0, 0, "out of memory");
    status = TR_ERUNTIME;
    goto out;
  }
  uint64_t seed = rng_run_seed(opts->seed, (uint64_t)run);
  res.variant = v;
  res.point = point;
  res.run = run;
  res.seed = seed;
  w->res = &res;
  w->log_events = 1;
  tr_runerror err;
  memset(&err, 0, sizeof err);
  int rc = tick_run(lx, in, run, seed, &err);
  int last = rc ? err.tick : res.end_tick;

  printf("replay of %s: variant %s, point %d, run %d, seed %llu\n", sc->path, plan.variant_names[v],
         point, run, (unsigned long long)seed);
  replay_print_ticks(sc, &res, last, rc, &err);
  if (rc) {
    replay_print_failure(sc, &err);
    status = TR_ERUNTIME;
    goto out;
  }
  memcpy(res.finals, res.series + (size_t)res.end_tick * nm, nm * sizeof(double));
  printf("outcome: %s at tick %d\n",
         res.outcome < sc->noutcomes ? sc->outcomes[res.outcome].name : sc->default_outcome,
         res.end_tick);
  char *row = row_text(sc, plan.variant_names[v], &res);
  printf("runs.csv row: %s\n", row ? row : "?");
  if (runs_csv) status = replay_check_row(runs_csv, plan.variant_names[v], point, run, row, d);
  free(row);
out:
  script_free(lx);
  world_free(w);
  free(res.finals);
  free(res.series);
  free(res.events);
  free(drawn.init);
  free(drawn.model);
  exp_plan_free(&plan);
  return status;
}
