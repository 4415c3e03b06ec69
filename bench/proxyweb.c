/*
** proxyweb.c — the "proxy-web" benchmark model (shared/bench/proxyweb.md)
** hand-written in C with GSL: the yardstick tightrope's per-core speed is
** measured against (bench/run.sh, bench/README.md).
**
** The tick follows docs/lua-api.md ("The tick") exactly as the engine must: every decision
** reads the state as it was when the tick began; a policy's own writes go
** to a write log and its actions to a queue; after every actor has decided
** the log is applied in order (the last write wins), then the actions
** resolve in queue order against the live state. Policy actors decide in an
** order shuffled every tick with gsl_ran_shuffle from the run's stream, an
** mt19937 seeded with SEED + run (runs 1..RUNS).
**
** Build: cc -O2 bench/proxyweb.c $(pkg-config --cflags --libs gsl) \
**          -o build/bench/proxyweb-c
** Usage: proxyweb-c K T RUNS SEED
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* Actors, in the scenario's file order: proxies px0..pxK-1, patrons
** pat0..patP-1, mediators med0..medM-1, then the passive adversary. */
typedef struct proxy {
  double capability;   /* [0, 1], starts at 0.5 */
  double hardline;     /* (i + 0.5) / K: chance scale of attacking */
  int patronage;       /* index of the one patronage relation to it */
} proxy;

typedef struct patron {
  double resources;    /* unbounded, starts at 1.0 */
  int first;           /* its patronage relations: first, first + P, ... */
} patron;

typedef struct mediator {
  double credibility;  /* [0, 1], 0.6 */
} mediator;

/* patron -> proxy, kind patronage; support in [0, 1], starts at 0.1. */
typedef struct patronage {
  int patron, proxy;
  double support;
} patronage;

/* adv -> proxy i is hostility[i]; tension in [0, 1], starts at 0.3. */
typedef struct hostility {
  double tension;
} hostility;

/* A buffered write of a policy to its own attribute or outgoing relation. */
typedef struct pending_write {
  double *slot;
  double value;
} pending_write;

enum { ACTION_ATTACK_ADV, ACTION_CALM };
typedef struct queued_action {
  int kind;
  int actor;           /* proxy index (attack) or mediator index (calm) */
  int target;          /* -1 for adv, else a proxy index */
  double intensity;
} queued_action;

typedef struct world {
  int nproxies, npatrons, nmediators;
  proxy *proxies;
  patron *patrons;
  mediator *mediators;
  double adv_capability;
  patronage *patronages;   /* nproxies: proxy i's is patronages[i] */
  hostility *hostilities;  /* nproxies */
  int *order;              /* policy actors, shuffled each tick */
  pending_write *writes;   /* at most one per attribute written */
  int nwrites;
  queued_action *queue;
  int nqueued;
} world;

static double clamp(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) {
    fprintf(stderr, "proxyweb-c: out of memory\n");
    exit(1);
  }
  return p;
}

static void world_init(world *w, int nproxies) {
  int i, j;
  w->nproxies = nproxies;
  w->npatrons = nproxies / 4 > 1 ? nproxies / 4 : 1;
  w->nmediators = nproxies / 8 > 1 ? nproxies / 8 : 1;
  w->proxies = xcalloc((size_t)w->nproxies, sizeof *w->proxies);
  w->patrons = xcalloc((size_t)w->npatrons, sizeof *w->patrons);
  w->mediators = xcalloc((size_t)w->nmediators, sizeof *w->mediators);
  w->patronages = xcalloc((size_t)w->nproxies, sizeof *w->patronages);
  w->hostilities = xcalloc((size_t)w->nproxies, sizeof *w->hostilities);
  w->order = xcalloc((size_t)(w->nproxies + w->npatrons + w->nmediators),
                     sizeof *w->order);
  /* Patrons write each relation and their resources; proxies their
  ** capability: 2K + P writes a tick at most. */
  w->writes = xcalloc((size_t)(2 * w->nproxies + w->npatrons), sizeof *w->writes);
  w->queue = xcalloc((size_t)(w->nproxies + w->nmediators), sizeof *w->queue);
  for (j = 0; j < w->npatrons; j++) w->patrons[j].first = j;
  for (i = 0; i < w->nproxies; i++) {
    w->patronages[i].patron = i % w->npatrons;
    w->patronages[i].proxy = i;
    w->proxies[i].patronage = i;
  }
}

static void world_reset(world *w) {
  int i;
  for (i = 0; i < w->nproxies; i++) {
    w->proxies[i].capability = 0.5;
    w->proxies[i].hardline = (i + 0.5) / w->nproxies;
    w->patronages[i].support = 0.1;
    w->hostilities[i].tension = 0.3;
  }
  for (i = 0; i < w->npatrons; i++) w->patrons[i].resources = 1.0;
  for (i = 0; i < w->nmediators; i++) w->mediators[i].credibility = 0.6;
  w->adv_capability = 1.0;
}

static void world_free(world *w) {
  free(w->proxies); free(w->patrons); free(w->mediators);
  free(w->patronages); free(w->hostilities); free(w->order);
  free(w->writes); free(w->queue);
}

static void buffer_write(world *w, double *slot, double value) {
  w->writes[w->nwrites].slot = slot;
  w->writes[w->nwrites].value = value;
  w->nwrites++;
}

static void queue_action(world *w, int kind, int actor, int target, double intensity) {
  queued_action *a = &w->queue[w->nqueued++];
  a->kind = kind;
  a->actor = actor;
  a->target = target;
  a->intensity = intensity;
}

