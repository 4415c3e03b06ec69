/*
** world.c — the live state of one run: attribute values, bounds, the
** relation adjacency, the write buffer and the action queue.
**
** Invariants: val[] is only written outside the decide step (events,
** buffered writes applied in order, actions, init's buffer), so every read
** inside decide sees the start-of-tick state; every write goes through
** world_write, which clamps to the slot's bounds. Nothing here allocates per
** read; buffers grow geometrically and are reused across ticks and runs.
**
** Relations drawn per run (docs/scenario-format.md#relations-by-rule): the
** scenario's fixed relations keep their slots 0 .. sc->nslots - 1; each run's
** drawn relations (world_network) get the slots after them, relation
** numbers after sc->nrels, a pair look-up of their own and a place in the
** adjacency, all rebuilt per run in time and memory linear in the network.
*/
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#include "base/number.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "base/rng.h"
#include "run/results.h"
#include "run/world.h"
#include "scenario/networks.h"

static void *xcalloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }

/* Compressed adjacency of the run's relations (fixed ones, then drawn
** ones), grouped by key (from or to), order kept. *off_out has nactors + 1
** entries; *rel_out room for *cap relations (grown as needed). */
static int build_csr(const tr_world *w, int by_to, int **off_out, int **rel_out, int *cap) {
  const tr_scenario *sc = w->sc;
  int nr = world_nrels(w);
  int *off = *off_out ? *off_out : calloc((size_t)sc->nactors + 1, sizeof *off);
  if (!off) return -1;
  *off_out = off;
  if (nr > *cap || !*rel_out) {
    int *rel = realloc(*rel_out, (size_t)(nr ? nr : 1) * sizeof *rel);
    if (!rel) return -1;
    *rel_out = rel;
    *cap = nr;
  }
  int *rel = *rel_out;
  memset(off, 0, ((size_t)sc->nactors + 1) * sizeof *off);
  for (int r = 0; r < nr; r++) off[(by_to ? world_rel_to(w, r) : world_rel_from(w, r)) + 1]++;
  for (int a = 0; a < sc->nactors; a++) off[a + 1] += off[a];
  for (int r = 0; r < nr; r++) { /* off[a] runs from a's start to its end */
    int a = by_to ? world_rel_to(w, r) : world_rel_from(w, r);
    rel[off[a]++] = r;
  }
  for (int a = sc->nactors; a > 0; a--) off[a] = off[a - 1];
  off[0] = 0;
  return 0;
}

static void world_slot_rules(tr_world *w, int s, const tr_attrdecl *ad) {
  w->on_bound[s] = (unsigned char)ad->on_bound;
  w->strict[s] = ad->integer ? 2 : ad->on_bound != BOUND_CLAMP ? 1 : 0;
  w->dist[s] = ad->dist;
}

tr_world *world_new(const tr_scenario *sc) {
  tr_world *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->sc = sc;
  size_t ns = (size_t)sc->nslots;
  w->nslots = w->capslots = sc->nslots;
  w->val = xcalloc(ns, sizeof *w->val);
  w->lo = xcalloc(ns, sizeof *w->lo);
  w->hi = xcalloc(ns, sizeof *w->hi);
  w->writer = xcalloc(ns, sizeof *w->writer);
  w->policy_actors = xcalloc((size_t)sc->nactors, sizeof(int));
  w->order = xcalloc((size_t)sc->nactors, sizeof(int));
  w->event_done = xcalloc((size_t)sc->nevents, 1);
  w->dirty = xcalloc(ns, sizeof *w->dirty);
  w->is_dirty = xcalloc(ns, 1);
  w->rng = gsl_rng_alloc(rng_type());
  w->present = xcalloc((size_t)sc->nactors, 1);
  w->strict = xcalloc(ns, 1);
  w->on_bound = xcalloc(ns, 1);
  w->dist = xcalloc(ns, sizeof *w->dist);
  if (!w->present || !w->strict || !w->on_bound || !w->dist) {
    world_free(w);
    return NULL;
  }
  for (size_t s = 0; s < ns; s++) w->dist[s] = -1;
  if (!w->val || !w->lo || !w->hi || !w->writer || !w->policy_actors || !w->order || !w->event_done
      || !w->rng || !w->dirty || !w->is_dirty
      || build_csr(w, 0, &w->out_off, &w->out_rel, &w->capcsr[0])
      || build_csr(w, 1, &w->in_off, &w->in_rel, &w->capcsr[1])) {
    world_free(w);
    return NULL;
  }
  for (int a = 0; a < sc->nactors; a++) {
    const tr_actordecl *ad = &sc->actors[a];
    for (int i = 0; i < ad->nattrs; i++) {
      int s = ad->attrs[i].slot;
      w->lo[s] = ad->attrs[i].min;
      w->hi[s] = ad->attrs[i].max;
      w->writer[s] = a;
      world_slot_rules(w, s, &ad->attrs[i]);
    }
    if (ad->policy) w->policy_actors[w->npolicy++] = a;
  }
  for (int r = 0; r < sc->nrels; r++) {
    const tr_reldecl *rd = &sc->rels[r];
    for (int i = 0; i < rd->nattrs; i++) {
      int s = rd->attrs[i].slot;
      w->lo[s] = rd->attrs[i].min;
      w->hi[s] = rd->attrs[i].max;
      w->writer[s] = rd->from;
      world_slot_rules(w, s, &rd->attrs[i]);
    }
  }
  return w;
}

