/*
** sandbox.c — the Lua sandbox every policy, action and expression runs in.
**
** Design (after Redis's script_lua.c): scripts get a deny-by-default global
** table holding `base` minus dofile/loadfile, `load` of text chunks only,
** `collectgarbage` refused, `setmetatable` refusing __gc (Lua
** runs finalizers with hooks off, so a finalizer could loop forever), and the
** `string` (without dump), `table`, `math` and `utf8` libraries. There is no
** io, os, package, require or debug: the real global table of the state is
** emptied, so nothing reaches them by any route.
**
** Bounds: no hook runs on the hot path. Each call into Lua has a CPU-time
** budget (limits.cpu_ms) watched from outside (watchdog.c), which installs
** stop_hook on the running state when the budget is spent or the process
** is interrupted. A scenario that declares limits.instructions also gets
** the exact count hook, which charges every VM instruction to the current
** call. Once raised, a limit error fires again on every instruction, so a
** script's own pcall cannot swallow it. The allocator refuses growth past
** limits.memory_mb. Pattern matching, which no hook can see into, gets
** bounded inputs (see bounded_match below).
**
** Determinism (docs/security.md "Reproducibility"): `math.random` and `rng`
** draw from the run's GSL stream; `math.randomseed` is an error; `pairs`
** and `next` visit keys in one fixed order (numbers, strings, booleans, then
** tables, functions and userdata in creation order), since Lua's hash order
** depends on addresses and a per-state random seed; `tostring` and
** `string.format` print an object's creation number, never its address;
** `table.sort` is a stable merge sort (Lua's picks pivots from clock()).
** C library calls that loop over their arguments are charged to the
** instruction count for that work (charged_call).
**
** Invariant: library tables are never shared between runs: each run's
** globals are fresh copies of the template's (sandbox_push_run_globals).
*/
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#include "base/console.h"
#include "run/model.h"
#include "run/world.h"
#include "run/sandbox.h"
#include "run/lua.h"
#include "run/watchdog.h"
#include "run/registry.h"

#define HOOK_STEP 1000 /* instructions between two count-hook calls */
/* One C library call may do at most this much charged work, whatever the
** instruction limit, so a signal is honoured within about a second. */
#define CALL_WORK_MAX 268435456.0
#define READONLY_MARK "__tr_readonly"
/* Pattern functions refuse subjects longer than this many bytes. */
#define PATTERN_SUBJECT_MAX (1u << 20)

/* ------------------------------------------------------------ allocator */
/* Identities (docs/security.md "Reproducibility"): Lua passes the type of a
** new object as osize when it allocates one, so every table, function and
** userdata is numbered here, in creation order, in a map from its address
** to its number (open addressing, linear probing; an entry leaves when its
** block is freed). */
typedef struct tr_idslot {
  const void *p;
  unsigned long long id;
} tr_idslot;
struct tr_idmap {
  size_t cap, n;
  tr_idslot slot[];
};

static size_t id_hash(const void *p, size_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 20) & (cap - 1);
}

static void id_put(tr_lua *lx, const void *p, unsigned long long id) {
  struct tr_idmap *m = lx->ids;
  if (!m || (m->n + 1) * 4 > m->cap * 3) { /* grow: load at most 3/4 */
    size_t cap = m ? m->cap * 2 : 1024;
    struct tr_idmap *nm = calloc(1, sizeof *nm + cap * sizeof nm->slot[0]);
    if (!nm) return; /* the object stays unnumbered */
    nm->cap = cap;
    for (size_t i = 0; m && i < m->cap; i++) {
      if (!m->slot[i].p) continue;
      size_t j = id_hash(m->slot[i].p, cap);
      while (nm->slot[j].p) j = (j + 1) & (cap - 1);
      nm->slot[j] = m->slot[i];
      nm->n++;
    }
    free(m);
    lx->ids = m = nm;
  }
  size_t j = id_hash(p, m->cap);
  while (m->slot[j].p && m->slot[j].p != p) j = (j + 1) & (m->cap - 1);
  if (!m->slot[j].p) m->n++;
  m->slot[j].p = p;
  m->slot[j].id = id;
}

static unsigned long long id_get(const tr_lua *lx, const void *p) {
  const struct tr_idmap *m = lx->ids;
  if (!m || !p) return 0;
  size_t j = id_hash(p, m->cap);
  while (m->slot[j].p) {
    if (m->slot[j].p == p) return m->slot[j].id;
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

static void id_del(tr_lua *lx, const void *p) {
  struct tr_idmap *m = lx->ids;
  if (!m || !m->n) return;
  size_t j = id_hash(p, m->cap);
  while (m->slot[j].p != p) {
    if (!m->slot[j].p) return;
    j = (j + 1) & (m->cap - 1);
  }
  m->slot[j].p = NULL;
  m->n--;
  /* backward-shift the cluster that follows, so lookups never stop early */
  for (size_t k = (j + 1) & (m->cap - 1); m->slot[k].p; k = (k + 1) & (m->cap - 1)) {
    size_t home = id_hash(m->slot[k].p, m->cap);
    if (((k - home) & (m->cap - 1)) >= ((k - j) & (m->cap - 1))) {
      m->slot[j] = m->slot[k];
      m->slot[k].p = NULL;
      j = k;
    }
  }
}

static void *sbx_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  tr_lua *lx = ud;
  size_t tag = ptr ? 0 : osize;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    if (ptr) id_del(lx, ptr);
    free(ptr);
    lx->mem -= osize;
    return NULL;
  }
  if (nsize > osize && lx->mem_limit && lx->mem + (nsize - osize) > lx->mem_limit) { return NULL; }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  lx->mem = lx->mem - osize + nsize;
  if (tag == LUA_TTABLE || tag == LUA_TFUNCTION || tag == LUA_TUSERDATA)
    id_put(lx, p, ++lx->next_id);
  return p;
}

/* The number of the object at idx, or 0 for a value that has none (a
** light C function, a string, a number...). */
static unsigned long long obj_id(lua_State *L, int idx) {
  tr_lua *lx = TR_LX(L);
  const void *p = lua_topointer(L, idx);
  if (!p) return 0;
  if (lua_type(L, idx) == LUA_TUSERDATA) p = (const char *)p - lx->udata_off;
  else if (lua_type(L, idx) != LUA_TTABLE && lua_type(L, idx) != LUA_TFUNCTION) return 0;
  return id_get(lx, p);
}

