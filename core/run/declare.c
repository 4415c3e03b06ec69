/*
** declare.c — reading the parameters each policy and action script declares
** (docs/lua-api.md, "Declaring parameters"): at load, each distinct script's
** top level runs once in a sandbox (the instruction and memory limits of the
** scenario apply) with a `declare` that records into the scenario's
** tr_scriptdecl; nothing else of the run exists then (no world, no views).
** A top level that fails here is left to the compile step, which reports
** it. The scenario layer reaches this through its Lua checks
** (tr_lua_checks), and checks the YAML's params against what was recorded
** (scenario/params.c).
*/
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/scenario.h"
#include "run/sandbox.h"
#include "run/lua.h"
#include "run/watchdog.h"

static const char *const decl_fields[] = {"name", "type", "default", "min",
                                          "max",  "doc",  "items",   "shared"};
#define NFIELDS ((int)(sizeof decl_fields / sizeof decl_fields[0]))


typedef struct collect {
  tr_scenario *sc;
  tr_diag *d;
  tr_scriptdecl *s;
  int errors;
} collect;

static int decl_error(lua_State *L, collect *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int decl_error(lua_State *L, collect *c, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[600];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(c->d, c->s->path, line, line > 0 ? 1 : 0, "declare: %s", msg);
  c->errors++;
  return 0;
}

/* A Lua value into a tr_value (numbers, strings, booleans and lists of
** them); -1 for anything else. */
static int to_value(lua_State *L, int idx, tr_value *v) {
  memset(v, 0, sizeof *v);
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      v->type = TV_NUM;
      v->num = lua_tonumber(L, idx);
      return isfinite(v->num) ? 0 : -1;
    case LUA_TBOOLEAN:
      v->type = TV_BOOL;
      v->num = lua_toboolean(L, idx);
      return 0;
    case LUA_TSTRING: v->type = TV_STR; return (v->str = strdup(lua_tostring(L, idx))) ? 0 : -1;
    case LUA_TTABLE: {
      lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
      if (n > 10000) return -1;
      v->type = TV_SEQ;
      if (n == 0) return 0;
      if (!(v->items = calloc((size_t)n, sizeof *v->items))) return -1;
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int st = lua_type(L, -1) == LUA_TTABLE ? -1 : to_value(L, lua_gettop(L), &v->items[i - 1]);
        lua_pop(L, 1);
        v->n = (int)i;
        if (st) return -1;
      }
      return 0;
    }
    default: return -1;
  }
}

static int type_index(const char *t) {
  for (int i = 0; i < PT_COUNT; i++)
    if (strcmp(t, tr_param_types[i]) == 0) return i;
  return -1;
}

/* declare {shared = true} (the field `shared` at -1): one instance of the
** policy per run, shared by its actors (docs/lua-api.md, "Shared
** instances"). */
static int decl_shared(lua_State *L, collect *c, int line) {
  if (lua_type(L, -1) != LUA_TBOOLEAN)
    return decl_error(L, c, line, "'shared' is true or false: declare {shared = true}");
  int fields = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    fields++;
  }
  if (fields != 1)
    return decl_error(L, c, line,
                      "'shared' stands alone: write declare {shared = true} as a declare "
                      "of its own");
  if (c->s->shared_line)
    return decl_error(L, c, line, "'shared' is declared twice (first at line %d)",
                      c->s->shared_line);
  c->s->shared = lua_toboolean(L, -1);
  c->s->shared_line = line;
  return 0;
}

