/*
** tick.c — one run, tick by tick (docs/lua-api.md, "The tick").
**
**   setup:  the run's network of each random relation rule, drawn from the
**           run's stream (world_network); the scripts' top levels; the
**           attributes declared with a distribution (world_draw);
**   tick 0: init(me, world) of each policy in file order (writes buffered,
**           no actions), buffer applied, metrics recorded, outcomes checked;
**   tick t: 1. events due at t, in file order;
**           2. decide(me, world) of every policy, in an order shuffled from
**              the run's stream; reads see the start-of-tick state, writes
**              are buffered, actions queued;
**           3. buffered writes applied in the order made, then the queued
**              actions resolved in queue order against the live state;
**           4. (bounds are clamped on every write) metrics recorded,
**              world:end_run requests honoured, then outcomes checked.
**         With experiment.activation random_sequential (shuffled) or
**         sequential (file order), steps 2 and 3 happen actor by actor:
**         each actor's writes are applied and its actions resolved before
**         the next decides (docs/scenario-format.md#activation-order).
**
** A whole run executes inside one protected call, so a script error, a limit
** or an out-of-memory anywhere ends the run with a message and never
** unwinds through the engine's C frames with resources held.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#include "scenario/scenario.h"
#include "run/model.h"
#include "scenario/instances.h"
#include "run/results.h"
#include "run/world.h"
#include "run/sandbox.h"
#include "run/lua.h"
#include "run/registry.h"


static void script_describe(const tr_lua *lx, char *buf, size_t size) {
  const tr_scenario *sc = lx->sc;
  const char *actor = lx->cur_actor >= 0 ? sc->actors[lx->cur_actor].id : "?";
  int i = lx->what_index;
  switch (lx->what_kind) {
    case WHAT_LOAD_POLICY:
      snprintf(buf, size, "loading policy %s of '%s'", sc->actors[lx->cur_actor].policy, actor);
      break;
    case WHAT_LOAD_ACTION:
      snprintf(buf, size, "loading action script %s", sc->actions[i].script);
      break;
    case WHAT_INIT: snprintf(buf, size, "init of '%s'", actor); break;
    case WHAT_DECIDE: snprintf(buf, size, "decide of '%s'", actor); break;
    case WHAT_ACTION: snprintf(buf, size, "action '%s' by '%s'", sc->actions[i].name, actor); break;
    case WHAT_EVENT: snprintf(buf, size, "event '%s'", sc->events[i].name); break;
    case WHAT_WHEN: snprintf(buf, size, "event '%s' (when)", sc->events[i].name); break;
    case WHAT_METRIC: snprintf(buf, size, "metric '%s'", sc->metrics[i].name); break;
    case WHAT_OUTCOME: snprintf(buf, size, "outcome '%s'", sc->outcomes[i].name); break;
    case WHAT_LOAD_HELPERS: snprintf(buf, size, "loading helpers %s", sc->helpers); break;
    default: snprintf(buf, size, "setting up the run"); break;
  }
}

static void set_tick(lua_State *L, int t) {
  lua_pushinteger(L, t);
  lua_setfield(L, S_EXPRENV, "tick");
  if (!lua_isnil(L, S_EVENV)) {
    lua_pushinteger(L, t);
    lua_setfield(L, S_EVENV, "tick");
  }
}

/* Truth of an outcome or `when` value: true, or a non-zero number. */
static int truthy(lua_State *L, tr_lua *lx, const char *what, const char *name) {
  switch (lua_type(L, -1)) {
    case LUA_TNIL: return 0;
    case LUA_TBOOLEAN: return lua_toboolean(L, -1);
    case LUA_TNUMBER: return lua_tonumber(L, -1) != 0;
    default:
      return luaL_error(L, "%s '%s' yielded a %s value; it must be a boolean", what, name,
                        luaL_typename(L, -1));
  }
}