/* A run's numbers start where the state's setup ended. The params tables
** of an instance are built at the start of a run, or kept from the
** worker's previous run of that instance: either way they hold the same
** numbers, and the run's own objects are numbered after them. */
void sandbox_begin_run_ids(tr_lua *lx, int after_params, int built) {
  if (!after_params) {
    if (!lx->run_id_base) lx->run_id_base = lx->next_id;
    lx->next_id = lx->run_id_base;
  } else if (built) {
    lx->params_id_end = lx->next_id;
  } else {
    lx->next_id = lx->params_id_end;
  }
}

static void raise_limit(lua_State *L, tr_lua *lx);
static void stop_hook(lua_State *L, lua_Debug *ar);

/* Library work, in instructions, that a call may be charged per
** millisecond of limits.cpu_ms when no instruction limit is declared: ten
** per nanosecond, more than any machine runs, so a call refused for it
** could never have finished within the CPU-time budget. */
#define CPU_CHARGE_PER_MS 1e7

static const char *sbx_tolstring(lua_State *L, int idx, size_t *len);
static double arg_len(lua_State *L, int i);
#define BYTES_PER_INSTR 64.0

/* ----------------------------------------------------------------- hook */
static void raise_limit(lua_State *L, tr_lua *lx) {
  if (lx->limit_hit == LIMIT_INTERRUPT)
    luaL_error(L, "interrupted (SIGINT or SIGTERM) while a script was running");
  else if (lx->limit_hit == LIMIT_CPU)
    luaL_error(L, "CPU time limit exceeded (limits.cpu_ms = %I per call)",
               (lua_Integer)(lx->cpu_limit_ns / 1000000));
  else
    luaL_error(L, "instruction limit exceeded (limits.instructions = %I per call)",
               (lua_Integer)lx->instr_limit);
}

static void stop_hook(lua_State *L, lua_Debug *ar);

/* The exact count hook of limits.instructions. */
static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  tr_lua *lx = TR_LX(L);
  lx->instr += HOOK_STEP;
  if (lx->limit_hit || lx->instr > lx->instr_limit) {
    if (!lx->limit_hit) lx->limit_hit = LIMIT_INSTR;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    raise_limit(L, lx);
  }
}

/* The hook a state runs with between calls: none, the count hook, or the
** stop hook when an interrupt is pending. */
static void normal_hook(lua_State *L, tr_lua *lx) {
  if (__atomic_load_n(&lx->wd_interrupt, __ATOMIC_RELAXED))
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
  else if (lx->instr_limit > 0) lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
  else lua_sethook(L, NULL, 0, 0);
}

/* Installed by the watchdog's signal on this state's thread: stops the call
** it was aimed at, or removes itself when that call has already returned. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  tr_lua *lx = TR_LX(L);
  if (!lx->limit_hit) {
    if (__atomic_load_n(&lx->wd_interrupt, __ATOMIC_RELAXED)) lx->limit_hit = LIMIT_INTERRUPT;
    else if (__atomic_load_n(&lx->wd_fire_seq, __ATOMIC_RELAXED) == lx->call_seq)
      lx->limit_hit = LIMIT_CPU;
    else {
      normal_hook(L, lx);
      return;
    }
  }
  lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
  raise_limit(L, lx);
}

/* From a signal handler on the state's own thread, as lua.c does on
** Ctrl-C: lua_sethook is safe to call there. */
void sandbox_arm_stop(tr_lua *lx) {
  lua_sethook(lx->L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* Work done in C is charged before it starts: against limits.instructions
** when the scenario declares it, and against CALL_WORK_MAX always, so a
** library call never runs long past a CPU limit or an interrupt (the hooks
** only act once it returns). */
void sandbox_charge(lua_State *L, double units) {
  tr_lua *lx = TR_LX(L);
  if (tr_interrupted() || __atomic_load_n(&lx->wd_interrupt, __ATOMIC_RELAXED)) {
    lx->limit_hit = LIMIT_INTERRUPT;
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
    raise_limit(L, lx);
  }
  if (!(units > 0)) return;
  double total = (double)lx->instr + units;
  lx->instr = total >= 9e18 ? (long long)9e18 : (long long)total;
  if (lx->instr_limit <= 0 && total > (double)lx->cpu_limit_ns / 1e6 * CPU_CHARGE_PER_MS) {
    /* No hook can stop a C function: work that could never finish within
    ** limits.cpu_ms is refused before it starts, as the CPU limit would. */
    lx->limit_hit = LIMIT_CPU;
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
    raise_limit(L, lx);
  }
  if (units > CALL_WORK_MAX) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "a library call asked for %.3g units of work; one call may do at most "
             "%.3g, whatever limits.instructions says",
             units, CALL_WORK_MAX);
    luaL_error(L, "%s", msg);
  }
  if (lx->instr_limit <= 0) return;
  if (lx->instr > lx->instr_limit) {
    lx->limit_hit = LIMIT_INSTR;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    raise_limit(L, lx);
  }
}

void sandbox_call(lua_State *L, tr_lua *lx, int nargs, int nresults) {
  if (lx->w && lx->w->ndirty) script_sync(L, lx);
  lx->instr = 0;
  /* Plain stores (no lock prefix): the watchdog only needs to see them
  ** eventually. */
  __atomic_store_n(&lx->call_seq, lx->call_seq + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&lx->in_call, 1, __ATOMIC_RELAXED);
  lua_call(L, nargs, nresults);
  __atomic_store_n(&lx->in_call, 0, __ATOMIC_RELAXED);
  if (lx->limit_hit || lx->mem_fatal) /* defensive: pcall re-raises these */
    raise_limit(L, lx);
}