/* declare {name=..., type=..., default=..., min=..., max=..., doc=..., items=...}
** Long: one pass over the fields of a declare{} table in a fixed order (unknown fields, name,
** type, items, min and max, doc, default); each field's check is a few lines on the one Lua
** stack, and splitting it would scatter the table of fields. */
static int decl_record(lua_State *L) {
  collect *c = lua_touserdata(L, lua_upvalueindex(1));
  lua_Debug ar;
  int line = lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) ? ar.currentline : 0;
  if (lua_type(L, 1) != LUA_TTABLE)
    return decl_error(L, c, line, "takes one table: declare {name = \"...\", type = \"...\", ...}");
  if (lua_getfield(L, 1, "shared") != LUA_TNIL) return decl_shared(L, c, line);
  lua_pop(L, 1);
  /* unknown fields */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0;
    for (int i = 0; k && i < NFIELDS; i++) known |= strcmp(k, decl_fields[i]) == 0;
    if (!known) {
      char sug[200] = "";
      if (k) diag_did_you_mean(sug, sizeof sug, k, decl_fields, NFIELDS);
      decl_error(L, c, line,
                 "unknown field '%s'%s: a declaration has name, type, default, min, "
                 "max, items and doc (or shared, alone)",
                 k ? k : "?", sug);
    }
  }
  tr_paramdecl p;
  memset(&p, 0, sizeof p);
  p.line = line;
  p.items = -1;
  if (lua_getfield(L, 1, "name") != LUA_TSTRING) {
    lua_pop(L, 1);
    return decl_error(L, c, line, "needs a name (a string)");
  }
  const char *name = lua_tostring(L, -1);
  int okname = (*name >= 'a' && *name <= 'z') || *name == '_';
  for (const char *q = name; *q; q++)
    okname &= (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_';
  if (!okname)
    return decl_error(L, c, line, "invalid parameter name '%s': names match [a-z_][a-z0-9_]*",
                      name);
  for (int i = 0; i < c->s->nparams; i++)
    if (strcmp(c->s->params[i].name, name) == 0)
      return decl_error(L, c, line, "parameter '%s' is declared twice (first at line %d)", name,
                        c->s->params[i].line);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "type") != LUA_TSTRING || (p.type = type_index(lua_tostring(L, -1))) < 0) {
    char got[300] = "";
    const char *t = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (t) {
      snprintf(got, sizeof got, " (got '%s')", t);
      diag_did_you_mean(got, sizeof got, t, tr_param_types, PT_COUNT);
    }
    decl_error(L, c, line,
               "parameter '%s' needs a type: number, integer, string, list, actor or any%s", name,
               got);
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "items") != LUA_TNIL) {
    if (p.type != PT_LIST || lua_type(L, -1) != LUA_TSTRING
        || (p.items = type_index(lua_tostring(L, -1))) < 0 || p.items == PT_LIST
        || p.items == PT_ANY) {
      lua_pop(L, 1);
      return decl_error(L, c, line,
                        "'items' of '%s': only a list has items, of type number, "
                        "integer, string or actor",
                        name);
    }
  }
  lua_pop(L, 1);
  static const char *const bounds[] = {"min", "max"};
  for (int b = 0; b < 2; b++) {
    if (lua_getfield(L, 1, bounds[b]) != LUA_TNIL) {
      if ((p.type != PT_NUMBER && p.type != PT_INTEGER) || lua_type(L, -1) != LUA_TNUMBER
          || !isfinite(lua_tonumber(L, -1))) {
        lua_pop(L, 1);
        return decl_error(L, c, line,
                          "'%s' of '%s': only a number or an integer has bounds, "
                          "given as finite numbers",
                          bounds[b], name);
      }
      if (b == 0) {
        p.has_min = 1;
        p.min = lua_tonumber(L, -1);
      } else {
        p.has_max = 1;
        p.max = lua_tonumber(L, -1);
      }
    }
    lua_pop(L, 1);
  }
  if (p.has_min && p.has_max && p.min > p.max)
    return decl_error(L, c, line, "min %g is greater than max %g for '%s'", p.min, p.max, name);
  if (lua_getfield(L, 1, "doc") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return decl_error(L, c, line, "'doc' of '%s' is a one-line description (a string)", name);
    }
    p.doc = strdup(lua_tostring(L, -1));
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "default") != LUA_TNIL) {
    char err[600];
    const tr_value *at;
    char what[300];
    snprintf(what, sizeof what, "the default of '%s'", name);
    if (to_value(L, lua_gettop(L), &p.def)
        || params_value_fits(c->sc, &p, &p.def, what, err, sizeof err, &at)) {
      if (p.def.type == TV_NULL && lua_type(L, -1) != LUA_TNIL)
        snprintf(err, sizeof err, "the default of '%s' must be a number, a string or a list", name);
      params_value_free(&p.def);
      free(p.doc);
      lua_pop(L, 1);
      return decl_error(L, c, line, "%s", err);
    }
    p.has_default = 1;
  }
  lua_pop(L, 1);
  tr_paramdecl *np = realloc(c->s->params, (size_t)(c->s->nparams + 1) * sizeof *np);
  if (!np || !(p.name = strdup(name))) {
    params_value_free(&p.def);
    free(p.doc);
    return luaL_error(L, "out of memory");
  }
  c->s->params = np;
  np[c->s->nparams++] = p;
  c->s->state = SD_DECLARED;
  return 0;
}

