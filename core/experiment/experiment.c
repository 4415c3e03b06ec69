/*
** experiment.c — an experiment is variants x points x runs. This file plans
** it (instances: the baseline with --set, a variant and a point applied),
** spreads its runs over worker threads, and hands results to the output in
** order.
**
** Invariants that make results independent of the thread count:
**  - run r of every variant and point uses seed rng_run_seed(master, r)
**    (common random numbers), and a run depends on nothing but its
**    instance and seed (each worker has its own world and Lua state);
**  - jobs are numbered in output order (variant, point, run) and handed out
**    in that order; a worker may run ahead of the writer by at most WINDOW
**    jobs, whose results wait in a ring of slots; the writer consumes them
**    strictly in job order. Memory is bounded by the window, not by N.
**  - after a run fails, no new job starts; the error reported is the one of
**    the first failing job, which is deterministic because every job before
**    it was already handed out and completes.
*/
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <nettle/sha2.h>

#include "base/diag.h"
#include "base/console.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "scenario/options.h"
#include "base/rng.h"
#include "run/results.h"
#include "run/world.h"
#include "run/lua.h"
#include "run/watchdog.h"
#include "experiment/output.h"
#include "experiment/journal.h"
#include "experiment/mpi.h"
#include "base/stats.h"
#include "experiment/experiment.h"

/* ---------------------------------------------------------------- plan */
static const double *find_param(const tr_value *v, const char *key) {
  const char *dot = strchr(key, '.');
  size_t n = dot ? (size_t)(dot - key) : strlen(key);
  if (v->type != TV_MAP) return NULL;
  for (int i = 0; i < v->n; i++)
    if (strlen(v->keys[i]) == n && strncmp(v->keys[i], key, n) == 0) {
      if (dot) return find_param(&v->items[i], dot + 1);
      return v->items[i].type == TV_NUM ? &v->items[i].num : NULL;
    }
  return NULL;
}

/* Apply one change to an instance; 0, or -1 with a message in err.
** Long: one switch over the kinds of path, each case the check and assignment of its own kind of
** value (attribute, model parameter, count, ticks, actor parameter). */
static int apply_change(const tr_scenario *sc, tr_instance *in, const tr_path *p, int op,
                        double value, char *err, size_t errsize) {
  switch (p->kind) {
    case PATH_ACTOR_ATTR:
    case PATH_REL_ATTR: {
      const tr_attrdecl *ad = p->kind == PATH_ACTOR_ATTR ? &sc->actors[p->actor].attrs[p->attr]
                                                         : &sc->rels[p->rel].attrs[p->attr];
      double x = op == CHANGE_SET ? value : in->init[p->slot] + value;
      if (ad->dist >= 0) {
        snprintf(err, errsize,
                 "%s is drawn from a distribution in every run; it has no single "
                 "value to change",
                 p->text);
        return -1;
      }
      if (ad->integer && x != floor(x)) {
        snprintf(err, errsize, "%s = %g: the attribute is an integer", p->text, x);
        return -1;
      }
      if (!isfinite(x)) {
        snprintf(err, errsize, "%s becomes %g, not a finite number", p->text, x);
        return -1;
      }
      if (x < ad->min || x > ad->max) {
        snprintf(err, errsize, "%s = %g is outside its bounds [%g, %g]", p->text, x, ad->min,
                 ad->max);
        return -1;
      }
      in->init[p->slot] = x;
      return 0;
    }
    case PATH_MODEL: {
      double x = op == CHANGE_SET ? value : in->model[p->model] + value;
      if (model_check_value(sc, p->model, x, err, errsize)) return -1;
      in->model[p->model] = x;
      return 0;
    }
    case PATH_COUNT: {
      double *c = &in->init[sc->nslots + p->pop];
      double x = op == CHANGE_SET ? value : *c + value;
      if (sc->pops[p->pop].ruled && x != sc->pops[p->pop].count) {
        snprintf(err, errsize,
                 "%s = %g: relations by rule join this population's members, so "
                 "its count is fixed at %d",
                 p->text, x, sc->pops[p->pop].count);
        return -1;
      }
      if (x < 0 || x != floor(x) || x > sc->pops[p->pop].cap) {
        snprintf(err, errsize, "%s = %g: a count is a whole number from 0 to %d", p->text, x,
                 sc->pops[p->pop].cap);
        return -1;
      }
      *c = x;
      return 0;
    }
    case PATH_TICKS:
      if (op != CHANGE_SET || value < 0 || value != floor(value) || value > 1e9) {
        snprintf(err, errsize, "experiment.ticks must be set to a whole number >= 0");
        return -1;
      }
      in->ticks = (int)value;
      return 0;
    case PATH_PARAM: {
      if (p->pop >= 0) { /* POP.params.KEY: every member */
        const tr_popdecl *pd = &sc->pops[p->pop];
        tr_path one = *p;
        one.pop = -1;
        for (int m = 0; m < pd->cap; m++) {
          one.actor = pd->first + m;
          if (apply_change(sc, in, &one, op, value, err, errsize)) return -1;
        }
        return 0;
      }
      double base = 0;
      int found = 0;
      for (int i = in->nparams - 1; i >= 0 && !found; i--)
        if (in->params[i].actor == p->actor && strcmp(in->params[i].key, p->key) == 0) {
          base = in->params[i].value;
          found = 1;
        }
      if (!found) {
        const double *v = find_param(&sc->actors[p->actor].params, p->key);
        int state;
        const tr_paramdecl *pd = params_find(sc, p->actor, p->key, &state);
        if (v) base = *v;
        else if (pd && pd->has_default && pd->def.type == TV_NUM) base = pd->def.num;
        else if (op == CHANGE_ADD || !pd) {
          snprintf(err, errsize, "%s is not a numeric parameter", p->text);
          return -1;
        }
      }
      if (params_check_number(sc, p->actor, p->key, op == CHANGE_SET ? value : base + value, err,
                              errsize))
        return -1;
      tr_paramset *np = realloc(in->params, (size_t)(in->nparams + 1) * sizeof *np);
      char *key = strdup(p->key); /* the path may not outlive the plan */
      if (np) in->params = np;
      if (!np || !key) {
        free(key);
        snprintf(err, errsize, "out of memory");
        return -1;
      }
      np[in->nparams].actor = p->actor;
      np[in->nparams].key = key;
      np[in->nparams].value = op == CHANGE_SET ? value : base + value;
      in->nparams++;
      return 0;
    }
  }
  return -1;
}

/* --set PATH=VALUE, parsed against sc. */
typedef struct {
  tr_path path;
  double value;
} set_override;

static int parse_sets(const tr_scenario *sc, const tr_options *opts, set_override **out,
                      tr_diag *d) {
  set_override *s = calloc((size_t)opts->nsets + 1, sizeof *s);
  if (!s) return -1;
  int bad = 0;
  for (int i = 0; i < opts->nsets; i++) {
    const char *eq = strchr(opts->sets[i], '=');
    char *path = strndup(opts->sets[i], eq ? (size_t)(eq - opts->sets[i]) : 0);
    char err[512];
    char *end = NULL;
    double v = eq ? strtod(eq + 1, &end) : 0;
    if (!eq || !path || !*path || end == eq + 1 || *end || !isfinite(v)) {
      diag_error(d, NULL, 0, 0, "--set %s: expected PATH=NUMBER", opts->sets[i]);
      bad = 1;
    } else if (scen_path_parse(sc, path, &s[i].path, err, sizeof err)) {
      diag_error(d, NULL, 0, 0, "--set %s: %s", opts->sets[i], err);
      bad = 1;
    } else {
      s[i].value = v;
    }
    free(path);
  }
  *out = s;
  return bad ? -1 : 0;
}

/* u in [0, 1) to sweep parameter j's value: a range linearly, a list by
** index floor(u * count). */
static double sweep_value(const tr_sweepparam *sp, double x) {
  if (sp->is_range) return sp->min + x * (sp->max - sp->min);
  int idx = (int)(x * sp->nvalues);
  if (idx >= sp->nvalues) idx = sp->nvalues - 1;
  return sp->values[idx];
}