int sandbox_msgh(lua_State *L) {
  const char *msg;
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) msg = lua_tostring(L, 1);
  else if (lua_isnoneornil(L, 1)) msg = "error with no message (error(nil))";
  else msg = lua_pushfstring(L, "error object is a %s value", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* ------------------------------------------------------- safe functions */
static int sbx_print(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  int n = lua_gettop(L); /* before luaL_buffinit, which may push */
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const tr_world *w = lx->w;
  if (w && lx->cur_actor >= 0 && lx->cur_actor < lx->sc->nactors)
    lua_pushfstring(L, "[run %d tick %d %s] ", w->run, w->tick, lx->sc->actors[lx->cur_actor].id);
  else if (w) lua_pushfstring(L, "[run %d tick %d] ", w->run, w->tick);
  else lua_pushliteral(L, "");
  luaL_addvalue(&b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    size_t len;
    const char *s = sbx_tolstring(L, i, &len);
    /* terminal controls are written as escapes (docs/security.md); the
    ** copy is made aside: a buffer's box must stay on top of the stack */
    char *e = lua_newuserdatauv(L, len * 6 + 1, 0); /* counted by limits.memory_mb */
    size_t m = 0;
    for (size_t k = 0; k < len; k++) {
      unsigned char c = (unsigned char)s[k];
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
        m += (size_t)sprintf(e + m, "\\x%02x", c);
      else if (c == 0xC2 && k + 1 < len && (unsigned char)s[k + 1] >= 0x80
               && (unsigned char)s[k + 1] <= 0x9F)
        m += (size_t)sprintf(e + m, "\\u%04x", (unsigned char)s[++k]);
      else e[m++] = (char)c;
    }
    lua_pushlstring(L, e, m);
    lua_replace(L, -3); /* over the original */
    lua_pop(L, 1);      /* the scratch */
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (lx->console) console_write(lx->console, s, len);
  else fwrite(s, 1, len, stderr); /* one write: lines of threads never mix */
  return 0;
}

static int sbx_setmetatable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (t == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
    return luaL_error(L, "setmetatable: __gc metamethods are not allowed in tightrope scripts");
  lua_settop(L, 2);
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  lua_setmetatable(L, 1);
  return 1;
}

static int is_readonly(lua_State *L, int idx) {
  if (script_is_view(L, idx)) return 1;
  if (!lua_getmetatable(L, idx)) return 0;
  int ro = lua_getfield(L, -1, READONLY_MARK) != LUA_TNIL;
  lua_pop(L, 2);
  return ro;
}

static int sbx_rawset(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (is_readonly(L, 1)) return luaL_error(L, "rawset: this table is read-only");
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

/* collectgarbage: refused, every option. Stopping or forcing the collector
** is the engine's business, and "count" would show the heap size, which
** depends on what the worker thread ran before: a script reading it would
** give different results for different -j (docs/security.md). */
static int sbx_collectgarbage(lua_State *L) {
  return luaL_error(L,
                    "collectgarbage is not available in tightrope scripts (not even \"count\": "
                    "the heap size depends on the worker thread, and results must not)");
}

/* load(chunk [, name [, mode [, env]]]): text only; the environment defaults
** to the caller's run globals (upvalue 1 is not usable: they are per run, so
** scripts' load gets the globals table stored in the registry for the run). */
static int sbx_load(lua_State *L) {
  size_t len;
  const char *mode = luaL_optstring(L, 3, "t");
  if (strchr(mode, 'b'))
    return luaL_error(L, "load: binary chunks are not allowed in tightrope scripts");
  int has_env = !lua_isnone(L, 4);
  int status;
  if (lua_type(L, 1) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, 1, &len);
    if (len > 0 && s[0] == LUA_SIGNATURE[0])
      return luaL_error(L, "load: binary chunks are not allowed in tightrope scripts");
    const char *name = luaL_optstring(L, 2, s);
    status = luaL_loadbufferx(L, s, len, name, "t");
  } else {
    return luaL_error(L, "load: only strings can be loaded in tightrope scripts");
  }
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) lua_pushvalue(L, 4);
  else lua_getfield(L, LUA_REGISTRYINDEX, R_RUNGLOBALS);
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 1;
}

/* pcall and xpcall: a script may catch its own errors, but not a limit:
** an instruction-limit or memory error is raised again at once. */
static int finish_pcall(lua_State *L, int status, int base) {
  tr_lua *lx = TR_LX(L);
  if (status == LUA_ERRMEM) lx->mem_fatal = 1;
  if (lx->limit_hit || lx->mem_fatal) return lua_error(L);
  if (status != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, base);
  return lua_gettop(L) - base + 1;
}

static int sbx_pcall(lua_State *L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  return finish_pcall(L, status, 1);
}

/* xpcall's message handler runs the script's handler, except for a limit
** error: Lua calls handlers with hooks off, so a looping handler would
** never be stopped; the limit error passes through unhandled instead. */
static int guarded_handler(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  if (lx->limit_hit || lx->mem_fatal) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int sbx_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, guarded_handler, 1);
  lua_replace(L, 2);   /* the guarded handler */
  lua_pushvalue(L, 1); /* f */
  lua_copy(L, 2, 1);   /* handler at 1 */
  lua_replace(L, 2);   /* f at 2 */
  int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  return finish_pcall(L, status, 2);
}

static int sbx_randomseed(lua_State *L) {
  return luaL_error(L, "math.randomseed is not allowed: every draw comes from the run's stream");
}

/* Deterministic pairs and next (docs/security.md "Reproducibility"): keys
** in one total order: numbers ascending (integers exactly), then strings
** bytewise, then false before true, then tables, functions and userdata in
** creation order (their numbers), then anything else (built-in C functions)
** by address, which is fixed for one build of tightrope. */
typedef struct {
  int rank, isint;
  lua_Integer ival;
  double num;
  const char *str;
  size_t len;
  unsigned long long id;
  const void *ptr;
  int pos;
} key_ref;

static void key_make(lua_State *L, int idx, key_ref *k, int pos) {
  memset(k, 0, sizeof *k);
  k->pos = pos;
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      k->rank = 0;
      k->isint = lua_isinteger(L, idx);
      if (k->isint) k->ival = lua_tointeger(L, idx);
      k->num = lua_tonumber(L, idx);
      break;
    case LUA_TSTRING:
      k->rank = 1;
      k->str = lua_tolstring(L, idx, &k->len);
      break;
    case LUA_TBOOLEAN:
      k->rank = 2;
      k->num = lua_toboolean(L, idx);
      break;
    default:
      k->id = obj_id(L, idx);
      k->rank = k->id ? 3 : 4;
      k->ptr = lua_topointer(L, idx);
      break;
  }
}

/* -1, 0, 1 for an integer against a float of the same double value */
static int int_float_cmp(lua_Integer i, double f) {
  if (f >= 9223372036854775808.0) return -1;
  if (f < -9223372036854775808.0) return 1;
  lua_Integer fi = (lua_Integer)f;
  return (i > fi) - (i < fi);
}

static int key_order(const key_ref *a, const key_ref *b) {
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  switch (a->rank) {
    case 0:
      if (a->isint && b->isint) return (a->ival > b->ival) - (a->ival < b->ival);
      if (a->num != b->num) return a->num < b->num ? -1 : 1;
      if (a->isint) return int_float_cmp(a->ival, b->num);
      if (b->isint) return -int_float_cmp(b->ival, a->num);
      return 0;
    case 1: {
      size_t m = a->len < b->len ? a->len : b->len;
      int c = memcmp(a->str, b->str, m);
      if (c) return c < 0 ? -1 : 1;
      return (a->len > b->len) - (a->len < b->len);
    }
    case 2: return (a->num > b->num) - (a->num < b->num);
    case 3: return (a->id > b->id) - (a->id < b->id);
    default:
      return ((uintptr_t)a->ptr > (uintptr_t)b->ptr) - ((uintptr_t)a->ptr < (uintptr_t)b->ptr);
  }
}