void world_free(tr_world *w) {
  if (!w) return;
  free(w->val);
  free(w->lo);
  free(w->hi);
  free(w->writer);
  free(w->out_off);
  free(w->out_rel);
  free(w->in_off);
  free(w->in_rel);
  free(w->policy_actors);
  free(w->order);
  free(w->event_done);
  free(w->wbuf);
  free(w->queue);
  free(w->dirty);
  free(w->is_dirty);
  free(w->present);
  free(w->strict);
  free(w->on_bound);
  free(w->dist);
  free(w->run_rel);
  free(w->run_hash);
  if (w->edges) free(((net_edges *)w->edges)->e);
  free(w->edges);
  if (w->rng) gsl_rng_free(w->rng);
  free(w);
}

void world_reset(tr_world *w, const tr_instance *inst, int run, uint64_t seed) {
  w->inst = inst;
  memcpy(w->val, inst->init, (size_t)w->sc->nslots * sizeof *w->val);
  for (int s = 0; s < w->sc->nslots; s++) { /* the whole mirror is stale */
    w->dirty[s] = s;
    w->is_dirty[s] = 1;
  }
  w->ndirty = w->sc->nslots;
  memset(w->event_done, 0, (size_t)w->sc->nevents);
  w->nw = w->nq = 0;
  w->tick = 0;
  w->ticks = inst->ticks;
  w->run = run;
  w->end_request = -1;
  gsl_rng_set(w->rng, (unsigned long)seed);
  w->rejected = 0;
  w->fault.kind = 0;
  /* Who is in this run: population members up to the instance's count;
  ** only they decide (policy_actors keeps file order). */
  const tr_scenario *sc = w->sc;
  w->npolicy = 0;
  for (int a = 0; a < sc->nactors; a++) {
    const tr_actordecl *ad = &sc->actors[a];
    w->present[a] = ad->pop < 0 || ad->member <= (int)inst->init[sc->nslots + ad->pop];
    if (ad->policy && w->present[a]) w->policy_actors[w->npolicy++] = a;
  }
}

int world_store(tr_world *w, int slot, double v) {
  int kind = 0;
  if (w->strict[slot] == 2 && v != floor(v)) kind = 2;
  else if (v < w->lo[slot] || v > w->hi[slot]) {
    if (w->on_bound[slot] == BOUND_CLAMP) return 0;
    if (w->on_bound[slot] == BOUND_REJECT) {
      w->rejected++;
      return 1;
    }
    kind = 1;
  } else {
    return 0;
  }
  if (!w->fault.kind) {
    w->fault.kind = kind;
    w->fault.slot = slot;
    w->fault.value = v;
  }
  return 1;
}

/* The actor or relation and attribute owning a slot, for messages. */
static void world_slot_name(const tr_world *w, int slot, char *buf, size_t size) {
  const tr_scenario *sc = w->sc;
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      if (sc->actors[a].attrs[i].slot == slot) {
        snprintf(buf, size, "attribute '%s' of actor '%s'", sc->actors[a].attrs[i].name,
                 sc->actors[a].id);
        return;
      }
  for (int r = 0; r < world_nrels(w); r++) {
    int n, base;
    const tr_attrdecl *at = world_rel_attrs(w, r, &n, &base);
    if (!n || slot < base + at[0].slot || slot >= base + at[0].slot + n) continue;
    for (int i = 0; i < n; i++)
      if (base + at[i].slot == slot) {
        snprintf(buf, size, "attribute '%s' of relation %s -> %s", at[i].name,
                 sc->actors[world_rel_from(w, r)].id, sc->actors[world_rel_to(w, r)].id);
        return;
      }
  }
  snprintf(buf, size, "slot %d", slot);
}

