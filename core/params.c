/*
** params.c — declared parameters of policy and action scripts, and the
** ranges of the model's parameters (docs/lua-api.md, "Declaring
** parameters"; docs/model.md).
**
** A script declares what it reads at its top level:
**
**   declare {name = "talks_every", type = "integer", default = 4, min = 0,
**            doc = "convene talks every N ticks; 0 = never"}
**
** At load, each distinct script's top level runs once in a sandbox (the
** instruction and memory limits of the scenario apply) with a `declare`
** that records; nothing else of the run exists then (no world, no views).
** A top level that fails here is left to the compile step, which reports it;
** such a script's params are not checked. At run time `declare` does
** nothing: the declarations are already known, and each actor's params
** table holds the declared defaults of the keys its YAML leaves out.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "internal.h"

const char *const tr_param_types[PT_COUNT] = {"number", "integer", "string", "list", "actor",
                                              "any"};

static const char *const decl_fields[] = {"name", "type", "default", "min", "max", "doc", "items"};
#define NFIELDS ((int)(sizeof decl_fields / sizeof decl_fields[0]))

static void value_free(tr_value *v) {
  free(v->str);
  for (int i = 0; i < v->n; i++) {
    if (v->keys) free(v->keys[i]);
    if (v->items) value_free(&v->items[i]);
  }
  free(v->keys);
  free(v->items);
  memset(v, 0, sizeof *v);
}

void params_free(tr_scenario *sc) {
  for (int i = 0; i < sc->nscripts; i++) {
    tr_scriptdecl *s = &sc->scripts[i];
    for (int j = 0; j < s->nparams; j++) {
      free(s->params[j].name);
      free(s->params[j].doc);
      value_free(&s->params[j].def);
    }
    free(s->params);
    free(s->path);
  }
  free(sc->scripts);
  sc->scripts = NULL;
  sc->nscripts = 0;
}

const tr_scriptdecl *params_script(const tr_scenario *sc, const char *path) {
  for (int i = 0; path && i < sc->nscripts; i++)
    if (strcmp(sc->scripts[i].path, path) == 0) return &sc->scripts[i];
  return NULL;
}

const tr_paramdecl *params_find(const tr_scenario *sc, int actor, const char *key, int *state) {
  const tr_scriptdecl *s = params_script(sc, sc->actors[actor].policy);
  *state = s ? s->state : SD_NONE;
  for (int i = 0; s && i < s->nparams; i++)
    if (strcmp(s->params[i].name, key) == 0) return &s->params[i];
  return NULL;
}

/* " (did you mean 'X'?)" over a script's declared names, into buf. */
static const char *decl_suggest(const tr_scriptdecl *s, const char *key, char *buf, size_t size) {
  buf[0] = '\0';
  const char **names = malloc((size_t)(s->nparams + 1) * sizeof *names);
  if (!names) return buf;
  for (int i = 0; i < s->nparams; i++) names[i] = s->params[i].name;
  diag_did_you_mean(buf, size, key, names, s->nparams);
  free(names);
  return buf;
}

static const char *a_an(int type) { return type == PT_INTEGER ? "an" : "a"; }

/* "an integer", "a list of actor ids", ... */
static const char *type_text(const tr_paramdecl *p, char *buf, size_t size) {
  if (p->type == PT_ACTOR) return "an actor id";
  if (p->type == PT_ANY) return "any value";
  if (p->type == PT_LIST && p->items >= 0)
    snprintf(buf, size, "a list of %s%s", p->items == PT_ACTOR ? "actor id" : tr_param_types[p->items],
             "s");
  else
    snprintf(buf, size, "%s %s", a_an(p->type), tr_param_types[p->type]);
  return buf;
}

/* A number against a declaration's type and range: 0 or -1 with err. */
static int number_fits(const tr_paramdecl *p, double v, const char *what, char *err, size_t size) {
  char t[64];
  if (p->type != PT_NUMBER && p->type != PT_INTEGER && p->type != PT_ANY) {
    snprintf(err, size, "%s is %s, not a number", what, type_text(p, t, sizeof t));
    return -1;
  }
  if (p->type == PT_INTEGER && v != floor(v)) {
    snprintf(err, size, "%s is an integer, got %g", what, v);
    return -1;
  }
  if (p->has_min && v < p->min) {
    snprintf(err, size, "%s must be at least %g, got %g", what, p->min, v);
    return -1;
  }
  if (p->has_max && v > p->max) {
    snprintf(err, size, "%s must be at most %g, got %g", what, p->max, v);
    return -1;
  }
  return 0;
}