static int key_cmp(const void *pa, const void *pb) {
  const key_ref *a = pa, *b = pb;
  int c = key_order(a, b);
  return c ? c : a->pos - b->pos;
}

static int sorted_next(lua_State *L) {
  /* upvalues: 1 table, 2 sorted keys, 3 position */
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(3)) + 1;
  if (lua_rawgeti(L, lua_upvalueindex(2), i) == LUA_TNIL) return 1;
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(3));
  lua_pushvalue(L, -1);
  lua_gettable(L, lua_upvalueindex(1));
  return 2;
}

/* Work charged for sorting n keys (docs/security.md "Limits"). */
#define KEY_COST 8.0 /* per key visited: each may be a cache miss */
static double sort_cost(double n) { return n < 2 ? n : n * (KEY_COST + log2(n)); }

static int sbx_pairs(lua_State *L) {
  luaL_checkany(L, 1);
  if (script_view_pairs(L)) return 3;
  if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: keys in next() order */
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, 2, ++n);
  }
  sandbox_charge(L, sort_cost(n));
  key_ref *refs = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *refs, 0); /* 3 */
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 2, i + 1);
    key_make(L, -1, &refs[i], i + 1); /* a string key stays anchored in 2 */
    lua_pop(L, 1);
  }
  qsort(refs, (size_t)n, sizeof *refs, key_cmp);
  lua_createtable(L, n, 0); /* 4: sorted keys */
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 2, refs[i].pos);
    lua_rawseti(L, 4, i + 1);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 4);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, sorted_next, 3);
  lua_pushnil(L);
  lua_pushnil(L);
  return 3;
}

/* next(t [, k]): the key after k in pairs' order (the first key when k is
** nil), and its value. Each call scans the whole table (and is charged for
** it): pairs is the way to visit many keys. */
static int sbx_next(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  int from = !lua_isnil(L, 2);
  key_ref after, best;
  if (from) key_make(L, 2, &after, 0);
  lua_pushnil(L); /* 3: the best key so far */
  int found = 0;
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    n++;
    key_ref k;
    key_make(L, -1, &k, 0);
    if ((!from || key_order(&k, &after) > 0) && (!found || key_order(&k, &best) < 0)) {
      lua_copy(L, -1, 3);
      key_make(L, 3, &best, 0); /* anchored in slot 3 */
      found = 1;
    }
  }
  sandbox_charge(L, (double)n * KEY_COST);
  if (!found) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 3);
  lua_rawget(L, 1);
  return 2;
}

/* tostring without addresses: a table, function or userdata without a
** __tostring metamethod reads "table: #17", its creation number in the
** run; a built-in C function reads "function: builtin". */
static const char *sbx_tolstring(lua_State *L, int idx, size_t *len) {
  idx = lua_absindex(L, idx);
  int t = lua_type(L, idx);
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
    return lua_tolstring(L, -1, len);
  }
  if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD
      || t == LUA_TLIGHTUSERDATA) {
    unsigned long long id = obj_id(L, idx);
    const char *name = luaL_typename(L, idx);
    if (luaL_getmetafield(L, idx, "__name") != LUA_TNIL) {
      if (lua_type(L, -1) == LUA_TSTRING) name = lua_tostring(L, -1);
      lua_pop(L, 1); /* the metatable anchors the name */
    }
    if (id) lua_pushfstring(L, "%s: #%I", name, (lua_Integer)id);
    else lua_pushfstring(L, "%s: builtin", name);
    return lua_tolstring(L, -1, len);
  }
  return luaL_tolstring(L, idx, len);
}

static int sbx_tostring(lua_State *L) {
  luaL_checkany(L, 1);
  sbx_tolstring(L, 1, NULL);
  return 1;
}

/* string.format: %s of a value without __tostring and %p print the value's
** number instead of its address (upvalue 1: the library's format). */
static int sbx_format(lua_State *L) {
  size_t flen;
  const char *f = luaL_checklstring(L, 1, &flen);
  int arg = 1, top = lua_gettop(L);
  double units = 1;
  for (int i = 1; i <= top; i++) units += arg_len(L, i) / BYTES_PER_INSTR;
  sandbox_charge(L, units);
  luaL_Buffer b;
  int rewrote = 0;
  for (size_t i = 0; i < flen; i++) {
    if (f[i] != '%') continue;
    if (++i < flen && f[i] == '%') continue;
    while (i < flen && strchr("-+ #0123456789.", f[i])) i++;
    if (i >= flen) break;
    if (++arg > top) break;
    int t = lua_type(L, arg);
    if (f[i] == 's'
        && (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD
            || t == LUA_TLIGHTUSERDATA)) {
      sbx_tolstring(L, arg, NULL);
      lua_replace(L, arg);
    } else if (f[i] == 'p') {
      rewrote = 1;
    }
  }
  if (rewrote) { /* rebuild the format: %p -> %s */
    luaL_buffinit(L, &b);
    arg = 1;
    for (size_t i = 0; i < flen; i++) {
      luaL_addchar(&b, f[i]);
      if (f[i] != '%') continue;
      if (i + 1 < flen && f[i + 1] == '%') {
        luaL_addchar(&b, '%');
        i++;
        continue;
      }
      while (i + 1 < flen && strchr("-+ #0123456789.", f[i + 1])) luaL_addchar(&b, f[++i]);
      if (i + 1 >= flen) break;
      i++;
      arg++;
      if (f[i] == 'p') {
        luaL_addchar(&b, 's');
        if (arg <= top) {
          unsigned long long id = obj_id(L, arg);
          int t = lua_type(L, arg);
          if (id) lua_pushfstring(L, "#%I", (lua_Integer)id);
          else if (t == LUA_TFUNCTION) lua_pushliteral(L, "builtin");
          else if (t == LUA_TSTRING) lua_pushliteral(L, "string");
          else lua_pushliteral(L, "(null)");
          lua_replace(L, arg);
        }
      } else {
        luaL_addchar(&b, f[i]);
      }
    }
    luaL_pushresult(&b);
    lua_replace(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, top, 1);
  return 1;
}

/* table.sort as a stable merge sort: equal elements keep their order, so
** the result depends only on the list and the comparison, never on a
** pivot (Lua's own sort picks pivots from clock()). The comparison may be
** a Lua function that raises errors, so the elements live in Lua tables,
** not in a C array handed to a C library sort. */
static int sort_less(lua_State *L, int a, int b, int has_cmp) {
  if (!has_cmp) return lua_compare(L, a, b, LUA_OPLT);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_call(L, 2, 1);
  int r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

static int sbx_sort(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  if (n > 1) {
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    int has_cmp = !lua_isnoneornil(L, 2);
    if (has_cmp) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    sandbox_charge(L, sort_cost((double)n));
    lua_createtable(L, (int)n, 0); /* 3: source */
    lua_createtable(L, (int)n, 0); /* 4: destination */
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, 1, i);
      lua_rawseti(L, 3, i);
    }
    int src = 3, dst = 4;
    for (lua_Integer width = 1; width < n; width *= 2) {
      for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
        lua_Integer mid = lo + width, hi = lo + 2 * width;
        if (mid > n + 1) mid = n + 1;
        if (hi > n + 1) hi = n + 1;
        lua_Integer i = lo, j = mid, k = lo;
        while (i < mid && j < hi) {
          lua_rawgeti(L, src, j);                       /* 5: right */
          lua_rawgeti(L, src, i);                       /* 6: left */
          int take_right = sort_less(L, 5, 6, has_cmp); /* right < left */
          lua_pop(L, 2);
          lua_rawgeti(L, src, take_right ? j++ : i++);
          lua_rawseti(L, dst, k++);
        }
        while (i < mid) {
          lua_rawgeti(L, src, i++);
          lua_rawseti(L, dst, k++);
        }
        while (j < hi) {
          lua_rawgeti(L, src, j++);
          lua_rawseti(L, dst, k++);
        }
      }
      int t = src;
      src = dst;
      dst = t;
    }
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, src, i);
      lua_seti(L, 1, i);
    }
  }
  return 0;
}