const char *world_fault_message(tr_world *w, char *buf, size_t size) {
  if (!w->fault.kind) return NULL;
  char who[300], num[OUT_NUMBER_SIZE], lo[OUT_NUMBER_SIZE], hi[OUT_NUMBER_SIZE];
  int slot = w->fault.slot;
  world_slot_name(w, slot, who, sizeof who);
  out_format_number(num, sizeof num, w->fault.value);
  if (w->fault.kind == 2) {
    snprintf(buf, size, "%s is an integer: cannot write %s at tick %d", who, num, w->tick);
  } else {
    if (isinf(w->lo[slot])) snprintf(lo, sizeof lo, "-inf");
    else out_format_number(lo, sizeof lo, w->lo[slot]);
    if (isinf(w->hi[slot])) snprintf(hi, sizeof hi, "inf");
    else out_format_number(hi, sizeof hi, w->hi[slot]);
    snprintf(buf, size,
             "%s would become %s at tick %d, outside its bounds [%s, %s] "
             "(on_bound: error)",
             who, num, w->tick, lo, hi);
  }
  w->fault.kind = 0;
  return buf;
}

/* One draw of attribute `at` into `slot` (owner names it in a message); -1
** outside its bounds. */
static int world_draw_one(tr_world *w, const tr_attrdecl *at, int slot, const char *owner,
                          char *buf, size_t size) {
  const tr_distdecl *d = &w->sc->dists[at->dist];
  double x;
  switch (d->kind) {
    case DIST_UNIFORM: x = gsl_ran_flat(w->rng, d->a, d->b); break;
    case DIST_NORMAL: x = d->a + gsl_ran_gaussian(w->rng, d->b); break;
    case DIST_BETA: x = gsl_ran_beta(w->rng, d->a, d->b); break;
    case DIST_LOGNORMAL: x = gsl_ran_lognormal(w->rng, d->a, d->b); break;
    case DIST_POISSON: x = gsl_ran_poisson(w->rng, d->a); break;
    default: {
      int k = d->nvalues - 1;
      if (d->weights) {
        double total = 0, acc = 0;
        for (int j = 0; j < d->nvalues; j++) total += d->weights[j];
        double u = gsl_rng_uniform(w->rng) * total;
        for (int j = 0; j < d->nvalues; j++) {
          acc += d->weights[j];
          if (u < acc) {
            k = j;
            break;
          }
        }
      } else {
        k = (int)gsl_rng_uniform_int(w->rng, (unsigned long)d->nvalues);
      }
      x = d->values[k];
    }
  }
  if (x < at->min || x > at->max) {
    char num[OUT_NUMBER_SIZE];
    out_format_number(num, sizeof num, x);
    snprintf(buf, size,
             "attribute '%s' of %s drew %s, outside its bounds [%g, %g]: widen the "
             "bounds or change the distribution",
             at->name, owner, num, at->min, at->max);
    return -1;
  }
  w->val[slot] = x;
  if (!w->is_dirty[slot]) {
    w->is_dirty[slot] = 1;
    w->dirty[w->ndirty++] = slot;
  }
  return 0;
}