/* The Saltelli design (docs/experiments.md, Sobol indices): N points of
** GSL's Sobol sequence in 2k dimensions; A is their first k coordinates, B
** the last k, and A_B^(i) is A with column i taken from B. Points are
** numbered matrix by matrix: A (1..N), B (N+1..2N), then A_B^(1) .. A_B^(k),
** N each; row j of every matrix comes from the sequence's j-th point. */
static int saltelli_points(const tr_scenario *sc, double **out, int *npoints) {
  int k = sc->nsweep, N = sc->sweep_points;
  long total = (long)N * (k + 2);
  if (2 * k > 40 || total > 10000000) return -1;
  double *v = malloc((size_t)total * (size_t)k * sizeof *v);
  double *u = malloc((size_t)(2 * k) * sizeof *u);
  gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)(2 * k));
  if (!v || !u || !q) {
    free(v);
    free(u);
    if (q) gsl_qrng_free(q);
    return -1;
  }
  for (long j = 0; j < N; j++) {
    gsl_qrng_get(q, u);
    for (int m = 0; m < k + 2; m++)
      for (int c = 0; c < k; c++) {
        /* A: u[c]; B: u[k + c]; A_B^(i) (m = 2 + i): A but column i from B */
        int from_b = m == 1 || (m >= 2 && c == m - 2);
        v[((long)m * N + j) * k + c] = sweep_value(&sc->sweep[c], u[from_b ? k + c : c]);
      }
  }
  gsl_qrng_free(q);
  free(u);
  *out = v;
  *npoints = (int)total;
  return 0;
}

/* The sweep's points: npoints * nsweep values, row-major.
** Long: one branch per sweep method (grid, file, Saltelli, Sobol, LHS, random), each filling the
** same row-major table. */
static int sweep_points(const tr_scenario *sc, uint64_t master, double **out, int *npoints) {
  int k = sc->nsweep;
  if (sc->sweep_method == SWEEP_NONE || k <= 0) {
    *out = NULL;
    *npoints = 1;
    return 0;
  }
  if (sc->sweep_method == SWEEP_GRID) {
    long total = 1;
    for (int j = 0; j < k; j++) {
      total *= sc->sweep[j].nvalues;
      if (total > 10000000) return -1;
    }
    if (total < 1) return -1;
    double *v = malloc((size_t)total * (size_t)k * sizeof *v);
    if (!v) return -1;
    for (long p = 0; p < total; p++) { /* first parameter varies slowest */
      long rest = p;
      for (int j = k - 1; j >= 0; j--) {
        int n = sc->sweep[j].nvalues;
        v[p * k + j] = sc->sweep[j].values[rest % n];
        rest /= n;
      }
    }
    *out = v;
    *npoints = (int)total;
    return 0;
  }
  if (sc->sweep_method == SWEEP_FILE) { /* the design's rows, as written */
    int P = sc->sweep[0].nvalues;
    double *v = malloc((size_t)P * (size_t)k * sizeof *v);
    if (!v) return -1;
    for (int p = 0; p < P; p++)
      for (int j = 0; j < k; j++) v[p * k + j] = sc->sweep[j].values[p];
    *out = v;
    *npoints = P;
    return 0;
  }
  int P = sc->sweep_points;
  if (P < 1 || P > 10000000) return -1;
  if (sc->sweep_method == SWEEP_SALTELLI) return saltelli_points(sc, out, npoints);
  double *u = malloc((size_t)P * (size_t)k * sizeof *u);
  if (!u) return -1;
  gsl_rng *r = gsl_rng_alloc(rng_type());
  if (!r) {
    free(u);
    return -1;
  }
  gsl_rng_set(r, (unsigned long)rng_run_seed(master, 0)); /* run 0: never a real run */
  if (sc->sweep_method == SWEEP_SOBOL) {
    gsl_qrng *q = k <= 40 ? gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)k) : NULL;
    if (!q) {
      free(u);
      gsl_rng_free(r);
      return -1;
    }
    for (int p = 0; p < P; p++) gsl_qrng_get(q, &u[p * k]);
    gsl_qrng_free(q);
  } else if (sc->sweep_method == SWEEP_LHS) {
    /* Latin hypercube: in each dimension a permutation of the P strata,
    ** and a uniform position inside each stratum. */
    size_t *perm = malloc((size_t)P * sizeof *perm);
    if (!perm) {
      free(u);
      gsl_rng_free(r);
      return -1;
    }
    for (int j = 0; j < k; j++) {
      for (int p = 0; p < P; p++) perm[p] = (size_t)p;
      gsl_ran_shuffle(r, perm, (size_t)P, sizeof *perm);
      for (int p = 0; p < P; p++) u[p * k + j] = ((double)perm[p] + gsl_rng_uniform(r)) / P;
    }
    free(perm);
  } else {
    for (int i = 0; i < P * k; i++) u[i] = gsl_rng_uniform(r);
  }
  gsl_rng_free(r);
  for (int p = 0; p < P; p++)
    for (int j = 0; j < k; j++) {
      const tr_sweepparam *sp = &sc->sweep[j];
      double x = u[p * k + j];
      if (sp->is_range) {
        u[p * k + j] = sp->min + x * (sp->max - sp->min);
      } else {
        int idx = (int)(x * sp->nvalues);
        if (idx >= sp->nvalues) idx = sp->nvalues - 1;
        u[p * k + j] = sp->values[idx];
      }
    }
  *out = u;
  *npoints = P;
  return 0;
}

int posterior_apply(const tr_scenario *sc, const tr_posterior *p, int i, const tr_instance *src,
                    tr_instance *dst, char *err, size_t size) {
  double *init = dst->init, *model = dst->model;
  memcpy(init, src->init, ((size_t)sc->nslots + (size_t)sc->npops) * sizeof *init);
  memcpy(model, src->model, (size_t)sc->nmodel * sizeof *model);
  *dst = *src; /* params, variant, point, ticks, activation */
  dst->init = init;
  dst->model = model;
  /* The particle replaces the baseline's value; what the run's variant
  ** or sweep point sets is a what-if on top of it (docs/calibration.md):
  ** a swept path keeps the point's value, a variant's set wins and its add
  ** adds to the particle's value. */
  const tr_variantdecl *vd = src->vdecl >= 0 ? &sc->variants[src->vdecl] : NULL;
  for (int j = 0; j < p->k; j++) {
    int swept = 0;
    for (int s = 0; s < sc->nsweep && !swept; s++)
      swept = scen_path_same(&p->paths[j], &sc->sweep[s].path);
    if (swept) continue;
    double x = p->theta[(size_t)i * (size_t)p->k + (size_t)j];
    for (int c = 0; vd && c < vd->nchanges; c++)
      if (scen_path_same(&p->paths[j], &vd->changes[c].path))
        x = vd->changes[c].op == CHANGE_SET ? vd->changes[c].value : x + vd->changes[c].value;
    if (apply_change(sc, dst, &p->paths[j], CHANGE_SET, x, err, size)) return -1;
  }
  return 0;
}