/* An actor id: 0, or -1 with "unknown actor 'x' (did you mean 'y'?)". */
static int actor_fits(const tr_scenario *sc, const char *id, char *err, size_t size) {
  if (scen_actor_find(sc, id) >= 0) return 0;
  snprintf(err, size, "unknown actor '%s'", id);
  const char **ids = malloc((size_t)(sc->nactors + 1) * sizeof *ids);
  if (ids) {
    for (int i = 0; i < sc->nactors; i++) ids[i] = sc->actors[i].id;
    diag_did_you_mean(err, size, id, ids, sc->nactors);
    free(ids);
  }
  return -1;
}

/* A YAML value against a declaration; *at receives the offending node's
** place (the value itself or an item of a list). */
static int value_fits(const tr_scenario *sc, const tr_paramdecl *p, const tr_value *v,
                      const char *what, char *err, size_t size, const tr_value **at) {
  char t[64];
  *at = v;
  switch (p->type) {
    case PT_ANY: return 0;
    case PT_NUMBER: case PT_INTEGER:
      if (v->type != TV_NUM) break;
      return number_fits(p, v->num, what, err, size);
    case PT_STRING:
      if (v->type != TV_STR) break;
      return 0;
    case PT_ACTOR:
      if (v->type != TV_STR) break;
      if (actor_fits(sc, v->str, t, sizeof t) == 0) return 0;
      snprintf(err, size, "%s is an actor id: %s", what, t);
      return -1;
    case PT_LIST:
      if (v->type != TV_SEQ) break;
      for (int i = 0; p->items >= 0 && i < v->n; i++) {
        const tr_value *it = &v->items[i];
        int ok = p->items == PT_STRING ? it->type == TV_STR
               : p->items == PT_ACTOR ? it->type == TV_STR
               : it->type == TV_NUM && (p->items == PT_NUMBER || it->num == floor(it->num));
        *at = it;
        if (!ok) {
          snprintf(err, size, "item %d of %s must be %s %s", i + 1, what,
                   p->items == PT_ACTOR ? "an" : a_an(p->items),
                   p->items == PT_ACTOR ? "actor id" : tr_param_types[p->items]);
          return -1;
        }
        char e2[300];
        if (p->items == PT_ACTOR && actor_fits(sc, it->str, e2, sizeof e2)) {
          snprintf(err, size, "item %d of %s: %s", i + 1, what, e2);
          return -1;
        }
      }
      return 0;
  }
  const char *got = v->type == TV_NUM ? "a number" : v->type == TV_STR ? "text"
                  : v->type == TV_SEQ ? "a list" : v->type == TV_MAP ? "a mapping"
                  : v->type == TV_BOOL ? "true/false" : "nothing";
  if (p->type != PT_STRING && v->type == TV_STR && v->str && v->line > 0) {
    char *end;
    double x = strtod(v->str, &end);
    if (*v->str && !*end && isfinite(x) && (p->type == PT_NUMBER || p->type == PT_INTEGER)) {
      snprintf(err, size, "%s is %s, got the text '%s': remove the quotes", what,
               type_text(p, t, sizeof t), v->str);
      return -1;
    }
  }
  snprintf(err, size, "%s is %s, got %s", what, type_text(p, t, sizeof t), got);
  return -1;
}

int params_check_number(const tr_scenario *sc, int actor, const char *key, double v, char *err,
                        size_t size) {
  int state;
  char top[256];
  snprintf(top, sizeof top, "%s", key);
  char *dot = strchr(top, '.');
  if (dot) *dot = '\0';
  const tr_paramdecl *p = params_find(sc, actor, top, &state);
  if (state != SD_DECLARED) return 0;
  const tr_actordecl *a = &sc->actors[actor];
  if (!p) {
    char sug[300];
    snprintf(err, size, "the policy of actor '%s' (%s) declares no parameter '%s'%s", a->id,
             a->policy, top, decl_suggest(params_script(sc, a->policy), top, sug, sizeof sug));
    return -1;
  }
  if (dot) return 0;   /* inside a list or mapping: the declaration says nothing finer */
  char what[300];
  snprintf(what, sizeof what, "parameter '%s' of actor '%s'", key, a->id);
  return number_fits(p, v, what, err, size);
}