/* Metrics of tick t into the series; then end requests and outcomes.
** Returns 1 when the run ends at t. */
static int record_and_check(lua_State *L, tr_lua *lx, int t) {
  const tr_scenario *sc = lx->sc;
  tr_world *w = lx->w;
  tr_runresult *res = w->res;
  int nm = sc->nmetrics;
  double *row = res->series + (size_t)t * (size_t)nm;
  lx->mode = MODE_EXPR;
  lx->cur_actor = -1;
  for (int i = 0; i < nm; i++) {
    lx->what_kind = WHAT_METRIC;
    lx->what_index = i;
    lua_rawgeti(L, S_METRICS, i + 1);
    sandbox_call(L, lx, 0, 1);
    double x;
    int t1 = lua_type(L, -1);
    if (t1 == LUA_TNUMBER) x = lua_tonumber(L, -1);
    else if (t1 == LUA_TBOOLEAN) x = lua_toboolean(L, -1);
    else
      return luaL_error(L, "metric '%s' yielded a %s value, not a number", sc->metrics[i].name,
                        luaL_typename(L, -1));
    if (!isfinite(x))
      return luaL_error(L, "metric '%s' is %f: metrics must be finite", sc->metrics[i].name, x);
    row[i] = x;
    lua_pop(L, 1);
    /* visible by name to later metrics, outcomes and `when` (check.c) */
    if (sc->metrics[i].by_name) {
      lua_pushnumber(L, x);
      lua_setfield(L, S_EXPRENV, sc->metrics[i].name);
    }
  }
  res->end_tick = t;
  if (w->end_request >= 0) {
    res->outcome = w->end_request;
    return 1;
  }
  for (int i = 0; i < sc->noutcomes; i++) {
    lx->what_kind = WHAT_OUTCOME;
    lx->what_index = i;
    lua_rawgeti(L, S_OUTCOMES, i + 1);
    sandbox_call(L, lx, 0, 1);
    int yes = truthy(L, lx, "outcome", sc->outcomes[i].name);
    lua_pop(L, 1);
    if (yes) {
      res->outcome = i;
      return 1;
    }
  }
  return 0;
}

/* A write refused by on_bound: error, or a fraction for an integer
** attribute, ends the run with its message. */
static void check_fault(lua_State *L, tr_world *w) {
  char msg[512];
  if (w->fault.kind) luaL_error(L, "%s", world_fault_message(w, msg, sizeof msg));
}

static void apply_events(lua_State *L, tr_lua *lx, int t) {
  const tr_scenario *sc = lx->sc;
  tr_world *w = lx->w;
  for (int e = 0; e < sc->nevents; e++) {
    const tr_eventdecl *ev = &sc->events[e];
    if (ev->once && w->event_done[e]) continue;
    int due;
    switch (ev->kind) {
      case EV_AT: due = t == ev->at; break;
      case EV_EVERY: due = t % ev->every == 0; break;
      default: due = gsl_rng_uniform(w->rng) < ev->prob; break;
    }
    if (!due) continue;
    if (ev->when) {
      lx->mode = MODE_EXPR;
      lx->what_kind = WHAT_WHEN;
      lx->what_index = e;
      lua_rawgeti(L, S_WHEN, e + 1);
      sandbox_call(L, lx, 0, 1);
      int yes = truthy(L, lx, "event when of", ev->name);
      lua_pop(L, 1);
      if (!yes) continue;
    }
    lx->mode = MODE_EVENT;
    lx->what_kind = WHAT_EVENT;
    lx->what_index = e;
    for (int c = 0; c < ev->nchanges; c++) {
      const tr_change *ch = &ev->changes[c];
      int slot = ch->path.slot;
      double x = ch->op == CHANGE_SET ? ch->value : w->val[slot] + ch->value;
      if (!isfinite(x))
        luaL_error(L, "event '%s': %s becomes %f, not a finite number", ev->name, ch->path.text, x);
      world_write(w, slot, x);
    }
    check_fault(L, w);
    if (ev->lua) {
      lua_rawgeti(L, S_EVFAC, e + 1);
      sandbox_call(L, lx, 0, 0);
      check_fault(L, w);
    }
    w->event_done[e] = 1;
    int lrc = world_log(w, -1, ev->name, -1, ev->cameo, ev->has_goldstein ? ev->goldstein : NAN,
                        ev->nchanges == 1 ? ev->changes[0].value : NAN);
    if (lrc)
      luaL_error(L, lrc == -2 ? WORLD_MEM_MSG : "out of memory", (lua_Integer)w->sc->memory_mb);
  }
}