int posterior_pick(const tr_posterior *p, uint64_t master, int run) {
  /* a stream of its own: the master seed mixed with a constant, so the
  ** pick never shares draws with the run itself */
  gsl_rng *r = gsl_rng_alloc(rng_type());
  if (!r) return 0;
  gsl_rng_set(r, (unsigned long)rng_run_seed(master ^ 0x706f737465726f72ULL, (uint64_t)run));
  double u = gsl_rng_uniform(r);
  gsl_rng_free(r);
  int lo = 0, hi = p->n - 1;
  while (lo < hi) { /* first particle whose cumulative weight exceeds u */
    int mid = (lo + hi) / 2;
    if (p->cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* The seed of run `run` at `point`: rng_run_seed(master, run), the same at
** every point and variant (common random numbers); a calibration gives
** every point its own runs instead. */
static uint64_t exp_run_seed(const tr_options *o, int point, int run) {
  uint64_t r = (uint64_t)run;
  if (o->seed_per_point) r += (uint64_t)(point - 1) * (uint64_t)o->runs;
  return rng_run_seed(o->seed, r);
}

int exp_plan(const tr_scenario *sc, const tr_options *opts, tr_plan *plan, tr_diag *d) {
  memset(plan, 0, sizeof *plan);
  int before = tr_diag_count(d);
  /* Variants: the baseline, then the selected ones in file order. */
  plan->variant_names = calloc((size_t)sc->nvariants + 1, sizeof *plan->variant_names);
  plan->variant_decl = calloc((size_t)sc->nvariants + 1, sizeof *plan->variant_decl);
  if (!plan->variant_names || !plan->variant_decl) goto oom;
  plan->variant_names[0] = "baseline";
  plan->variant_decl[0] = -1;
  plan->nvariants = 1;
  for (int v = 0; v < sc->nvariants; v++) {
    int take = opts->nvariants == 0 && !opts->baseline_only;
    for (int i = 0; i < opts->nvariants; i++)
      if (strcmp(opts->variants[i], sc->variants[v].name) == 0) take = 1;
    if (!take) continue;
    plan->variant_names[plan->nvariants] = sc->variants[v].name;
    plan->variant_decl[plan->nvariants++] = v;
  }
  if (sweep_points(sc, opts->seed, &plan->points, &plan->npoints)) {
    diag_error(d, sc->path, 0, 0,
               "cannot build the sweep's points (too many, or over 40 Sobol dimensions)");
    return -1;
  }
  set_override *sets = NULL;
  if (parse_sets(sc, opts, &sets, d)) {
    free(sets);
    return -1;
  }
  for (int i = 0; opts->posterior && i < opts->nsets; i++)
    for (int j = 0; j < opts->posterior->k; j++)
      if (scen_path_same(&sets[i].path, &opts->posterior->paths[j]))
        diag_warning(d, NULL, 0, 0,
                     "--set %s: the posterior draws '%s' for every run, which replaces "
                     "this value, so the --set does nothing",
                     opts->sets[i], sets[i].path.text);
  plan->ninst = plan->nvariants * plan->npoints;
  plan->inst = calloc((size_t)plan->ninst, sizeof *plan->inst);
  if (!plan->inst) {
    free(sets);
    goto oom;
  }
  char err[512];
  for (int v = 0; v < plan->nvariants; v++) {
    for (int p = 0; p < plan->npoints; p++) {
      tr_instance *in = &plan->inst[v * plan->npoints + p];
      if (instance_base(sc, opts->ticks, in)) {
        free(sets);
        goto oom;
      }
      in->variant = v;
      in->vdecl = plan->variant_decl[v];
      in->point = p + 1;
      for (int i = 0; i < opts->nsets; i++)
        if (apply_change(sc, in, &sets[i].path, CHANGE_SET, sets[i].value, err, sizeof err)
            && v == 0 && p == 0)
          diag_error(d, NULL, 0, 0, "--set %s: %s", opts->sets[i], err);
      if (in->vdecl >= 0) {
        const tr_variantdecl *vd = &sc->variants[in->vdecl];
        if (vd->activation >= 0) in->activation = vd->activation;
        for (int c = 0; c < vd->nchanges; c++) {
          const tr_change *ch = &vd->changes[c];
          if (apply_change(sc, in, &ch->path, ch->op, ch->value, err, sizeof err) && p == 0)
            diag_error(d, sc->path, ch->line, ch->col, "variant '%s': %s", vd->name, err);
        }
      }
      for (int j = 0; plan->points && j < sc->nsweep; j++) {
        const tr_sweepparam *sp = &sc->sweep[j];
        if (apply_change(sc, in, &sp->path, CHANGE_SET, plan->points[p * sc->nsweep + j], err,
                         sizeof err))
          diag_error(d, sc->path, sp->line, sp->col, "sweep point %d: %s", p + 1, err);
      }
    }
  }
  for (int i = 0; i < opts->nsets; i++) scen_path_free(&sets[i].path);
  free(sets);
  return tr_diag_count(d) > before ? -1 : 0;
oom:
  diag_error(d, NULL, 0, 0, "out of memory");
  return -1;
}

void exp_plan_free(tr_plan *plan) {
  for (int i = 0; i < plan->ninst; i++) {
    free(plan->inst[i].init);
    free(plan->inst[i].model);
    for (int k = 0; k < plan->inst[i].nparams; k++) free((char *)plan->inst[i].params[k].key);
    free(plan->inst[i].params);
  }
  free(plan->inst);
  free(plan->variant_names);
  free(plan->variant_decl);
  free(plan->points);
  memset(plan, 0, sizeof *plan);
}

/* ----------------------------------------------------------------- runs */
#define WINDOW_PER_THREAD 8

void tr_options_cancel(tr_options *o) {
  if (o && o->cancel) __atomic_store_n(o->cancel, 1, __ATOMIC_SEQ_CST);
}

/* 1 when tr_options_cancel was called on the options opts was copied from. */
static int opts_cancelled(const tr_options *opts) {
  return opts->cancel && __atomic_load_n(opts->cancel, __ATOMIC_SEQ_CST);
}

/* SIGINT/SIGTERM: the watchdog keeps the signal (tr_interrupted) and stops
** the scripts running now, too. */
static void on_signal(int sig) { watchdog_signal(sig); }

/* TIGHTROPE_TEST_PAUSE_AFTER: says so on stderr, then waits for SIGINT or
** SIGTERM (the workers go on until their window is full). */
static void test_pause(long written) {
  fprintf(stderr, "tightrope: paused after %ld runs (TIGHTROPE_TEST_PAUSE_AFTER)\n", written);
  fflush(stderr);
  struct timespec ms = {0, 10000000};
  while (!tr_interrupted()) nanosleep(&ms, NULL);
}

typedef struct slot {
  tr_runresult res;
  tr_runerror err;
  int done;
  int failed; /* --keep-going: the run failed; err says why */
} slot;

typedef struct exp_ctx {
  const tr_scenario *sc;
  const tr_options *opts;
  const tr_plan *plan;
  long total;                /* jobs of the whole experiment (the ceiling with --precision) */
  long batch;                /* runs per batch: opts->runs unless run until precise */
  long limit;                /* jobs that run: total, or fewer once precise */
  double widest;             /* run until precise: widest half-width so far (NaN: none yet) */
  int rank, nranks;          /* MPI: this process's jobs are j % nranks == rank */
  long next_job, next_write; /* local job ordinals */
  long nlocal;               /* local jobs */
  int window;
  slot *slots;
  pthread_mutex_t mu;
  pthread_cond_t ready, space;
  int stop;        /* no new job: a run failed, or interrupted */
  long failed_job; /* first failing (global) job, or -1 */
  tr_runerror failure;
  int setup_failed;
  tr_console console;
} exp_ctx;

static long local_to_global(const exp_ctx *x, long k) { return k * x->nranks + x->rank; }

/* Job j's instance and run. Jobs go batch by batch (docs/experiments.md,
** run until precise), within a batch by instance, then run; every batch but
** the last holds `batch` runs of every instance. Without --precision there
** is one batch of every run: job j is run j % runs + 1 of instance j / runs. */
static void job_at(const exp_ctx *x, long j, int *inst, int *run) {
  long ninst = x->plan->ninst, runs = x->opts->runs, B = x->batch;
  long b = j / (ninst * B);
  long nb = runs - b * B < B ? runs - b * B : B;
  long within = j - ninst * b * B;
  *inst = (int)(within / nb);
  *run = (int)(b * B + within % nb + 1);
}

/* The job of run `run` of instance `inst`: job_at's inverse. */
static long job_of(const exp_ctx *x, int inst, int run) {
  long ninst = x->plan->ninst, runs = x->opts->runs, B = x->batch;
  long b = (run - 1) / B;
  long nb = runs - b * B < B ? runs - b * B : B;
  return ninst * b * B + inst * nb + (run - 1 - b * B);
}

/* A worker thread of an experiment: takes the next job, runs it on its own world and Lua state,
** and hands the result to the writer in job order. Long: the job loop and its locking protocol
** (waiting for space, handing back an interrupted run, recording the first failure) read best as
** one piece, since each step depends on the mutex held around it. */
static void *worker(void *arg) {
  exp_ctx *x = arg;
  const tr_scenario *sc = x->sc;
  tr_world *w = world_new(sc);
  tr_diag *d = tr_diag_new();
  tr_lua *lx = w && d ? script_new(sc, w, d) : NULL;
  if (!lx) {
    pthread_mutex_lock(&x->mu);
    x->setup_failed = 1;
    x->stop = 1;
    pthread_cond_broadcast(&x->ready);
    pthread_cond_broadcast(&x->space);
    pthread_mutex_unlock(&x->mu);
    world_free(w);
    tr_diag_free(d);
    return NULL;
  }
  lx->console = &x->console;
  /* events_count() in an expression reads the run's events: keep them */
  w->log_events = x->opts->events || sc->counts_events;
  tr_instance scratch; /* a run's instance under --posterior */
  memset(&scratch, 0, sizeof scratch);
  if (x->opts->posterior && (instance_base(sc, x->opts->ticks, &scratch), !scratch.init)) {
    pthread_mutex_lock(&x->mu);
    x->setup_failed = 1;
    x->stop = 1;
    pthread_cond_broadcast(&x->ready);
    pthread_cond_broadcast(&x->space);
    pthread_mutex_unlock(&x->mu);
    script_free(lx);
    world_free(w);
    tr_diag_free(d);
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&x->mu);
    while (!x->stop && x->next_job < x->nlocal && x->next_job >= x->next_write + x->window)
      pthread_cond_wait(&x->space, &x->mu);
    if (x->stop || x->next_job >= x->nlocal) {
      pthread_mutex_unlock(&x->mu);
      break;
    }
    long k = x->next_job++;
    pthread_mutex_unlock(&x->mu);

    long j = local_to_global(x, k);
    slot *s = &x->slots[k % x->window];
    int inst, run;
    job_at(x, j, &inst, &run);
    const tr_instance *in = &x->plan->inst[inst];
    uint64_t seed = exp_run_seed(x->opts, in->point, run);
    /* this run's parameters from the posterior (every particle was checked
    ** against the scenario when the file was read) */
    char perr[512] = "";
    int bad_particle = 0;
    if (x->opts->posterior) {
      int pi = posterior_pick(x->opts->posterior, x->opts->seed, run);
      if (posterior_apply(sc, x->opts->posterior, pi, in, &scratch, perr, sizeof perr) == 0)
        in = &scratch;
      else bad_particle = 1;
    }
    s->res.variant = in->variant;
    s->res.point = in->point;
    s->res.run = run;
    s->res.seed = seed;
    s->res.outcome = sc->noutcomes;
    memset(&s->err, 0, sizeof s->err);
    w->res = &s->res;
    int rc;
    if (bad_particle) {
      s->err.failed = 1;
      s->err.actor = -1;
      snprintf(s->err.what, sizeof s->err.what, "--posterior");
      s->err.message = strdup(perr);
      rc = -1;
    } else {
      rc = tick_run(lx, in, run, seed, &s->err);
    }
    if (rc == 0) {
      int nm = sc->nmetrics;
      memcpy(s->res.finals, s->res.series + (size_t)s->res.end_tick * (size_t)nm,
             (size_t)nm * sizeof(double));
    }
    pthread_mutex_lock(&x->mu);
    if (rc && lx->limit_hit == LIMIT_INTERRUPT) {
      /* Stopped by SIGINT/SIGTERM: the run is not finished, and not failed;
      ** hand it back so that the writer stops before it (--resume reruns it). */
      free(s->err.message);
      x->stop = 1;
      if (k < x->next_job) x->next_job = k;
      pthread_cond_broadcast(&x->space);
      pthread_cond_broadcast(&x->ready);
      pthread_mutex_unlock(&x->mu);
      continue;
    }
    s->done = 1;
    if (rc && x->opts->keep_going) {
      s->failed = 1; /* recorded by the writer; the others go on */
    } else if (rc) {
      x->stop = 1;
      if (x->failed_job < 0 || j < x->failed_job) {
        free(x->failure.message);
        x->failure = s->err;
        x->failed_job = j;
      } else {
        free(s->err.message);
      }
      pthread_cond_broadcast(&x->space);
    }
    pthread_cond_broadcast(&x->ready);
    pthread_mutex_unlock(&x->mu);
  }
  free(scratch.init);
  free(scratch.model);
  script_free(lx);
  world_free(w);
  tr_diag_free(d);
  return NULL;
}

static void set_stop(exp_ctx *x) {
  pthread_mutex_lock(&x->mu);
  x->stop = 1;
  pthread_cond_broadcast(&x->space);
  pthread_mutex_unlock(&x->mu);
}

/* ------------------------------------------------------------- progress */
typedef struct progress {
  int on;
  struct timespec start, last;
  long done0; /* runs recovered by --resume */
} progress;

static double since(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void progress_show(exp_ctx *x, progress *p, long done, int force) {
  if (!p->on) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (!force && since(&p->last, &now) < 0.25) return;
  p->last = now;
  double secs = since(&p->start, &now);
  double rate = secs > 0 ? (double)(done - p->done0) / secs : 0;
  char left[32] = "--:--";
  if (rate > 0) {
    long s = (long)((double)(x->total - done) / rate + 0.5);
    snprintf(left, sizeof left, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  }
  pthread_mutex_lock(&x->console.mu);
  if (x->opts->precision > 0) {
    /* Run until precise: the ceiling bounds the time; the widest interval
    ** left says how far the goal is. */
    char widest[48] = "widest half-width: after the first batch";
    if (!isnan(x->widest)) snprintf(widest, sizeof widest, "widest half-width %.4f", x->widest);
    fprintf(stderr, "\r\033[K%ld runs (ceiling %ld)  %.0f runs/s  %s, goal %g", done, x->total,
            rate, widest, x->opts->precision);
  } else {
    fprintf(stderr, "\r\033[K%ld/%ld runs  %5.1f%%  %.0f runs/s  %s left", done, x->total,
            x->total ? 100.0 * (double)done / (double)x->total : 100.0, rate, left);
  }
  fflush(stderr);
  x->console.progress_shown = 1;
  pthread_mutex_unlock(&x->console.mu);
}

static void progress_clear(exp_ctx *x, progress *p) {
  if (!p->on) return;
  pthread_mutex_lock(&x->console.mu);
  if (x->console.progress_shown) fputs("\r\033[K", stderr);
  x->console.progress_shown = 0;
  pthread_mutex_unlock(&x->console.mu);
}

/* ----------------------------------------------------------- reporting */
static void write_replay_command(FILE *f, const exp_ctx *x, const tr_instance *in, int run) {
  const tr_scenario *sc = x->sc;
  const tr_options *o = x->opts;
  fprintf(f, "tightrope replay ");
  diag_shell_word(f, sc->path);
  fprintf(f, " --run %d", run);
  if (in->variant) {
    fprintf(f, " --variant ");
    diag_shell_word(f, x->plan->variant_names[in->variant]);
  }
  if (x->plan->npoints > 1) fprintf(f, " --point %d", in->point);
  fprintf(f, " -s %llu", (unsigned long long)o->seed);
  if (o->ticks != sc->ticks || !sc->has_ticks) fprintf(f, " -t %d", o->ticks);
  for (int i = 0; i < o->nsets; i++) {
    fprintf(f, " --set ");
    diag_shell_word(f, o->sets[i]);
  }
}

static void print_replay_hint(FILE *f, const exp_ctx *x, const tr_instance *in, int run) {
  fprintf(f, "reproduce with: ");
  write_replay_command(f, x, in, run);
}

/* The failure goes to d as "SCENARIO: error: run failed: ..." with Lua's
** message and the replay command on the lines after it. */
static void print_failure(const exp_ctx *x, long j, const tr_runerror *e, tr_diag *d) {
  const tr_scenario *sc = x->sc;
  const tr_options *o = x->opts;
  int inst, run;
  job_at(x, j, &inst, &run);
  const tr_instance *in = &x->plan->inst[inst];
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    diag_error(d, sc->path, 0, 0, "run failed (out of memory for its message)");
    return;
  }
  fprintf(f, "run failed: variant %s, point %d, run %d (seed %llu), tick %d",
          x->plan->variant_names[in->variant], in->point, run,
          (unsigned long long)exp_run_seed(o, in->point, run), e->tick);
  if (e->actor >= 0) fprintf(f, ", actor '%s'", sc->actors[e->actor].id);
  fprintf(f, ", in %s:\n%s\n", e->what, e->message ? e->message : "(no message)");
  print_replay_hint(f, x, in, run);
  fclose(f);
  diag_error(d, sc->path, 0, 0, "%s", text ? text : "run failed");
  free(text);
}

/* --keep-going: the failed run of local job k goes to runs.csv (outcome
** `error`) and errors.csv; the first failure is also printed in full. */
static int record_failure(exp_ctx *x, tr_output *out, long j, long k, long *nfailed, tr_diag *d) {
  slot *s = &x->slots[k % x->window];
  int inst, run;
  job_at(x, j, &inst, &run);
  const tr_instance *in = &x->plan->inst[inst];
  if ((*nfailed)++ == 0) print_failure(x, j, &s->err, d);
  char *replay = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&replay, &len);
  if (f) {
    write_replay_command(f, x, in, run);
    fclose(f);
  }
  char *msg = NULL;
  if (asprintf(&msg, "in %s: %s", s->err.what, s->err.message ? s->err.message : "(no message)")
      < 0)
    msg = NULL;
  int rc = !out ? 0
                : out_add_failed(out, &s->res, s->err.tick,
                                 s->err.actor >= 0 ? x->sc->actors[s->err.actor].id : NULL,
                                 msg ? msg : s->err.message, replay);
  free(msg);
  free(replay);
  free(s->err.message);
  s->err.message = NULL;
  return rc;
}

/* What must be equal for --resume to continue an experiment. */
static void sha256_hex(struct sha256_ctx *ctx, char hex[65]) {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(ctx, SHA256_DIGEST_SIZE, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* SHA-256 of a file's bytes (hex); "unreadable" when it cannot be read. */
static void file_sha256(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(hex, 65, "unreadable");
    return;
  }
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  unsigned char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) sha256_update(&ctx, got, chunk);
  fclose(f);
  sha256_hex(&ctx, hex);
}

/* What must be equal for --resume to continue an experiment, and for MPI
** ranks to work on one (docs/experiments.md "Resuming"): every file the
** scenario was read from (sc->sha256), every script it resolves (by
** content: the same script found through another TIGHTROPE_PATH is the
** same), this build of tightrope, and the options that change results.
** Lines starting with "# " name each script's file for messages; they are
** not compared (fingerprint_digest). */
static char *fingerprint(const tr_scenario *sc, const tr_options *o, const tr_plan *plan) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f) return NULL;
  fprintf(f,
          "scenario-sha256: %s\ntightrope: %s\nruns: %d\nticks: %d\nseed: %llu\n"
          "series: %d\nevents: %d\npoints: %d\n",
          sc->sha256, TR_VERSION, o->runs, o->ticks, (unsigned long long)o->seed, o->series,
          o->events, plan->npoints);
  if (o->keep_going) fprintf(f, "keep-going: 1\n");
  for (int i = 0; i < o->nsets; i++) fprintf(f, "set: %s\n", o->sets[i]);
  for (int v = 0; v < plan->nvariants; v++) fprintf(f, "variant: %s\n", plan->variant_names[v]);
  char hex[65];
  for (int a = 0; a < sc->nactors; a++) {
    if (!sc->actors[a].policy) continue;
    file_sha256(sc->actors[a].policy, hex);
    fprintf(f, "policy-sha256: %s %s\n# script %s %s\n", sc->actors[a].id, hex, hex,
            sc->actors[a].policy);
  }
  for (int i = 0; i < sc->nactions; i++) {
    if (!sc->actions[i].script) continue;
    file_sha256(sc->actions[i].script, hex);
    fprintf(f, "action-sha256: %s %s\n# script %s %s\n", sc->actions[i].name, hex, hex,
            sc->actions[i].script);
  }
  if (o->precision > 0) fprintf(f, "precision: %.17g\nbatch: %d\n", o->precision, o->batch);
  if (o->posterior) fprintf(f, "posterior-sha256: %s\n", o->posterior->sha256);
  fclose(f);
  return s;
}