/* C library calls whose work the count hook cannot see are charged for it
** before they run (docs/security.md "Limits"): one instruction per
** BYTES_PER_INSTR bytes they read or write, one per element they move.
** Upvalue 1: the library function; upvalue 2: which rule applies. */
#define ELEM_COST 8.0 /* per list element read and written through the API */
enum { COST_STR1, COST_MOVE, COST_CONCAT, COST_UTF8_CHAR, COST_STR_ARGS, COST_LEN, COST_UNPACK };

static double arg_len(lua_State *L, int i) {
  size_t l = 0;
  if (lua_type(L, i) == LUA_TSTRING) lua_tolstring(L, i, &l);
  return (double)l;
}

static int charged_call(lua_State *L) {
  int rule = (int)lua_tointeger(L, lua_upvalueindex(2));
  int top = lua_gettop(L);
  double units = 1;
  switch (rule) {
    case COST_STR1: /* work in the subject's length */
      units += arg_len(L, 1) / lua_tonumber(L, lua_upvalueindex(3));
      break;
    case COST_STR_ARGS: /* every string argument is read */
      for (int i = 1; i <= top; i++) units += arg_len(L, i) / BYTES_PER_INSTR;
      break;
    case COST_MOVE: { /* table.move(a1, f, e, t [, a2]) */
      lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
      if (e >= f) units += ((double)e - (double)f + 1) * ELEM_COST;
      break;
    }
    case COST_CONCAT: { /* table.concat(list, sep, i, j) */
      luaL_checktype(L, 1, LUA_TTABLE);
      lua_Integer i = luaL_optinteger(L, 3, 1);
      lua_Integer j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
      if (j >= i)
        units += ((double)j - (double)i + 1) * (ELEM_COST + arg_len(L, 2) / BYTES_PER_INSTR);
      break;
    }
    case COST_UTF8_CHAR: /* utf8.char(...): one per code point */ units += top; break;
    case COST_LEN: /* table.insert/remove shift the list */
      if (lua_type(L, 1) == LUA_TTABLE) units += (double)lua_rawlen(L, 1) * ELEM_COST;
      break;
    case COST_UNPACK: { /* table.unpack(list, i, j) */
      luaL_checkany(L, 1);
      lua_Integer i = luaL_optinteger(L, 2, 1);
      lua_Integer j = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
      if (j >= i) units += ((double)j - (double)i + 1) * ELEM_COST;
      break;
    }
  }
  sandbox_charge(L, units);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, top, LUA_MULTRET);
  return lua_gettop(L);
}

/* bytes: for COST_STR1, how many bytes of the subject make one instruction */
static void charge_lib(lua_State *L, int lib, const char *const *names, int rule, double bytes) {
  for (int i = 0; names[i]; i++) {
    if (lua_getfield(L, lib, names[i]) != LUA_TFUNCTION) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushinteger(L, rule);
    lua_pushnumber(L, bytes);
    lua_pushcclosure(L, charged_call, 3);
    lua_setfield(L, lib, names[i]);
  }
}

/* ------------------------------------------------------------- patterns */
/* The count hook cannot interrupt Lua's matcher, whose backtracking costs
** up to (n+1)^q steps per start position for q unbounded quantifiers (*,
** +, -, %b), and an unanchored search tries n+1 start positions. Before a
** match, that worst case is estimated from the subject's length and the
** pattern, and a match whose bound exceeds PATTERN_STEPS_MAX is refused with
** an error (Lua's own limits cap the recursion depth). The bound is
** pessimistic: it refuses some matches that would be quick in practice. */
#define PATTERN_STEPS_MAX 2e8

static double pattern_steps(const char *p, size_t plen, size_t n, int can_anchor) {
  int q = 0, optional = 0;
  size_t i = 0;
  int anchored = can_anchor && plen > 0 && p[0] == '^';
  if (anchored) i = 1;
  for (; i < plen; i++) {
    if (p[i] == '%' && i + 1 < plen) {
      if (p[i + 1] == 'b') {
        q++;
        i += 3;
        continue;
      }
      if (p[i + 1] == 'f') {
        i += 2;
        while (i < plen && p[i] != ']') i++;
        continue;
      }
      if (p[i + 1] >= '1' && p[i + 1] <= '9') q++; /* a back-reference rescans */
      i++;
      continue;
    }
    if (p[i] == '[') { /* a set: skip to its closing ] */
      i++;
      if (i < plen && p[i] == '^') i++;
      if (i < plen && p[i] == ']') i++;
      while (i < plen && p[i] != ']') {
        if (p[i] == '%') i++;
        i++;
      }
      continue;
    }
    if (p[i] == '*' || p[i] == '-' || p[i] == '+') q++;
    else if (p[i] == '?') optional++;
  }
  double per_start = pow((double)n + 1, q) * pow(2, optional > 30 ? 30 : optional);
  return per_start * (anchored ? 1 : (double)n + 1);
}

