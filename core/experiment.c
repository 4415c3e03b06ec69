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
    case PATH_TICKS:
      if (op != CHANGE_SET || value < 0 || value != floor(value) || value > 1e9) {
        snprintf(err, errsize, "experiment.ticks must be set to a whole number >= 0");
        return -1;
      }
      in->ticks = (int)value;
      return 0;
    case PATH_PARAM: {
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
      if (!np) { snprintf(err, errsize, "out of memory"); return -1; }
      in->params = np;
      np[in->nparams].actor = p->actor;
      np[in->nparams].key = p->key;
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
  if (sc->sweep_method == SWEEP_NONE || k == 0) { *out = NULL; *npoints = 1; return 0; }
  if (sc->sweep_method == SWEEP_GRID) {
    long total = 1;
    for (int j = 0; j < k; j++) {
      total *= sc->sweep[j].nvalues;
      if (total > 10000000) return -1;
    }
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

static int instance_base(const tr_scenario *sc, const tr_options *opts, tr_instance *in) {
  in->init = calloc((size_t)sc->nslots + 1, sizeof *in->init);
  in->model = calloc((size_t)sc->nmodel + 1, sizeof *in->model);
  if (!in->init || !in->model) return -1;
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      in->init[sc->actors[a].attrs[i].slot] = sc->actors[a].attrs[i].value;
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++)
      in->init[sc->rels[r].attrs[i].slot] = sc->rels[r].attrs[i].value;
  for (int m = 0; m < sc->nmodel; m++) in->model[m] = sc->model[m].value;
  in->ticks = opts ? opts->ticks : sc->ticks;
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
    int take = opts->nvariants == 0;
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
      if (instance_base(sc, opts, in)) { free(sets); goto oom; }
      in->variant = v;
      in->vdecl = plan->variant_decl[v];
      in->point = p + 1;
      for (int i = 0; i < opts->nsets; i++)
        if (apply_change(sc, in, &sets[i].path, CHANGE_SET, sets[i].value, err, sizeof err) && v == 0 && p == 0)
          diag_error(d, NULL, 0, 0, "--set %s: %s", opts->sets[i], err);
      if (in->vdecl >= 0) {
        const tr_variantdecl *vd = &sc->variants[in->vdecl];
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

typedef struct slot {
  tr_runresult res;
  tr_runerror err;
  int done;
} slot;

typedef struct exp_ctx {
  const tr_scenario *sc;
  const tr_options *opts;
  const tr_plan *plan;
  long total, next_job, next_write;
  int window;
  slot *slots;
  pthread_mutex_t mu;
  pthread_cond_t ready, space;
  int stop;                 /* no new job: a run failed, or interrupted */
  long failed_job;          /* first failing job, or -1 */
  tr_runerror failure;
  int setup_failed;
  tr_diag *d;
} exp_ctx;

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
  w->log_events = x->opts->events;
  long runs = x->opts->runs;
  for (;;) {
    pthread_mutex_lock(&x->mu);
    while (!x->stop && x->next_job < x->total && x->next_job >= x->next_write + x->window)
      pthread_cond_wait(&x->space, &x->mu);
    if (x->stop || x->next_job >= x->total) {
      pthread_mutex_unlock(&x->mu);
      break;
    }
    long j = x->next_job++;
    pthread_mutex_unlock(&x->mu);

    slot *s = &x->slots[j % x->window];
    const tr_instance *in = &x->plan->inst[j / runs];
    int run = (int)(j % runs) + 1;
    uint64_t seed = rng_run_seed(x->opts->seed, (uint64_t)run);
    s->res.variant = in->variant;
    s->res.point = in->point;
    s->res.run = run;
    s->res.seed = seed;
    s->res.outcome = sc->noutcomes;
    memset(&s->err, 0, sizeof s->err);
    w->res = &s->res;
    int rc = tick_run(lx, in, run, seed, &s->err);
    if (rc == 0) {
      int nm = sc->nmetrics;
      memcpy(s->res.finals, s->res.series + (size_t)s->res.end_tick * (size_t)nm,
             (size_t)nm * sizeof(double));
    }
    pthread_mutex_lock(&x->mu);
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
  script_free(lx);
  world_free(w);
  tr_diag_free(d);
  return NULL;
}

/* The replay command that reproduces run `run` of instance `in`. */
static void print_failure(const exp_ctx *x) {
  const tr_scenario *sc = x->sc;
  const tr_options *o = x->opts;
  long j = x->failed_job;
  const tr_instance *in = &x->plan->inst[j / o->runs];
  int run = (int)(j % o->runs) + 1;
  const tr_runerror *e = &x->failure;
  fprintf(stderr, "%s: error: run failed: variant %s, point %d, run %d (seed %llu), tick %d",
          sc->path, x->plan->variant_names[in->variant], in->point, run,
          (unsigned long long)rng_run_seed(o->seed, (uint64_t)run), e->tick);
  if (e->actor >= 0) fprintf(stderr, ", actor '%s'", sc->actors[e->actor].id);
  fprintf(stderr, ", in %s:\n%s\n", e->what, e->message ? e->message : "(no message)");
  fprintf(stderr, "reproduce with: tightrope replay %s --run %d", sc->path, run);
  if (in->variant) fprintf(stderr, " --variant %s", x->plan->variant_names[in->variant]);
  if (x->plan->npoints > 1) fprintf(stderr, " --point %d", in->point);
  fprintf(stderr, " -s %llu", (unsigned long long)o->seed);
  if (o->ticks != sc->ticks) fprintf(stderr, " -t %d", o->ticks);
  for (int i = 0; i < o->nsets; i++) fprintf(stderr, " --set %s", o->sets[i]);
  fprintf(stderr, "\n");
}

int tr_experiment_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d) {
  tr_plan plan;
  if (exp_plan(sc, opts, &plan, d)) { exp_plan_free(&plan); return TR_EINVALID; }
  tr_outspec spec = {sc, opts, plan.variant_names, plan.nvariants, plan.npoints, plan.points};
  tr_output *out = out_open(&spec, d);
  if (!out) { exp_plan_free(&plan); return TR_EOUTPUT; }

  exp_ctx x;
  memset(&x, 0, sizeof x);
  x.sc = sc;
  x.opts = opts;
  x.plan = &plan;
  x.d = d;
  x.total = (long)plan.ninst * opts->runs;
  int threads = opts->threads < 1 ? 1 : opts->threads;
  if (threads > x.total) threads = (int)(x.total ? x.total : 1);
  x.window = threads * WINDOW_PER_THREAD;
  x.failed_job = -1;
  x.slots = calloc((size_t)x.window, sizeof *x.slots);
  int maxticks = 0;
  for (int i = 0; i < plan.ninst; i++) if (plan.inst[i].ticks > maxticks) maxticks = plan.inst[i].ticks;
  size_t nm = (size_t)sc->nmetrics;
  int oom = !x.slots;
  for (int i = 0; !oom && i < x.window; i++) {
    x.slots[i].res.finals = calloc(nm + 1, sizeof(double));
    x.slots[i].res.series = calloc(((size_t)maxticks + 1) * nm + 1, sizeof(double));
    oom = !x.slots[i].res.finals || !x.slots[i].res.series;
  }
  pthread_t *tid = calloc((size_t)threads, sizeof *tid);
  int status = TR_OK;
  if (oom || !tid) {
    diag_error(d, NULL, 0, 0, "out of memory for %d worker slots", x.window);
    status = TR_EOUTPUT;
    goto done;
  }
  pthread_mutex_init(&x.mu, NULL);
  pthread_cond_init(&x.ready, NULL);
  pthread_cond_init(&x.space, NULL);
  int started = 0;
  for (; started < threads; started++)
    if (pthread_create(&tid[started], NULL, worker, &x)) break;
  if (started == 0) {
    diag_error(d, NULL, 0, 0, "cannot start a worker thread");
    status = TR_ERUNTIME;
  }

  for (long j = 0; started && j < x.total; j++) {
    slot *s = &x.slots[j % x.window];
    pthread_mutex_lock(&x.mu);
    while (!s->done && !x.stop) pthread_cond_wait(&x.ready, &x.mu);
    int ok = s->done && !(x.failed_job >= 0 && x.failed_job <= j) && !x.setup_failed;
    pthread_mutex_unlock(&x.mu);
    if (!ok) break;
    if (out_add_run(out, &s->res)) {
      status = TR_EOUTPUT;
      pthread_mutex_lock(&x.mu);
      x.stop = 1;
      pthread_cond_broadcast(&x.space);
      pthread_mutex_unlock(&x.mu);
      break;
    }
    pthread_mutex_lock(&x.mu);
    s->done = 0;
    x.next_write = j + 1;
    pthread_cond_broadcast(&x.space);
    pthread_mutex_unlock(&x.mu);
  }
  pthread_mutex_lock(&x.mu);
  x.stop = 1;
  pthread_cond_broadcast(&x.space);
  pthread_mutex_unlock(&x.mu);
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);

  if (status == TR_OK && x.setup_failed) {
    diag_error(d, NULL, 0, 0, "a worker could not prepare its Lua state (limits.memory_mb too small?)");
    status = TR_ERUNTIME;
  } else if (status == TR_OK && x.failed_job >= 0) {
    print_failure(&x);
    status = TR_ERUNTIME;
  }
  pthread_mutex_destroy(&x.mu);
  pthread_cond_destroy(&x.ready);
  pthread_cond_destroy(&x.space);

done:
  if (status == TR_OK) {
    if (out_finish(out, d)) status = TR_EOUTPUT;
  } else {
    out_abort(out);
  }
  free(x.failure.message);
  for (int i = 0; x.slots && i < x.window; i++) {
    free(x.slots[i].res.finals);
    free(x.slots[i].res.series);
    free(x.slots[i].res.events);
  }
  free(x.slots);
  free(tid);
  exp_plan_free(&plan);
  return status;
}