/* SHA-256 of a fingerprint's compared lines (all but "# " lines). */
static void fingerprint_digest(const char *fp, char hex[65]) {
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  for (const char *line = fp; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
    if (strncmp(line, "# ", 2) != 0) sha256_update(&ctx, len, (const uint8_t *)line);
    line += len;
  }
  sha256_hex(&ctx, hex);
}

/* Whether r is the result of job j: its variant, point, run and seed are
** those the plan gives job j (a journal record or an MPI message that is
** not is refused: docs/experiments.md "Resuming"). */
static int result_is_job(const tr_plan *plan, const tr_options *o, long batch, long j,
                         const tr_runresult *r) {
  if (j < 0 || j >= (long)plan->ninst * o->runs) return 0;
  /* job_at's numbering: batch by batch (one batch of every run without
  ** --precision: job j is run j % runs + 1 of instance j / runs) */
  long ninst = plan->ninst, B = batch, b = j / (ninst * B);
  long nb = o->runs - b * B < B ? o->runs - b * B : B, within = j - ninst * b * B;
  const tr_instance *in = &plan->inst[within / nb];
  int run = (int)(b * B + within % nb + 1);
  return r->variant == in->variant && r->point == in->point && r->run == run
      && r->seed == exp_run_seed(o, in->point, run);
}