static void check_pattern(lua_State *L, size_t subject_len, int pattern_arg, int can_anchor) {
  size_t plen = 0;
  const char *p = lua_tolstring(L, pattern_arg, &plen);
  if (subject_len > PATTERN_SUBJECT_MAX)
    luaL_error(L, "pattern matching on a string of %I bytes refused (limit %I)",
               (lua_Integer)subject_len, (lua_Integer)PATTERN_SUBJECT_MAX);
  if (!p) return;
  double steps = pattern_steps(p, plen, subject_len, can_anchor);
  if (steps > PATTERN_STEPS_MAX) {
    char msg[256]; /* lua_pushfstring has no %g */
    snprintf(msg, sizeof msg,
             "pattern '%s' is too costly to match on a %zu-byte string (up to "
             "%.3g steps, limit %.3g): anchor it with ^, use fewer quantifiers or match shorter "
             "strings",
             plen > 40 ? "(long pattern)" : p, subject_len, steps, PATTERN_STEPS_MAX);
    luaL_error(L, "%s", msg);
  }
}

/* upvalue 1: the original string function */
static int bounded_match(lua_State *L) {
  size_t len = 0;
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) lua_tolstring(L, 1, &len);
  int which = (int)lua_tointeger(L, lua_upvalueindex(2));
  int plain = which == 0 && lua_toboolean(L, 4); /* find's plain flag */
  /* a plain find compares the needle at every place its first byte occurs */
  double needle = arg_len(L, 2);
  sandbox_charge(L,
                 1 + (double)len / BYTES_PER_INSTR * (plain ? 1 + needle / BYTES_PER_INSTR : 1)
                     + needle / BYTES_PER_INSTR);
  /* gmatch treats a leading ^ as a plain character: it never anchors */
  if (lua_type(L, 2) == LUA_TSTRING && !plain) check_pattern(L, len, 2, which != 2);
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

static int bounded_rep(lua_State *L) {
  size_t l = 0;
  luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  size_t lsep = 0;
  if (lua_type(L, 3) == LUA_TSTRING) lua_tolstring(L, 3, &lsep);
  tr_lua *lx = TR_LX(L);
  double total = (double)(l + lsep) * (double)(n > 0 ? n : 0);
  if (lx->mem_limit && total > (double)lx->mem_limit) {
    return luaL_error(L, "string.rep of %f bytes exceeds the memory limit", total);
  }
  sandbox_charge(L, 1 + total / BYTES_PER_INSTR);
  int top = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, top, 1);
  return 1;
}

/* ------------------------------------------------------------------ rng */
static gsl_rng *run_rng(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  if (!lx->w) luaL_error(L, "rng: no run is in progress");
  if (lx->mode == MODE_EXPR)
    luaL_error(L,
               "expressions draw nothing: metrics, outcomes, `when` and the helpers they "
               "call read the world only (draw in a policy, action or event)");
  return lx->w->rng;
}

static double check_number(lua_State *L, int arg);

static double check_prob(lua_State *L, int arg, const char *fn) {
  double p = check_number(L, arg);
  if (!(p >= 0 && p <= 1)) luaL_error(L, "%s: probability %f is outside [0, 1]", fn, p);
  return p;
}

static double check_positive(lua_State *L, int arg, const char *fn, const char *what,
                             int allow_zero) {
  double v = luaL_checknumber(L, arg);
  if (!isfinite(v) || v < 0 || (!allow_zero && v == 0))
    luaL_error(L, "%s: %s must be %s, got %f", fn, what, allow_zero ? "non-negative" : "positive",
               v);
  return v;
}

/* Argument `arg` as a number, or `def` when absent: one API call when it is
** a number (luaL_optnumber makes three). */
static double opt_number(lua_State *L, int arg, double def) {
  int isnum;
  double x = lua_tonumberx(L, arg, &isnum);
  if (isnum) return x;
  return lua_isnoneornil(L, arg) ? def : luaL_checknumber(L, arg);
}

static double check_number(lua_State *L, int arg) {
  int isnum;
  double x = lua_tonumberx(L, arg, &isnum);
  return isnum ? x : luaL_checknumber(L, arg);
}

static int rng_uniform(lua_State *L) {
  gsl_rng *r = run_rng(L);
  if (lua_gettop(L) == 0) {
    lua_pushnumber(L, gsl_rng_uniform(r));
    return 1;
  }
  double a = check_number(L, 1), b = check_number(L, 2);
  if (!isfinite(a) || !isfinite(b) || b < a)
    return luaL_error(L, "rng.uniform: need a <= b, got %f, %f", a, b);
  lua_pushnumber(L, gsl_ran_flat(r, a, b));
  return 1;
}

static int rng_normal(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double mu = opt_number(L, 1, 0), sd = opt_number(L, 2, 1);
  if (!isfinite(mu) || !isfinite(sd) || sd < 0)
    return luaL_error(L, "rng.normal: standard deviation must be non-negative, got %f", sd);
  lua_pushnumber(L, mu + gsl_ran_gaussian(r, sd));
  return 1;
}

static int rng_bernoulli(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double p = check_prob(L, 1, "rng.bernoulli");
  lua_pushboolean(L, gsl_rng_uniform(r) < p);
  return 1;
}

static int rng_binomial(lua_State *L) {
  gsl_rng *r = run_rng(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  double p = check_prob(L, 2, "rng.binomial");
  if (n < 0 || n > 4294967295LL) return luaL_error(L, "rng.binomial: n must be in 0..2^32-1");
  lua_pushinteger(L, (lua_Integer)gsl_ran_binomial(r, p, (unsigned)n));
  return 1;
}

static int rng_poisson(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double mu = check_positive(L, 1, "rng.poisson", "mean", 1);
  lua_pushinteger(L, (lua_Integer)gsl_ran_poisson(r, mu));
  return 1;
}

static int rng_exponential(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double mean = check_positive(L, 1, "rng.exponential", "mean", 0);
  lua_pushnumber(L, gsl_ran_exponential(r, mean));
  return 1;
}

static int rng_gamma(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double k = check_positive(L, 1, "rng.gamma", "shape", 0);
  double theta = check_positive(L, 2, "rng.gamma", "scale", 0);
  lua_pushnumber(L, gsl_ran_gamma(r, k, theta));
  return 1;
}

static int rng_beta(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double a = check_positive(L, 1, "rng.beta", "a", 0);
  double b = check_positive(L, 2, "rng.beta", "b", 0);
  lua_pushnumber(L, gsl_ran_beta(r, a, b));
  return 1;
}

static int rng_lognormal(lua_State *L) {
  gsl_rng *r = run_rng(L);
  double zeta = luaL_checknumber(L, 1);
  double sigma = check_positive(L, 2, "rng.lognormal", "sigma", 1);
  if (!isfinite(zeta)) return luaL_error(L, "rng.lognormal: zeta must be finite");
  lua_pushnumber(L, gsl_ran_lognormal(r, zeta, sigma));
  return 1;
}

/* rng.choice(weights): 1-based index drawn with probability weight/sum. */
static int rng_choice(lua_State *L) {
  gsl_rng *r = run_rng(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  if (n == 0) return luaL_error(L, "rng.choice: the weights list is empty");
  double total = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    int ok;
    double wgt = lua_tonumberx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok || !isfinite(wgt) || wgt < 0)
      return luaL_error(L, "rng.choice: weight %I must be a non-negative number", i);
    total += wgt;
  }
  if (!(total > 0)) return luaL_error(L, "rng.choice: the weights sum to 0");
  double u = gsl_rng_uniform(r) * total, acc = 0;
  lua_Integer pick = n;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    acc += lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (u < acc) {
      pick = i;
      break;
    }
  }
  lua_pushinteger(L, pick);
  return 1;
}

