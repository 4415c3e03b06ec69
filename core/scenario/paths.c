/*
** paths.c — paths that name one number of a scenario (docs/scenario-format.md, "Paths"):
** ACTOR.ATTR, FROM:TO.ATTR, ACTOR.params.KEY (KEY may hold dots for nested
** maps), model.KEY and experiment.ticks.
** A parsed path is resolved against a validated scenario (indices, and the
** world slot of an attribute), so applying it later needs no look-ups. The
** parser only reads the scenario; an unknown name comes back as a message
** with the closest existing name.
*/
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/networks.h"

#define PATH_FORMS "ACTOR.ATTR, FROM:TO.ATTR, ACTOR.params.KEY, model.KEY or experiment.ticks"

int scen_path_same(const tr_path *a, const tr_path *b) {
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
    case PATH_ACTOR_ATTR:
    case PATH_REL_ATTR: return a->slot == b->slot;
    case PATH_MODEL: return a->model == b->model;
    case PATH_PARAM: return a->actor == b->actor && a->key && b->key && strcmp(a->key, b->key) == 0;
    case PATH_COUNT: return a->pop == b->pop;
    default: return 1;
  }
}

void scen_path_free(tr_path *p) {
  if (!p) return;
  free(p->key);
  free(p->text);
  p->key = p->text = NULL;
}

/* err = "MSG (did you mean 'X'?)" over the names of one list. */
static void path_unknown(char *err, size_t size, const char *word, const char *const *names, int n,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void path_unknown(char *err, size_t size, const char *word, const char *const *names, int n,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, size, fmt, ap);
  va_end(ap);
  diag_did_you_mean(err, size, word, names, n);
}

static int path_actor(const tr_scenario *sc, const char *id, const char *text, char *err,
                      size_t size) {
  int a = scen_actor_find(sc, id);
  if (a >= 0) return a;
  const char **ids = malloc((size_t)(sc->nactors + 1) * sizeof *ids);
  if (ids)
    for (int i = 0; i < sc->nactors; i++) ids[i] = sc->actors[i].id;
  path_unknown(err, size, id, ids, ids ? sc->nactors : 0, "unknown actor '%s' in path '%s'", id,
               text);
  free(ids);
  return -1;
}

static int path_attr(const tr_attrdecl *attrs, int n, const char *name, const char *owner,
                     const char *text, char *err, size_t size) {
  for (int i = 0; i < n; i++)
    if (strcmp(attrs[i].name, name) == 0) return i;
  const char **names = malloc((size_t)(n + 1) * sizeof *names);
  if (names)
    for (int i = 0; i < n; i++) names[i] = attrs[i].name;
  path_unknown(err, size, name, names, names ? n : 0, "%s has no attribute '%s' (path '%s')", owner,
               name, text);
  free(names);
  return -1;
}