int params_check_actors(const tr_scenario *sc, tr_diag *d) {
  int errors = 0;
  for (int a = 0; a < sc->nactors; a++) {
    const tr_actordecl *ad = &sc->actors[a];
    const tr_scriptdecl *s = params_script(sc, ad->policy);
    if (!s || s->state != SD_DECLARED || ad->params.type != TV_MAP) continue;
    for (int i = 0; i < ad->params.n; i++) {
      const char *key = ad->params.keys[i];
      const tr_value *v = &ad->params.items[i];
      const tr_paramdecl *p = NULL;
      for (int j = 0; j < s->nparams && !p; j++)
        if (strcmp(s->params[j].name, key) == 0) p = &s->params[j];
      char err[600], sug[300];
      if (!p) {
        diag_error(d, sc->path, v->key_line, v->key_col,
                   "the policy of actor '%s' (%s) declares no parameter '%s'%s", ad->id,
                   ad->policy, key, decl_suggest(s, key, sug, sizeof sug));
        errors++;
        continue;
      }
      char what[300];
      snprintf(what, sizeof what, "parameter '%s' of actor '%s'", key, ad->id);
      const tr_value *at;
      if (value_fits(sc, p, v, what, err, sizeof err, &at)) {
        diag_error(d, sc->path, at->line, at->col, "%s", err);
        errors++;
      }
    }
  }
  return errors;
}

/* ---------------------------------------------------------- collecting */

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
    case LUA_TNUMBER: v->type = TV_NUM; v->num = lua_tonumber(L, idx); return isfinite(v->num) ? 0 : -1;
    case LUA_TBOOLEAN: v->type = TV_BOOL; v->num = lua_toboolean(L, idx); return 0;
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

/* declare {name=..., type=..., default=..., min=..., max=..., doc=..., items=...} */
static int decl_record(lua_State *L) {
  collect *c = lua_touserdata(L, lua_upvalueindex(1));
  lua_Debug ar;
  int line = lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) ? ar.currentline : 0;
  if (lua_type(L, 1) != LUA_TTABLE)
    return decl_error(L, c, line, "takes one table: declare {name = \"...\", type = \"...\", ...}");
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
      decl_error(L, c, line, "unknown field '%s'%s: a declaration has name, type, default, min, "
                 "max, items and doc", k ? k : "?", sug);
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
  if (!okname) return decl_error(L, c, line, "invalid parameter name '%s': names match [a-z_][a-z0-9_]*", name);
  for (int i = 0; i < c->s->nparams; i++)
    if (strcmp(c->s->params[i].name, name) == 0)
      return decl_error(L, c, line, "parameter '%s' is declared twice (first at line %d)", name,
                        c->s->params[i].line);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "type") != LUA_TSTRING ||
      (p.type = type_index(lua_tostring(L, -1))) < 0) {
    char got[300] = "";
    const char *t = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (t) {
      snprintf(got, sizeof got, " (got '%s')", t);
      diag_did_you_mean(got, sizeof got, t, tr_param_types, PT_COUNT);
    }
    decl_error(L, c, line, "parameter '%s' needs a type: number, integer, string, list, actor or any%s",
               name, got);
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "items") != LUA_TNIL) {
    if (p.type != PT_LIST || lua_type(L, -1) != LUA_TSTRING ||
        (p.items = type_index(lua_tostring(L, -1))) < 0 || p.items == PT_LIST || p.items == PT_ANY) {
      lua_pop(L, 1);
      return decl_error(L, c, line, "'items' of '%s': only a list has items, of type number, "
                        "integer, string or actor", name);
    }
  }
  lua_pop(L, 1);
  static const char *const bounds[] = {"min", "max"};
  for (int b = 0; b < 2; b++) {
    if (lua_getfield(L, 1, bounds[b]) != LUA_TNIL) {
      if ((p.type != PT_NUMBER && p.type != PT_INTEGER) || lua_type(L, -1) != LUA_TNUMBER ||
          !isfinite(lua_tonumber(L, -1))) {
        lua_pop(L, 1);
        return decl_error(L, c, line, "'%s' of '%s': only a number or an integer has bounds, "
                          "given as finite numbers", bounds[b], name);
      }
      if (b == 0) { p.has_min = 1; p.min = lua_tonumber(L, -1); }
      else { p.has_max = 1; p.max = lua_tonumber(L, -1); }
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
    if (to_value(L, lua_gettop(L), &p.def) ||
        value_fits(c->sc, &p, &p.def, what, err, sizeof err, &at)) {
      if (p.def.type == TV_NULL && lua_type(L, -1) != LUA_TNIL)
        snprintf(err, sizeof err, "the default of '%s' must be a number, a string or a list", name);
      value_free(&p.def);
      free(p.doc);
      lua_pop(L, 1);
      return decl_error(L, c, line, "%s", err);
    }
    p.has_default = 1;
  }
  lua_pop(L, 1);
  tr_paramdecl *np = realloc(c->s->params, (size_t)(c->s->nparams + 1) * sizeof *np);
  if (!np || !(p.name = strdup(name))) {
    value_free(&p.def);
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

/* Reads the script into a malloc'd buffer; NULL when it cannot. */
static char *read_script(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len + 4096 > cap) {
      cap = cap ? cap * 2 : 8192;
      if (cap > TR_MAX_FILE_BYTES * 2u) break;
      char *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t got = fread(buf + *len, 1, cap - *len, f);
    *len += got;
    if (got == 0) break;
  }
  fclose(f);
  if (*len > TR_MAX_FILE_BYTES) { free(buf); return NULL; }
  return buf;
}

/* Runs one script's top level with a recording `declare`. */
static int collect_one(lua_State *L) {
  collect *c = lua_touserdata(L, 1);
  size_t len;
  char *src = read_script(c->s->path, &len);
  if (!src) { c->s->state = SD_UNKNOWN; return 0; }
  char chunk[4096];
  snprintf(chunk, sizeof chunk, "@%s", c->s->path);
  int st = sandbox_load(L, src, len, chunk, 1);
  free(src);
  if (st != LUA_OK) { c->s->state = SD_UNKNOWN; return 0; }   /* compile reports it */
  tr_lua *lx = TR_LX(L);
  sandbox_call(L, lx, 0, 1);                 /* the factory */
  sandbox_push_run_globals(L);
  lua_pushlightuserdata(L, c);
  lua_pushcclosure(L, decl_record, 1);
  lua_setfield(L, -2, "declare");
  lua_createtable(L, 0, 4);                  /* the script's environment */
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
  if (!L) { free(lx); return 0; }
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
    if (lua_pcall(L, 1, 0, 1) != LUA_OK) s->state = SD_UNKNOWN;   /* compile reports it */
    errors += c.errors;
    lua_settop(L, 0);
  }
  watchdog_unregister(lx);      /* as script_free does */
  lua_close(L);
  free(lx->ids);
  free(lx);
  return errors;
}

