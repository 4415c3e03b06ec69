/* lua.h — run layer (docs/internals.md, "Layers"). */
#ifndef TR_RUN_LUA_H
#define TR_RUN_LUA_H

#include "base/common.h"
#include "base/diag.h"
#include "base/console.h"
#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "run/world.h"

/* One Lua state per worker thread, made once per scenario: views, the world
** object and compiled scripts live in it across runs; each run gets fresh
** script environments (docs/lua-api.md, "The tick") and is executed inside one protected call.
** Limits: every call into a script is bounded by sc->instr_limit VM
** instructions (count hook) and the state by sc->memory_mb (allocator). */
enum { MODE_NONE, MODE_INIT, MODE_DECIDE, MODE_ACTION, MODE_EVENT, MODE_EXPR };
enum {
  WHAT_NONE,
  WHAT_LOAD_POLICY,
  WHAT_LOAD_ACTION,
  WHAT_INIT,
  WHAT_DECIDE,
  WHAT_ACTION,
  WHAT_EVENT,
  WHAT_WHEN,
  WHAT_METRIC,
  WHAT_OUTCOME,
  WHAT_LOAD_HELPERS
};

typedef struct tr_runerror {
  int failed;
  int tick, actor; /* actor -1: not in a policy */
  char what[128];  /* "decide", "init", "action 'x'", "metric 'y'" */
  char *message;   /* with Lua traceback; malloc'd */
} tr_runerror;

struct tr_lua {
  void *L; /* lua_State * */
  const tr_scenario *sc;
  tr_world *w;
  size_t mem, mem_limit;
  long long instr, instr_limit;
  int limit_hit; /* LIMIT_* of the limit that stopped the call */
  /* The CPU-time bound (watchdog.c): call_seq counts calls, in_call says
  ** one is in progress; the watchdog sets wd_fire_seq to the call to stop,
  ** or wd_interrupt after SIGINT/SIGTERM, then signals this state's thread. */
  unsigned long call_seq, wd_fire_seq;
  int in_call, wd_interrupt;
  long long cpu_limit_ns;
  int mem_fatal; /* a memory error was raised (pcall cannot swallow it) */
  int mode, cur_actor;
  int what_kind, what_index;     /* WHAT_*: what is running, for messages */
  const tr_instance *params_for; /* instance whose params tables are built */
  struct tr_console *console;    /* where print() goes (NULL: stderr) */
  const char **slot_names;       /* per slot: its attribute name as interned in L */
  struct tr_viewent *vmap;       /* view table address -> kind, index (luaapi.c) */
  unsigned vmask;                /* vmap has vmask + 1 entries */
  /* Views of the relations drawn in a run, made when a script first asks
  ** for one and dropped when the next run begins (luaapi.c). */
  struct tr_viewent *rvmap; /* like vmap; rvmask + 1 entries, rvn used */
  unsigned rvmask, rvn;
  int run_views_hi, run_slots_hi; /* relation numbers and slots they took, exclusive */
  int ids_ref;                    /* registry reference of the id -> index table */
  int index_ref;                  /* registry reference of the string "__index" */
  /* Per actor: the first actor whose instance of its policy it uses (the
  ** actor itself unless its policy declares {shared = true}). */
  int *policy_first;
  /* Object identities for pairs, next and tostring (sandbox.c, see
  ** docs/security.md "Reproducibility"): every table, function and
  ** userdata gets a number from a counter when Lua allocates it. */
  struct tr_idmap *ids;
  unsigned long long next_id, run_id_base, params_id_end;
  ptrdiff_t udata_off; /* lua_topointer(userdata) - its allocation */
};

tr_lua *script_new(const tr_scenario *sc, tr_world *w, tr_diag *d);
void script_free(tr_lua *lx);
/* Execute run `run` (1-based) of inst with seed; fills w->res. Returns 0, or
** -1 with err filled (err->message owned by the caller afterwards). */
int tick_run(tr_lua *lx, const tr_instance *inst, int run, uint64_t seed, tr_runerror *err);
/* Compile every script and expression of sc (tr_scenario_compile). */
int script_compile_all(const tr_scenario *sc, tr_diag *d);
/* The scripts' declared parameters (declare.c; see tr_lua_checks). */
int params_collect(tr_scenario *sc, tr_diag *d);
/* Pushes the run-time `declare` (declarations were read at load: a no-op). */
struct lua_State;
void params_push_declare(struct lua_State *L);
/* What loading a scenario asks of this layer: params_collect and
** script_syntax_check (tr_lua_checks). */
extern const tr_lua_checks script_checks;
/* Inside a run's protected call: fresh environments for the run. */
void script_begin_run(struct lua_State *L, tr_lua *lx, const tr_instance *inst);
/* Views for the sandbox's pairs() and rawset() (a view's metatable has no
** __pairs and no read-only mark: see luaapi.c). script_view_pairs pushes
** pairs(view) for a view at 1 and returns 3, else returns 0. */
int script_is_view(struct lua_State *L, int idx);
int script_view_pairs(struct lua_State *L);
/* Copy the world's changed slots into the views Lua reads (see luaapi.c). */
void script_sync(struct lua_State *L, tr_lua *lx);
/* Statistics (gini, sd, var, median, quantile) and read-only helpers
** (ipairs, pairs, select, table) into the expression table at env. */
void exprlib_register(struct lua_State *L, int env);
/* Restore the hooks after a run that hit a limit. */
void sandbox_reset_limits(struct lua_State *L, tr_lua *lx);
/* Object numbering of a run: called at the start of every run before the
** instance's params tables are (re)built (after_params 0) and after
** (after_params 1, built: they were rebuilt), so that the same run numbers
** its objects the same in any worker (docs/security.md "Reproducibility"). */
void sandbox_begin_run_ids(tr_lua *lx, int after_params, int built);
/* Charge `units` of work done in C to the current call's instruction count
** (raises the instruction-limit error past the limit). */
void sandbox_charge(struct lua_State *L, double units);
/* The signal (SIGINT or SIGTERM) that asked the experiment to stop, or 0;
** scripts stop at their next count-hook call or charged C call. */
int tr_interrupted(void);
/* Install the hook that stops the running call (async-signal-safe). */
void sandbox_arm_stop(tr_lua *lx);
enum { LIMIT_NONE, LIMIT_INSTR, LIMIT_CPU, LIMIT_INTERRUPT };

#endif