int world_draw(tr_world *w, char *buf, size_t size) {
  const tr_scenario *sc = w->sc;
  if (!sc->ndists) return 0;
  char owner[300];
  for (int a = 0; a < sc->nactors; a++) {
    if (!w->present[a]) continue;
    const tr_actordecl *ad = &sc->actors[a];
    for (int i = 0; i < ad->nattrs; i++) {
      if (ad->attrs[i].dist < 0) continue;
      snprintf(owner, sizeof owner, "actor '%s'", ad->id);
      if (world_draw_one(w, &ad->attrs[i], ad->attrs[i].slot, owner, buf, size)) return -1;
    }
  }
  for (int r = 0; r < world_nrels(w); r++) { /* fixed relations, then the drawn ones */
    int from = world_rel_from(w, r), to = world_rel_to(w, r), n, base;
    if (!w->present[from] || !w->present[to]) continue;
    const tr_attrdecl *at = world_rel_attrs(w, r, &n, &base);
    for (int i = 0; i < n; i++) {
      if (at[i].dist < 0) continue;
      snprintf(owner, sizeof owner, "relation %s -> %s", sc->actors[from].id, sc->actors[to].id);
      if (world_draw_one(w, &at[i], base + at[i].slot, owner, buf, size)) return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------- relations of the run */
const char *world_rel_kind(const tr_world *w, int r) {
  const tr_scenario *sc = w->sc;
  return r < sc->nrels ? sc->rels[r].kind : sc->netrules[w->run_rel[r - sc->nrels].rule].kind;
}

const tr_attrdecl *world_rel_attrs(const tr_world *w, int r, int *n, int *base) {
  const tr_scenario *sc = w->sc;
  if (r < sc->nrels) {
    *n = sc->rels[r].nattrs;
    *base = 0;
    return sc->rels[r].attrs;
  }
  const struct tr_runrel *rr = &w->run_rel[r - sc->nrels];
  *n = sc->netrules[rr->rule].nattrs;
  *base = rr->slot0;
  return sc->netrules[rr->rule].attrs;
}

int world_rel_attr_slot(const tr_world *w, int r, const char *name) {
  if (r < 0) return -1;
  int n, base;
  const tr_attrdecl *at = world_rel_attrs(w, r, &n, &base);
  for (int i = 0; i < n; i++)
    if (strcmp(at[i].name, name) == 0) return base + at[i].slot;
  return -1;
}

int world_rel_find(const tr_world *w, int from, int to) {
  int r = scen_rel_find(w->sc, from, to);
  if (r >= 0 || !w->nrun) return r;
  unsigned mask = (unsigned)w->run_hash_size - 1;
  for (unsigned h = scen_pair_hash(from, to) & mask;; h = (h + 1) & mask) {
    int i = w->run_hash[h];
    if (i < 0) return -1;
    if (w->run_rel[i].from == from && w->run_rel[i].to == to) return w->sc->nrels + i;
  }
}

/* Room for n slots in every per-slot array. */
static int world_grow_slots(tr_world *w, int n) {
  if (n <= w->capslots) return 0;
  size_t c = (size_t)n + (size_t)n / 2;
  void **arr[] = {(void **)&w->val,    (void **)&w->lo,       (void **)&w->hi,
                  (void **)&w->writer, (void **)&w->dirty,    (void **)&w->is_dirty,
                  (void **)&w->strict, (void **)&w->on_bound, (void **)&w->dist};
  const size_t elem[] = {
      sizeof *w->val, sizeof *w->lo, sizeof *w->hi, sizeof *w->writer, sizeof *w->dirty, 1, 1, 1,
      sizeof *w->dist};
  for (size_t i = 0; i < sizeof elem / sizeof elem[0]; i++) {
    void *p = realloc(*arr[i], c * elem[i]);
    if (!p) return -1;
    *arr[i] = p;
  }
  w->capslots = (int)c;
  return 0;
}

int world_network(tr_world *w, char *buf, size_t size) {
  const tr_scenario *sc = w->sc;
  if (!sc->nnetrules) return 0;
  if (!w->edges && !(w->edges = calloc(1, sizeof(net_edges)))) goto oom;
  net_edges *E = w->edges;
  w->nrun = 0;
  int slot = sc->nslots;
  for (int q = 0; q < sc->nnetrules; q++) {
    const tr_netrule *nr = &sc->netrules[q];
    E->n = 0;
    if (net_make(E, nr->rule, nr->nf, nr->nt, nr->same, nr->k, nr->p, nr->m, w->rng)) goto oom;
    if ((double)sc->nrels + w->nrun + (double)E->n > TR_MAX_RELS
        || (double)slot + (double)E->n * nr->nattrs > INT_MAX / 2) {
      snprintf(buf, size, "the relations by rule drawn in this run number more than %d",
               TR_MAX_RELS);
      return -1;
    }
    if (w->nrun + (int)E->n > w->caprun) {
      int c = w->nrun + (int)E->n;
      c += c / 2;
      struct tr_runrel *p = realloc(w->run_rel, (size_t)c * sizeof *p);
      if (!p) goto oom;
      w->run_rel = p;
      w->caprun = c;
    }
    for (size_t e = 0; e < E->n; e++) {
      struct tr_runrel *rr = &w->run_rel[w->nrun++];
      rr->from = nr->f0 + E->e[2 * e];
      rr->to = nr->t0 + E->e[2 * e + 1];
      rr->rule = q;
      rr->slot0 = slot;
      slot += nr->nattrs;
    }
  }
  if (world_grow_slots(w, slot)) goto oom;
  w->nslots = slot;
  for (int i = 0; i < w->nrun; i++) {
    const struct tr_runrel *rr = &w->run_rel[i];
    const tr_netrule *nr = &sc->netrules[rr->rule];
    for (int j = 0; j < nr->nattrs; j++) {
      int s = rr->slot0 + j;
      const tr_attrdecl *ad = &nr->attrs[j];
      w->val[s] = ad->value;
      w->lo[s] = ad->min;
      w->hi[s] = ad->max;
      w->writer[s] = rr->from;
      w->is_dirty[s] = 0; /* no view of it yet (luaapi.c makes them on demand) */
      world_slot_rules(w, s, ad);
    }
  }
  int hs = 4;
  while (hs < 2 * w->nrun && hs < (1 << 30)) hs *= 2;
  if (hs > w->run_hash_size) {
    int *h = realloc(w->run_hash, (size_t)hs * sizeof *h);
    if (!h) goto oom;
    w->run_hash = h;
    w->run_hash_size = hs;
  }
  hs = w->run_hash_size;
  for (int i = 0; i < hs; i++) w->run_hash[i] = -1;
  unsigned mask = (unsigned)hs - 1;
  for (int i = 0; i < w->nrun; i++) {
    unsigned h = scen_pair_hash(w->run_rel[i].from, w->run_rel[i].to) & mask;
    while (w->run_hash[h] >= 0) h = (h + 1) & mask;
    w->run_hash[h] = i;
  }
  if (build_csr(w, 0, &w->out_off, &w->out_rel, &w->capcsr[0])
      || build_csr(w, 1, &w->in_off, &w->in_rel, &w->capcsr[1]))
    goto oom;
  return 0;
oom:
  snprintf(buf, size, "out of memory drawing the relations by rule");
  return -1;
}

static int grow(void **buf, int *cap, size_t elem) {
  int ncap = *cap ? *cap * 2 : 64;
  void *nb = realloc(*buf, (size_t)ncap * elem);
  if (!nb) return -1;
  *buf = nb;
  *cap = ncap;
  return 0;
}

int world_buffer(tr_world *w, int slot, double v) {
  if (w->nw == w->capw && grow((void **)&w->wbuf, &w->capw, sizeof *w->wbuf)) return -1;
  w->wbuf[w->nw].slot = slot;
  w->wbuf[w->nw].value = v;
  w->nw++;
  return 0;
}

/* Apply buffered writes in the order they were made: the last write wins. */
void world_apply_buffer(tr_world *w) {
  for (int i = 0; i < w->nw; i++) world_write(w, w->wbuf[i].slot, w->wbuf[i].value);
  w->nw = 0;
}

/* Whether growing a buffer by `more` bytes keeps the queued actions and the
** run's logged events within limits.memory_mb: scripts make the engine
** allocate them, so they count like the Lua heap (docs/security.md). */
static int engine_bytes_ok(const tr_world *w, size_t more) {
  if (w->sc->memory_mb <= 0) return 1;
  double used = (double)w->capq * sizeof(tr_actreq)
      + (w->res ? (double)w->res->capevents * sizeof(tr_event) : 0);
  return used + (double)more <= (double)w->sc->memory_mb * 1048576.0;
}

int world_queue(tr_world *w, int actor, int action, int target, int has_args) {
  if (w->nq == w->capq && !engine_bytes_ok(w, (size_t)(w->capq ? w->capq : 64) * sizeof *w->queue))
    return -2;
  if (w->nq == w->capq && grow((void **)&w->queue, &w->capq, sizeof *w->queue)) return -1;
  tr_actreq *q = &w->queue[w->nq++];
  q->actor = actor;
  q->action = action;
  q->target = target;
  q->has_args = has_args;
  return 0;
}

int world_log(tr_world *w, int actor, const char *action, int target, const char *cameo,
              double goldstein, double value) {
  tr_runresult *r = w->res;
  if (!w->log_events || !r) return 0;
  if (r->nevents == r->capevents
      && !engine_bytes_ok(w, (size_t)(r->capevents ? r->capevents : 64) * sizeof *r->events))
    return -2;
  if (r->nevents == r->capevents && grow((void **)&r->events, &r->capevents, sizeof *r->events))
    return -1;
  tr_event *e = &r->events[r->nevents++];
  e->tick = w->tick;
  e->actor = actor;
  e->action = action;
  e->target = target;
  snprintf(e->cameo, sizeof e->cameo, "%s", cameo ? cameo : "");
  e->goldstein = goldstein;
  e->value = value;
  return 0;
}