static int decl_noop(lua_State *L) { return 0; }

void params_push_declare(lua_State *L) { lua_pushcfunction(L, decl_noop); }

/* Runs one script's top level with a recording `declare`. */
static int collect_one(lua_State *L) {
  collect *c = lua_touserdata(L, 1);
  size_t len;
  char *src = fs_read_file(c->s->path, TR_MAX_FILE_BYTES, 0, &len);
  if (!src) {
    c->s->state = SD_UNKNOWN;
    return 0;
  }
  char chunk[4096];
  snprintf(chunk, sizeof chunk, "@%s", c->s->path);
  int st = sandbox_load(L, src, len, chunk, 1);
  free(src);
  if (st != LUA_OK) {
    c->s->state = SD_UNKNOWN;
    return 0;
  } /* compile reports it */
  tr_lua *lx = TR_LX(L);
  sandbox_call(L, lx, 0, 1); /* the factory */
  sandbox_push_run_globals(L);
  lua_pushlightuserdata(L, c);
  lua_pushcclosure(L, decl_record, 1);
  lua_setfield(L, -2, "declare");
  lua_createtable(L, 0, 4); /* the script's environment */
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
  sandbox_call(L, lx, 1, 0);
  return 0;
}

int params_collect(tr_scenario *sc, tr_diag *d) {
  int total = sc->nactors + sc->nactions;
  if (total == 0) return 0;
  sc->scripts = calloc((size_t)total, sizeof *sc->scripts);
  if (!sc->scripts) return 0;
  tr_lua *lx = calloc(1, sizeof *lx);
  if (!lx) return 0;
  lx->sc = sc;
  lx->cur_actor = -1;
  lua_State *L = sandbox_new(lx);
  if (!L) {
    free(lx);
    return 0;
  }
  lx->L = L;
  lx->mem_limit = (size_t)sc->memory_mb * 1024u * 1024u;
  int errors = 0;
  for (int i = 0; i < total; i++) {
    const char *path = i < sc->nactors ? sc->actors[i].policy : sc->actions[i - sc->nactors].script;
    if (!path || params_script(sc, path)) continue;
    tr_scriptdecl *s = &sc->scripts[sc->nscripts];
    if (!(s->path = strdup(path))) break;
    sc->nscripts++;
    collect c = {sc, d, s, 0};
    sandbox_reset_limits(L, lx);
    lua_settop(L, 0);
    lua_pushcfunction(L, sandbox_msgh);
    lua_pushcfunction(L, collect_one);
    lua_pushlightuserdata(L, &c);
    if (lua_pcall(L, 1, 0, 1) != LUA_OK) s->state = SD_UNKNOWN; /* compile reports it */
    errors += c.errors;
    lua_settop(L, 0);
  }
  for (int i = 0; i < sc->nactions; i++) {
    const tr_scriptdecl *s =
        sc->actions[i].script ? params_script(sc, sc->actions[i].script) : NULL;
    if (s && s->shared) {
      diag_error(d, s->path, s->shared_line, 1,
                 "declare: {shared = true} is for policy scripts; action '%s' runs this "
                 "script, and an action script has one instance per action already",
                 sc->actions[i].name);
      errors++;
    }
  }
  watchdog_unregister(lx); /* as script_free does */
  lua_close(L);
  free(lx->ids);
  free(lx);
  return errors;
}