/* ---------------------------------------------------------------- model */

/* Parses "LO..HI" (either side may be empty). */
static void model_range(const char *r, double *lo, double *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  if (!r) return;
  const char *dots = strstr(r, "..");
  if (!dots) return;
  if (dots > r) *lo = strtod(r, NULL);
  if (dots[2]) *hi = strtod(dots + 2, NULL);
}

int model_check_value(const tr_scenario *sc, int k, double v, char *err, size_t size) {
  double lo, hi;
  const char *range = NULL;
  for (int i = 0; i < model_ndefaults; i++)
    if (strcmp(model_defaults[i].name, sc->model[k].name) == 0) range = model_defaults[i].range;
  model_range(range, &lo, &hi);
  if (!isfinite(v)) {
    snprintf(err, size, "model.%s must be a finite number", sc->model[k].name);
    return -1;
  }
  if (v < lo || v > hi) {
    if (isfinite(lo) && isfinite(hi))
      snprintf(err, size, "model.%s must be in [%g, %g], got %g", sc->model[k].name, lo, hi, v);
    else if (isfinite(lo))
      snprintf(err, size, "model.%s must be at least %g, got %g", sc->model[k].name, lo, v);
    else
      snprintf(err, size, "model.%s must be at most %g, got %g", sc->model[k].name, hi, v);
    return -1;
  }
  return 0;
}

void params_notes(const tr_scenario *sc, tr_diag *d) {
  for (int i = 0; i < sc->nscripts; i++) {
    const tr_scriptdecl *s = &sc->scripts[i];
    if (s->state != SD_NONE) continue;
    for (int a = 0; a < sc->nactors; a++) {
      const tr_actordecl *ad = &sc->actors[a];
      if (!ad->policy || strcmp(ad->policy, s->path) != 0 || ad->params.type != TV_MAP ||
          ad->params.n == 0)
        continue;
      diag_note(d, sc->path, ad->policy_line, ad->policy_col,
                "%s declares no parameters: the params of its actors are not checked (declare "
                "them: docs/lua-api.md)", s->path);
      break;
    }
  }
}