/* patron: nudge each support towards keeping its proxy at capability 0.5,
** then pay for the new supports out of resources. */
static void decide_patron(world *w, gsl_rng *rng, int j) {
  const patron *me = &w->patrons[j];
  double total = 0.0;
  int i;
  for (i = me->first; i < w->nproxies; i += w->npatrons) {
    patronage *r = &w->patronages[i];
    double support = clamp(r->support + 0.05 * (0.5 - w->proxies[r->proxy].capability)
                               + gsl_ran_gaussian(rng, 0.01), 0.0, 1.0);
    buffer_write(w, &r->support, support);
    total += support;
  }
  buffer_write(w, &w->patrons[j].resources, me->resources + 0.02 - 0.01 * total);
}

/* proxy: attack the adversary with probability hardline * tension, else
** build capability from the support it receives. */
static void decide_proxy(world *w, gsl_rng *rng, int i) {
  const proxy *me = &w->proxies[i];
  double tension = w->hostilities[i].tension;
  if (gsl_rng_uniform(rng) < me->hardline * tension) {
    queue_action(w, ACTION_ATTACK_ADV, i, -1, 0.1);
  } else {
    double received = w->patronages[me->patronage].support;
    buffer_write(w, &w->proxies[i].capability,
                 clamp(me->capability + 0.02 * received, 0.0, 1.0));
  }
}

/* mediator: pick a proxy uniformly; calm it with probability
** credibility * (1 - tension). */
static void decide_mediator(world *w, gsl_rng *rng, int m) {
  int target = (int)gsl_rng_uniform_int(rng, (unsigned long)w->nproxies);
  double tension = w->hostilities[target].tension;
  if (gsl_rng_uniform(rng) < w->mediators[m].credibility * (1.0 - tension))
    queue_action(w, ACTION_CALM, m, target, 0.0);
}

static void resolve(world *w, const queued_action *a) {
  if (a->kind == ACTION_ATTACK_ADV) {
    hostility *h = &w->hostilities[a->actor];
    w->adv_capability -= 0.001 * a->intensity;
    h->tension = clamp(h->tension + 0.05, 0.0, 1.0);
    w->proxies[a->actor].capability = clamp(w->proxies[a->actor].capability - 0.01, 0.0, 1.0);
  } else {
    hostility *h = &w->hostilities[a->target];
    h->tension = clamp(h->tension - 0.1, 0.0, 1.0);
  }
}

/* The two metrics: mean tension adv -> proxies, mean proxy capability. */
static void measure(const world *w, double *tension, double *capability) {
  double sum_tension = 0.0, sum_capability = 0.0;
  int i;
  for (i = 0; i < w->nproxies; i++) {
    sum_tension += w->hostilities[i].tension;
    sum_capability += w->proxies[i].capability;
  }
  *tension = sum_tension / w->nproxies;
  *capability = sum_capability / w->nproxies;
}

static void tick(world *w, gsl_rng *rng) {
  int npolicy = w->nproxies + w->npatrons + w->nmediators;
  int k;
  for (k = 0; k < npolicy; k++) w->order[k] = k;
  gsl_ran_shuffle(rng, w->order, (size_t)npolicy, sizeof *w->order);
  w->nwrites = 0;
  w->nqueued = 0;
  for (k = 0; k < npolicy; k++) {
    int a = w->order[k];
    if (a < w->nproxies) decide_proxy(w, rng, a);
    else if (a < w->nproxies + w->npatrons) decide_patron(w, rng, a - w->nproxies);
    else decide_mediator(w, rng, a - w->nproxies - w->npatrons);
  }
  for (k = 0; k < w->nwrites; k++) *w->writes[k].slot = w->writes[k].value;
  for (k = 0; k < w->nqueued; k++) resolve(w, &w->queue[k]);
}

static long parse_positive(const char *text, const char *what) {
  char *end;
  long v;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno || *end || v < 1) {
    fprintf(stderr, "proxyweb-c: %s must be a positive integer, not '%s'\n", what, text);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long nproxies, ticks, runs, run, t;
  unsigned long long seed;
  double sum_tension = 0.0, sum_capability = 0.0, seconds, actor_ticks;
  struct timespec start, stop;
  world w;
  gsl_rng *rng;

  if (argc != 5) {
    fprintf(stderr, "usage: proxyweb-c K T RUNS SEED\n");
    return 2;
  }
  nproxies = parse_positive(argv[1], "K");
  ticks = parse_positive(argv[2], "T");
  runs = parse_positive(argv[3], "RUNS");
  seed = strtoull(argv[4], NULL, 10);

  clock_gettime(CLOCK_MONOTONIC, &start);
  world_init(&w, (int)nproxies);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  for (run = 1; run <= runs; run++) {
    double tension, capability;
    gsl_rng_set(rng, (unsigned long)(seed + (unsigned long long)run));
    world_reset(&w);
    measure(&w, &tension, &capability);          /* tick 0 */
    for (t = 1; t <= ticks; t++) {
      tick(&w, rng);
      measure(&w, &tension, &capability);        /* recorded every tick */
    }
    sum_tension += tension;
    sum_capability += capability;
  }
  gsl_rng_free(rng);
  clock_gettime(CLOCK_MONOTONIC, &stop);

  seconds = (double)(stop.tv_sec - start.tv_sec) + 1e-9 * (double)(stop.tv_nsec - start.tv_nsec);
  actor_ticks = (double)(w.nproxies + w.npatrons + w.nmediators + 1) * (double)ticks * (double)runs;
  printf("proxyweb-c K=%ld T=%ld runs=%ld actor_ticks=%.0f seconds=%.6f "
         "actor_ticks_per_sec=%.0f mean_tension=%.6f mean_capability=%.6f\n",
         nproxies, ticks, runs, actor_ticks, seconds, actor_ticks / seconds,
         sum_tension / (double)runs, sum_capability / (double)runs);
  world_free(&w);
  return 0;
}