/* The user's callback with run r (0 to go on). */
static int call_back(const tr_scenario *sc, const tr_options *o, const char *const *variant_names,
                     const tr_runresult *r) {
  if (!o->callback) return 0;
  tr_run_info info;
  info.variant = variant_names[r->variant];
  info.variant_index = r->variant;
  info.point = r->point;
  info.run = r->run;
  info.seed = r->seed;
  info.outcome_index = r->outcome;
  info.outcome = r->outcome < sc->noutcomes ? sc->outcomes[r->outcome].name : sc->default_outcome;
  info.end_tick = r->end_tick;
  info.nmetrics = sc->nmetrics;
  info.finals = r->finals;
  return o->callback(o->callback_ctx, &info);
}

typedef struct feed_ctx {
  tr_output *out;
  const tr_scenario *sc;
  const tr_options *opts;
  const char *const *variant_names;
  const exp_ctx *x;
  tr_diag *d;
  long next;   /* the job the next record must be */
  int foreign; /* a record of another experiment was found */
} feed_ctx;

/* A run recovered from the journal goes where a new one goes, once it is
** known to be the run it claims to be. */
static int feed_output(void *p, const tr_runresult *r) {
  feed_ctx *f = p;
  if (!result_is_job(f->x->plan, f->opts, f->x->batch, f->next, r)) {
    diag_error(
        f->d, NULL, 0, 0,
        "--resume: record %ld of the journal in %s/.tightrope-partial is "
        "variant %d, point %d, run %d, seed %llu, not run %ld of this experiment (seed %llu): "
        "it belongs to another experiment; run again without --resume to start over",
        f->next + 1, f->opts->out, r->variant, r->point, r->run, (unsigned long long)r->seed,
        f->next % f->opts->runs + 1,
        (unsigned long long)rng_run_seed(f->opts->seed, (uint64_t)(f->next % f->opts->runs + 1)));
    f->foreign = 1;
    return -1;
  }
  f->next++;
  if (out_add_run(f->out, r)) return -1;
  if (call_back(f->sc, f->opts, f->variant_names, r)) tr_options_cancel((tr_options *)f->opts);
  return 0;
}

/* ----------------------------------------------------- run until precise */
/* Rank 0 counts every instance's outcomes as jobs arrive in job order; at
** the end of each batch (but the last) it asks whether every outcome share
** of every instance has a 95% Clopper-Pearson half-width <= precision.
** The answer depends on the runs' outcomes alone, in job order, so on
** nothing -j, MPI or --resume change. */
typedef struct precise {
  exp_ctx *x;
  int nresults;
  unsigned *counts; /* [inst][result] */
  unsigned *nruns;  /* [inst] */
  long fed;         /* jobs counted */
  long stop_at;     /* jobs after which precise, or -1 */
  double widest;    /* after the last evaluation */
  int widest_inst, widest_result;
  tr_diag *d; /* --resume: a record that is not this experiment's */
} precise;

/* The widest half-width over every instance and outcome; 1 when it is
** <= precision. */
static int precise_eval(precise *p) {
  const tr_plan *plan = p->x->plan;
  p->widest = 0;
  p->widest_inst = p->widest_result = 0;
  for (int i = 0; i < plan->ninst; i++)
    for (int k = 0; k < p->nresults; k++) {
      double lo, hi, half;
      stats_clopper_pearson(p->counts[(size_t)i * p->nresults + k], p->nruns[i], 0.95, &lo, &hi);
      half = (hi - lo) / 2;
      if (!(half <= p->widest)) {
        p->widest = half;
        p->widest_inst = i;
        p->widest_result = k;
      }
    }
  p->x->widest = p->widest;
  return p->widest <= p->x->opts->precision;
}

static int precise_add(void *ctx, const tr_runresult *r) {
  precise *p = ctx;
  exp_ctx *x = p->x;
  int inst = r->variant * x->plan->npoints + r->point - 1;
  p->counts[(size_t)inst * p->nresults + r->outcome]++;
  p->nruns[inst]++;
  p->fed++;
  long per_batch = (long)x->plan->ninst * x->batch;
  if (p->stop_at < 0 && (p->fed % per_batch == 0 || p->fed == x->total) && precise_eval(p)
      && p->fed < x->total)
    p->stop_at = p->fed;
  return 0;
}

/* A run recovered from the journal by --resume: counted. */
static int precise_recover(void *ctx, const tr_runresult *r) {
  precise *p = ctx;
  const exp_ctx *x = p->x;
  if (!result_is_job(x->plan, x->opts, x->batch, p->fed, r)) {
    diag_error(p->d, NULL, 0, 0,
               "--resume: record %ld of the journal in %s/.tightrope-partial is "
               "variant %d, point %d, run %d, seed %llu, not the run this experiment has "
               "there: it belongs to another experiment; run again without --resume to start over",
               p->fed + 1, x->opts->out, r->variant, r->point, r->run, (unsigned long long)r->seed);
    return -1;
  }
  return precise_add(ctx, r);
}

/* The runs read back from the journal at the end, in output order: to the
** output, and to the callback (which sees runs in output order, so not as
** the batches come). */
static int precise_output(void *ctx, const tr_runresult *r) {
  feed_ctx *f = ctx;
  if (out_add_run(f->out, r)) return -1;
  if (call_back(f->sc, f->opts, f->variant_names, r)) tr_options_cancel((tr_options *)f->opts);
  return 0;
}

/* The output's i-th run (variant, point, run order) for journal_feed_ordered. */
typedef struct precise_order {
  const exp_ctx *x;
  int runs;
} precise_order;
static long precise_job(const void *ctx, long i) {
  const precise_order *o = ctx;
  return job_of(o->x, (int)(i / o->runs), (int)(i % o->runs) + 1);
}

/* Rank 0's view of job j's result, whichever rank ran it. */
typedef struct fetch_ctx {
  tr_runresult remote; /* decode buffer for other ranks' results */
  tr_buf buf;
  int maxticks;
  unsigned char *stopped; /* per rank: it sent its last message */
} fetch_ctx;

