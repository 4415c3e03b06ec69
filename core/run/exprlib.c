/*
** exprlib.c — what expressions (metrics, outcomes, `when`) get besides the
** views: the statistics gini, sd, var, median and quantile over the same
** sources as mean (a list of views and an attribute name, or a list of
** numbers), and the read-only helpers ipairs, pairs, select and a `table`
** subset (docs/scenario-format.md#expressions-metrics-outcomes-when).
** Every statistic comes from GSL; nothing here draws or writes.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "run/model.h"
#include "run/results.h"
#include "run/sandbox.h"
#include "run/lua.h"
#include "run/registry.h"

/* The values of a source into a new userdata array (pushed, so the
** collector owns it on error): list of views + attr name, or list of
** numbers. Returns the array; *n its length. */
static double *collect(lua_State *L, const char *fn, size_t *n) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int by_attr = lua_type(L, 2) == LUA_TSTRING;
  /* not raw: expression lists are read-only proxies (sandbox_readonly) */
  lua_Integer len = luaL_len(L, 1);
  if (len < 0) len = 0;
  double *x = lua_newuserdatauv(L, (size_t)(len ? len : 1) * sizeof *x, 0);
  for (lua_Integer i = 1; i <= len; i++) {
    int t = lua_geti(L, 1, i);
    if (by_attr) {
      if (t != LUA_TTABLE)
        luaL_error(L, "%s: item %I of the list is not an actor or relation view", fn, i);
      lua_pushvalue(L, 2);
      lua_gettable(L, -2);
    }
    int isnum;
    double v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) {
      if (by_attr)
        luaL_error(L, "%s: item %I of the list has no numeric '%s' (is it a view?)", fn, i,
                   lua_tostring(L, 2));
      luaL_error(L,
                 "%s: item %I is not a number: give a list of numbers, or a list of views "
                 "and an attribute name",
                 fn, i);
    }
    lua_pop(L, by_attr ? 2 : 1);
    x[i - 1] = v;
  }
  *n = (size_t)len;
  return x;
}

/* Arguments after the source: 3 with an attribute name, else 2. */
static int next_arg(lua_State *L) { return lua_type(L, 2) == LUA_TSTRING ? 3 : 2; }

static int push_or_nil(lua_State *L, size_t n, size_t need, double v) {
  if (n < need) lua_pushnil(L);
  else lua_pushnumber(L, v);
  return 1;
}

static int f_var(lua_State *L) {
  size_t n;
  double *x = collect(L, "var", &n);
  return push_or_nil(L, n, 2, n >= 2 ? gsl_stats_variance(x, 1, n) : 0);
}

static int f_sd(lua_State *L) {
  size_t n;
  double *x = collect(L, "sd", &n);
  return push_or_nil(L, n, 2, n >= 2 ? gsl_stats_sd(x, 1, n) : 0);
}

static int f_median(lua_State *L) {
  size_t n;
  double *x = collect(L, "median", &n);
  if (n) gsl_sort(x, 1, n);
  return push_or_nil(L, n, 1, n ? gsl_stats_median_from_sorted_data(x, 1, n) : 0);
}

static int f_quantile(lua_State *L) {
  int pa = next_arg(L);
  double p = luaL_checknumber(L, pa);
  if (!(p >= 0 && p <= 1)) return luaL_error(L, "quantile: p must be in [0, 1], got %f", p);
  size_t n;
  double *x = collect(L, "quantile", &n);
  if (n) gsl_sort(x, 1, n);
  return push_or_nil(L, n, 1, n ? gsl_stats_quantile_from_sorted_data(x, 1, n, p) : 0);
}

/* Gini coefficient of non-negative values: sum_i (2i - n - 1) x_(i) / (n sum x)
** over the sorted values (the mean absolute difference over twice the mean,
** as Mesa's Boltzmann model computes it). */
static int f_gini(lua_State *L) {
  size_t n;
  double *x = collect(L, "gini", &n);
  if (n == 0) {
    lua_pushnil(L);
    return 1;
  }
  gsl_sort(x, 1, n);
  if (x[0] < 0) return luaL_error(L, "gini: values must be non-negative, got %f", x[0]);
  double total = 0, acc = 0;
  for (size_t i = 0; i < n; i++) {
    total += x[i];
    acc += (2.0 * (double)(i + 1) - (double)n - 1.0) * x[i];
  }
  if (!(total > 0))
    return luaL_error(L, "gini: the values sum to 0, so the coefficient is undefined");
  lua_pushnumber(L, acc / ((double)n * total));
  return 1;
}

/* table.sort(list [, comp]) of expressions: sorts a list the expression
** made (world:actors() and the like return fresh ones) and returns it;
** a read-only table (params, helpers' data) must be copied first. */
static int expr_sort(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) {
    return luaL_error(L,
                      "table.sort: this table is read-only or a view; sort a copy "
                      "(for example a list built with ipairs)");
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  if (lua_isnil(L, 2)) lua_call(L, 1, 0);
  else {
    lua_pushvalue(L, 2);
    lua_call(L, 2, 0);
  }
  lua_settop(L, 1);
  return 1;
}

/* events_count(code [, from [, to]]): the events and actions of this run so
** far whose CAMEO code starts with `code` ("19" counts 190, 193, ...), at
** ticks from..to (default: every tick). */
static int f_events_count(lua_State *L) {
  size_t len;
  const char *code = luaL_checklstring(L, 1, &len);
  lua_Integer from = luaL_optinteger(L, 2, 0), to = luaL_optinteger(L, 3, LUA_MAXINTEGER);
  const tr_lua *lx = TR_LX(L);
  const tr_runresult *r = lx->w ? lx->w->res : NULL;
  lua_Integer n = 0;
  for (int i = 0; r && i < r->nevents; i++) {
    const tr_event *e = &r->events[i];
    if (e->tick >= from && e->tick <= to && strncmp(e->cameo, code, len) == 0) n++;
  }
  lua_pushinteger(L, n);
  return 1;
}

void exprlib_register(lua_State *L, int env) {
  static const struct {
    const char *name;
    lua_CFunction fn;
  } fns[] = {{"gini", f_gini},
             {"sd", f_sd},
             {"var", f_var},
             {"median", f_median},
             {"quantile", f_quantile},
             {"events_count", f_events_count},
             {NULL, NULL}};
  for (int i = 0; fns[i].name; i++) {
    lua_pushcfunction(L, fns[i].fn);
    lua_setfield(L, env, fns[i].name);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, R_TEMPLATE);
  int t = lua_gettop(L);
  static const char *const base[] = {"ipairs",   "pairs",    "select", "type",
                                     "tostring", "tonumber", NULL};
  for (int i = 0; base[i]; i++) {
    lua_getfield(L, t, base[i]);
    lua_setfield(L, env, base[i]);
  }
  lua_getfield(L, t, "table");
  lua_createtable(L, 0, 4);
  lua_getfield(L, -2, "sort");
  lua_pushcclosure(L, expr_sort, 1);
  lua_setfield(L, -2, "sort");
  lua_getfield(L, -2, "concat");
  lua_setfield(L, -2, "concat");
  lua_getfield(L, -2, "unpack");
  lua_setfield(L, -2, "unpack");
  sandbox_readonly(L);
  lua_setfield(L, env, "table");
  lua_pop(L, 2);
}
