/* world.h — run layer (docs/internals.md, "Layers"). */
#ifndef TR_RUN_WORLD_H
#define TR_RUN_WORLD_H

#include "base/common.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "run/results.h"

/* The live state of one run: a flat array of attribute values (actor
** attributes, then relation attributes, in the scenario's slot order) with
** per-slot bounds. Invariant: during the decide step nothing writes val[];
** policies' writes wait in the write buffer, so every read sees the state as
** it was when the step began (docs/lua-api.md, "The tick"). */
typedef struct tr_write {
  int slot;
  double value;
} tr_write;
typedef struct tr_actreq {   /* a queued action */
  int actor, action, target; /* target -1: none */
  int has_args;              /* args table at ARGS[queue index] in Lua */
} tr_actreq;

struct tr_world {
  const tr_scenario *sc;
  const tr_instance *inst;
  double *val;            /* nslots live values */
  double *lo, *hi;        /* bounds (-inf/+inf when unbounded) */
  int *writer;            /* per slot: the actor whose policy may write it */
  int *out_off, *out_rel; /* relations by FROM actor (CSR: the fixed ones in file */
  int *in_off, *in_rel;   /* order, then the run's drawn ones); likewise by TO actor */
  int capcsr[2];          /* room in out_rel, in_rel */
  /* Relations drawn in this run by the scenario's random rules
  ** (world_network): relation sc->nrels + i is run_rel[i], whose attributes
  ** hold the slots slot0 .. slot0 + nattrs - 1, after the scenario's. */
  struct tr_runrel {
    int from, to, rule, slot0;
  } * run_rel;
  int nrun, caprun;
  int *run_hash, run_hash_size; /* open addressing over (from,to) -> i; -1 empty */
  int nslots, capslots;         /* this run's slots: sc->nslots, then the drawn relations' */
  void *edges;                  /* net_edges reused across runs */
  int *policy_actors, npolicy;  /* actors with a policy, in file order */
  int *order;                   /* this tick's shuffled copy of policy_actors */
  tr_write *wbuf;
  int nw, capw;
  int *dirty, ndirty; /* slots written from C since the last sync */
  unsigned char *is_dirty;
  tr_actreq *queue;
  int nq, capq;
  int tick, ticks, run;
  void *rng;                 /* gsl_rng * */
  int end_request;           /* -1, or the outcome index world:end_run asked */
  unsigned char *event_done; /* per event: a `once` event has fired */
  tr_runresult *res;         /* where the run's rows go */
  int log_events;
  /* Populations, bounds and types (docs/scenario-format.md). */
  unsigned char *present;  /* per actor: in this run (population counts) */
  unsigned char *strict;   /* per slot: 0 plain clamp, 1 on_bound error or
                                reject, 2 integer (with or without those) */
  unsigned char *on_bound; /* per slot: BOUND_* */
  int *dist;               /* per slot: index in sc->dists, or -1 */
  long long rejected;      /* writes on_bound: reject dropped this run */
  struct {
    int slot;
    double value;
    int kind;
  } fault; /* kind 0: none */
};

tr_world *world_new(const tr_scenario *sc);
void world_free(tr_world *w);
void world_reset(tr_world *w, const tr_instance *inst, int run, uint64_t seed);
/* Per run, after world_reset and before anything reads a relation: draws
** the network of every random rule in file order from the run's stream and
** lays its relations out (slots, pair look-up, adjacency). 0, or -1 with a
** message in buf. Nothing to do without random rules. */
int world_network(tr_world *w, char *buf, size_t size);
/* Relations of the run: 0 .. sc->nrels - 1 fixed, then the drawn ones. */
static inline int world_nrels(const tr_world *w) { return w->sc->nrels + w->nrun; }
static inline int world_rel_from(const tr_world *w, int r) {
  return r < w->sc->nrels ? w->sc->rels[r].from : w->run_rel[r - w->sc->nrels].from;
}
static inline int world_rel_to(const tr_world *w, int r) {
  return r < w->sc->nrels ? w->sc->rels[r].to : w->run_rel[r - w->sc->nrels].to;
}
const char *world_rel_kind(const tr_world *w, int r);
/* Attributes of relation r: attrs[i] lives in slot *base + attrs[i].slot. */
const tr_attrdecl *world_rel_attrs(const tr_world *w, int r, int *n, int *base);
/* Relation index of FROM->TO in this run, or -1. O(1). */
int world_rel_find(const tr_world *w, int from, int to);
/* Slot of relation r's attribute by name; -1 when absent (or r < 0). */
int world_rel_attr_slot(const tr_world *w, int r, const char *name);
/* Clamp to the slot's bounds; the caller has refused NaN and infinities. */
static inline double world_clamp(const tr_world *w, int slot, double v) {
  if (v < w->lo[slot]) return w->lo[slot];
  if (v > w->hi[slot]) return w->hi[slot];
  return v;
}
/* A write outside the bounds of an attribute with on_bound error or reject,
** or a fraction written to an integer attribute: world_store handles it. */
static inline int world_plain(const tr_world *w, int slot, double v) {
  if (!w->strict[slot]) return 1;
  if (v < w->lo[slot] || v > w->hi[slot]) return 0;
  return w->strict[slot] == 1 || v == floor(v);
}
int world_store(tr_world *w, int slot, double v);
/* Every write from C goes here: the slot is marked for the Lua mirror
** (script_sync copies it into the views before Lua next runs). A write
** that on_bound rejects is dropped and counted; one it refuses (or a
** fraction for an integer) is recorded in w->fault, which the tick raises
** as the run's error (world_fault_message). */
static inline void world_write(tr_world *w, int slot, double v) {
  if (!world_plain(w, slot, v) && world_store(w, slot, v)) return;
  w->val[slot] = world_clamp(w, slot, v);
  if (!w->is_dirty[slot]) {
    w->is_dirty[slot] = 1;
    w->dirty[w->ndirty++] = slot;
  }
}
/* The message of w->fault (and clears it); NULL when there is none. */
const char *world_fault_message(tr_world *w, char *buf, size_t size);
/* Per run: draw the attributes declared with a distribution, in slot
** order, from the run's stream; -1 with a message in buf when a draw falls
** outside its bounds. */
int world_draw(tr_world *w, char *buf, size_t size);
int world_buffer(tr_world *w, int slot, double v); /* 0 or -1 (OOM) */
void world_apply_buffer(tr_world *w);
/* world_queue and world_log: 0, -1 out of memory, or -2: the queued
** actions and logged events would pass limits.memory_mb (WORLD_MEM_MSG). */
#define WORLD_MEM_MSG                                                                              \
  "memory limit exceeded (limits.memory_mb = %I): the actions queued in "                          \
  "this tick and the events logged in this run count towards it"
int world_queue(tr_world *w, int actor, int action, int target, int has_args);
int world_log(tr_world *w, int actor, const char *action, int target, const char *cameo,
              double goldstein, double value);

#endif