static const tr_runresult *wait_local(exp_ctx *x, progress *p, long k, long done) {
  slot *s = &x->slots[k % x->window];
  pthread_mutex_lock(&x->mu);
  for (;;) {
    if (s->done) break;
    if (x->failed_job >= 0 || x->setup_failed) break;
    if (x->stop && k >= x->next_job) break; /* never handed out */
    if ((tr_interrupted() || opts_cancelled(x->opts)) && !x->stop) {
      x->stop = 1;
      pthread_cond_broadcast(&x->space);
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&x->ready, &x->mu, &until);
    if (!s->done) {
      pthread_mutex_unlock(&x->mu);
      progress_show(x, p, done, 0);
      pthread_mutex_lock(&x->mu);
    }
  }
  int ok = s->done && !(x->failed_job >= 0 && x->failed_job <= local_to_global(x, k));
  pthread_mutex_unlock(&x->mu);
  return ok ? &s->res : NULL;
}

static void release_local(exp_ctx *x, long k) {
  pthread_mutex_lock(&x->mu);
  x->slots[k % x->window].done = 0;
  x->slots[k % x->window].failed = 0;
  x->next_write = k + 1;
  pthread_cond_broadcast(&x->space);
  pthread_mutex_unlock(&x->mu);
}

/* ---------------------------------------------------------- experiment */
/* Everything one call of exp_run holds, so that its stages can be
** functions: set up (signals, outputs, agreement between ranks, workers),
** write in job order (rank 0) or send to rank 0 (the other ranks), then
** finish (status, the precise output, install or keep for --resume). */
typedef struct run_state {
  const tr_scenario *sc;
  const tr_options *opts;
  tr_diag *d;
  tr_plan plan;
  exp_ctx x;
  int root, precise_mode, maxticks, status;
  struct sigaction old_int, old_term;
  long pause_after; /* TIGHTROPE_TEST_PAUSE_AFTER, or -1 */
  tr_output *out;
  tr_journal *jr;
  char *fp;         /* the experiment's fingerprint (rank 0) */
  long start;       /* first job not recovered from the journal */
  long written;     /* jobs written, in order */
  long first_local; /* this rank's first local job */
  fetch_ctx fc;
  pthread_t *tid;
  int started;
  precise pr;
  tr_options fin; /* run until precise: the options with the runs reached */
  progress pg;
  long failed_remote;   /* MPI: global job that failed on another rank */
  long nfailed;         /* --keep-going: runs recorded as failed */
  char *remote_message; /* MPI: the failure another rank sent (encode_failure) */
} run_state;

/* Options that do not go together; 0, or TR_EUSAGE with a message. */
static int refuse_combinations(const tr_options *opts, tr_diag *d) {
  if (opts->keep_going && opts->resume) {
    diag_error(d, NULL, 0, 0,
               "--keep-going cannot be combined with --resume: run the "
               "experiment again from the start");
    return TR_EUSAGE;
  }
  if (opts->keep_going && opts->precision > 0) {
    diag_error(d, NULL, 0, 0,
               "--keep-going cannot be combined with --precision: a failed run "
               "has no outcome to count; fix the failure, or give -n instead of --precision");
    return TR_EUSAGE;
  }
  if (opts->keep_going && mpi_size() > 1) {
    diag_error(d, NULL, 0, 0, "--keep-going runs on one MPI rank (use threads: -j N)");
    return TR_EUSAGE;
  }
  return TR_OK;
}

static void signals_install(run_state *s) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  /* A test aid (docs/cli.md "Environment"): stop writing after this many
  ** runs until a signal comes, so a test's signal always lands mid-way. */
  const char *pause_env = s->opts->signals ? getenv("TIGHTROPE_TEST_PAUSE_AFTER") : NULL;
  s->pause_after = pause_env && *pause_env ? strtol(pause_env, NULL, 10) : -1;
  if (s->opts->signals) {
    watchdog_clear_signal();
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
  }
}

static void signals_restore(run_state *s) {
  if (s->opts->signals) {
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
  }
}

/* Rank 0: refuses an unsafe output folder, opens the journal and the
** output, and on --resume feeds them the journal's finished runs. */
static void open_outputs(run_state *s) {
  const tr_scenario *sc = s->sc;
  const tr_options *opts = s->opts;
  tr_diag *d = s->d;
  tr_plan *plan = &s->plan;
  tr_outspec spec = {sc, opts, plan->variant_names, plan->nvariants, plan->npoints, plan->points};
  s->fp = fingerprint(sc, opts, plan);
  if (!s->fp) {
    diag_error(d, NULL, 0, 0, "out of memory");
    s->status = TR_EOUTPUT;
  } else if (opts->format == TR_FORMAT_NONE && s->precise_mode) {
    diag_error(d, NULL, 0, 0,
               "run until precise (--precision) keeps its batches in the output "
               "folder's journal: it needs an output format (csv or sqlite)");
    s->status = TR_EUSAGE;
  } else if (opts->format == TR_FORMAT_NONE) {
  } /* the callback is the only result */
  else if ((s->status = out_check_target(sc, opts, d)) != TR_OK) {
  } else if ((s->jr = journal_open(sc, opts, s->fp, d, &s->status)) == NULL) {
  } else if (!s->precise_mode && (s->out = out_open(&spec, d)) == NULL) s->status = TR_EOUTPUT;
  else if (opts->resume && s->precise_mode) {
    if (journal_recover(s->jr, s->maxticks, &s->start, precise_recover, &s->pr, d))
      s->status = TR_EOUTPUT;
  } else if (opts->resume) {
    feed_ctx fctx = {s->out, sc, opts, plan->variant_names, &s->x, d, 0, 0};
    if (journal_recover(s->jr, s->maxticks, &s->start, feed_output, &fctx, d))
      s->status = fctx.foreign ? TR_EUSAGE : TR_EOUTPUT;
  }
  if (s->pr.stop_at >= 0) s->x.limit = s->pr.stop_at;
}

/* Every rank must run the same experiment: the same scenario files,
** scripts (by content), build and options; compare the fingerprints' digests
** (every rank), then take rank 0's status, first job and limit. */
static void agree_across_ranks(run_state *s) {
  char mine[65] = "";
  char *myfp = s->root ? NULL : fingerprint(s->sc, s->opts, &s->plan);
  if (s->root ? s->fp != NULL : myfp != NULL) fingerprint_digest(s->root ? s->fp : myfp, mine);
  free(myfp);
  if (!mpi_same_everywhere(mine) && s->status == TR_OK) {
    if (s->root)
      diag_error(s->d, s->sc->path, 0, 0,
                 "MPI ranks read different versions of this scenario "
                 "or of its scripts, or run different builds of tightrope (the experiment's "
                 "SHA-256 differs between ranks); give every rank the same files, "
                 "TIGHTROPE_PATH and binary");
    s->status = TR_EINVALID;
  }
  long shared[3] = {s->status, s->start, s->x.limit};
  mpi_share_longs(shared, 3);
  s->status = (int)shared[0];
  s->start = shared[1];
  s->x.limit = shared[2];
}

/* This rank's jobs (global j >= start with j % nranks == rank), the ring of
** result slots, and the worker threads. -1 when out of memory; 0 otherwise,
** s->status telling whether a worker started. */
static int start_workers(run_state *s) {
  exp_ctx *x = &s->x;
  size_t nm = (size_t)s->sc->nmetrics;
  s->first_local = s->start <= x->rank ? 0 : (s->start - x->rank + x->nranks - 1) / x->nranks;
  x->nlocal = x->limit > x->rank ? (x->limit - x->rank + x->nranks - 1) / x->nranks : 0;
  x->next_job = x->next_write = s->first_local;
  int threads = s->opts->threads < 1 ? 1 : s->opts->threads;
  long remaining = x->nlocal - s->first_local;
  if (threads > remaining) threads = (int)(remaining > 0 ? remaining : 1);
  x->window = threads * WINDOW_PER_THREAD;
  x->slots = calloc((size_t)x->window, sizeof *x->slots);
  s->fc.remote.finals = calloc(nm + 1, sizeof(double));
  s->fc.remote.series = calloc(((size_t)s->maxticks + 1) * nm + 1, sizeof(double));
  s->fc.stopped = calloc((size_t)x->nranks, 1);
  int oom = !x->slots || !s->fc.remote.finals || !s->fc.remote.series || !s->fc.stopped;
  for (int i = 0; !oom && i < x->window; i++) {
    x->slots[i].res.finals = calloc(nm + 1, sizeof(double));
    x->slots[i].res.series = calloc(((size_t)s->maxticks + 1) * nm + 1, sizeof(double));
    oom = !x->slots[i].res.finals || !x->slots[i].res.series;
  }
  s->tid = calloc((size_t)threads, sizeof *s->tid);
  if (oom || !s->tid) {
    diag_error(s->d, NULL, 0, 0, "out of memory for %d worker slots", x->window);
    s->status = TR_EOUTPUT;
    return -1;
  }
  pthread_mutex_init(&x->mu, NULL);
  pthread_cond_init(&x->ready, NULL);
  pthread_cond_init(&x->space, NULL);
  pthread_mutex_init(&x->console.mu, NULL);
  for (; s->started < threads && remaining > 0; s->started++)
    if (pthread_create(&s->tid[s->started], NULL, worker, x)) break;
  if (s->started == 0 && remaining > 0) {
    diag_error(s->d, NULL, 0, 0, "cannot start a worker thread");
    s->status = TR_ERUNTIME;
  }
  return 0;
}

