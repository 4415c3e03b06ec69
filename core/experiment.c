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

#include "internal.h"

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

/* Apply one change to an instance; 0, or -1 with a message in err. */
static int apply_change(const tr_scenario *sc, tr_instance *in, const tr_path *p, int op,
                        double value, char *err, size_t errsize) {
  switch (p->kind) {
    case PATH_ACTOR_ATTR:
    case PATH_REL_ATTR: {
      const tr_attrdecl *ad = p->kind == PATH_ACTOR_ATTR ? &sc->actors[p->actor].attrs[p->attr]
                                                         : &sc->rels[p->rel].attrs[p->attr];
      double x = op == CHANGE_SET ? value : in->init[p->slot] + value;
      if (ad->dist >= 0) {
        snprintf(err, errsize, "%s is drawn from a distribution in every run; it has no single "
                 "value to change", p->text);
        return -1;
      }
      if (ad->integer && x != floor(x)) {
        snprintf(err, errsize, "%s = %g: the attribute is an integer", p->text, x);
        return -1;
      }
      if (!isfinite(x)) { snprintf(err, errsize, "%s becomes %g, not a finite number", p->text, x); return -1; }
      if (x < ad->min || x > ad->max) {
        snprintf(err, errsize, "%s = %g is outside its bounds [%g, %g]", p->text, x, ad->min, ad->max);
        return -1;
      }
      in->init[p->slot] = x;
      return 0;
    }
    case PATH_MODEL:
      in->model[p->model] = op == CHANGE_SET ? value : in->model[p->model] + value;
      return 0;
    case PATH_COUNT: {
      double *c = &in->init[sc->nslots + p->pop];
      double x = op == CHANGE_SET ? value : *c + value;
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
      if (p->pop >= 0) {          /* POP.params.KEY: every member */
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
        if (!v) { snprintf(err, errsize, "%s is not a numeric parameter", p->text); return -1; }
        base = *v;
      }
      tr_paramset *np = realloc(in->params, (size_t)(in->nparams + 1) * sizeof *np);
      char *key = strdup(p->key);   /* the path may not outlive the plan */
      if (np) in->params = np;
      if (!np || !key) { free(key); snprintf(err, errsize, "out of memory"); return -1; }
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
typedef struct { tr_path path; double value; } set_override;

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

/* The sweep's points: npoints * nsweep values, row-major. */
static int sweep_points(const tr_scenario *sc, uint64_t master, double **out, int *npoints) {
  int k = sc->nsweep;
  if (sc->sweep_method == SWEEP_NONE || k <= 0) { *out = NULL; *npoints = 1; return 0; }
  if (sc->sweep_method == SWEEP_GRID) {
    long total = 1;
    for (int j = 0; j < k; j++) {
      total *= sc->sweep[j].nvalues;
      if (total > 10000000) return -1;
    }
    if (total < 1) return -1;
    double *v = malloc((size_t)total * (size_t)k * sizeof *v);
    if (!v) return -1;
    for (long p = 0; p < total; p++) {     /* first parameter varies slowest */
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
  if (sc->sweep_method == SWEEP_FILE) {     /* the design's rows, as written */
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
  double *u = malloc((size_t)P * (size_t)k * sizeof *u);
  if (!u) return -1;
  gsl_rng *r = gsl_rng_alloc(rng_type());
  if (!r) { free(u); return -1; }
  gsl_rng_set(r, (unsigned long)rng_run_seed(master, 0)); /* run 0: never a real run */
  if (sc->sweep_method == SWEEP_SOBOL) {
    gsl_qrng *q = k <= 40 ? gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)k) : NULL;
    if (!q) { free(u); gsl_rng_free(r); return -1; }
    for (int p = 0; p < P; p++) gsl_qrng_get(q, &u[p * k]);
    gsl_qrng_free(q);
  } else if (sc->sweep_method == SWEEP_LHS) {
    /* Latin hypercube: in each dimension a permutation of the P strata,
    ** and a uniform position inside each stratum. */
    size_t *perm = malloc((size_t)P * sizeof *perm);
    if (!perm) { free(u); gsl_rng_free(r); return -1; }
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
  *dst = *src;            /* params, variant, point, ticks, activation */
  dst->init = init;
  dst->model = model;
  for (int j = 0; j < p->k; j++)
    if (apply_change(sc, dst, &p->paths[j], CHANGE_SET, p->theta[(size_t)i * (size_t)p->k + (size_t)j],
                     err, size))
      return -1;
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
  while (lo < hi) {       /* first particle whose cumulative weight exceeds u */
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

/* The baseline instance: the scenario's values, horizon `ticks`. */
int exp_instance_base(const tr_scenario *sc, int ticks, tr_instance *in) {
  in->init = calloc((size_t)sc->nslots + (size_t)sc->npops + 1, sizeof *in->init);
  in->model = calloc((size_t)sc->nmodel + 1, sizeof *in->model);
  if (!in->init || !in->model) return -1;
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      in->init[sc->actors[a].attrs[i].slot] = sc->actors[a].attrs[i].value;
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++)
      in->init[sc->rels[r].attrs[i].slot] = sc->rels[r].attrs[i].value;
  for (int m = 0; m < sc->nmodel; m++) in->model[m] = sc->model[m].value;
  for (int p = 0; p < sc->npops; p++) in->init[sc->nslots + p] = sc->pops[p].count;
  in->ticks = ticks;
  in->activation = sc->activation;
  in->vdecl = -1;
  in->point = 1;
  return 0;
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
    diag_error(d, sc->path, 0, 0, "cannot build the sweep's points (too many, or over 40 Sobol dimensions)");
    return -1;
  }
  set_override *sets = NULL;
  if (parse_sets(sc, opts, &sets, d)) { free(sets); return -1; }
  plan->ninst = plan->nvariants * plan->npoints;
  plan->inst = calloc((size_t)plan->ninst, sizeof *plan->inst);
  if (!plan->inst) { free(sets); goto oom; }
  char err[512];
  for (int v = 0; v < plan->nvariants; v++) {
    for (int p = 0; p < plan->npoints; p++) {
      tr_instance *in = &plan->inst[v * plan->npoints + p];
      if (exp_instance_base(sc, opts->ticks, in)) { free(sets); goto oom; }
      in->variant = v;
      in->vdecl = plan->variant_decl[v];
      in->point = p + 1;
      for (int i = 0; i < opts->nsets; i++)
        if (apply_change(sc, in, &sets[i].path, CHANGE_SET, sets[i].value, err, sizeof err) && v == 0 && p == 0)
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
        if (apply_change(sc, in, &sp->path, CHANGE_SET, plan->points[p * sc->nsweep + j], err, sizeof err))
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

/* Set by SIGINT/SIGTERM. A signal handler has no context to write to, so
** this is the engine's one piece of process-wide state. */
static volatile sig_atomic_t interrupted_by;

static void on_signal(int sig) {
  interrupted_by = sig;
  watchdog_signal();        /* stops the scripts running now, too */
}

struct tr_console {
  pthread_mutex_t mu;
  int progress_shown;        /* a progress line is on screen */
};

void console_write(tr_console *c, const char *s, size_t n) {
  pthread_mutex_lock(&c->mu);
  if (c->progress_shown) {
    fputs("\r\033[K", stderr);
    c->progress_shown = 0;
  }
  fwrite(s, 1, n, stderr);
  pthread_mutex_unlock(&c->mu);
}

typedef struct slot {
  tr_runresult res;
  tr_runerror err;
  int done;
} slot;

typedef struct exp_ctx {
  const tr_scenario *sc;
  const tr_options *opts;
  const tr_plan *plan;
  long total;                /* jobs of the whole experiment */
  int rank, nranks;          /* MPI: this process's jobs are j % nranks == rank */
  long next_job, next_write; /* local job ordinals */
  long nlocal;               /* local jobs */
  int window;
  slot *slots;
  pthread_mutex_t mu;
  pthread_cond_t ready, space;
  int stop;                  /* no new job: a run failed, or interrupted */
  long failed_job;           /* first failing (global) job, or -1 */
  tr_runerror failure;
  int setup_failed;
  tr_console console;
} exp_ctx;

static long local_to_global(const exp_ctx *x, long k) { return k * x->nranks + x->rank; }

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
  long runs = x->opts->runs;
  tr_instance scratch;    /* a run's instance under --posterior */
  memset(&scratch, 0, sizeof scratch);
  if (x->opts->posterior && (exp_instance_base(sc, x->opts->ticks, &scratch), !scratch.init)) {
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
    const tr_instance *in = &x->plan->inst[j / runs];
    int run = (int)(j % runs) + 1;
    uint64_t seed = exp_run_seed(x->opts, in->point, run);
    /* this run's parameters from the posterior (every particle was checked
    ** against the scenario when the file was read) */
    char perr[512] = "";
    int bad_particle = 0;
    if (x->opts->posterior) {
      int pi = posterior_pick(x->opts->posterior, x->opts->seed, run);
      if (posterior_apply(sc, x->opts->posterior, pi, in, &scratch, perr, sizeof perr) == 0)
        in = &scratch;
      else
        bad_particle = 1;
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
    if (rc) {
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
  long done0;                 /* runs recovered by --resume */
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
  fprintf(stderr, "\r\033[K%ld/%ld runs  %5.1f%%  %.0f runs/s  %s left", done, x->total,
          x->total ? 100.0 * (double)done / (double)x->total : 100.0, rate, left);
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
static void print_replay_hint(FILE *f, const exp_ctx *x, const tr_instance *in, int run) {
  const tr_scenario *sc = x->sc;
  const tr_options *o = x->opts;
  fprintf(f, "reproduce with: tightrope replay %s --run %d", sc->path, run);
  if (in->variant) fprintf(f, " --variant %s", x->plan->variant_names[in->variant]);
  if (x->plan->npoints > 1) fprintf(f, " --point %d", in->point);
  fprintf(f, " -s %llu", (unsigned long long)o->seed);
  if (o->ticks != sc->ticks || !sc->has_ticks) fprintf(f, " -t %d", o->ticks);
  for (int i = 0; i < o->nsets; i++) fprintf(f, " --set %s", o->sets[i]);
}

/* The failure goes to d as "SCENARIO: error: run failed: ..." with Lua's
** message and the replay command on the lines after it. */
static void print_failure(const exp_ctx *x, long j, const tr_runerror *e, tr_diag *d) {
  const tr_scenario *sc = x->sc;
  const tr_options *o = x->opts;
  const tr_instance *in = &x->plan->inst[j / o->runs];
  int run = (int)(j % o->runs) + 1;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) { diag_error(d, sc->path, 0, 0, "run failed (out of memory for its message)"); return; }
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

/* What must be equal for --resume to continue an experiment. */
static char *fingerprint(const tr_scenario *sc, const tr_options *o, const tr_plan *plan) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f) return NULL;
  fprintf(f, "scenario-sha256: %s\ntightrope: %s\nruns: %d\nticks: %d\nseed: %llu\n"
          "series: %d\nevents: %d\npoints: %d\n", sc->sha256, TR_VERSION, o->runs, o->ticks,
          (unsigned long long)o->seed, o->series, o->events, plan->npoints);
  for (int i = 0; i < o->nsets; i++) fprintf(f, "set: %s\n", o->sets[i]);
  for (int v = 0; v < plan->nvariants; v++) fprintf(f, "variant: %s\n", plan->variant_names[v]);
  if (o->posterior) fprintf(f, "posterior-sha256: %s\n", o->posterior->sha256);
  fclose(f);
  return s;
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
} feed_ctx;

/* A run recovered from the journal goes where a new one goes. */
static int feed_output(void *p, const tr_runresult *r) {
  feed_ctx *f = p;
  if (out_add_run(f->out, r)) return -1;
  if (call_back(f->sc, f->opts, f->variant_names, r)) tr_options_cancel((tr_options *)f->opts);
  return 0;
}

/* ------------------------------------------------------------------ MPI */
#ifdef TR_MPI
#include <mpi.h>
enum { TAG_RESULT = 1, TAG_FAILED = 2, TAG_STOPPED = 3 };

/* Open MPI's blocking calls spin on a core; with ranks sharing a machine's
** cores that halves the workers' speed. So wait politely: test, then sleep
** a millisecond. */
static void nap(void) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
}

static void probe_politely(int source, MPI_Status *st) {
  int flag = 0;
  for (;;) {
    MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st);
    if (flag) return;
    nap();
  }
}

static void send_politely(const void *data, int len, int tag) {
  MPI_Request req;
  int done = 0;
  MPI_Isend(data, len, MPI_BYTE, 0, tag, MPI_COMM_WORLD, &req);
  for (;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    nap();
  }
}
#endif

/* Rank 0's view of job j's result, whichever rank ran it. Returns the
** result, or NULL when it will not come (stopped, failed: *failed set). */
typedef struct fetch_ctx {
  tr_runresult remote;        /* decode buffer for other ranks' results */
  tr_buf buf;
  int maxticks;
  unsigned char *stopped;     /* per rank: it sent TAG_STOPPED */
} fetch_ctx;

static const tr_runresult *wait_local(exp_ctx *x, progress *p, long k, long done) {
  slot *s = &x->slots[k % x->window];
  pthread_mutex_lock(&x->mu);
  for (;;) {
    if (s->done) break;
    if (x->failed_job >= 0 || x->setup_failed) break;
    if (x->stop && k >= x->next_job) break;   /* never handed out */
    if ((interrupted_by || opts_cancelled(x->opts)) && !x->stop) {
      x->stop = 1;
      pthread_cond_broadcast(&x->space);
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
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
  x->next_write = k + 1;
  pthread_cond_broadcast(&x->space);
  pthread_mutex_unlock(&x->mu);
}

/* ---------------------------------------------------------- experiment */
int exp_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d) {
  tr_plan plan;
  if (exp_plan(sc, opts, &plan, d)) { exp_plan_free(&plan); return TR_EINVALID; }

  exp_ctx x;
  memset(&x, 0, sizeof x);
  x.sc = sc;
  x.opts = opts;
  x.plan = &plan;
  x.total = (long)plan.ninst * opts->runs;
  x.failed_job = -1;
  x.nranks = 1;
#ifdef TR_MPI
  MPI_Comm_rank(MPI_COMM_WORLD, &x.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &x.nranks);
#endif
  int root = x.rank == 0;
  int maxticks = 0;
  for (int i = 0; i < plan.ninst; i++) if (plan.inst[i].ticks > maxticks) maxticks = plan.inst[i].ticks;
  size_t nm = (size_t)sc->nmetrics;

  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (opts->signals) {
    interrupted_by = 0;
    watchdog_clear_signal();
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }

  int status = TR_OK;
  tr_output *out = NULL;
  tr_journal *jr = NULL;
  char *fp = NULL;
  long start = 0;             /* first job not recovered from the journal */
  long written = 0;           /* jobs written, in order */
  fetch_ctx fc;
  memset(&fc, 0, sizeof fc);
  fc.maxticks = maxticks;
  pthread_t *tid = NULL;
  int started = 0;

  if (root) {
    tr_outspec spec = {sc, opts, plan.variant_names, plan.nvariants, plan.npoints, plan.points};
    fp = fingerprint(sc, opts, &plan);
    if (!fp) { diag_error(d, NULL, 0, 0, "out of memory"); status = TR_EOUTPUT; }
    else if (opts->format == TR_FORMAT_NONE) {}   /* the callback is the only result */
    else if ((jr = journal_open(sc, opts, fp, d, &status)) == NULL) {}
    else if ((out = out_open(&spec, d)) == NULL) status = TR_EOUTPUT;
    else if (opts->resume) {
      feed_ctx fctx = {out, sc, opts, plan.variant_names};
      if (journal_recover(jr, maxticks, &start, feed_output, &fctx, d)) status = TR_EOUTPUT;
    }
  }
#ifdef TR_MPI
  /* Every rank must run the same scenario file: compare its SHA-256. */
  char sha[sizeof sc->sha256];
  memcpy(sha, sc->sha256, sizeof sha);
  MPI_Bcast(sha, (int)sizeof sha, MPI_CHAR, 0, MPI_COMM_WORLD);
  int differs = memcmp(sha, sc->sha256, sizeof sha) != 0, any_differs = 0;
  MPI_Allreduce(&differs, &any_differs, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any_differs && status == TR_OK) {
    if (root) diag_error(d, sc->path, 0, 0, "MPI ranks read different versions of this scenario "
                         "(SHA-256 differs between nodes); give every rank the same file");
    status = TR_EINVALID;
  }
  long shared[2] = {status, start};
  MPI_Bcast(shared, 2, MPI_LONG, 0, MPI_COMM_WORLD);
  status = (int)shared[0];
  start = shared[1];
#endif
  if (status != TR_OK) goto done;

  /* This rank's jobs: global j >= start with j % nranks == rank. */
  long first_local = start <= x.rank ? 0 : (start - x.rank + x.nranks - 1) / x.nranks;
  x.nlocal = x.total > x.rank ? (x.total - x.rank + x.nranks - 1) / x.nranks : 0;
  x.next_job = x.next_write = first_local;
  int threads = opts->threads < 1 ? 1 : opts->threads;
  long remaining = x.nlocal - first_local;
  if (threads > remaining) threads = (int)(remaining > 0 ? remaining : 1);
  x.window = threads * WINDOW_PER_THREAD;
  x.slots = calloc((size_t)x.window, sizeof *x.slots);
  fc.remote.finals = calloc(nm + 1, sizeof(double));
  fc.remote.series = calloc(((size_t)maxticks + 1) * nm + 1, sizeof(double));
  fc.stopped = calloc((size_t)x.nranks, 1);
  int oom = !x.slots || !fc.remote.finals || !fc.remote.series || !fc.stopped;
  for (int i = 0; !oom && i < x.window; i++) {
    x.slots[i].res.finals = calloc(nm + 1, sizeof(double));
    x.slots[i].res.series = calloc(((size_t)maxticks + 1) * nm + 1, sizeof(double));
    oom = !x.slots[i].res.finals || !x.slots[i].res.series;
  }
  tid = calloc((size_t)threads, sizeof *tid);
  if (oom || !tid) {
    diag_error(d, NULL, 0, 0, "out of memory for %d worker slots", x.window);
    status = TR_EOUTPUT;
    goto done;
  }
  pthread_mutex_init(&x.mu, NULL);
  pthread_cond_init(&x.ready, NULL);
  pthread_cond_init(&x.space, NULL);
  pthread_mutex_init(&x.console.mu, NULL);
  for (; started < threads && remaining > 0; started++)
    if (pthread_create(&tid[started], NULL, worker, &x)) break;
  if (started == 0 && remaining > 0) {
    diag_error(d, NULL, 0, 0, "cannot start a worker thread");
    status = TR_ERUNTIME;
  }

  progress pg;
  memset(&pg, 0, sizeof pg);
  pg.on = root && !opts->quiet && isatty(STDERR_FILENO);
  pg.done0 = start;
  clock_gettime(CLOCK_MONOTONIC, &pg.start);
  pg.last = pg.start;

  long failed_remote = -1;      /* MPI: global job that failed on another rank */
  char *remote_message = NULL;
  written = start;
  if (root) {
    for (long j = start; status == TR_OK && j < x.total; j++) {
      const tr_runresult *r = NULL;
      int owner = (int)(j % x.nranks);
      if (owner == 0) {
        r = wait_local(&x, &pg, j / x.nranks, written);
      }
#ifdef TR_MPI
      else if (!fc.stopped[owner]) {
        MPI_Status ms;
        int len;
        probe_politely(owner, &ms);
        MPI_Get_count(&ms, MPI_BYTE, &len);
        if (fc.buf.cap < (size_t)len + 1) {
          unsigned char *nb = realloc(fc.buf.data, (size_t)len + 1);
          if (!nb) { status = TR_EOUTPUT; break; }
          fc.buf.data = nb;
          fc.buf.cap = (size_t)len + 1;
        }
        MPI_Recv(fc.buf.data, len, MPI_BYTE, owner, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (ms.MPI_TAG == TAG_RESULT) {
          if (rec_decode(sc, fc.buf.data, (size_t)len, NULL, &fc.remote, maxticks) == j) r = &fc.remote;
          else { diag_error(d, NULL, 0, 0, "MPI: rank %d sent a damaged result", owner); status = TR_ERUNTIME; }
        } else if (ms.MPI_TAG == TAG_FAILED) {
          fc.buf.data[len] = 0;
          failed_remote = j;
          remote_message = strdup((char *)fc.buf.data);
        } else {
          fc.stopped[owner] = 1;
        }
      }
      if (interrupted_by && !x.stop) set_stop(&x);
#endif
      if (!r) break;
      if (out && out_add_run(out, r)) { status = TR_EOUTPUT; break; }
      if (jr && journal_append(jr, r, j)) {
        diag_error(d, NULL, 0, 0, "cannot write the journal in %s: %s", opts->out, strerror(errno));
        status = TR_EOUTPUT;
        break;
      }
      written = j + 1;
      if (call_back(sc, opts, plan.variant_names, r)) tr_options_cancel((tr_options *)opts);
      if (opts_cancelled(opts) && !x.stop) set_stop(&x);
      if (owner == 0) release_local(&x, j / x.nranks);
      progress_show(&x, &pg, written, 0);
    }
  }
#ifdef TR_MPI
  else {
    /* Other ranks: send each result to rank 0 in order. */
    for (long k = first_local; status == TR_OK && k < x.nlocal; k++) {
      const tr_runresult *r = wait_local(&x, &pg, k, 0);
      long j = local_to_global(&x, k);
      if (!r) {
        if (x.failed_job >= 0 && x.failed_job == j) {
          char *msg = NULL;
          if (asprintf(&msg, "%d\n%d\n%s\n%s", x.failure.tick, x.failure.actor, x.failure.what,
                       x.failure.message ? x.failure.message : "") < 0) msg = NULL;
          send_politely(msg ? msg : "", msg ? (int)strlen(msg) : 0, TAG_FAILED);
          free(msg);
        } else {
          send_politely("", 0, TAG_STOPPED);
        }
        break;
      }
      if (rec_encode(sc, r, j, opts->series != SERIES_NONE, &fc.buf)) { status = TR_EOUTPUT; break; }
      send_politely(fc.buf.data, (int)fc.buf.len, TAG_RESULT);
      release_local(&x, k);
    }
  }
#endif
  set_stop(&x);
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  progress_clear(&x, &pg);

  if (status == TR_OK && x.setup_failed) {
    diag_error(d, NULL, 0, 0, "a worker could not prepare its Lua state (limits.memory_mb too small?)");
    status = TR_ERUNTIME;
  } else if (status == TR_OK && (x.failed_job >= 0 || failed_remote >= 0)) {
    if (root && x.failed_job >= 0 && (failed_remote < 0 || x.failed_job < failed_remote)) {
      print_failure(&x, x.failed_job, &x.failure, d);
    } else if (root && failed_remote >= 0) {
      tr_runerror e;
      memset(&e, 0, sizeof e);
      char *p = remote_message ? remote_message : (char *)"0\n-1\n?\n";
      e.tick = (int)strtol(p, &p, 10);
      e.actor = (int)strtol(p + 1, &p, 10);
      char *nl = strchr(p + 1, '\n');
      snprintf(e.what, sizeof e.what, "%.*s", nl ? (int)(nl - p - 1) : 0, p + 1);
      e.message = nl ? nl + 1 : (char *)"";
      print_failure(&x, failed_remote, &e, d);
    }
    status = TR_ERUNTIME;
  } else if (status == TR_OK && written < x.total && root) {
    status = interrupted_by == SIGTERM ? TR_ETERM : TR_EINT;
  }
#ifdef TR_MPI
  if (!root && status == TR_OK && interrupted_by) status = interrupted_by == SIGTERM ? TR_ETERM : TR_EINT;
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
  free(remote_message);
  pthread_mutex_destroy(&x.mu);
  pthread_cond_destroy(&x.ready);
  pthread_cond_destroy(&x.space);
  pthread_mutex_destroy(&x.console.mu);

done:
  if (root) {
    if (status == TR_OK) {
      if (out && out_finish(out, d)) status = TR_EOUTPUT;
      if (jr) journal_close(jr, status == TR_OK);
    } else {
      if (out) out_abort(out);
      if (!jr) {
        /* not opened: nothing of ours to clean */
      } else if ((status == TR_EINT || status == TR_ETERM) && opts->argc == 0) {
        journal_close(jr, 0);   /* a library caller: its status says it all */
      } else if (status == TR_EINT || status == TR_ETERM) {
        journal_close(jr, 0);
        fprintf(stderr, "tightrope: interrupted: %ld of %ld runs finished and kept in %s/.tightrope-partial\n"
                "resume with:", written, x.total, opts->out);
        int has_resume = 0;
        for (int i = 0; i < opts->argc; i++) {
          has_resume |= strcmp(opts->argv[i], "--resume") == 0;
          fprintf(stderr, " %s", opts->argv[i]);
        }
        fprintf(stderr, "%s\n", has_resume ? "" : " --resume");
      } else {
        /* A failed run, or an output error: the finished runs stay
        ** resumable only for interruptions; otherwise clean up. */
        journal_close(jr, jr != NULL && !opts->resume);
      }
    }
  }
  if (opts->signals) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  free(x.failure.message);
  for (int i = 0; x.slots && i < x.window; i++) {
    free(x.slots[i].res.finals);
    free(x.slots[i].res.series);
    free(x.slots[i].res.events);
  }
  free(x.slots);
  free(fc.remote.finals);
  free(fc.remote.series);
  free(fc.remote.events);
  free(fc.buf.data);
  free(fc.stopped);
  free(fp);
  free(tid);
  exp_plan_free(&plan);
  return status;
}