static void resolve_actions(lua_State *L, tr_lua *lx) {
  const tr_scenario *sc = lx->sc;
  tr_world *w = lx->w;
  lx->mode = MODE_ACTION;
  for (int qi = 0; qi < w->nq; qi++) {
    const tr_actreq q = w->queue[qi];
    const tr_actiondecl *ac = &sc->actions[q.action];
    lx->cur_actor = q.actor;
    lx->what_kind = WHAT_ACTION;
    lx->what_index = q.action;
    double value = NAN;
    const char *cameo = ac->cameo;
    double goldstein = ac->has_goldstein ? ac->goldstein : NAN;
    if (q.has_args) {
      lua_rawgeti(L, S_ARGS, qi + 1);
      lua_pushnil(L);
      lua_rawseti(L, S_ARGS, qi + 1);
    } else {
      lua_newtable(L);
    }
    int args = lua_gettop(L);
    if (ac->builtin >= 0) {
      lx->instr = 0;
      model_resolvers[ac->builtin](lx, q.actor, q.target, args, &value, &cameo, &goldstein);
    } else {
      lua_rawgeti(L, S_APPLY, q.action + 1);
      lua_pushvalue(L, S_WORLD);
      lua_rawgeti(L, S_VIEWS, q.actor + 1);
      if (q.target >= 0) lua_rawgeti(L, S_VIEWS, q.target + 1);
      else lua_pushnil(L);
      lua_pushvalue(L, args);
      sandbox_call(L, lx, 4, 1);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        value = lua_tonumber(L, -1);
        if (!isfinite(value))
          luaL_error(L, "action '%s' returned %f; a returned value must be finite", ac->name,
                     value);
      }
      lua_pop(L, 1);
    }
    check_fault(L, w);
    lua_settop(L, args - 1);
    int lrc = world_log(w, q.actor, ac->name, q.target, cameo, goldstein, value);
    if (lrc)
      luaL_error(L, lrc == -2 ? WORLD_MEM_MSG : "out of memory", (lua_Integer)w->sc->memory_mb);
  }
  w->nq = 0;
}