/* ACTOR.params.KEY: KEY walks nested mappings at its dots; the value found
** must be a number. */
static int path_param(const tr_scenario *sc, int actor, const char *key, const char *text,
                      char *err, size_t size) {
  /* A declaring policy: the key must be declared; a declared number need
  ** not be written in the YAML (its default applies). */
  int state;
  const tr_paramdecl *pd = strchr(key, '.') ? NULL : params_find(sc, actor, key, &state);
  if (!pd && !strchr(key, '.') && state == SD_DECLARED) {
    char e[600];
    if (params_check_number(sc, actor, key, 0, e, sizeof e)) {
      snprintf(err, size, "%s (path '%s')", e, text);
      return -1;
    }
  }
  if (pd && pd->type != PT_NUMBER && pd->type != PT_INTEGER && pd->type != PT_ANY) {
    snprintf(err, size, "parameter '%s' of actor '%s' is not a number (path '%s')", key,
             sc->actors[actor].id, text);
    return -1;
  }
  if (pd) {
    int in_yaml = 0;
    const tr_value *m = &sc->actors[actor].params;
    for (int i = 0; m->type == TV_MAP && i < m->n; i++) in_yaml |= strcmp(m->keys[i], key) == 0;
    if (!in_yaml) return 0;
  }
  const tr_value *v = &sc->actors[actor].params;
  const char *part = key;
  char name[256];
  for (;;) {
    const char *dot = strchr(part, '.');
    size_t len = dot ? (size_t)(dot - part) : strlen(part);
    if (len == 0 || len >= sizeof name) {
      snprintf(err, size, "invalid parameter name in path '%s'", text);
      return -1;
    }
    memcpy(name, part, len);
    name[len] = '\0';
    int found = -1;
    if (v->type == TV_MAP)
      for (int i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], name) == 0) found = i;
    if (found < 0) {
      path_unknown(err, size, name, v->type == TV_MAP ? (const char *const *)v->keys : NULL,
                   v->type == TV_MAP ? v->n : 0, "actor '%s' has no parameter '%.*s' (path '%s')",
                   sc->actors[actor].id, (int)(part + len - key), key, text);
      return -1;
    }
    v = &v->items[found];
    if (!dot) break;
    part = dot + 1;
  }
  if (v->type != TV_NUM) {
    snprintf(err, size, "parameter '%s' of actor '%s' is not a number (path '%s')", key,
             sc->actors[actor].id, text);
    return -1;
  }
  return 0;
}

