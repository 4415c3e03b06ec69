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
** At load (run/declare.c, called through the scenario's Lua checks), each
** distinct script's top level runs once in a sandbox (the
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


#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/modeldecl.h"

const char *const tr_param_types[PT_COUNT] = {"number", "integer", "string",
                                              "list",   "actor",   "any"};

void params_value_free(tr_value *v) {
  free(v->str);
  for (int i = 0; i < v->n; i++) {
    if (v->keys) free(v->keys[i]);
    if (v->items) params_value_free(&v->items[i]);
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
      params_value_free(&s->params[j].def);
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
    snprintf(buf, size, "a list of %s%s",
             p->items == PT_ACTOR ? "actor id" : tr_param_types[p->items], "s");
  else snprintf(buf, size, "%s %s", a_an(p->type), tr_param_types[p->type]);
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
int params_value_fits(const tr_scenario *sc, const tr_paramdecl *p, const tr_value *v,
                      const char *what, char *err, size_t size, const tr_value **at) {
  char t[64];
  *at = v;
  switch (p->type) {
    case PT_ANY: return 0;
    case PT_NUMBER:
    case PT_INTEGER:
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
            : p->items == PT_ACTOR
            ? it->type == TV_STR
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
  const char *got = v->type == TV_NUM ? "a number"
      : v->type == TV_STR             ? "text"
      : v->type == TV_SEQ             ? "a list"
      : v->type == TV_MAP             ? "a mapping"
      : v->type == TV_BOOL            ? "true/false"
                                      : "nothing";
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
  if (dot) return 0; /* inside a list or mapping: the declaration says nothing finer */
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
                   "the policy of actor '%s' (%s) declares no parameter '%s'%s", ad->id, ad->policy,
                   key, decl_suggest(s, key, sug, sizeof sug));
        errors++;
        continue;
      }
      char what[300];
      snprintf(what, sizeof what, "parameter '%s' of actor '%s'", key, ad->id);
      const tr_value *at;
      if (params_value_fits(sc, p, v, what, err, sizeof err, &at)) {
        diag_error(d, sc->path, at->line, at->col, "%s", err);
        errors++;
      }
    }
  }
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
    else snprintf(err, size, "model.%s must be at most %g, got %g", sc->model[k].name, hi, v);
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
      if (!ad->policy || strcmp(ad->policy, s->path) != 0 || ad->params.type != TV_MAP
          || ad->params.n == 0)
        continue;
      diag_note(d, sc->path, ad->policy_line, ad->policy_col,
                "%s declares no parameters: the params of its actors are not checked (declare "
                "them: docs/lua-api.md)",
                s->path);
      break;
    }
  }
}