/* A failure another rank sends rank 0: "TICK\nACTOR\nWHAT\nMESSAGE";
** decode_failure reads it back (e->message points into msg). */
static char *encode_failure(const tr_runerror *e) {
  char *msg = NULL;
  if (asprintf(&msg, "%d\n%d\n%s\n%s", e->tick, e->actor, e->what, e->message ? e->message : "")
      < 0)
    msg = NULL;
  return msg;
}

static void decode_failure(char *msg, tr_runerror *e) {
  memset(e, 0, sizeof *e);
  char *p = msg ? msg : (char *)"0\n-1\n?\n";
  e->tick = (int)strtol(p, &p, 10);
  e->actor = (int)strtol(p + 1, &p, 10);
  char *nl = strchr(p + 1, '\n');
  snprintf(e->what, sizeof e->what, "%.*s", nl ? (int)(nl - p - 1) : 0, p + 1);
  e->message = nl ? nl + 1 : (char *)"";
}

/* Rank 0: job j's result from rank `owner` (> 0), or NULL when none will
** come from it (it stopped, or failed: s->failed_remote set, or an error:
** s->status set). */
static const tr_runresult *fetch_remote(run_state *s, int owner, long j) {
  fetch_ctx *fc = &s->fc;
  const tr_runresult *r = NULL;
  int tag, len;
  if (fc->stopped[owner]) return NULL;
  if (mpi_recv(owner, &fc->buf, &tag, &len)) {
    s->status = TR_EOUTPUT;
    return NULL;
  }
  if (tag == MSG_RESULT) {
    if (rec_decode(s->sc, fc->buf.data, (size_t)len, NULL, &fc->remote, s->maxticks) == j
        && result_is_job(&s->plan, s->opts, s->x.batch, j, &fc->remote))
      r = &fc->remote;
    else {
      diag_error(s->d, NULL, 0, 0, "MPI: rank %d sent a damaged result", owner);
      s->status = TR_ERUNTIME;
    }
  } else if (tag == MSG_FAILED) {
    fc->buf.data[len] = 0;
    s->failed_remote = j;
    s->remote_message = strdup((char *)fc->buf.data);
    fc->stopped[owner] = 1; /* it sends nothing more */
  } else {
    fc->stopped[owner] = 1;
  }
  return r;
}

/* Rank 0, run until precise: the batch that made every outcome precise is
** the last; no job after it is handed out. */
static void precise_step(run_state *s, const tr_runresult *r) {
  exp_ctx *x = &s->x;
  precise_add(&s->pr, r);
  if (s->pr.stop_at == s->written) {
    pthread_mutex_lock(&x->mu);
    x->limit = s->written;
    x->nlocal = (x->limit - x->rank + x->nranks - 1) / x->nranks;
    pthread_cond_broadcast(&x->space);
    pthread_mutex_unlock(&x->mu);
  }
}

/* Rank 0: job j's result, written to the output, the journal and the
** callback. 0, or -1 with s->status set. */
static int write_one(run_state *s, long j, const tr_runresult *r) {
  const tr_options *opts = s->opts;
  if (!s->precise_mode && s->out && out_add_run(s->out, r)) {
    s->status = TR_EOUTPUT;
    return -1;
  }
  if (s->jr && journal_append(s->jr, r, j)) {
    diag_error(s->d, NULL, 0, 0, "cannot write the journal in %s: %s", opts->out, strerror(errno));
    s->status = TR_EOUTPUT;
    return -1;
  }
  s->written = j + 1;
  if (s->written == s->pause_after) test_pause(s->written);
  if (s->precise_mode) precise_step(s, r);
  if (!s->precise_mode && call_back(s->sc, opts, s->plan.variant_names, r))
    tr_options_cancel((tr_options *)opts);
  if (opts_cancelled(opts) && !s->x.stop) set_stop(&s->x);
  return 0;
}

/* Rank 0: every job from the first not recovered, strictly in job order,
** whichever rank ran it. */
static void write_in_order(run_state *s) {
  exp_ctx *x = &s->x;
  for (long j = s->start; s->status == TR_OK && j < x->limit; j++) {
    const tr_runresult *r = NULL;
    int owner = (int)(j % x->nranks);
    long k = j / x->nranks;
    if (owner == 0) r = wait_local(x, &s->pg, k, s->written);
    else r = fetch_remote(s, owner, j);
    if (s->status != TR_OK) break;
    /* with other ranks: an interruption stops new jobs at once */
    if (x->nranks > 1 && tr_interrupted() && !x->stop) set_stop(x);
    if (!r) break;
    if (owner == 0 && x->slots[k % x->window].failed) {
      if (record_failure(x, s->out, j, k, &s->nfailed, s->d)) {
        s->status = TR_EOUTPUT;
        break;
      }
      s->written = j + 1;
      release_local(x, k);
      progress_show(x, &s->pg, s->written, 0);
      continue;
    }
    if (write_one(s, j, r)) break;
    if (owner == 0) release_local(x, k);
    progress_show(x, &s->pg, s->written, 0);
  }
  /* Run until precise: the other ranks cannot know where rank 0 stopped.
  ** Tell each to stop, then take (and drop) what each sent until its
  ** last word, MSG_STOPPED or MSG_FAILED. */
  if (s->precise_mode) {
    for (int rk = 1; rk < x->nranks; rk++) mpi_send_stop(rk);
    for (int rk = 1; rk < x->nranks; rk++)
      while (!s->fc.stopped[rk]) {
        int tag, len;
        if (mpi_recv(rk, &s->fc.buf, &tag, &len)) {
          s->status = TR_EOUTPUT;
          break;
        }
        if (tag != MSG_RESULT) s->fc.stopped[rk] = 1;
      }
  }
}

/* The other ranks: send each result to rank 0 in order. With --precision,
** until rank 0 says stop (MSG_STOP), then a last MSG_STOPPED. */
static void send_to_root(run_state *s) {
  exp_ctx *x = &s->x;
  int said_last = 0, told_stop = 0;
  for (long k = s->first_local; s->status == TR_OK && k < x->nlocal; k++) {
    if (s->precise_mode && mpi_stop_arrived()) {
      told_stop = 1;
      break;
    }
    const tr_runresult *r = wait_local(x, &s->pg, k, 0);
    long j = local_to_global(x, k);
    if (!r) {
      if (x->failed_job >= 0 && x->failed_job == j) {
        char *msg = encode_failure(&x->failure);
        mpi_send_root(msg ? msg : "", msg ? (int)strlen(msg) : 0, MSG_FAILED);
        free(msg);
      } else {
        mpi_send_root("", 0, MSG_STOPPED);
      }
      said_last = 1;
      break;
    }
    if (rec_encode(s->sc, r, j, s->opts->series != SERIES_NONE, &s->fc.buf)) {
      s->status = TR_EOUTPUT;
      break;
    }
    mpi_send_root(s->fc.buf.data, (int)s->fc.buf.len, MSG_RESULT);
    release_local(x, k);
  }
  if (s->precise_mode) {
    set_stop(x);
    if (!told_stop) mpi_wait_stop();
    if (!said_last) mpi_send_root("", 0, MSG_STOPPED);
  }
}

/* After the workers stopped: the experiment's status (a worker that could
** not start, the first failed run on any rank, an interruption), the same
** on every rank. */
static void settle_status(run_state *s) {
  exp_ctx *x = &s->x;
  if (s->status == TR_OK && x->setup_failed) {
    diag_error(s->d, NULL, 0, 0,
               "a worker could not prepare its Lua state (limits.memory_mb too small?)");
    s->status = TR_ERUNTIME;
  } else if (s->status == TR_OK && (x->failed_job >= 0 || s->failed_remote >= 0)) {
    if (s->root && x->failed_job >= 0
        && (s->failed_remote < 0 || x->failed_job < s->failed_remote)) {
      print_failure(x, x->failed_job, &x->failure, s->d);
    } else if (s->root && s->failed_remote >= 0) {
      tr_runerror e;
      decode_failure(s->remote_message, &e);
      print_failure(x, s->failed_remote, &e, s->d);
    }
    s->status = TR_ERUNTIME;
  } else if (s->status == TR_OK && s->written < x->limit && s->root) {
    s->status = tr_interrupted() == SIGTERM ? TR_ETERM : TR_EINT;
  }
  if (!s->root && s->status == TR_OK && tr_interrupted())
    s->status = tr_interrupted() == SIGTERM ? TR_ETERM : TR_EINT;
  mpi_share_ints(&s->status, 1);
}