/* rng.shuffle(list): in place, Fisher–Yates as gsl_ran_shuffle does it. */
static int rng_shuffle(lua_State *L) {
  gsl_rng *r = run_rng(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (is_readonly(L, 1)) return luaL_error(L, "rng.shuffle: this list is read-only; copy it first");
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  for (lua_Integer i = n - 1; i > 0; i--) {
    lua_Integer j = (lua_Integer)gsl_rng_uniform_int(r, (unsigned long)i + 1);
    lua_rawgeti(L, 1, i + 1);
    lua_rawgeti(L, 1, j + 1);
    lua_rawseti(L, 1, i + 1);
    lua_rawseti(L, 1, j + 1);
  }
  lua_settop(L, 1);
  return 1;
}

/* rng.pick(list [, exclude]): an item of the list, each equally likely,
** leaving out every item equal (rawequal) to exclude; one draw. */
static int rng_pick(lua_State *L) {
  gsl_rng *r = run_rng(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  int has_ex = !lua_isnoneornil(L, 2);
  lua_settop(L, 2);
  lua_Integer n = (lua_Integer)luaL_len(L, 1), ok = 0;
  if (!has_ex && n > 0) { /* every item counts: the same draw, one read */
    lua_geti(L, 1, (lua_Integer)gsl_rng_uniform_int(r, (unsigned long)n) + 1);
    return 1;
  }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (!has_ex || !lua_rawequal(L, -1, 2)) ok++;
    lua_pop(L, 1);
  }
  if (ok == 0)
    return luaL_error(L, "rng.pick: nothing to pick from (the list is empty%s)",
                      has_ex ? " or holds only the excluded value" : "");
  lua_Integer k = (lua_Integer)gsl_rng_uniform_int(r, (unsigned long)ok);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (!has_ex || !lua_rawequal(L, -1, 2)) {
      if (k-- == 0) return 1;
    }
    lua_pop(L, 1);
  }
  return luaL_error(L, "rng.pick: the list changed while picking");
}

/* math.random with Lua's own signatures, drawing from the run's stream. */
static int math_random(lua_State *L) {
  gsl_rng *r = run_rng(L);
  lua_Integer lo, hi;
  switch (lua_gettop(L)) {
    case 0: lua_pushnumber(L, gsl_rng_uniform(r)); return 1;
    case 1:
      lo = 1;
      hi = luaL_checkinteger(L, 1);
      break;
    case 2:
      lo = luaL_checkinteger(L, 1);
      hi = luaL_checkinteger(L, 2);
      break;
    default: return luaL_error(L, "math.random: wrong number of arguments");
  }
  luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
  unsigned long span = (unsigned long)hi - (unsigned long)lo;
  unsigned long k = span == ULONG_MAX ? gsl_rng_get(r) : gsl_rng_uniform_int(r, span + 1);
  lua_pushinteger(L, (lua_Integer)((unsigned long)lo + k));
  return 1;
}

static const luaL_Reg rng_funcs[] = {{"uniform", rng_uniform},
                                     {"normal", rng_normal},
                                     {"bernoulli", rng_bernoulli},
                                     {"binomial", rng_binomial},
                                     {"poisson", rng_poisson},
                                     {"exponential", rng_exponential},
                                     {"gamma", rng_gamma},
                                     {"beta", rng_beta},
                                     {"lognormal", rng_lognormal},
                                     {"choice", rng_choice},
                                     {"shuffle", rng_shuffle},
                                     {"pick", rng_pick},
                                     {NULL, NULL}};

/* ------------------------------------------------------------ templates */
static int readonly_newindex(lua_State *L) {
  return luaL_error(L, "this table is read-only (%s)",
                    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "key");
}

static int readonly_len(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
  return 1;
}

static int readonly_pairs(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_pushcfunction(L, sbx_pairs);
  lua_getfield(L, -2, "__index");
  lua_call(L, 1, 3);
  return 3;
}

void sandbox_readonly(lua_State *L) {
  lua_newtable(L);          /* proxy */
  lua_createtable(L, 0, 6); /* metatable */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, readonly_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, readonly_len);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, readonly_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, READONLY_MARK);
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
}

static void copy_lib(lua_State *L, int from, const char *const *names) {
  for (int i = 0; names[i]; i++) {
    lua_getfield(L, from, names[i]);
    lua_setfield(L, -2, names[i]);
  }
}