/* TIGHTROPE_BENCH_HEAP (docs/cli.md, "Environment"): the worker's live Lua
** heap, after a full collection, on stderr, for bench/run.sh; scripts never
** see it (a collection changes no result: objects are numbered when they
** are made, docs/security.md "Reproducibility"). */
static void bench_heap(lua_State *L, const char *when) {
  static int on = -1;
  if (on < 0) on = getenv("TIGHTROPE_BENCH_HEAP") != NULL;
  if (!on) return;
  lua_gc(L, LUA_GCCOLLECT);
  fprintf(stderr, "heap_kb_%s=%.3f\n", when,
          lua_gc(L, LUA_GCCOUNT, 0) + lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
}

static int run_body(lua_State *L) {
  tr_lua *lx = TR_LX(L);
  tr_world *w = lx->w;
  const tr_scenario *sc = lx->sc;
  char msg[512];
  /* The run's own network first (docs/scenario-format.md#relations-by-rule). */
  if (world_network(w, msg, sizeof msg)) return luaL_error(L, "%s", msg);
  script_begin_run(L, lx, w->inst);
  bench_heap(L, "loaded");
  lua_settop(L, 0);
  for (int i = S_DECIDE; i <= S_TOP; i++) lua_getfield(L, LUA_REGISTRYINDEX, run_places[i]);
  lua_pushinteger(L, w->ticks);
  lua_setfield(L, S_EXPRENV, "ticks");
  if (!lua_isnil(L, S_EVENV)) {
    lua_pushinteger(L, w->ticks);
    lua_setfield(L, S_EVENV, "ticks");
  }

  if (world_draw(w, msg, sizeof msg)) return luaL_error(L, "%s", msg);

  /* Tick 0: init, in file order. */
  set_tick(L, 0);
  lx->mode = MODE_INIT;
  lx->what_kind = WHAT_INIT;
  for (int k = 0; k < w->npolicy; k++) {
    int a = w->policy_actors[k];
    if (lua_rawgeti(L, S_INIT, a + 1) != LUA_TFUNCTION) {
      lua_pop(L, 1);
      continue;
    }
    lx->cur_actor = a;
    lua_rawgeti(L, S_VIEWS, a + 1);
    lua_pushvalue(L, S_WORLD);
    sandbox_call(L, lx, 2, 0);
  }
  world_apply_buffer(w);
  check_fault(L, w);
  if (record_and_check(L, lx, 0)) return 0;

  for (int t = 1; t <= w->ticks; t++) {
    w->tick = t;
    set_tick(L, t);
    if (sc->nevents) apply_events(L, lx, t);

    memcpy(w->order, w->policy_actors, (size_t)w->npolicy * sizeof *w->order);
    if (w->npolicy > 1 && w->inst->activation != ACT_SEQUENTIAL)
      gsl_ran_shuffle(w->rng, w->order, (size_t)w->npolicy, sizeof *w->order);
    lx->mode = MODE_DECIDE;
    lx->what_kind = WHAT_DECIDE;
    for (int k = 0; k < w->npolicy; k++) {
      int a = w->order[k];
      lx->cur_actor = a;
      lua_rawgeti(L, S_DECIDE, a + 1);
      lua_rawgeti(L, S_VIEWS, a + 1);
      lua_pushvalue(L, S_WORLD);
      sandbox_call(L, lx, 2, 0);
      if (w->inst->activation != ACT_SYNCHRONOUS) {
        /* Sequential schedules: this actor's writes and actions take
        ** effect before the next one decides. */
        world_apply_buffer(w);
        check_fault(L, w);
        if (w->nq) resolve_actions(L, lx);
        lx->mode = MODE_DECIDE;
        lx->what_kind = WHAT_DECIDE;
      }
    }
    world_apply_buffer(w);
    check_fault(L, w);
    if (w->nq) resolve_actions(L, lx);
    if (t == 1) bench_heap(L, "tick1");
    if (record_and_check(L, lx, t)) return 0;
  }
  w->res->outcome = sc->noutcomes;
  w->res->end_tick = w->ticks;
  return 0;
}

int tick_run(tr_lua *lx, const tr_instance *inst, int run, uint64_t seed, tr_runerror *err) {
  lua_State *L = lx->L;
  tr_world *w = lx->w;
  world_reset(w, inst, run, seed);
  w->res->nevents = 0;
  sandbox_reset_limits(L, lx);
  lx->cur_actor = -1;
  lx->what_kind = WHAT_NONE;
  lua_settop(L, 0);
  lua_pushcfunction(L, sandbox_msgh);
  lua_pushcfunction(L, run_body);
  int st = lua_pcall(L, 0, 0, 1);
  lx->mode = MODE_NONE;
  if (st == LUA_OK) {
    lua_settop(L, 0);
    return 0;
  }
  err->failed = 1;
  err->tick = w->tick;
  err->actor = lx->cur_actor;
  script_describe(lx, err->what, sizeof err->what);
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
  char *text = NULL;
  if (st == LUA_ERRMEM || lx->mem_fatal) {
    if (asprintf(&text, "memory limit exceeded (limits.memory_mb = %lld): %s",
                 (long long)lx->sc->memory_mb, msg)
        < 0)
      text = NULL;
  } else if (st == LUA_ERRERR) {
    if (asprintf(&text, "error while handling an error: %s", msg) < 0) text = NULL;
  } else {
    text = strdup(msg);
  }
  err->message = text;
  lua_settop(L, 0);
  lx->mem_limit = 0; /* let the collector run freely */
  lua_gc(L, LUA_GCCOLLECT);
  lx->mem_limit = (size_t)lx->sc->memory_mb * 1024u * 1024u;
  return -1;
}