/* Rank 0, run until precise: runs 1..n of every instance, n the runs
** reached, written as `run -n n` would, read back from the journal in
** output order. */
static void finish_precise(run_state *s) {
  const tr_options *opts = s->opts;
  const tr_scenario *sc = s->sc;
  tr_plan *plan = &s->plan;
  long n = s->x.limit == s->x.total ? opts->runs : s->x.limit / plan->ninst;
  s->fin.precision_ceiling = opts->runs;
  s->fin.runs = (int)n;
  s->fin.precision_widest = s->pr.widest;
  s->fin.precision_reached = s->pr.widest <= opts->precision;
  tr_outspec spec = {sc,          &s->fin, plan->variant_names, plan->nvariants, plan->npoints,
                     plan->points};
  precise_order ord = {&s->x, (int)n};
  if (!s->jr) {
    /* no files (the callback is the only result): nothing to write */
  } else if ((s->out = out_open(&spec, s->d)) == NULL) {
    s->status = TR_EOUTPUT;
  } else {
    feed_ctx fctx = {s->out, sc, &s->fin, plan->variant_names, &s->x, s->d, 0, 0};
    if (journal_feed_ordered(s->jr, s->maxticks, (long)plan->ninst * n, precise_job, &ord,
                             precise_output, &fctx, s->d))
      s->status = TR_EOUTPUT;
  }
  if (s->status == TR_OK && !s->fin.precision_reached) {
    const tr_instance *in = &plan->inst[s->pr.widest_inst];
    fprintf(stderr,
            "tightrope: warning: precision %g not reached within the ceiling of %d runs: "
            "the widest 95%% half-width is %.4g (variant %s, point %d, outcome %s); raise -n\n",
            opts->precision, opts->runs, s->pr.widest, plan->variant_names[in->variant], in->point,
            s->pr.widest_result < sc->noutcomes ? sc->outcomes[s->pr.widest_result].name
                                                : sc->default_outcome);
  }
}

/* Rank 0, after an interruption or a failure: the output is dropped; the
** journal is kept for --resume after an interruption (and how to resume is
** printed), removed otherwise. */
static void keep_or_clean(run_state *s) {
  const tr_options *opts = s->opts;
  int status = s->status;
  if (s->out) out_abort(s->out);
  if (!s->jr) {
    /* not opened: nothing of ours to clean */
  } else if ((status == TR_EINT || status == TR_ETERM) && opts->argc == 0) {
    journal_close(s->jr, 0); /* a library caller: its status says it all */
  } else if ((status == TR_EINT || status == TR_ETERM) && opts->keep_going) {
    /* --keep-going does not journal its failed runs: nothing to resume */
    journal_close(s->jr, 1);
    fprintf(stderr,
            "tightrope: interrupted: %ld of %ld runs finished; an experiment run with "
            "--keep-going cannot be resumed: run it again\n",
            s->written, s->x.total);
  } else if (status == TR_EINT || status == TR_ETERM) {
    journal_close(s->jr, 0);
    fprintf(stderr,
            "tightrope: interrupted by %s: %ld of %ld runs finished and kept in "
            "%s/.tightrope-partial (exit %d)\nresume with:",
            status == TR_ETERM ? "SIGTERM" : "SIGINT", s->written, s->x.total, opts->out, status);
    int has_resume = 0;
    for (int i = 0; i < opts->argc; i++) {
      has_resume |= strcmp(opts->argv[i], "--resume") == 0;
      fputc(' ', stderr);
      diag_shell_word(stderr, opts->argv[i]);
    }
    fprintf(stderr, "%s\n", has_resume ? "" : " --resume");
  } else {
    /* A failed run, or an output error: the finished runs stay
    ** resumable only for interruptions; otherwise clean up. */
    journal_close(s->jr, s->jr != NULL && !opts->resume);
  }
}

/* Rank 0: install the files (or keep or clean after a failure). */
static void finish_outputs(run_state *s) {
  if (s->status != TR_OK) {
    keep_or_clean(s);
    return;
  }
  if (s->out && out_finish(s->out, s->d)) s->status = TR_EOUTPUT;
  if (s->jr) journal_close(s->jr, s->status == TR_OK);
  if (s->status == TR_OK && s->nfailed > 0) {
    /* --keep-going: everything that finished is installed; still exit 3 */
    fprintf(stderr,
            "tightrope: %ld of %ld runs failed; they are listed in %s/errors.csv, "
            "the statistics are over the %ld that finished\n",
            s->nfailed, s->x.total, s->opts->out, s->x.total - s->nfailed);
    s->status = TR_ERUNTIME;
  }
}

static void run_state_free(run_state *s) {
  exp_ctx *x = &s->x;
  free(x->failure.message);
  for (int i = 0; x->slots && i < x->window; i++) {
    free(x->slots[i].res.finals);
    free(x->slots[i].res.series);
    free(x->slots[i].res.events);
  }
  free(x->slots);
  free(s->fc.remote.finals);
  free(s->fc.remote.series);
  free(s->fc.remote.events);
  free(s->fc.buf.data);
  free(s->fc.stopped);
  free(s->fp);
  free(s->tid);
  free(s->pr.counts);
  free(s->pr.nruns);
  free(s->remote_message);
  exp_plan_free(&s->plan);
}

/* The state of one experiment before anything starts (s->status set when
** out of memory). */
static void run_state_init(run_state *s, const tr_scenario *sc, const tr_options *opts,
                           tr_diag *d) {
  exp_ctx *x = &s->x;
  s->sc = sc;
  s->opts = opts;
  s->d = d;
  s->status = TR_OK;
  x->sc = sc;
  x->opts = opts;
  x->plan = &s->plan;
  x->total = (long)s->plan.ninst * opts->runs;
  s->precise_mode = opts->precision > 0;
  x->batch =
      s->precise_mode && opts->batch > 0 && opts->batch < opts->runs ? opts->batch : opts->runs;
  x->limit = x->total;
  x->widest = NAN;
  x->failed_job = -1;
  x->rank = mpi_rank();
  x->nranks = mpi_size();
  s->root = x->rank == 0;
  for (int i = 0; i < s->plan.ninst; i++)
    if (s->plan.inst[i].ticks > s->maxticks) s->maxticks = s->plan.inst[i].ticks;
  s->fc.maxticks = s->maxticks;
  s->failed_remote = -1;
  /* Run until precise: rank 0 counts outcomes and journals the runs batch
  ** by batch; the output is written at the end, in its usual order, from
  ** the journal. */
  s->pr.x = x;
  s->pr.nresults = sc->noutcomes + 1;
  s->pr.stop_at = -1;
  s->pr.d = d;
  s->pr.widest = NAN;
  s->fin = *opts;
  if (s->precise_mode && s->root) {
    s->pr.counts = calloc((size_t)s->plan.ninst * (size_t)s->pr.nresults + 1, sizeof *s->pr.counts);
    s->pr.nruns = calloc((size_t)s->plan.ninst + 1, sizeof *s->pr.nruns);
    if (!s->pr.counts || !s->pr.nruns) {
      diag_error(d, NULL, 0, 0, "out of memory");
      s->status = TR_EOUTPUT;
    }
  }
}

int exp_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d) {
  int status = refuse_combinations(opts, d);
  if (status != TR_OK) return status;
  run_state *s = calloc(1, sizeof *s);
  if (!s) {
    diag_error(d, NULL, 0, 0, "out of memory");
    return TR_EOUTPUT;
  }
  if (exp_plan(sc, opts, &s->plan, d)) {
    exp_plan_free(&s->plan);
    free(s);
    return TR_EINVALID;
  }
  run_state_init(s, sc, opts, d);
  signals_install(s);
  if (s->root && s->status == TR_OK) open_outputs(s);
  agree_across_ranks(s);
  if (s->status == TR_OK && start_workers(s) == 0) {
    memset(&s->pg, 0, sizeof s->pg);
    s->pg.on = s->root && !opts->quiet && isatty(STDERR_FILENO);
    s->pg.done0 = s->start;
    clock_gettime(CLOCK_MONOTONIC, &s->pg.start);
    s->pg.last = s->pg.start;
    s->written = s->start;
    if (s->root) write_in_order(s);
    else send_to_root(s);
    set_stop(&s->x);
    for (int i = 0; i < s->started; i++) pthread_join(s->tid[i], NULL);
    progress_clear(&s->x, &s->pg);
    settle_status(s);
    pthread_mutex_destroy(&s->x.mu);
    pthread_cond_destroy(&s->x.ready);
    pthread_cond_destroy(&s->x.space);
    pthread_mutex_destroy(&s->x.console.mu);
  }
  if (s->root && s->status == TR_OK && s->precise_mode) finish_precise(s);
  if (s->root) finish_outputs(s);
  signals_restore(s);
  status = s->status;
  run_state_free(s);
  free(s);
  return status;
}