/* Builds the template: a table of safe globals, with library tables.
** Long: one list of the library functions the sandbox wraps, replaces or removes
** (docs/security.md), on the one Lua stack; each entry is a line or two, and splitting it would
** scatter the list. */
static int build_template(lua_State *L) {
  tr_lua *lx = lua_touserdata(L, 1);
  TR_LX(L) = lx;
  luaL_openlibs(L);
  lua_pushglobaltable(L);
  int g = lua_gettop(L);

  /* string: no dump; pattern functions bounded; rep bounded. */
  lua_getglobal(L, "string");
  int s = lua_gettop(L);
  lua_pushnil(L);
  lua_setfield(L, s, "dump");
  static const char *const matchers[] = {"find", "match", "gmatch", "gsub", NULL};
  for (int i = 0; matchers[i]; i++) {
    lua_getfield(L, s, matchers[i]);
    lua_pushinteger(L, i); /* which function: find, match, gmatch, gsub */
    lua_pushcclosure(L, bounded_match, 2);
    lua_setfield(L, s, matchers[i]);
  }
  lua_getfield(L, s, "rep");
  lua_pushcclosure(L, bounded_rep, 1);
  lua_setfield(L, s, "rep");
  lua_getfield(L, s, "format");
  lua_pushcclosure(L, sbx_format, 1);
  lua_setfield(L, s, "format");
  static const char *const str1[] = {"byte", "lower", "upper", "reverse", "sub", NULL};
  charge_lib(L, s, str1, COST_STR1, 4);
  static const char *const strargs[] = {"pack", "unpack", "packsize", NULL};
  charge_lib(L, s, strargs, COST_STR_ARGS, 0);
  static const char *const strchar[] = {"char", NULL};
  charge_lib(L, s, strchar, COST_UTF8_CHAR, 0);
  lua_getglobal(L, "utf8");
  static const char *const u1[] = {"len", "codepoint", "offset", NULL};
  charge_lib(L, lua_gettop(L), u1, COST_STR1, 1);
  static const char *const uchar[] = {"char", NULL};
  charge_lib(L, lua_gettop(L), uchar, COST_UTF8_CHAR, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "table");
  int tab = lua_gettop(L);
  static const char *const tmove[] = {"move", NULL};
  charge_lib(L, tab, tmove, COST_MOVE, 0);
  static const char *const tconcat[] = {"concat", NULL};
  charge_lib(L, tab, tconcat, COST_CONCAT, 0);
  static const char *const tlen[] = {"insert", "remove", NULL};
  charge_lib(L, tab, tlen, COST_LEN, 0);
  static const char *const tunpack[] = {"unpack", NULL};
  charge_lib(L, tab, tunpack, COST_UNPACK, 0);
  lua_pushcfunction(L, sbx_sort);
  lua_setfield(L, tab, "sort");
  lua_pop(L, 1);
  /* Strings' metatable: hide it, so ("").__index cannot reach the library. */
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_getglobal(L, "math");
  lua_pushcfunction(L, math_random);
  lua_setfield(L, -2, "random");
  lua_pushcfunction(L, sbx_randomseed);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);

  lua_newtable(L); /* the template */
  int t = lua_gettop(L);
  static const char *const base[] = {"assert",   "error",  "getmetatable", "ipairs",
                                     "rawequal", "rawget", "rawlen",       "select",
                                     "tonumber", "type",   "_VERSION",     NULL};
  copy_lib(L, g, base);
  static const struct {
    const char *name;
    lua_CFunction fn;
  } mine[] = {{"print", sbx_print},
              {"pairs", sbx_pairs},
              {"next", sbx_next},
              {"tostring", sbx_tostring},
              {"pcall", sbx_pcall},
              {"xpcall", sbx_xpcall},
              {"setmetatable", sbx_setmetatable},
              {"rawset", sbx_rawset},
              {"collectgarbage", sbx_collectgarbage},
              {"load", sbx_load},
              {NULL, NULL}};
  for (int i = 0; mine[i].name; i++) {
    lua_pushcfunction(L, mine[i].fn);
    lua_setfield(L, t, mine[i].name);
  }
  static const char *const libs[] = {"string", "table", "math", "utf8", NULL};
  for (int i = 0; libs[i]; i++) {
    lua_getfield(L, g, libs[i]);
    lua_setfield(L, t, libs[i]);
  }
  luaL_newlib(L, rng_funcs);
  lua_setfield(L, t, "rng");
  lua_setfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);

  /* Empty the real global table: nothing reaches io, os, package, debug. */
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  return 0;
}

lua_State *sandbox_new(tr_lua *lx) {
  lx->mem = 0;
  lx->mem_limit = 0; /* the libraries themselves are not charged */
  lua_State *L = lua_newstate(sbx_alloc, lx);
  if (!L) return NULL;
  TR_LX(L) = lx;
  /* Where a userdata's block starts inside its allocation (for obj_id). */
  const char *u = lua_newuserdatauv(L, 1, 0);
  for (ptrdiff_t off = 0; off <= 128; off++)
    if (id_get(lx, u - off) == lx->next_id) {
      lx->udata_off = off;
      break;
    }
  lua_pop(L, 1);
  lua_pushcfunction(L, build_template);
  lua_pushlightuserdata(L, lx);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  lx->instr_limit = lx->sc ? lx->sc->instr_limit : 0;
  lx->cpu_limit_ns = (lx->sc ? lx->sc->cpu_ms : 1000) * 1000000LL;
  /* Runs make short-lived garbage (environments, lists): generational
  ** collection suits it. */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lx->L = L;
  normal_hook(L, lx);
  if (watchdog_register(lx)) {
    lua_close(L);
    lx->L = NULL;
    return NULL;
  }
  return L;
}

void sandbox_copy_fields(lua_State *L, int src, int dst) {
  src = lua_absindex(L, src);
  dst = lua_absindex(L, dst);
  lua_pushnil(L);
  while (lua_next(L, src)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, dst);
  }
}

/* Run globals: a new table with fresh copies of every library table, so a
** script that changes `string.x` or `math.floor` changes only its own run. */
void sandbox_push_run_globals(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);
  int t = lua_gettop(L);
  lua_createtable(L, 0, 32);
  int g = t + 1;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_newtable(L);
      sandbox_copy_fields(L, -2, -1);
      lua_remove(L, -2);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, g);
  }
  lua_pushvalue(L, g);
  lua_setfield(L, g, "_G");
  lua_pushvalue(L, g);
  lua_setfield(L, LUA_REGISTRYINDEX, R_RUNGLOBALS);
  lua_remove(L, t);
}

int sandbox_load(lua_State *L, const char *src, size_t len, const char *chunkname, int wrap) {
  if (!wrap) return luaL_loadbufferx(L, src, len, chunkname, "t");
  /* "return function(_ENV, ...) <src>\nend" keeps the script's line numbers. */
  static const char head[] = "return function(_ENV, ...) ";
  static const char tail[] = "\nend";
  size_t n = sizeof head - 1 + len + sizeof tail - 1;
  char *buf = malloc(n);
  if (!buf) {
    lua_pushliteral(L, "out of memory");
    return LUA_ERRMEM;
  }
  memcpy(buf, head, sizeof head - 1);
  memcpy(buf + sizeof head - 1, src, len);
  memcpy(buf + sizeof head - 1 + len, tail, sizeof tail - 1);
  int st = luaL_loadbufferx(L, buf, n, chunkname, "t");
  free(buf);
  return st;
}

void sandbox_reset_limits(lua_State *L, tr_lua *lx) {
  lx->limit_hit = 0;
  lx->mem_fatal = 0;
  lx->instr = 0;
  lx->wd_fire_seq = 0;
  normal_hook(L, lx);
}