/* A path of sc (docs/scenario-format.md) into out; 0, or -1 with a message in err. Long: one
** prefix-by-prefix reading of the path's grammar, each form a short branch that fills out and
** shares the one failure exit. */
int scen_path_parse(const tr_scenario *sc, const char *text, tr_path *out, char *err,
                    size_t errsize) {
  memset(out, 0, sizeof *out);
  out->actor = out->rel = out->attr = out->slot = out->model = out->pop = -1;
  if (errsize) err[0] = '\0';
  if (!text || !*text) {
    snprintf(err, errsize, "empty path: write " PATH_FORMS);
    return -1;
  }
  char *head = NULL;
  if (strcmp(text, "experiment.ticks") == 0) {
    out->kind = PATH_TICKS;
    goto ok;
  }
  if (strncmp(text, "experiment.", 11) == 0) {
    snprintf(err, errsize, "unknown path '%s': of experiment only 'experiment.ticks' is a path",
             text);
    return -1;
  }
  if (strncmp(text, "model.", 6) == 0) {
    const char *key = text + 6;
    const char **names = malloc((size_t)(sc->nmodel + 1) * sizeof *names);
    for (int i = 0; i < sc->nmodel; i++) {
      if (names) names[i] = sc->model[i].name;
      if (strcmp(sc->model[i].name, key) == 0) out->model = i;
    }
    if (out->model < 0)
      path_unknown(err, errsize, key, names, names ? sc->nmodel : 0,
                   "unknown model parameter '%s' in path '%s'", key, text);
    free(names);
    if (out->model < 0) return -1;
    out->kind = PATH_MODEL;
    goto ok;
  }

  const char *dot = strchr(text, '.');
  if (!dot || !dot[1] || dot == text) {
    snprintf(err, errsize, "path '%s' does not name a number: write " PATH_FORMS, text);
    return -1;
  }
  head = strndup(text, (size_t)(dot - text));
  if (!head) {
    snprintf(err, errsize, "out of memory");
    return -1;
  }
  const char *rest = dot + 1;
  for (int p = 0; p < sc->npops; p++)
    if (strcmp(sc->pops[p].name, head) == 0) {
      if (strncmp(rest, "params.", 7) == 0 && rest[7] && sc->pops[p].cap > 0) {
        if (path_param(sc, sc->pops[p].first, rest + 7, text, err, errsize) < 0) goto fail;
        out->kind = PATH_PARAM;
        out->actor = sc->pops[p].first;
        out->pop = p;
        if (!(out->key = strdup(rest + 7))) {
          snprintf(err, errsize, "out of memory");
          goto fail;
        }
        goto ok;
      }
      if (strcmp(rest, "count") != 0) {
        snprintf(err, errsize,
                 "unknown path '%s': of population '%s' only '%s.count' and "
                 "POP.params.KEY are paths (name a member, such as '%s', for its attributes)",
                 text, head, head,
                 sc->pops[p].cap > 0 ? sc->actors[sc->pops[p].first].id : "its first member");
        goto fail;
      }
      out->kind = PATH_COUNT;
      out->pop = p;
      goto ok;
    }
  char *colon = strchr(head, ':');
  if (colon) {
    *colon = '\0';
    int from = path_actor(sc, head, text, err, errsize);
    if (from < 0) goto fail;
    int to = path_actor(sc, colon + 1, text, err, errsize);
    if (to < 0) goto fail;
    int r = scen_rel_find(sc, from, to);
    int q = r < 0 ? scen_netrule_find(sc, from, to) : -1;
    if (q >= 0) {
      snprintf(err, errsize,
               "relation %s -> %s (path '%s') is one that rule %s draws anew in "
               "each run, so no path can name it; a script reaches it in the runs that have it "
               "through world:rel('%s', '%s')",
               head, colon + 1, text, net_rule_names[sc->netrules[q].rule], head, colon + 1);
      goto fail;
    }
    if (r < 0) {
      snprintf(err, errsize, "no relation %s -> %s (path '%s')", head, colon + 1, text);
      goto fail;
    }
    char owner[300];
    snprintf(owner, sizeof owner, "relation %s -> %s", head, colon + 1);
    int a = path_attr(sc->rels[r].attrs, sc->rels[r].nattrs, rest, owner, text, err, errsize);
    if (a < 0) goto fail;
    out->kind = PATH_REL_ATTR;
    out->rel = r;
    out->attr = a;
    out->slot = sc->rels[r].attrs[a].slot;
    goto ok;
  }
  int actor = path_actor(sc, head, text, err, errsize);
  if (actor < 0) goto fail;
  out->actor = actor;
  if (strcmp(rest, "params") == 0 || strncmp(rest, "params.", 7) == 0) {
    const char *key = rest[6] ? rest + 7 : "";
    if (!*key) {
      snprintf(err, errsize, "path '%s' names no parameter: write %s.params.KEY", text, head);
      goto fail;
    }
    if (path_param(sc, actor, key, text, err, errsize) < 0) goto fail;
    out->kind = PATH_PARAM;
    if (!(out->key = strdup(key))) {
      snprintf(err, errsize, "out of memory");
      goto fail;
    }
    goto ok;
  }
  char owner[300];
  snprintf(owner, sizeof owner, "actor '%s'", head);
  int a =
      path_attr(sc->actors[actor].attrs, sc->actors[actor].nattrs, rest, owner, text, err, errsize);
  if (a < 0) goto fail;
  out->kind = PATH_ACTOR_ATTR;
  out->attr = a;
  out->slot = sc->actors[actor].attrs[a].slot;

ok:
  free(head);
  if (!(out->text = strdup(text))) {
    snprintf(err, errsize, "out of memory");
    scen_path_free(out);
    return -1;
  }
  return 0;
fail:
  free(head);
  scen_path_free(out);
  return -1;
}

/* Slot of an actor's attribute by name, or -1 when it has none. */
int scen_attr_slot(const tr_scenario *sc, int actor, const char *name) {
  const tr_actordecl *a = &sc->actors[actor];
  for (int i = 0; i < a->nattrs; i++)
    if (strcmp(a->attrs[i].name, name) == 0) return a->attrs[i].slot;
  return -1;
}

/* Slot of a relation's attribute by name, or -1 when it has none. */
int scen_rel_attr_slot(const tr_scenario *sc, int rel, const char *name) {
  const tr_reldecl *r = &sc->rels[rel];
  for (int i = 0; i < r->nattrs; i++)
    if (strcmp(r->attrs[i].name, name) == 0) return r->attrs[i].slot;
  return -1;
}
