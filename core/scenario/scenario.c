/*
** scenario.c — validation of a scenario's YAML tree into struct tr_scenario
** (docs/scenario-format.md): names, types, bounds, relations, scripts, events, variants and
** the sweep.
**
** Validation never stops at the first problem: every check adds its error
** (at the line and column of the offending key or value) and goes on with a
** harmless stand-in, so a user sees every mistake of a file in one go. To
** keep one mistake from causing others, an entity that is wrong (an actor
** with a bad key, say) is still registered under its name. A scenario with
** any error is freed and NULL returned. After a successful load the struct
** owns all its strings, later stages never look at YAML again, and the
** world's value array is laid out as: each actor's attributes in file
** order, actors in file order, then each relation's attributes likewise.
** Relations drawn by a random rule are not laid out here: the rule is kept
** (sc->netrules) and each run draws its network after these slots
** (world_network, docs/scenario-format.md#relations-by-rule).
** Lua is not compiled here (tr_scenario_compile does that).
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "base/diag.h"
#include "scenario/modeldecl.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "scenario/networks.h"
#include "base/rng.h"
#include "scenario/compose.h"

#ifndef TR_SHAREDIR
#define TR_SHAREDIR "/usr/local/share/tightrope"
#endif
#ifndef TR_SRCDIR
#define TR_SRCDIR "."
#endif

const char *const tr_role_names[ROLE_COUNT] = {"mediator", "patron", "proxy", "state"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const scen_lua_keywords[] = {
    "and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while"};
/* Names that metric and outcome expressions bind (docs/scenario-format.md). */
static const char *const scen_expr_names[] = {
    "world", "tick",         "ticks",  "rel",   "sum",  "mean",     "min",     "max",      "count",
    "math",  "rng",          "me",     "gini",  "sd",   "var",      "median",  "quantile", "ipairs",
    "pairs", "events_count", "select", "table", "type", "tostring", "tonumber"};
/* Fields of actor and relation views (docs/lua-api.md, "Views"). */
static const char *const scen_view_fields[] = {"id",   "role", "name", "params",
                                               "kind", "from", "to",   "act"};
/* Columns of runs.csv and series.csv (docs/output-files.md). */
static const char *const scen_csv_columns[] = {"variant", "point",    "run", "seed",
                                               "outcome", "end_tick", "tick"};
static const char *const scen_sweep_methods[] = {"grid",   "sobol", "lhs",
                                                 "random", "file",  "saltelli"};

/* The state of one load: the scenario under construction and the errors. */
typedef struct scen_load {
  tr_scenario *sc;
  tr_diag *d;
  const char *file;
  int errors;
  int *by_id;        /* actor indices sorted by id: relations resolve in O(log n) */
  const ynode *root; /* for the populations' capacity */
  char *const *sets;
  int nsets;               /* --set PATH=VALUE, likewise */
  const tr_lua_checks *lc; /* the scripts' checks, or NULL */
} scen_load;

static void scen_err(scen_load *L, const ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int scen_actor_lookup(const scen_load *L, const char *id);

static void scen_err(scen_load *L, const ynode *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(L->d, L->file, at ? at->line : 0, at ? at->col : 0, fmt, ap);
  va_end(ap);
  L->errors++;
}

static char *scen_strdup(scen_load *L, const char *s) {
  char *r = strdup(s ? s : "");
  if (!r) scen_err(L, NULL, "out of memory");
  return r;
}

static int scen_in(const char *s, const char *const *list, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0) return 1;
  return 0;
}

/* [a-z][a-z0-9_]* (with_dash: also '-', for the scenario id). */
static int scen_is_name(const char *s, int with_dash) {
  if (!(*s >= 'a' && *s <= 'z')) return 0;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'
          || (with_dash && *s == '-')))
      return 0;
  return 1;
}

/* What a node is, for "got ..." in messages. */
static const char *scen_what(const ynode *n, char *buf, size_t size) {
  if (!n) return "nothing";
  if (n->type == YN_MAP) return "a mapping";
  if (n->type == YN_SEQ) return "a list";
  if (ynode_scalar_kind(n) == YS_NULL) return "nothing";
  snprintf(buf, size, "'%s'", n->str);
  return buf;
}

/* 1 for a mapping, 0 for nothing (an empty optional section), -1 (with an
** error) for anything else. */
static int scen_map(scen_load *L, const ynode *n, const char *what) {
  if (!n || (n->type == YN_SCALAR && ynode_scalar_kind(n) == YS_NULL)) return 0;
  if (n->type == YN_MAP) return 1;
  char buf[80];
  scen_err(L, n, "expected a mapping for %s, got %s", what, scen_what(n, buf, sizeof buf));
  return -1;
}

static int scen_seq(scen_load *L, const ynode *n, const char *what) {
  if (!n || (n->type == YN_SCALAR && ynode_scalar_kind(n) == YS_NULL)) return 0;
  if (n->type == YN_SEQ) return 1;
  char buf[80];
  scen_err(L, n, "expected a list for %s, got %s", what, scen_what(n, buf, sizeof buf));
  return -1;
}

/* Every key of map must be one of allowed; where names the mapping. */
static void scen_keys(scen_load *L, const ynode *map, const char *const *allowed, int n,
                      const char *where) {
  for (int i = 0; i < map->n; i++) {
    const ynode *k = map->keys[i];
    if (scen_in(k->str, allowed, n)) continue;
    char msg[512];
    snprintf(msg, sizeof msg, "unknown key '%s' %s", k->str, where);
    diag_did_you_mean(msg, sizeof msg, k->str, allowed, n);
    scen_err(L, k, "%s", msg);
  }
}

/* Text of a number scalar as a double; the caller checked the kind. */
static double scen_strtonum(const char *s) {
  const char *u = (*s == '-' || *s == '+') ? s + 1 : s;
  if (u[0] == '.' && (u[1] == 'i' || u[1] == 'I')) return *s == '-' ? -INFINITY : INFINITY;
  if (s[0] == '.' && (s[1] == 'n' || s[1] == 'N')) return NAN;
  if (s[0] == '0' && s[1] == 'o') return (double)strtoull(s + 2, NULL, 8);
  return strtod(s, NULL); /* decimal and 0x hexadecimal */
}

/* A quoted scalar that would be a number without its quotes. */
static int scen_quoted_number(const ynode *n) {
  if (!n || n->type != YN_SCALAR || n->plain || !*n->str) return 0;
  char *end;
  double v = strtod(n->str, &end);
  return !*end && isfinite(v) && !isspace((unsigned char)n->str[0]);
}

/* A finite number; 0 or -1 with an error naming what. */
static int scen_number(scen_load *L, const ynode *n, const char *what, double *out) {
  char buf[80];
  *out = 0;
  if (!n || n->type != YN_SCALAR) {
    scen_err(L, n, "expected a number for '%s', got %s", what, scen_what(n, buf, sizeof buf));
    return -1;
  }
  int kind = ynode_scalar_kind(n);
  if (kind != YS_INT && kind != YS_FLOAT) {
    scen_err(L, n, "expected a number for '%s', got %s%s", what, scen_what(n, buf, sizeof buf),
             scen_quoted_number(n) ? ": remove the quotes" : "");
    return -1;
  }
  double v = scen_strtonum(n->str);
  if (!isfinite(v)) {
    scen_err(L, n, "'%s' must be a finite number, got '%s'", what, n->str);
    return -1;
  }
  *out = v;
  return 0;
}

/* An integer in [lo, hi]. */
static int scen_integer(scen_load *L, const ynode *n, const char *what, long long lo, long long hi,
                        long long *out) {
  char buf[80];
  *out = lo;
  if (!n || n->type != YN_SCALAR || ynode_scalar_kind(n) != YS_INT) {
    scen_err(L, n, "expected an integer for '%s', got %s%s", what, scen_what(n, buf, sizeof buf),
             scen_quoted_number(n) ? ": remove the quotes" : "");
    return -1;
  }
  const char *s = n->str;
  errno = 0;
  long long v;
  if (s[0] == '0' && s[1] == 'o') v = strtoll(s + 2, NULL, 8);
  else if (s[0] == '0' && s[1] == 'x') v = strtoll(s + 2, NULL, 16);
  else v = strtoll(s, NULL, 10);
  if ((errno == ERANGE && s[0] == '-') || (errno != ERANGE && v < lo)) {
    scen_err(L, n, "'%s' must be at least %lld, got %s", what, lo, s);
    return -1;
  }
  if (errno == ERANGE || v > hi) {
    scen_err(L, n, "'%s' is too large (at most %lld), got %s", what, hi, s);
    return -1;
  }
  *out = v;
  return 0;
}

/* Text of any non-null scalar (numbers and booleans as written). */
static char *scen_text(scen_load *L, const ynode *n, const char *what) {
  char buf[80];
  if (!n || n->type != YN_SCALAR || ynode_scalar_kind(n) == YS_NULL) {
    scen_err(L, n, "expected text for '%s', got %s", what, scen_what(n, buf, sizeof buf));
    return NULL;
  }
  if (strlen(n->str) != n->len) {
    scen_err(L, n, "'%s' contains a NUL character", what);
    return NULL;
  }
  return scen_strdup(L, n->str);
}

/* A name [a-z][a-z0-9_]* that is not in reserved; kind says what it names. */
static int scen_check_name(scen_load *L, const ynode *at, const char *s, const char *kind,
                           const char *const *reserved, int nreserved, const char *why) {
  if (!scen_is_name(s, 0)) {
    scen_err(L, at, "invalid %s '%s': names match [a-z][a-z0-9_]*", kind, s);
    return -1;
  }
  if (reserved && scen_in(s, reserved, nreserved)) {
    scen_err(L, at, "%s '%s' is reserved: %s", kind, s, why);
    return -1;
  }
  return 0;
}

/* A CAMEO code: a string or number of at most 7 characters, kept as written. */
static void scen_cameo(scen_load *L, const ynode *n, char out[8]) {
  char *s = scen_text(L, n, "cameo");
  if (!s) return;
  if (strlen(s) > 7) scen_err(L, n, "cameo code '%s' is longer than 7 characters", s);
  else strcpy(out, s);
  free(s);
}

/* ---------------------------------------------------------- free helpers */

static void scen_value_free(tr_value *v) {
  free(v->str);
  for (int i = 0; i < v->n; i++) {
    if (v->keys) free(v->keys[i]);
    if (v->items) scen_value_free(&v->items[i]);
  }
  free(v->keys);
  free(v->items);
  memset(v, 0, sizeof *v);
}

static void scen_attrs_free(tr_attrdecl *a, int n) {
  for (int i = 0; i < n; i++) free(a[i].name);
  free(a);
}

static void scen_changes_free(tr_change *c, int n) {
  for (int i = 0; i < n; i++) scen_path_free(&c[i].path);
  free(c);
}

/* Frees a scenario and everything it owns. Long: one free of each member of tr_scenario, part by
** part; splitting it would only move the list of members elsewhere. */
void tr_scenario_free(tr_scenario *sc) {
  if (!sc) return;
  compose_files_free(&sc->files);
  free(sc->sweep_file);
  free(sc->variants_file);
  free(sc->path);
  free(sc->dir);
  free(sc->id);
  free(sc->title);
  free(sc->description);
  free(sc->tick_unit);
  free(sc->model);
  for (int i = 0; i < sc->nactors; i++) {
    tr_actordecl *a = &sc->actors[i];
    free(a->id);
    free(a->name);
    free(a->policy);
    scen_attrs_free(a->attrs, a->nattrs);
    scen_value_free(&a->params);
  }
  free(sc->actors);
  for (int i = 0; i < sc->nrels; i++) {
    free(sc->rels[i].kind);
    scen_attrs_free(sc->rels[i].attrs, sc->rels[i].nattrs);
  }
  free(sc->rels);
  for (int i = 0; i < sc->nnetrules; i++) {
    free(sc->netrules[i].kind);
    scen_attrs_free(sc->netrules[i].attrs, sc->netrules[i].nattrs);
  }
  free(sc->netrules);
  for (int i = 0; i < sc->nkinds; i++) free(sc->kinds[i]);
  free(sc->kinds);
  for (int i = 0; i < sc->nactions; i++) {
    free(sc->actions[i].name);
    free(sc->actions[i].script);
  }
  free(sc->actions);
  for (int i = 0; i < sc->nevents; i++) {
    tr_eventdecl *e = &sc->events[i];
    free(e->name);
    free(e->when);
    free(e->lua);
    scen_changes_free(e->changes, e->nchanges);
  }
  free(sc->events);
  for (int i = 0; i < sc->nmetrics; i++) {
    free(sc->metrics[i].name);
    free(sc->metrics[i].expr);
    free(sc->metrics[i].description);
  }
  free(sc->metrics);
  tr_calibdecl *cal = &sc->calib;
  for (int i = 0; i < cal->npriors; i++) scen_path_free(&cal->priors[i].path);
  free(cal->priors);
  for (int i = 0; i < cal->nsummaries; i++) {
    free(cal->summaries[i].name);
    free(cal->summaries[i].expr);
  }
  free(cal->summaries);
  free(cal->observed);
  free(cal->observed_file);
  for (int i = 0; i < sc->noutcomes; i++) {
    free(sc->outcomes[i].name);
    free(sc->outcomes[i].expr);
    free(sc->outcomes[i].description);
  }
  free(sc->outcomes);
  free(sc->default_outcome);
  for (int i = 0; i < sc->nvariants; i++) {
    free(sc->variants[i].name);
    free(sc->variants[i].description);
    scen_changes_free(sc->variants[i].changes, sc->variants[i].nchanges);
  }
  free(sc->variants);
  for (int i = 0; i < sc->nsweep; i++) {
    scen_path_free(&sc->sweep[i].path);
    free(sc->sweep[i].values);
  }
  free(sc->sweep);
  free(sc->rel_hash);
  params_free(sc);
  for (int i = 0; i < sc->nroles; i++) free(sc->roles[i]);
  free(sc->roles);
  for (int i = 0; i < sc->npops; i++) free(sc->pops[i].name);
  free(sc->pops);
  for (int i = 0; i < sc->ndists; i++) {
    free(sc->dists[i].values);
    free(sc->dists[i].weights);
  }
  free(sc->dists);
  free(sc->helpers);
  free(sc);
}

/* ----------------------------------------------------------- lookups */

int scen_actor_find(const tr_scenario *sc, const char *id) {
  for (int i = 0; i < sc->nactors; i++)
    if (sc->actors[i].id && strcmp(sc->actors[i].id, id) == 0) return i;
  return -1;
}

unsigned scen_pair_hash(int from, int to) {
  uint64_t k = ((uint64_t)(uint32_t)from << 32) | (uint32_t)to;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return (unsigned)k;
}

int scen_rel_find(const tr_scenario *sc, int from, int to) {
  if (!sc->rel_hash || sc->rel_hash_size <= 0) return -1;
  unsigned mask = (unsigned)sc->rel_hash_size - 1;
  for (unsigned h = scen_pair_hash(from, to) & mask;; h = (h + 1) & mask) {
    int r = sc->rel_hash[h];
    if (r < 0) return -1;
    if (sc->rels[r].from == from && sc->rels[r].to == to) return r;
  }
}

/* Script look-up (docs/scenario-format.md, "Scripts and where they are found"). The folders, in order, into dirs[]; returns
** how many (at most 3 + the number of TIGHTROPE_PATH entries). The strings
** point into *env_copy, which the caller frees. */
static int scen_script_dirs(const char *scenario_dir, const char **dirs, int max, char **env_copy) {
  int n = 0;
  *env_copy = NULL;
  dirs[n++] = scenario_dir && *scenario_dir ? scenario_dir : ".";
  const char *env = getenv("TIGHTROPE_PATH");
  if (env && *env && (*env_copy = strdup(env))) {
    char *save = NULL;
    for (char *tok = strtok_r(*env_copy, ":", &save); tok && n < max - 2;
         tok = strtok_r(NULL, ":", &save))
      if (*tok) dirs[n++] = tok;
  }
  dirs[n++] = TR_SHAREDIR "/scripts";
  dirs[n++] = TR_SRCDIR "/scripts";
  return n;
}

static int scen_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

static char *scen_find_script(const char *scenario_dir, const char *name) {
  if (!name || !*name) return NULL;
  if (name[0] == '/') return scen_is_file(name) ? strdup(name) : NULL;
  const char *dirs[64];
  char *env_copy;
  int n = scen_script_dirs(scenario_dir, dirs, NELEM(dirs), &env_copy);
  char *found = NULL;
  for (int i = 0; i < n && !found; i++) {
    char *cand;
    if (i == 0 && strcmp(dirs[0], ".") == 0) cand = strdup(name);
    else if (asprintf(&cand, "%s/%s", dirs[i], name) < 0) cand = NULL;
    if (!cand) break;
    if (scen_is_file(cand)) found = cand;
    else free(cand);
  }
  free(env_copy);
  return found;
}

static char *scen_dirname(const char *path);

/* A script path: resolved, or an error listing where it was looked for. */
static char *scen_script(scen_load *L, const ynode *n, const char *what) {
  char *name = scen_text(L, n, what);
  if (!name) return NULL;
  /* relative to the file that names it: a base scenario's own folder */
  char *src = diag_source_file(n->line), *srcdir = src ? scen_dirname(src) : NULL;
  const char *dir = srcdir ? srcdir : L->sc->dir;
  free(src);
  char *path = scen_find_script(dir, name);
  if (!path) {
    const char *dirs[64];
    char *env_copy;
    int nd = scen_script_dirs(dir, dirs, NELEM(dirs), &env_copy);
    char list[2048] = "";
    size_t used = 0;
    for (int i = 0; i < nd && used < sizeof list; i++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", dirs[i]);
    scen_err(L, n, "script '%s' not found (looked in: %s)", name, list);
    free(env_copy);
  }
  free(srcdir);
  free(name);
  return path;
}

/* ------------------------------------------------------------- values */

/* Any YAML as a tr_value (actor params), by the core schema. */
static void scen_value(scen_load *L, const ynode *n, tr_value *v) {
  memset(v, 0, sizeof *v);
  v->line = n->line;
  v->col = n->col;
  if (n->type == YN_SCALAR) {
    switch (ynode_scalar_kind(n)) {
      case YS_NULL: v->type = TV_NULL; break;
      case YS_BOOL:
        v->type = TV_BOOL;
        v->num = n->str[0] == 't' || n->str[0] == 'T';
        break;
      case YS_INT:
      case YS_FLOAT:
        v->type = TV_NUM;
        v->num = scen_strtonum(n->str);
        if (!isfinite(v->num)) {
          scen_err(L, n, "every number in a scenario must be finite, got '%s'", n->str);
          v->num = 0;
        }
        break;
      default: v->type = TV_STR; v->str = scen_strdup(L, n->str);
    }
    return;
  }
  v->type = n->type == YN_MAP ? TV_MAP : TV_SEQ;
  if (n->n == 0) return;
  v->items = calloc((size_t)n->n, sizeof *v->items);
  if (v->type == TV_MAP) v->keys = calloc((size_t)n->n, sizeof *v->keys);
  if (!v->items || (v->type == TV_MAP && !v->keys)) {
    scen_err(L, n, "out of memory");
    return;
  }
  for (int i = 0; i < n->n; i++) {
    if (v->type == TV_MAP) v->keys[i] = scen_strdup(L, n->keys[i]->str);
    scen_value(L, n->items[i], &v->items[i]);
    if (v->type == TV_MAP) {
      v->items[i].key_line = n->keys[i]->line;
      v->items[i].key_col = n->keys[i]->col;
    }
    v->n = i + 1;
  }
}

/* The attribute's `dist` mapping (the keys after `dist` itself); appends a
** tr_distdecl to sc->dists and returns its index, or -1 after an error. */
static const char *const scen_dist_names[] = {"uniform",   "normal", "beta",
                                              "lognormal", "choice", "poisson"};

/* A {dist: ...} attribute's distribution, checked and added to sc's dists; its index, or -1
** after an error. Long: one check per distribution kind of its own keys (uniform, choice, the
** parametric ones), in the order of docs/scenario-format.md's table, all filling the one
** tr_distdecl. */
static int scen_dist(scen_load *L, const ynode *v, tr_attrdecl *a, const char *owner) {
  tr_scenario *sc = L->sc;
  const ynode *dn = ynode_get(v, "dist");
  int kind = -1;
  if (dn->type == YN_SCALAR)
    for (int i = 0; i < NELEM(scen_dist_names); i++)
      if (strcmp(dn->str, scen_dist_names[i]) == 0) kind = i;
  if (kind < 0) {
    char msg[512], buf[80];
    snprintf(msg, sizeof msg, "unknown distribution %s for attribute '%s' of %s",
             scen_what(dn, buf, sizeof buf), a->name, owner);
    if (dn->type == YN_SCALAR)
      diag_did_you_mean(msg, sizeof msg, dn->str, scen_dist_names, NELEM(scen_dist_names));
    scen_err(L, dn, "%s: uniform, normal, beta, lognormal, choice or poisson", msg);
    return -1;
  }
  static const char *const need[][3] = {
      [DIST_UNIFORM] = {"low", "high", NULL}, [DIST_NORMAL] = {"mean", "sd", NULL},
      [DIST_BETA] = {"a", "b", NULL},         [DIST_LOGNORMAL] = {"zeta", "sigma", NULL},
      [DIST_CHOICE] = {NULL, NULL, NULL},     [DIST_POISSON] = {"mean", NULL, NULL}};
  tr_distdecl dd;
  memset(&dd, 0, sizeof dd);
  dd.kind = kind;
  dd.line = dn->line;
  dd.col = dn->col;
  int ok = 1;
  const ynode *n;
  if (kind == DIST_UNIFORM && !ynode_get(v, "low") && !ynode_get(v, "high")) {
    /* {dist: uniform, min, max}: the range is the attribute's bounds */
    if (!a->bounded || !isfinite(a->min) || !isfinite(a->max)) {
      scen_err(L, dn,
               "uniform attribute '%s' of %s needs 'min' and 'max' (its range and "
               "bounds) or 'low' and 'high' (its range only)",
               a->name, owner);
      return -1;
    }
    dd.a = a->min;
    dd.b = a->max;
  } else if (kind == DIST_CHOICE) {
    const ynode *vals = ynode_get(v, "values"), *wts = ynode_get(v, "weights");
    if (!vals || vals->type != YN_SEQ || vals->n == 0) {
      scen_err(L, vals ? vals : dn,
               "choice attribute '%s' of %s needs 'values': a non-empty "
               "list of numbers",
               a->name, owner);
      return -1;
    }
    if (wts && (wts->type != YN_SEQ || wts->n != vals->n)) {
      scen_err(L, wts,
               "'weights' of attribute '%s' of %s must be a list as long as 'values' "
               "(%d)",
               a->name, owner, vals->n);
      return -1;
    }
    dd.nvalues = vals->n;
    dd.values = calloc((size_t)vals->n, sizeof *dd.values);
    dd.weights = wts ? calloc((size_t)vals->n, sizeof *dd.weights) : NULL;
    if (!dd.values || (wts && !dd.weights)) {
      free(dd.values);
      free(dd.weights);
      scen_err(L, vals, "out of memory");
      return -1;
    }
    double total = 0;
    for (int i = 0; i < vals->n; i++) {
      if (scen_number(L, vals->items[i], "values", &dd.values[i]) < 0) ok = 0;
      if (wts) {
        if (scen_number(L, wts->items[i], "weights", &dd.weights[i]) < 0) ok = 0;
        else if (dd.weights[i] < 0) {
          scen_err(L, wts->items[i], "weights must be non-negative, got %s", wts->items[i]->str);
          ok = 0;
        }
        total += dd.weights[i];
      }
    }
    if (ok && wts && !(total > 0)) {
      scen_err(L, wts, "the weights of attribute '%s' of %s sum to 0", a->name, owner);
      ok = 0;
    }
  } else {
    double *dst[2] = {&dd.a, &dd.b};
    for (int i = 0; i < 2 && need[kind][i]; i++) {
      if (!(n = ynode_get(v, need[kind][i]))) {
        scen_err(L, v, "%s attribute '%s' of %s needs '%s'", scen_dist_names[kind], a->name, owner,
                 need[kind][i]);
        ok = 0;
      } else if (scen_number(L, n, need[kind][i], dst[i]) < 0) {
        ok = 0;
      }
    }
    if (ok) {
      const char *bad = NULL;
      if (kind == DIST_UNIFORM && dd.a > dd.b) bad = "low must not exceed high";
      if (kind == DIST_NORMAL && dd.b < 0) bad = "sd must be non-negative";
      if (kind == DIST_BETA && (dd.a <= 0 || dd.b <= 0)) bad = "a and b must be positive";
      if (kind == DIST_LOGNORMAL && dd.b < 0) bad = "sigma must be non-negative";
      if (kind == DIST_POISSON && dd.a < 0) bad = "mean must be non-negative";
      if (bad) {
        scen_err(L, dn, "attribute '%s' of %s: %s", a->name, owner, bad);
        ok = 0;
      }
    }
  }
  if (ok && a->integer && kind != DIST_CHOICE && kind != DIST_POISSON) {
    scen_err(L, dn,
             "integer attribute '%s' of %s: a %s draw is not a whole number (use "
             "dist: choice or dist: poisson)",
             a->name, owner, scen_dist_names[kind]);
    ok = 0;
  }
  for (int i = 0; ok && kind == DIST_CHOICE && i < dd.nvalues; i++) {
    double x = dd.values[i];
    if ((a->integer && x != floor(x)) || x < a->min || x > a->max) {
      scen_err(L, dn, "choice value %g of attribute '%s' of %s is %s", x, a->name, owner,
               a->integer && x != floor(x) ? "not a whole number" : "outside its bounds");
      ok = 0;
    }
  }
  if (!ok) {
    free(dd.values);
    free(dd.weights);
    return -1;
  }
  tr_distdecl *nd = realloc(sc->dists, (size_t)(sc->ndists + 1) * sizeof *nd);
  if (!nd) {
    free(dd.values);
    free(dd.weights);
    scen_err(L, dn, "out of memory");
    return -1;
  }
  sc->dists = nd;
  sc->dists[sc->ndists] = dd;
  return sc->ndists++;
}

/* Attributes: name -> number | {value, min, max, on_bound, type} | {dist, ...}.
** owner is e.g. "actor 'a'".
** Long: one pass over the attributes of an owner, each entry's keys (value, min, max, on_bound,
** type, dist) checked in document order; each check is a few lines, and splitting it would
** scatter the table of keys. */
static void scen_attrs(scen_load *L, const ynode *node, const char *owner, tr_attrdecl **out,
                       int *nout) {
  char what[160];
  snprintf(what, sizeof what, "the attrs of %s", owner);
  *out = NULL;
  *nout = 0;
  if (scen_map(L, node, what) <= 0 || node->n == 0) return;
  tr_attrdecl *attrs = calloc((size_t)node->n, sizeof *attrs);
  if (!attrs) {
    scen_err(L, node, "out of memory");
    return;
  }
  *out = attrs;
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    tr_attrdecl *a = &attrs[i];
    *nout = i + 1;
    a->name = scen_strdup(L, k->str);
    a->line = k->line;
    a->col = k->col;
    a->min = -INFINITY;
    a->max = INFINITY;
    a->slot = -1;
    a->dist = -1;
    /* `policy:` indented into `attrs:` reads as an attribute: say so */
    static const char *const actor_keys[] = {"role", "name", "attrs", "policy", "params"};
    static const char *const rel_keys[] = {"from", "to", "kind", "attrs"};
    int is_actor = strncmp(owner, "actor", 5) == 0;
    if (is_actor ? scen_in(k->str, actor_keys, NELEM(actor_keys))
                 : scen_in(k->str, rel_keys, NELEM(rel_keys))) {
      scen_err(L, k,
               "'%s' is not an attribute: it is a key of %s, probably indented one level "
               "too deep (line it up with 'attrs:')",
               k->str, owner);
      continue;
    }
    scen_check_name(L, k, k->str, "attribute name", scen_view_fields, NELEM(scen_view_fields),
                    "views use it for the id, role, name, params, kind, from, to or act");
    if (v->type != YN_MAP) {
      scen_number(L, v, k->str, &a->value);
      continue;
    }
    static const char *const keys[] = {"value", "min", "max", "on_bound", "type", "dist"};
    static const char *const dkeys[] = {"min", "max",  "on_bound", "type",   "dist",
                                        "low", "high", "mean",     "sd",     "a",
                                        "b",   "zeta", "sigma",    "values", "weights"};
    const ynode *dn = ynode_get(v, "dist");
    char where[200];
    snprintf(where, sizeof where, "in attribute '%s' of %s", k->str, owner);
    if (dn) scen_keys(L, v, dkeys, NELEM(dkeys), where);
    else scen_keys(L, v, keys, NELEM(keys), where);
    const ynode *val = ynode_get(v, "value"), *mn = ynode_get(v, "min"), *mx = ynode_get(v, "max");
    const ynode *n;
    int ok = 1;
    if ((n = ynode_get(v, "on_bound"))) {
      static const char *const modes[] = {"clamp", "error", "reject"};
      int m = -1;
      for (int j = 0; n->type == YN_SCALAR && j < 3; j++)
        if (strcmp(n->str, modes[j]) == 0) m = j;
      if (m < 0) {
        char msg[512], buf[80];
        snprintf(msg, sizeof msg, "unknown on_bound %s in attribute '%s' of %s",
                 scen_what(n, buf, sizeof buf), k->str, owner);
        if (n->type == YN_SCALAR) diag_did_you_mean(msg, sizeof msg, n->str, modes, 3);
        scen_err(L, n, "%s: clamp, error or reject", msg);
      } else {
        a->on_bound = m;
      }
    }
    if ((n = ynode_get(v, "type"))) {
      if (n->type == YN_SCALAR && strcmp(n->str, "integer") == 0) a->integer = 1;
      else if (!(n->type == YN_SCALAR && strcmp(n->str, "number") == 0)) {
        char buf[80];
        scen_err(L, n, "unknown type %s of attribute '%s' of %s: number or integer",
                 scen_what(n, buf, sizeof buf), k->str, owner);
      }
    }
    if (mn) {
      a->bounded = 1;
      if (scen_number(L, mn, "min", &a->min) < 0) ok = 0;
    }
    if (mx) {
      a->bounded = 1;
      if (scen_number(L, mx, "max", &a->max) < 0) ok = 0;
    }
    if (ok && a->min > a->max) {
      scen_err(L, mn, "min %g is greater than max %g in attribute '%s' of %s", a->min, a->max,
               k->str, owner);
      continue;
    }
    if (ok && a->integer && ((mn && a->min != floor(a->min)) || (mx && a->max != floor(a->max)))) {
      scen_err(L, mn && a->min != floor(a->min) ? mn : mx,
               "the bounds of integer attribute '%s' "
               "of %s must be whole numbers (clamping to them must give one)",
               k->str, owner);
      continue;
    }
    if (dn) {
      if (ok) a->dist = scen_dist(L, v, a, owner);
      continue;
    }
    if (!val) {
      scen_err(L, v, "attribute '%s' of %s needs a 'value' (or a 'dist')", k->str, owner);
      ok = 0;
    } else if (scen_number(L, val, k->str, &a->value) < 0) {
      ok = 0;
    }
    if (!ok) continue;
    if (a->value < a->min || a->value > a->max)
      scen_err(L, val, "value %s is outside [%g, %g] of attribute '%s' of %s", val->str, a->min,
               a->max, k->str, owner);
    else if (a->integer && a->value != floor(a->value))
      scen_err(L, val, "value %s of integer attribute '%s' of %s is not a whole number", val->str,
               k->str, owner);
  }
}

/* ------------------------------------------------------------- sections */

/* experiment.activation (or a variant's): ACT_*, or -1 after an error. */
static int scen_activation(scen_load *L, const ynode *n) {
  static const char *const acts[] = {"synchronous", "random_sequential", "sequential"};
  for (int j = 0; n->type == YN_SCALAR && j < NELEM(acts); j++)
    if (strcmp(n->str, acts[j]) == 0) return ACT_SYNCHRONOUS + j;
  char msg[512], buf[80];
  snprintf(msg, sizeof msg, "unknown activation %s", scen_what(n, buf, sizeof buf));
  if (n->type == YN_SCALAR) diag_did_you_mean(msg, sizeof msg, n->str, acts, NELEM(acts));
  scen_err(L, n, "%s: synchronous, random_sequential or sequential", msg);
  return -1;
}

static void scen_experiment(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_map(L, node, "'experiment'") <= 0) return;
  static const char *const keys[] = {"ticks",      "runs",      "seed", "tick_unit",
                                     "activation", "precision", "batch"};
  scen_keys(L, node, keys, NELEM(keys), "in experiment");
  long long v;
  const ynode *n;
  if ((n = ynode_get(node, "activation"))) {
    int m = scen_activation(L, n);
    if (m >= 0) sc->activation = m;
  }
  if ((n = ynode_get(node, "ticks")) && scen_integer(L, n, "ticks", 0, INT_MAX, &v) == 0) {
    sc->ticks = (int)v;
    sc->has_ticks = 1;
  }
  if ((n = ynode_get(node, "runs")) && scen_integer(L, n, "runs", 1, INT_MAX, &v) == 0) {
    sc->runs = (int)v;
    sc->has_runs = 1;
  }
  if ((n = ynode_get(node, "seed"))) {
    const char *s = n->type == YN_SCALAR ? n->str : "";
    int ok = n->type == YN_SCALAR && ynode_scalar_kind(n) == YS_INT && s[0] != '-';
    unsigned long long seed = 0;
    if (ok) {
      errno = 0;
      if (s[0] == '0' && s[1] == 'o') seed = strtoull(s + 2, NULL, 8);
      else if (s[0] == '0' && s[1] == 'x') seed = strtoull(s + 2, NULL, 16);
      else seed = strtoull(s, NULL, 10);
      ok = errno != ERANGE;
    }
    if (!ok) {
      char buf[80];
      scen_err(L, n, "expected an unsigned 64-bit integer for 'seed', got %s",
               scen_what(n, buf, sizeof buf));
    } else {
      sc->seed = (uint64_t)seed;
      sc->has_seed = 1;
    }
  }
  /* Run until precise (docs/experiments.md): a half-width in (0, 0.5]. */
  if ((n = ynode_get(node, "precision"))) {
    double h;
    if (scen_number(L, n, "precision", &h) == 0) {
      if (!(h > 0 && h <= 0.5))
        scen_err(L, n,
                 "precision is the widest 95%% half-width allowed, a number in (0, 0.5], got %g",
                 h);
      else sc->precision = h;
    }
  }
  if ((n = ynode_get(node, "batch")) && scen_integer(L, n, "batch", 1, INT_MAX, &v) == 0)
    sc->batch = (int)v;
  if ((n = ynode_get(node, "tick_unit"))) {
    char *u = scen_text(L, n, "tick_unit");
    if (u) {
      free(sc->tick_unit);
      sc->tick_unit = u;
    }
  }
}

static void scen_limits(scen_load *L, const ynode *node) {
  if (scen_map(L, node, "'limits'") <= 0) return;
  static const char *const keys[] = {"instructions", "memory_mb", "cpu_ms"};
  scen_keys(L, node, keys, NELEM(keys), "in limits");
  long long v;
  const ynode *n;
  if ((n = ynode_get(node, "instructions"))
      && scen_integer(L, n, "instructions", 1, LLONG_MAX, &v) == 0)
    L->sc->instr_limit = v;
  if ((n = ynode_get(node, "memory_mb")) && scen_integer(L, n, "memory_mb", 1, 1LL << 40, &v) == 0)
    L->sc->memory_mb = v;
  if ((n = ynode_get(node, "cpu_ms")) && scen_integer(L, n, "cpu_ms", 1, 1LL << 40, &v) == 0)
    L->sc->cpu_ms = v;
}

static void scen_model(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_map(L, node, "'model'") <= 0) return;
  const char **names = malloc((size_t)(sc->nmodel + 1) * sizeof *names);
  if (!names) {
    scen_err(L, node, "out of memory");
    return;
  }
  for (int i = 0; i < sc->nmodel; i++) names[i] = sc->model[i].name;
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i];
    int j = 0;
    while (j < sc->nmodel && strcmp(sc->model[j].name, k->str) != 0) j++;
    if (j == sc->nmodel) {
      char msg[512];
      snprintf(msg, sizeof msg, "unknown model parameter '%s'", k->str);
      diag_did_you_mean(msg, sizeof msg, k->str, names, sc->nmodel);
      scen_err(L, k, "%s (see docs/model.md)", msg);
      continue;
    }
    char err[300];
    if (scen_number(L, node->items[i], k->str, &sc->model[j].value) == 0
        && model_check_value(sc, j, sc->model[j].value, err, sizeof err))
      scen_err(L, node->items[i], "%s (see docs/model.md)", err);
  }
  free(names);
}

/* Actor ids must be names, not Lua keywords and not the expression names. */
static void scen_check_actor_id(scen_load *L, const ynode *k) {
  if (scen_check_name(L, k, k->str, "actor id", NULL, 0, NULL) < 0) return;
  if (scen_in(k->str, scen_lua_keywords, NELEM(scen_lua_keywords)))
    scen_err(L, k, "actor id '%s' is a Lua keyword", k->str);
  else if (scen_in(k->str, scen_expr_names, NELEM(scen_expr_names)))
    scen_err(L, k, "actor id '%s' is reserved: expressions use the name '%s'", k->str, k->str);
}

/* Index of a role name in sc->roles, added when new; -1 out of memory. */
static int scen_role(scen_load *L, const char *name) {
  tr_scenario *sc = L->sc;
  for (int r = 0; r < sc->nroles; r++)
    if (strcmp(sc->roles[r], name) == 0) return r;
  char **nr = realloc(sc->roles, (size_t)(sc->nroles + 1) * sizeof *nr);
  if (!nr) {
    scen_err(L, NULL, "out of memory");
    return -1;
  }
  sc->roles = nr;
  if (!(sc->roles[sc->nroles] = strdup(name))) {
    scen_err(L, NULL, "out of memory");
    return -1;
  }
  return sc->nroles++;
}

/* One entry of `actors`; pop: the entry is a population (count, id keys). */
static void scen_actor(scen_load *L, tr_actordecl *a, const ynode *k, const ynode *v, int pop) {
  char owner[160], where[200];
  snprintf(owner, sizeof owner, "%s '%s'", pop ? "population" : "actor", k->str);
  snprintf(where, sizeof where, "in %s", owner);
  if (v->type != YN_MAP) {
    char buf[80];
    scen_err(L, v, "expected a mapping for actor '%s' (with at least 'role'), got %s", k->str,
             scen_what(v, buf, sizeof buf));
    return;
  }
  static const char *const keys[] = {"role", "name", "attrs", "policy", "params", "count", "id"};
  scen_keys(L, v, keys, NELEM(keys) - (pop ? 0 : 2), where);
  const ynode *n = ynode_get(v, "role");
  if (!n) {
    scen_err(L, k,
             "%s needs a 'role' (a name such as mediator, patron, proxy, state or "
             "any other)",
             owner);
  } else if (n->type != YN_SCALAR || !scen_is_name(n->str, 0)) {
    char buf[80];
    scen_err(L, n, "invalid role %s for %s: roles match [a-z][a-z0-9_]*",
             scen_what(n, buf, sizeof buf), owner);
  } else {
    int role = scen_role(L, n->str);
    if (role >= 0) a->role = role;
  }
  if ((n = ynode_get(v, "name"))) { /* a population's: a pattern, see scen_pop_copy */
    char *name = scen_text(L, n, "name");
    if (name) {
      free(a->name);
      a->name = name;
    }
  }
  scen_attrs(L, ynode_get(v, "attrs"), owner, &a->attrs, &a->nattrs);
  if ((n = ynode_get(v, "policy"))) {
    a->policy = scen_script(L, n, "policy");
    a->policy_line = n->line;
    a->policy_col = n->col;
  }
  if ((n = ynode_get(v, "params"))) {
    char what[180];
    snprintf(what, sizeof what, "the params of %s", owner);
    int m = scen_map(L, n, what);
    if (m == 0 && n->type == YN_SCALAR) {
      a->params.type = TV_NULL;
    } else if (m > 0) {
      scen_value(L, n, &a->params);
    }
  }
}

/* Largest count any instance may give population `name`: the file's, the
** variants' set/add, the sweep's values and --set (the members are laid out
** once, so every instance's count must fit). Values that are not whole
** numbers are left to the plan, which reports them. */
static long long scen_pop_cap(scen_load *L, const char *name, long long count) {
  char key[300];
  snprintf(key, sizeof key, "%s.count", name);
  long long cap = count;
  const ynode *vars = L->root ? ynode_get(L->root, "variants") : NULL;
  for (int i = 0; vars && vars->type == YN_MAP && i < vars->n; i++) {
    const ynode *var = vars->items[i];
    if (var->type != YN_MAP) continue;
    for (int op = 0; op < 2; op++) {
      const ynode *m = ynode_get(var, op ? "add" : "set");
      const ynode *x = m && m->type == YN_MAP ? ynode_get(m, key) : NULL;
      if (!x || x->type != YN_SCALAR || ynode_scalar_kind(x) != YS_INT) continue;
      long long y = strtoll(x->str, NULL, 10) + (op ? count : 0);
      if (y > cap) cap = y;
    }
  }
  const ynode *sw = L->root ? ynode_get(L->root, "sweep") : NULL;
  const ynode *ps = sw && sw->type == YN_MAP ? ynode_get(sw, "params") : NULL;
  const ynode *x = ps && ps->type == YN_MAP ? ynode_get(ps, key) : NULL;
  if (x && x->type == YN_MAP) x = ynode_get(x, "max");
  if (x && x->type == YN_SEQ) {
    for (int i = 0; i < x->n; i++)
      if (x->items[i]->type == YN_SCALAR && ynode_scalar_kind(x->items[i]) == YS_INT) {
        long long y = strtoll(x->items[i]->str, NULL, 10);
        if (y > cap) cap = y;
      }
  } else if (x && x->type == YN_SCALAR
             && (ynode_scalar_kind(x) == YS_INT || ynode_scalar_kind(x) == YS_FLOAT)) {
    double y = floor(strtod(x->str, NULL));
    if (y > (double)cap && y < 1e12) cap = (long long)y;
  }
  size_t kl = strlen(key);
  for (int i = 0; i < L->nsets; i++)
    if (strncmp(L->sets[i], key, kl) == 0 && L->sets[i][kl] == '=') {
      double y = strtod(L->sets[i] + kl + 1, NULL);
      if (y > (double)cap && y < 1e12) cap = (long long)y;
    }
  return cap;
}

#define SCEN_MAX_MEMBERS 1000000

/* Member m's id from a population's pattern (one "{i}"); NULL when the
** pattern is bad (checked once, by the caller, for m = 1). */
static char *scen_member_id(const char *pattern, int m) {
  const char *at = strstr(pattern, "{i}");
  if (!at || strstr(at + 3, "{i}")) return NULL;
  char *id;
  if (asprintf(&id, "%.*s%d%s", (int)(at - pattern), pattern, m, at + 3) < 0) return NULL;
  return id;
}

static void scen_value_copy(scen_load *L, const tr_value *from, tr_value *to) {
  *to = *from;
  to->str = from->str ? scen_strdup(L, from->str) : NULL;
  to->keys = NULL;
  to->items = NULL;
  if (from->n == 0) return;
  to->items = calloc((size_t)from->n, sizeof *to->items);
  if (from->keys) to->keys = calloc((size_t)from->n, sizeof *to->keys);
  if (!to->items || (from->keys && !to->keys)) {
    scen_err(L, NULL, "out of memory");
    to->n = 0;
    return;
  }
  for (int i = 0; i < from->n; i++) {
    if (from->keys) to->keys[i] = scen_strdup(L, from->keys[i]);
    scen_value_copy(L, &from->items[i], &to->items[i]);
  }
}

/* Members 2..cap of a population are copies of member 1 (parsed once). */
static void scen_pop_copy(scen_load *L, const tr_popdecl *p) {
  tr_scenario *sc = L->sc;
  const tr_actordecl *one = &sc->actors[p->first];
  /* A `name` with "{i}" numbers the members' names like their ids. */
  if (one->name && one->id && strcmp(one->name, one->id) != 0 && strstr(one->name, "{i}")) {
    for (int m = p->cap - 1; m >= 0; m--) {
      tr_actordecl *a = &sc->actors[p->first + m];
      char *nm = scen_member_id(one->name, m + 1);
      if (!nm) nm = scen_strdup(L, one->name);
      if (!nm) return;
      free(a->name);
      a->name = nm; /* member 1's pattern is replaced last */
    }
  } else if (one->name && one->id && strcmp(one->name, one->id) != 0) {
    for (int m = 1; m < p->cap; m++) {
      free(sc->actors[p->first + m].name);
      sc->actors[p->first + m].name = scen_strdup(L, one->name);
    }
  }
  for (int m = 1; m < p->cap; m++) {
    tr_actordecl *a = &sc->actors[p->first + m];
    a->role = one->role;
    if (one->policy) a->policy = scen_strdup(L, one->policy);
    a->policy_line = one->policy_line;
    a->policy_col = one->policy_col;
    scen_value_copy(L, &one->params, &a->params);
    if (one->nattrs) {
      a->attrs = calloc((size_t)one->nattrs, sizeof *a->attrs);
      if (!a->attrs) {
        scen_err(L, NULL, "out of memory");
        return;
      }
      a->nattrs = one->nattrs;
      for (int i = 0; i < one->nattrs; i++) {
        a->attrs[i] = one->attrs[i];
        a->attrs[i].name = scen_strdup(L, one->attrs[i].name);
      }
    }
  }
}

/* The id pattern of population entry k: v (its count node cn), its cap
** (the most members any run can have) into *cap; NULL (reported) when the
** entry is faulty, which then registers as one plain actor. */
static char *scen_pop_pattern(scen_load *L, const ynode *k, const ynode *v, const ynode *cn,
                              long long *cap) {
  long long count;
  *cap = 0;
  int bad = scen_integer(L, cn, "count", 0, SCEN_MAX_MEMBERS, &count) < 0;
  if (!bad) {
    *cap = scen_pop_cap(L, k->str, count);
    if (*cap > SCEN_MAX_MEMBERS) {
      scen_err(L, cn,
               "population '%s' would need %lld members (through a variant, the "
               "sweep or --set); at most %d",
               k->str, *cap, SCEN_MAX_MEMBERS);
      bad = 1;
    }
  }
  const ynode *idn = ynode_get(v, "id");
  char *pat = NULL;
  if (idn) pat = scen_text(L, idn, "id");
  else if (asprintf(&pat, "%s{i}", k->str) < 0) pat = NULL;
  if (!pat) {
    bad = 1;
  } else {
    char *first = scen_member_id(pat, 1);
    if (!first) {
      scen_err(L, idn ? idn : k,
               "the id pattern '%s' of population '%s' needs exactly one "
               "'{i}' (the member's number, from 1)",
               pat, k->str);
      bad = 1;
    } else if (!scen_is_name(first, 0)
               || scen_in(first, scen_lua_keywords, NELEM(scen_lua_keywords))
               || scen_in(first, scen_expr_names, NELEM(scen_expr_names))) {
      scen_err(L, idn ? idn : k,
               "the id pattern '%s' of population '%s' makes '%s', which "
               "is not a valid actor id ([a-z][a-z0-9_]*, not reserved)",
               pat, k->str, first);
      bad = 1;
    }
    free(first);
  }
  scen_check_name(L, k, k->str, "population name", NULL, 0, NULL);
  if (bad) {
    free(pat);
    return NULL;
  }
  return pat;
}

/* Registers every actor of the entries of node, a population's members
** as pattern[i] makes them (size[i] members; -1 for a plain actor), even a
** faulty one, so that relations and paths naming it do not add errors of
** their own. */
static void scen_register_actors(scen_load *L, const ynode *node, const int *size,
                                 char *const *pattern) {
  tr_scenario *sc = L->sc;
  int next = 0;
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i];
    int members = size[i] < 0 ? 1 : size[i];
    int pop = -1;
    if (size[i] >= 0) {
      pop = sc->npops++;
      tr_popdecl *p = &sc->pops[pop];
      p->name = scen_strdup(L, k->str);
      p->first = next;
      p->cap = size[i];
      long long count;
      scen_integer(L, ynode_get(node->items[i], "count"), "count", 0, SCEN_MAX_MEMBERS, &count);
      p->count = (int)count;
      p->line = k->line;
      p->col = k->col;
    }
    for (int m = 0; m < members; m++) {
      tr_actordecl *a = &sc->actors[next++];
      sc->nactors = next;
      a->id = pop >= 0 ? scen_member_id(pattern[i], m + 1) : scen_strdup(L, k->str);
      if (!a->id) {
        scen_err(L, k, "out of memory");
        break;
      }
      a->name = scen_strdup(L, a->id);
      a->role = ROLE_STATE;
      a->params.type = TV_NULL;
      a->line = k->line;
      a->col = k->col;
      a->pop = pop;
      a->member = pop >= 0 ? m + 1 : 0;
      if (pop < 0) scen_check_actor_id(L, k);
    }
  }
}

/* Reads each entry of node into its actor; a population's entry into its
** first member, copied to the others; an empty population's into a scratch
** actor, so that its keys are still checked. */
static void scen_read_actors(scen_load *L, const ynode *node, const int *size) {
  tr_scenario *sc = L->sc;
  int next = 0;
  for (int i = 0; i < node->n; i++) {
    if (size[i] < 0) {
      scen_actor(L, &sc->actors[next++], node->keys[i], node->items[i], 0);
      continue;
    }
    const tr_popdecl *p = NULL;
    for (int q = 0; q < sc->npops; q++)
      if (sc->pops[q].first == next) p = &sc->pops[q];
    if (p && p->cap > 0) {
      scen_actor(L, &sc->actors[next], node->keys[i], node->items[i], 1);
      scen_pop_copy(L, p);
    } else if (p && p->cap == 0) {
      /* an empty population still has its keys checked */
      tr_actordecl scratch;
      memset(&scratch, 0, sizeof scratch);
      scratch.params.type = TV_NULL;
      scen_actor(L, &scratch, node->keys[i], node->items[i], 1);
      free(scratch.policy);
      scen_attrs_free(scratch.attrs, scratch.nattrs);
      scen_value_free(&scratch.params);
    }
    next += size[i];
  }
}

/* actors: each entry a plain actor or, with a count, a population of
** members made from one id pattern (docs/scenario-format.md, "actors"). */
static void scen_actors(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_map(L, node, "'actors'") <= 0 || node->n == 0) return;
  /* How many actors: one per plain entry, cap per population. */
  long long total = 0;
  int npop = 0;
  int *size = calloc((size_t)node->n, sizeof *size);
  char **pattern = calloc((size_t)node->n, sizeof *pattern);
  if (!size || !pattern) {
    free(size);
    free(pattern);
    scen_err(L, node, "out of memory");
    return;
  }
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    const ynode *cn = v->type == YN_MAP ? ynode_get(v, "count") : NULL;
    size[i] = -1;
    if (!cn) {
      const ynode *idn = v->type == YN_MAP ? ynode_get(v, "id") : NULL;
      if (idn) scen_err(L, idn, "'id' is for populations: actor '%s' needs 'count' too", k->str);
      total++;
      continue;
    }
    long long cap;
    char *pat = scen_pop_pattern(L, k, v, cn, &cap);
    if (!pat) {
      total++;
      continue;
    } /* registered as one plain actor */
    pattern[i] = pat;
    size[i] = (int)cap;
    total += cap;
    npop++;
  }
  if (total > 0) sc->actors = calloc((size_t)total, sizeof *sc->actors);
  if (npop) sc->pops = calloc((size_t)npop, sizeof *sc->pops);
  if ((total > 0 && !sc->actors) || (npop && !sc->pops)) {
    for (int i = 0; i < node->n; i++) free(pattern[i]);
    free(size);
    free(pattern);
    scen_err(L, node, "out of memory");
    return;
  }
  scen_register_actors(L, node, size, pattern);
  scen_read_actors(L, node, size);
  for (int i = 0; i < node->n; i++) free(pattern[i]);
  free(size);
  free(pattern);
}

static int scen_id_cmp(const void *pa, const void *pb, void *arg) {
  const tr_scenario *sc = arg;
  return strcmp(sc->actors[*(const int *)pa].id, sc->actors[*(const int *)pb].id);
}

/* The sorted index of actor ids; without memory the look-ups stay linear. */
static void scen_index_actors(scen_load *L) {
  tr_scenario *sc = L->sc;
  if (sc->nactors == 0 || !(L->by_id = malloc((size_t)sc->nactors * sizeof *L->by_id))) return;
  for (int i = 0; i < sc->nactors; i++) L->by_id[i] = i;
  qsort_r(L->by_id, (size_t)sc->nactors, sizeof *L->by_id, scen_id_cmp, sc);
  /* Populations make ids: two equal ones, or a population named like an
  ** actor, would make ids and paths ambiguous. */
  for (int i = 1; i < sc->nactors; i++) {
    const tr_actordecl *a = &sc->actors[L->by_id[i - 1]], *b = &sc->actors[L->by_id[i]];
    if (strcmp(a->id, b->id) != 0) continue;
    const tr_actordecl *later = a->line > b->line ? a : b, *first = later == a ? b : a;
    diag_error(L->d, L->file, later->line, later->col,
               "actor id '%s' is made twice (also at "
               "line %d): ids of actors and population members must differ",
               a->id, first->line);
    L->errors++;
  }
  for (int p = 0; p < sc->npops; p++) {
    if (scen_actor_lookup(L, sc->pops[p].name) < 0) continue;
    diag_error(L->d, L->file, sc->pops[p].line, sc->pops[p].col,
               "population '%s' has the id "
               "of an actor: paths NAME.count would be ambiguous",
               sc->pops[p].name);
    L->errors++;
  }
}

static int scen_actor_lookup(const scen_load *L, const char *id) {
  const tr_scenario *sc = L->sc;
  if (!L->by_id) return scen_actor_find(sc, id);
  int lo = 0, hi = sc->nactors - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(id, sc->actors[L->by_id[mid]].id);
    if (c == 0) return L->by_id[mid];
    if (c < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return -1;
}

/* Actor index named by node (a from/to value), or -1 with an error. */
static int scen_actor_ref(scen_load *L, const ynode *n, const char *what) {
  tr_scenario *sc = L->sc;
  char buf[80];
  if (!n || n->type != YN_SCALAR || ynode_scalar_kind(n) == YS_NULL) {
    scen_err(L, n, "expected an actor id for '%s', got %s", what, scen_what(n, buf, sizeof buf));
    return -1;
  }
  int a = scen_actor_lookup(L, n->str);
  if (a >= 0) return a;
  const char **ids = malloc((size_t)(sc->nactors + 1) * sizeof *ids);
  char msg[512];
  snprintf(msg, sizeof msg, "unknown actor '%s' in relation", n->str);
  if (ids) {
    for (int i = 0; i < sc->nactors; i++) ids[i] = sc->actors[i].id;
    diag_did_you_mean(msg, sizeof msg, n->str, ids, sc->nactors);
    free(ids);
  }
  scen_err(L, n, "%s", msg);
  return -1;
}

/* `kinds:` a list of relation kinds besides the model's. */
static void scen_kinds(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_seq(L, node, "'kinds'") <= 0 || node->n == 0) return;
  sc->kinds = calloc((size_t)node->n, sizeof *sc->kinds);
  if (!sc->kinds) {
    scen_err(L, node, "out of memory");
    return;
  }
  for (int i = 0; i < node->n; i++) {
    char *k = scen_text(L, node->items[i], "kinds");
    if (!k) continue;
    if (scen_check_name(L, node->items[i], k, "relation kind", NULL, 0, NULL) < 0) {
      free(k);
      continue;
    }
    for (int j = 0; j < model_nkinds; j++)
      if (strcmp(k, model_kinds[j]) == 0)
        scen_err(L, node->items[i],
                 "relation kind '%s' is already known to the model; remove it "
                 "from 'kinds'",
                 k);
    sc->kinds[sc->nkinds++] = k;
  }
}

/* A relation's kind must be the model's or declared under `kinds:`. */
static void scen_check_kind(scen_load *L, const ynode *at, const char *kind) {
  tr_scenario *sc = L->sc;
  for (int i = 0; i < model_nkinds; i++)
    if (strcmp(kind, model_kinds[i]) == 0) return;
  for (int i = 0; i < sc->nkinds; i++)
    if (strcmp(kind, sc->kinds[i]) == 0) return;
  const char **names = malloc((size_t)(model_nkinds + sc->nkinds + 1) * sizeof *names);
  char msg[512];
  snprintf(msg, sizeof msg, "unknown relation kind '%s'", kind);
  if (names) {
    for (int i = 0; i < model_nkinds; i++) names[i] = model_kinds[i];
    for (int i = 0; i < sc->nkinds; i++) names[model_nkinds + i] = sc->kinds[i];
    diag_did_you_mean(msg, sizeof msg, kind, names, model_nkinds + sc->nkinds);
    free(names);
  }
  scen_err(L, at,
           "%s: the model knows alliance, contact, hosting, hostility, normalisation and "
           "patronage; declare other kinds in a top-level 'kinds:' list",
           msg);
}

/* One relation {from, to, kind, attrs} into r. */
static void scen_relation(scen_load *L, tr_reldecl *r, const ynode *v) {
  static const char *const keys[] = {"from", "to", "kind", "attrs", "rule"};
  r->from = r->to = -1;
  r->line = v->line;
  r->col = v->col;
  if (v->type != YN_MAP) {
    char buf[80];
    scen_err(L, v, "expected a mapping {from, to, kind, attrs} for a relation, got %s",
             scen_what(v, buf, sizeof buf));
    r->kind = scen_strdup(L, "");
    return;
  }
  scen_keys(L, v, keys, NELEM(keys) - 1, "in relation");
  const ynode *from = ynode_get(v, "from"), *to = ynode_get(v, "to"), *kind = ynode_get(v, "kind");
  if (!from) scen_err(L, v, "a relation needs 'from'");
  else r->from = scen_actor_ref(L, from, "from");
  if (!to) scen_err(L, v, "a relation needs 'to'");
  else r->to = scen_actor_ref(L, to, "to");
  r->kind = kind ? scen_text(L, kind, "kind") : NULL;
  if (r->kind) scen_check_kind(L, kind, r->kind);
  if (!r->kind) r->kind = scen_strdup(L, "");
  char owner[200];
  snprintf(owner, sizeof owner, "relation %s -> %s",
           from && from->type == YN_SCALAR ? from->str : "?",
           to && to->type == YN_SCALAR ? to->str : "?");
  scen_attrs(L, ynode_get(v, "attrs"), owner, &r->attrs, &r->nattrs);
}


/* The actors a rule's from/to names: a population's members or one actor.
** Returns the population index, -2 for a single actor, -1 after an error. */
static int scen_group(scen_load *L, const ynode *n, const char *what, int *first, int *size) {
  tr_scenario *sc = L->sc;
  if (n && n->type == YN_SCALAR)
    for (int p = 0; p < sc->npops; p++)
      if (strcmp(sc->pops[p].name, n->str) == 0) {
        *first = sc->pops[p].first;
        *size = sc->pops[p].cap;
        return p;
      }
  int a = scen_actor_ref(L, n, what);
  if (a < 0) return -1;
  *first = a;
  *size = 1;
  return -2;
}

/* A relation rule: all and ring make their edges into E now (the groups'
** first actors into *f0, *t0) and return 0; a random rule fills *nr and
** returns 1, its network being drawn per run. -1 after an error.
** Long: one check per rule kind of its own keys (k, p, m) and of the size it would make, before
** the edges are drawn; the checks share the groups' sizes and the one failure exit. */
static int scen_rule_edges(scen_load *L, const ynode *v, net_edges *E, int *f0, int *t0,
                           tr_netrule *nr) {
  tr_scenario *sc = L->sc;
  static const char *const keys[] = {"from", "to", "kind", "attrs", "rule", "k", "p", "m"};
  scen_keys(L, v, keys, NELEM(keys), "in a relation rule");
  const ynode *rn = ynode_get(v, "rule"), *fn = ynode_get(v, "from"), *tn = ynode_get(v, "to");
  int rule = -1;
  for (int i = 0; rn->type == YN_SCALAR && i < NELEM(net_rule_names); i++)
    if (strcmp(rn->str, net_rule_names[i]) == 0) rule = i;
  if (rule < 0) {
    char msg[512], buf[80];
    snprintf(msg, sizeof msg, "unknown relation rule %s", scen_what(rn, buf, sizeof buf));
    if (rn->type == YN_SCALAR)
      diag_did_you_mean(msg, sizeof msg, rn->str, net_rule_names, NELEM(net_rule_names));
    scen_err(L, rn, "%s: all, ring, k_random, erdos_renyi or barabasi_albert", msg);
    return -1;
  }
  if (!fn || !tn) {
    scen_err(L, v, "a relation rule needs 'from' and 'to'");
    return -1;
  }
  int nf, nt;
  int pf = scen_group(L, fn, "from", f0, &nf), pt = scen_group(L, tn, "to", t0, &nt);
  if (pf == -1 || pt == -1) return -1;
  int same = *f0 == *t0 && nf == nt;
  if ((rule == NET_RING || rule == NET_ERDOS_RENYI || rule == NET_BARABASI_ALBERT)
      && (!same || pf < 0)) {
    scen_err(L, tn,
             "rule %s links the members of one population: 'from' and 'to' must name "
             "the same population",
             net_rule_names[rule]);
    return -1;
  }
  long long k = 1, m = 1;
  double p = 0;
  const ynode *x;
  int ok = 1;
  if (rule == NET_RING && (x = ynode_get(v, "k")))
    ok = scen_integer(L, x, "k", 1, INT_MAX, &k) == 0;
  if (rule == NET_K_RANDOM) {
    if (!(x = ynode_get(v, "k"))) {
      scen_err(L, v, "rule k_random needs 'k'");
      ok = 0;
    } else ok = scen_integer(L, x, "k", 0, INT_MAX, &k) == 0;
    if (ok && k > nt - (same ? 1 : 0)) {
      scen_err(L, x, "rule k_random: k = %lld, but each member has only %d others to link to", k,
               nt - (same ? 1 : 0));
      ok = 0;
    }
  }
  if (rule == NET_RING && ok && nf <= 2 * k) {
    scen_err(L, rn, "rule ring with k = %lld needs more than %lld members, got %d", k, 2 * k, nf);
    ok = 0;
  }
  if (rule == NET_ERDOS_RENYI) {
    if (!(x = ynode_get(v, "p"))) {
      scen_err(L, v, "rule erdos_renyi needs 'p'");
      ok = 0;
    } else if (scen_number(L, x, "p", &p) < 0) ok = 0;
    else if (p < 0 || p > 1) {
      scen_err(L, x, "'p' must be in [0, 1], got %s", x->str);
      ok = 0;
    }
  }
  if (rule == NET_BARABASI_ALBERT) {
    if (!(x = ynode_get(v, "m"))) {
      scen_err(L, v, "rule barabasi_albert needs 'm'");
      ok = 0;
    } else ok = scen_integer(L, x, "m", 1, INT_MAX, &m) == 0;
    if (ok && m >= nf) {
      scen_err(L, x, "rule barabasi_albert: m = %lld needs more than %lld members, got %d", m, m,
               nf);
      ok = 0;
    }
  }
  for (int i = 0; i < v->n; i++) {
    const char *key = v->keys[i]->str;
    if ((!strcmp(key, "k") && rule != NET_RING && rule != NET_K_RANDOM)
        || (!strcmp(key, "p") && rule != NET_ERDOS_RENYI)
        || (!strcmp(key, "m") && rule != NET_BARABASI_ALBERT)) {
      scen_err(L, v->keys[i], "rule %s takes no '%s'", net_rule_names[rule], key);
      ok = 0;
    }
  }
  double expect = rule == NET_ALL ? (double)nf * nt
      : rule == NET_RING          ? 2.0 * nf * k
      : rule == NET_K_RANDOM      ? (double)nf * k
      : rule == NET_ERDOS_RENYI   ? p * nf * (nf - 1.0)
                                  : 2.0 * nf * m;
  if (ok && expect > TR_MAX_RELS) {
    scen_err(L, rn, "rule %s would make about %.0f relations; at most %d", net_rule_names[rule],
             expect, TR_MAX_RELS);
    ok = 0;
  }
  if (!ok) return -1;
  if (pf >= 0) sc->pops[pf].ruled = 1;
  if (pt >= 0) sc->pops[pt].ruled = 1;
  if (rule != NET_ALL && rule != NET_RING) {
    nr->rule = rule;
    nr->f0 = *f0;
    nr->nf = nf;
    nr->t0 = *t0;
    nr->nt = nt;
    nr->same = same;
    nr->k = (int)k;
    nr->m = (int)m;
    nr->p = p;
    nr->line = v->line;
    nr->col = v->col;
    return 1;
  }
  int rc = net_make(E, rule, nf, nt, same, (int)k, p, (int)m, NULL);
  if (rc || E->n > TR_MAX_RELS) {
    scen_err(L, v, rc ? "out of memory" : "the rule made more than %d relations", TR_MAX_RELS);
    return -1;
  }
  return 0;
}

/* The kind and attributes of a rule's entry, as each of its relations has
** them. */
static void scen_rule_kind_attrs(scen_load *L, const ynode *v, char **kind, tr_attrdecl **attrs,
                                 int *nattrs) {
  const ynode *kn = ynode_get(v, "kind");
  char owner[200];
  snprintf(owner, sizeof owner, "the relations of rule %s", ynode_get(v, "rule")->str);
  scen_attrs(L, ynode_get(v, "attrs"), owner, attrs, nattrs);
  *kind = kn ? scen_text(L, kn, "kind") : NULL;
  if (*kind) scen_check_kind(L, kn, *kind);
  if (!*kind) *kind = scen_strdup(L, "");
}

static void scen_relations(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_seq(L, node, "'relations'") <= 0 || node->n == 0) return;
  net_edges *E = calloc((size_t)node->n, sizeof *E);
  int *f0 = calloc((size_t)node->n, sizeof *f0), *t0 = calloc((size_t)node->n, sizeof *t0);
  signed char *random = calloc((size_t)node->n, 1);
  sc->netrules = calloc((size_t)node->n, sizeof *sc->netrules);
  if (!E || !f0 || !t0 || !random || !sc->netrules) {
    free(E);
    free(f0);
    free(t0);
    free(random);
    scen_err(L, node, "out of memory");
    return;
  }
  size_t total = 0;
  for (int i = 0; i < node->n; i++) {
    const ynode *v = node->items[i];
    if (v->type == YN_MAP && ynode_get(v, "rule")) {
      int rc = scen_rule_edges(L, v, &E[i], &f0[i], &t0[i], &sc->netrules[sc->nnetrules]);
      if (rc < 0) E[i].n = 0;
      if (rc == 1) {
        random[i] = 1;
        tr_netrule *nr = &sc->netrules[sc->nnetrules++];
        scen_rule_kind_attrs(L, v, &nr->kind, &nr->attrs, &nr->nattrs);
      }
      total += E[i].n;
    } else {
      total++;
    }
  }
  if (total > TR_MAX_RELS) {
    scen_err(L, node, "the relations number %zu; at most %d", total, TR_MAX_RELS);
    total = 0;
  }
  sc->rels = total ? calloc(total, sizeof *sc->rels) : NULL;
  if (total && !sc->rels) scen_err(L, node, "out of memory");
  for (int i = 0; sc->rels && i < node->n; i++) {
    const ynode *v = node->items[i];
    if (!(v->type == YN_MAP && ynode_get(v, "rule"))) {
      scen_relation(L, &sc->rels[sc->nrels++], v);
      continue;
    }
    if (random[i] || E[i].n == 0) continue;
    tr_attrdecl *attrs;
    int nattrs;
    char *k;
    scen_rule_kind_attrs(L, v, &k, &attrs, &nattrs);
    for (size_t e = 0; e < E[i].n; e++) {
      tr_reldecl *r = &sc->rels[sc->nrels++];
      r->from = f0[i] + E[i].e[2 * e];
      r->to = t0[i] + E[i].e[2 * e + 1];
      r->kind = scen_strdup(L, k);
      r->line = v->line;
      r->col = v->col;
      if (nattrs) {
        r->attrs = calloc((size_t)nattrs, sizeof *r->attrs);
        if (!r->attrs) {
          scen_err(L, v, "out of memory");
          break;
        }
        r->nattrs = nattrs;
        for (int a = 0; a < nattrs; a++) {
          r->attrs[a] = attrs[a];
          r->attrs[a].name = scen_strdup(L, attrs[a].name);
        }
      }
    }
    free(k);
    scen_attrs_free(attrs, nattrs);
  }
  for (int i = 0; i < node->n; i++) free(E[i].e);
  free(E);
  free(f0);
  free(t0);
  free(random);
}

/* Whether random rule q may draw FROM -> TO. */
static int scen_net_may(const tr_netrule *q, int from, int to) {
  return from >= q->f0 && from < q->f0 + q->nf && to >= q->t0 && to < q->t0 + q->nt
      && !(q->same && from - q->f0 == to - q->t0);
}

int scen_netrule_find(const tr_scenario *sc, int from, int to) {
  for (int q = 0; q < sc->nnetrules; q++)
    if (scen_net_may(&sc->netrules[q], from, to)) return q;
  return -1;
}

/* At most one relation per ordered pair: a random rule draws its pairs in
** each run, so no other relation may ever hold one of the pairs it could
** draw. Reported once per relations entry and rule. */
static void scen_net_overlaps(scen_load *L) {
  tr_scenario *sc = L->sc;
  for (int q = 0; q < sc->nnetrules; q++) {
    const tr_netrule *nq = &sc->netrules[q];
    int last_line = -1, last_col = -1;
    for (int r = 0; r < sc->nrels; r++) {
      const tr_reldecl *rd = &sc->rels[r];
      if (rd->from < 0 || rd->to < 0 || !scen_net_may(nq, rd->from, rd->to)
          || (rd->line == last_line && rd->col == last_col))
        continue;
      last_line = rd->line;
      last_col = rd->col;
      diag_error(L->d, L->file, rd->line, rd->col,
                 "relation %s -> %s is a pair that rule %s (line %d) may draw: that rule draws "
                 "a new network in each run, and at most one relation may join an ordered "
                 "pair",
                 sc->actors[rd->from].id, sc->actors[rd->to].id, net_rule_names[nq->rule],
                 nq->line);
      L->errors++;
    }
    for (int o = 0; o < q; o++) {
      const tr_netrule *no = &sc->netrules[o];
      int a0 = nq->f0 > no->f0 ? nq->f0 : no->f0;
      int a1 = nq->f0 + nq->nf < no->f0 + no->nf ? nq->f0 + nq->nf : no->f0 + no->nf;
      int b0 = nq->t0 > no->t0 ? nq->t0 : no->t0;
      int b1 = nq->t0 + nq->nt < no->t0 + no->nt ? nq->t0 + nq->nt : no->t0 + no->nt;
      if (a0 >= a1 || b0 >= b1 || (a1 - a0 == 1 && b1 - b0 == 1 && a0 == b0)) continue;
      diag_error(L->d, L->file, nq->line, nq->col,
                 "rule %s may draw a pair that rule %s (line %d) may draw too: both draw a "
                 "new network in each run, and at most one relation may join an ordered pair",
                 net_rule_names[nq->rule], net_rule_names[no->rule], no->line);
      L->errors++;
    }
  }
}

/* Slots (actors' attributes, then relations'), and the relation hash; a
** second relation of one ordered pair is an error. */
static void scen_layout(scen_load *L) {
  tr_scenario *sc = L->sc;
  int slot = 0;
  for (int i = 0; i < sc->nactors; i++)
    for (int j = 0; j < sc->actors[i].nattrs; j++) sc->actors[i].attrs[j].slot = slot++;
  for (int i = 0; i < sc->nrels; i++)
    for (int j = 0; j < sc->rels[i].nattrs; j++) sc->rels[i].attrs[j].slot = slot++;
  sc->nslots = slot;

  int size = 4;
  while (size < 2 * sc->nrels && size < (1 << 30)) size *= 2;
  sc->rel_hash = malloc((size_t)size * sizeof *sc->rel_hash);
  if (!sc->rel_hash) {
    scen_err(L, NULL, "out of memory");
    return;
  }
  sc->rel_hash_size = size;
  for (int i = 0; i < size; i++) sc->rel_hash[i] = -1;
  unsigned mask = (unsigned)size - 1;
  for (int i = 0; i < sc->nrels; i++) {
    tr_reldecl *r = &sc->rels[i];
    if (r->from < 0 || r->to < 0) continue;
    int first = scen_rel_find(sc, r->from, r->to);
    if (first >= 0) {
      diag_error(L->d, L->file, r->line, r->col,
                 "second relation %s -> %s (first at line %d): at most one relation per "
                 "ordered pair",
                 sc->actors[r->from].id, sc->actors[r->to].id, sc->rels[first].line);
      L->errors++;
      continue;
    }
    unsigned h = scen_pair_hash(r->from, r->to) & mask;
    while (sc->rel_hash[h] >= 0) h = (h + 1) & mask;
    sc->rel_hash[h] = i;
  }
  for (int q = 0; q < sc->nnetrules; q++) /* offsets in each drawn relation's slots */
    for (int j = 0; j < sc->netrules[q].nattrs; j++) sc->netrules[q].attrs[j].slot = j;
  scen_net_overlaps(L);
}

static void scen_actions(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  int nlua = 0;
  if (scen_map(L, node, "'actions'") > 0) nlua = node->n;
  int total = nlua + model_nactions;
  if (total == 0) return;
  sc->actions = calloc((size_t)total, sizeof *sc->actions);
  if (!sc->actions) {
    scen_err(L, node, "out of memory");
    return;
  }
  static const char *const keys[] = {"script", "cameo", "goldstein"};
  for (int i = 0; i < nlua; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    tr_actiondecl *a = &sc->actions[i];
    sc->nactions = i + 1;
    a->name = scen_strdup(L, k->str);
    a->builtin = -1;
    a->line = k->line;
    a->col = k->col;
    scen_check_name(L, k, k->str, "action name", NULL, 0, NULL);
    for (int b = 0; b < model_nactions; b++)
      if (strcmp(model_actions[b].name, k->str) == 0)
        scen_err(L, k, "action '%s' is a built-in action of the model; choose another name",
                 k->str);
    if (v->type != YN_MAP) {
      char buf[80];
      scen_err(L, v, "expected a mapping {script, cameo, goldstein} for action '%s', got %s",
               k->str, scen_what(v, buf, sizeof buf));
      continue;
    }
    char where[160];
    snprintf(where, sizeof where, "in action '%s'", k->str);
    scen_keys(L, v, keys, NELEM(keys), where);
    const ynode *n;
    if (!(n = ynode_get(v, "script"))) scen_err(L, k, "action '%s' needs a 'script'", k->str);
    else a->script = scen_script(L, n, "script");
    if ((n = ynode_get(v, "cameo"))) scen_cameo(L, n, a->cameo);
    if ((n = ynode_get(v, "goldstein")) && scen_number(L, n, "goldstein", &a->goldstein) == 0)
      a->has_goldstein = 1;
  }
  for (int b = 0; b < model_nactions; b++) {
    tr_actiondecl *a = &sc->actions[nlua + b];
    sc->nactions = nlua + b + 1;
    a->name = scen_strdup(L, model_actions[b].name);
    a->builtin = b;
    if (model_actions[b].cameo) snprintf(a->cameo, sizeof a->cameo, "%s", model_actions[b].cameo);
    a->goldstein = model_actions[b].goldstein;
    a->has_goldstein = !isnan(model_actions[b].goldstein);
  }
}

/* metrics / outcomes: name -> expression (a plain number or bool is kept as
** its text). */
static void scen_exprs(scen_load *L, const ynode *node, int outcomes, tr_exprdecl **out,
                       int *nout) {
  /* outcomes: 0 metrics, 1 outcomes, 2 calibration summaries (checked as metrics) */
  const char *kind = outcomes == 1 ? "outcome" : outcomes == 2 ? "summary" : "metric";
  if (scen_map(L, node,
               outcomes == 1       ? "'outcomes'"
                   : outcomes == 2 ? "'summaries'"
                                   : "'metrics'")
          <= 0
      || node->n == 0)
    return;
  tr_exprdecl *e = calloc((size_t)node->n, sizeof *e);
  if (!e) {
    scen_err(L, node, "out of memory");
    return;
  }
  *out = e;
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    *nout = i + 1;
    e[i].name = scen_strdup(L, k->str);
    e[i].line = v->line;
    e[i].col = v->col;
    e[i].quoted = !v->plain;
    e[i].name_line = k->line;
    e[i].name_col = k->col;
    e[i].summary = outcomes == 2;
    if (outcomes == 1) {
      scen_check_name(L, k, k->str, "outcome name", NULL, 0, NULL);
      if (L->sc->default_outcome && strcmp(k->str, L->sc->default_outcome) == 0)
        scen_err(L, k, "outcome '%s' has the name of the default outcome", k->str);
    } else {
      scen_check_name(L, k, k->str, outcomes == 2 ? "summary name" : "metric name",
                      scen_csv_columns, NELEM(scen_csv_columns), "it is a column of the CSV files");
    }
    if (v->type == YN_MAP) {
      /* the long form {expr: ..., description: ...} (docs/scenario-format.md) */
      static const char *const keys[] = {"expr", "description"};
      const ynode *desc = ynode_get(v, "description");
      char where[160];
      snprintf(where, sizeof where, "in %s '%s'", kind, k->str);
      scen_keys(L, v, keys, 2, where);
      if (desc) e[i].description = scen_text(L, desc, "description");
      v = ynode_get(v, "expr");
      if (!v) {
        scen_err(L, node->items[i], "%s '%s' needs 'expr', its expression", kind, k->str);
        continue;
      }
      e[i].line = v->line;
      e[i].col = v->col;
    }
    if (v->type != YN_SCALAR || ynode_scalar_kind(v) == YS_NULL) {
      char buf[80];
      scen_err(L, v, "%s '%s' needs an expression (a string), got %s", kind, k->str,
               scen_what(v, buf, sizeof buf));
      continue;
    }
    e[i].expr = scen_text(L, v, k->str);
  }
}

static int scen_change_cmp(const void *pa, const void *pb) {
  const tr_change *a = pa, *b = pb;
  if (a->line != b->line) return a->line < b->line ? -1 : 1;
  return (a->col > b->col) - (a->col < b->col);
}

enum { SCEN_EVENT, SCEN_VARIANT };

/* Bounds of the attribute named by an attribute path, or NULL. */
static const tr_attrdecl *scen_path_attr(const tr_scenario *sc, const tr_path *p) {
  if (p->kind == PATH_ACTOR_ATTR) return &sc->actors[p->actor].attrs[p->attr];
  if (p->kind == PATH_REL_ATTR) return &sc->rels[p->rel].attrs[p->attr];
  return NULL;
}

/* Adds the changes of a set/add mapping (path -> number) to *arr. */
static void scen_changes(scen_load *L, const ynode *node, int op, int mode, const char *owner,
                         tr_change **arr, int *n) {
  char what[200];
  snprintf(what, sizeof what, "'%s' of %s", op == CHANGE_SET ? "set" : "add", owner);
  if (scen_map(L, node, what) <= 0 || node->n == 0) return;
  tr_change *c = realloc(*arr, (size_t)(*n + node->n) * sizeof *c);
  if (!c) {
    scen_err(L, node, "out of memory");
    return;
  }
  *arr = c;
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    tr_change ch;
    memset(&ch, 0, sizeof ch);
    char err[512];
    if (scen_path_parse(L->sc, k->str, &ch.path, err, sizeof err) < 0) {
      scen_err(L, k, "%s", err);
      continue;
    }
    const tr_attrdecl *attr = scen_path_attr(L->sc, &ch.path);
    int bad = 0;
    if (mode == SCEN_EVENT && !attr) {
      scen_err(L, k, "an event changes only attributes (ACTOR.ATTR or FROM:TO.ATTR), not '%s'",
               k->str);
      bad = 1;
    } else if (mode == SCEN_VARIANT && ch.path.kind == PATH_TICKS) {
      scen_err(L, k,
               "a variant cannot change experiment.ticks: every variant has the same "
               "horizon (use -t or --set experiment.ticks=T)");
      bad = 1;
    }
    if (scen_number(L, v, k->str, &ch.value) < 0) bad = 1;
    if (!bad && mode == SCEN_VARIANT && attr && attr->bounded) {
      double now = op == CHANGE_SET ? ch.value : attr->value + ch.value;
      if (now < attr->min || now > attr->max) {
        if (op == CHANGE_SET)
          scen_err(L, v, "value %s is outside [%g, %g] of '%s'", v->str, attr->min, attr->max,
                   k->str);
        else
          scen_err(L, v, "adding %s makes '%s' %g, outside [%g, %g]", v->str, k->str, now,
                   attr->min, attr->max);
        bad = 1;
      }
    }
    if (bad) {
      scen_path_free(&ch.path);
      continue;
    }
    ch.op = op;
    ch.line = k->line;
    ch.col = k->col;
    (*arr)[(*n)++] = ch;
  }
}

static void scen_event(scen_load *L, tr_eventdecl *e, const ynode *v) {
  static const char *const keys[] = {"name", "at",  "every", "prob",  "when",     "add",
                                     "set",  "lua", "once",  "cameo", "goldstein"};
  e->line = v->line;
  e->col = v->col;
  if (v->type != YN_MAP) {
    char buf[80];
    scen_err(L, v, "expected a mapping for an event, got %s", scen_what(v, buf, sizeof buf));
    return;
  }
  const ynode *n = ynode_get(v, "name");
  char owner[160] = "event";
  if (!n) {
    scen_err(L, v, "an event needs a 'name'");
  } else if ((e->name = scen_text(L, n, "name"))) {
    scen_check_name(L, n, e->name, "event name", NULL, 0, NULL);
    snprintf(owner, sizeof owner, "event '%s'", e->name);
  }
  if (!e->name) e->name = scen_strdup(L, "");
  char where[200];
  snprintf(where, sizeof where, "in %s", owner);
  scen_keys(L, v, keys, NELEM(keys), where);

  /* Exactly one of at, every, prob; the second one found is the error. */
  static const char *const timing[] = {"at", "every", "prob"};
  const ynode *first = NULL;
  int nt = 0;
  for (int i = 0; i < v->n; i++) {
    const ynode *k = v->keys[i];
    int t = 0;
    while (t < 3 && strcmp(k->str, timing[t]) != 0) t++;
    if (t == 3) continue;
    if (nt++) {
      scen_err(L, k, "%s has both '%s' and '%s': give exactly one of at, every or prob", owner,
               first->str, k->str);
      continue;
    }
    first = k;
    long long iv;
    const ynode *val = v->items[i];
    e->kind = t == 0 ? EV_AT : t == 1 ? EV_EVERY : EV_PROB;
    if (t == 0 && scen_integer(L, val, "at", 1, INT_MAX, &iv) == 0) e->at = (int)iv;
    if (t == 1 && scen_integer(L, val, "every", 1, INT_MAX, &iv) == 0) e->every = (int)iv;
    if (t == 2 && scen_number(L, val, "prob", &e->prob) == 0 && (e->prob < 0 || e->prob > 1))
      scen_err(L, val, "'prob' of %s must be in [0, 1], got %s", owner, val->str);
  }
  if (nt == 0) scen_err(L, v, "%s needs one of 'at', 'every' or 'prob'", owner);

  if ((n = ynode_get(v, "when"))) {
    e->when = scen_text(L, n, "when");
    e->when_line = n->line;
    e->when_col = n->col;
    e->when_quoted = !n->plain;
  }
  if ((n = ynode_get(v, "lua"))) {
    e->lua = scen_text(L, n, "lua");
    e->lua_line = n->line;
    e->lua_col = n->col;
  }
  if ((n = ynode_get(v, "once"))) {
    if (n->type != YN_SCALAR || ynode_scalar_kind(n) != YS_BOOL) {
      char buf[80];
      scen_err(L, n, "expected true or false for 'once', got %s", scen_what(n, buf, sizeof buf));
    } else {
      e->once = n->str[0] == 't' || n->str[0] == 'T';
    }
  }
  if ((n = ynode_get(v, "cameo"))) scen_cameo(L, n, e->cameo);
  if ((n = ynode_get(v, "goldstein")) && scen_number(L, n, "goldstein", &e->goldstein) == 0)
    e->has_goldstein = 1;
  scen_changes(L, ynode_get(v, "add"), CHANGE_ADD, SCEN_EVENT, owner, &e->changes, &e->nchanges);
  scen_changes(L, ynode_get(v, "set"), CHANGE_SET, SCEN_EVENT, owner, &e->changes, &e->nchanges);
  if (e->nchanges > 1) qsort(e->changes, (size_t)e->nchanges, sizeof *e->changes, scen_change_cmp);
}

static void scen_events(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_seq(L, node, "'events'") <= 0 || node->n == 0) return;
  sc->events = calloc((size_t)node->n, sizeof *sc->events);
  if (!sc->events) {
    scen_err(L, node, "out of memory");
    return;
  }
  for (int i = 0; i < node->n; i++) {
    sc->nevents = i + 1;
    scen_event(L, &sc->events[i], node->items[i]);
  }
}

static void scen_variants(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_map(L, node, "'variants'") <= 0 || node->n == 0) return;
  sc->variants = calloc((size_t)node->n, sizeof *sc->variants);
  if (!sc->variants) {
    scen_err(L, node, "out of memory");
    return;
  }
  static const char *const keys[] = {"description", "set", "add", "activation"};
  static const char *const baseline[] = {"baseline"};
  for (int i = 0; i < node->n; i++) {
    const ynode *k = node->keys[i], *v = node->items[i];
    tr_variantdecl *var = &sc->variants[i];
    sc->nvariants = i + 1;
    var->name = scen_strdup(L, k->str);
    var->line = k->line;
    var->col = k->col;
    scen_check_name(L, k, k->str, "variant name", baseline, 1,
                    "the unchanged scenario is the baseline");
    char owner[160], where[200];
    snprintf(owner, sizeof owner, "variant '%s'", k->str);
    snprintf(where, sizeof where, "in %s", owner);
    if (scen_map(L, v, owner) > 0) {
      scen_keys(L, v, keys, NELEM(keys), where);
      const ynode *n = ynode_get(v, "description");
      if (n) var->description = scen_text(L, n, "description");
      var->activation = -1;
      if ((n = ynode_get(v, "activation"))) var->activation = scen_activation(L, n);
      scen_changes(L, ynode_get(v, "set"), CHANGE_SET, SCEN_VARIANT, owner, &var->changes,
                   &var->nchanges);
      scen_changes(L, ynode_get(v, "add"), CHANGE_ADD, SCEN_VARIANT, owner, &var->changes,
                   &var->nchanges);
      if (var->nchanges > 1)
        qsort(var->changes, (size_t)var->nchanges, sizeof *var->changes, scen_change_cmp);
    }
    if (!var->description) var->description = scen_strdup(L, "");
  }
}

/* A swept value must lie inside the bounds of a bounded attribute, the
** range of a model parameter, and fit a declared parameter. */
static int scen_sweep_inside(scen_load *L, const ynode *at, const tr_attrdecl *attr,
                             const char *path, double x, const tr_path *p) {
  char err[600];
  if ((p->kind == PATH_MODEL && model_check_value(L->sc, p->model, x, err, sizeof err))
      || (p->kind == PATH_PARAM
          && params_check_number(L->sc, p->actor, p->key, x, err, sizeof err))) {
    scen_err(L, at, "%s", err);
    return -1;
  }
  if (!attr || !attr->bounded || (x >= attr->min && x <= attr->max)) return 0;
  scen_err(L, at, "value %g is outside [%g, %g] of '%s'", x, attr->min, attr->max, path);
  return -1;
}

static void scen_sweep_param(scen_load *L, tr_sweepparam *p, const ynode *k, const ynode *v) {
  tr_scenario *sc = L->sc;
  const tr_attrdecl *attr = scen_path_attr(sc, &p->path);
  if (v->type == YN_SEQ) {
    if (v->n == 0) {
      scen_err(L, v, "sweep values of '%s' are an empty list", k->str);
      return;
    }
    p->values = calloc((size_t)v->n, sizeof *p->values);
    if (!p->values) {
      scen_err(L, v, "out of memory");
      return;
    }
    p->nvalues = v->n;
    for (int i = 0; i < v->n; i++)
      if (scen_number(L, v->items[i], k->str, &p->values[i]) == 0)
        scen_sweep_inside(L, v->items[i], attr, k->str, p->values[i], &p->path);
    return;
  }
  if (v->type != YN_MAP) {
    char buf[80];
    scen_err(L, v, "sweep of '%s' needs a list of values or {min, max%s}, got %s", k->str,
             sc->sweep_method == SWEEP_GRID ? ", steps" : "", scen_what(v, buf, sizeof buf));
    return;
  }
  static const char *const keys[] = {"min", "max", "steps"};
  char where[200];
  snprintf(where, sizeof where, "in the sweep of '%s'", k->str);
  scen_keys(L, v, keys, NELEM(keys), where);
  p->is_range = 1;
  const ynode *mn = ynode_get(v, "min"), *mx = ynode_get(v, "max"), *st = ynode_get(v, "steps");
  int ok = 1;
  if (!mn) {
    scen_err(L, v, "the sweep range of '%s' needs 'min'", k->str);
    ok = 0;
  } else if (scen_number(L, mn, "min", &p->min) < 0) ok = 0;
  if (!mx) {
    scen_err(L, v, "the sweep range of '%s' needs 'max'", k->str);
    ok = 0;
  } else if (scen_number(L, mx, "max", &p->max) < 0) ok = 0;
  if (st) {
    long long s;
    if (scen_integer(L, st, "steps", 2, 1000000, &s) == 0) p->steps = (int)s;
    else ok = 0;
  } else if (sc->sweep_method == SWEEP_GRID) {
    scen_err(L, v, "the grid range of '%s' needs 'steps' (2 or more)", k->str);
    ok = 0;
  }
  if (!ok) return;
  if (p->min > p->max) {
    scen_err(L, mn, "min %g is greater than max %g in the sweep of '%s'", p->min, p->max, k->str);
    return;
  }
  if (scen_sweep_inside(L, mn, attr, k->str, p->min, &p->path) < 0
      || scen_sweep_inside(L, mx, attr, k->str, p->max, &p->path) < 0)
    return;
  if (sc->sweep_method == SWEEP_GRID) {
    p->values = calloc((size_t)p->steps, sizeof *p->values);
    if (!p->values) {
      scen_err(L, v, "out of memory");
      return;
    }
    p->nvalues = p->steps;
    for (int i = 0; i < p->steps; i++)
      p->values[i] = i == p->steps - 1 ? p->max : p->min + (p->max - p->min) * i / (p->steps - 1);
  }
}

/* One field of a design CSV: unquoted, or in double quotes ("" for a
** quote). Advances *p past the field and its comma. */
static char *scen_csv_field(char **p) {
  char *s = *p, *out = s, *w = s;
  if (*s == '"') {
    s++;
    for (;;) {
      if (*s == '\0') break;
      if (*s == '"' && s[1] == '"') {
        *w++ = '"';
        s += 2;
        continue;
      }
      if (*s == '"') {
        s++;
        break;
      }
      *w++ = *s++;
    }
    while (*s && *s != ',') s++;
  } else {
    while (*s && *s != ',') *w++ = *s++;
  }
  if (*s == ',') s++;
  *w = '\0';
  *p = s;
  while (*out == ' ' || *out == '\t') out++;
  for (char *e = out + strlen(out); e > out && (e[-1] == ' ' || e[-1] == '\t');) *--e = '\0';
  return out;
}

/* `sweep: {method: file, design: FILE.csv}`: the points are the rows of a
** CSV file (docs/scenario-format.md, "sweep"), one column per path, named
** in the header; run as written, in file order.
** Long: reading the design file is one pass over its lines (header, then rows checked against
** the sweep's paths), and each check needs the line number and the paths read so far. */
static void scen_sweep_file(scen_load *L, const ynode *node, const ynode *design) {
  tr_scenario *sc = L->sc;
  if (sc->sweep_method != SWEEP_FILE) {
    scen_err(L, design, "'design' goes with 'method: file'");
    return;
  }
  if (!design) {
    scen_err(L, node, "a file sweep needs 'design': the CSV file of its points");
    return;
  }
  if (ynode_get(node, "params") || ynode_get(node, "points")) {
    const ynode *k =
        ynode_get(node, "params") ? ynode_get(node, "params") : ynode_get(node, "points");
    scen_err(L, k,
             "a file sweep takes its parameters and points from the design's columns and "
             "rows: leave out 'params' and 'points'");
    return;
  }
  char *name = scen_text(L, design, "design");
  if (!name) return;
  char *src = diag_source_file(design->line);
  char *path = NULL;
  const char *base = src ? src : sc->path;
  const char *slash = strrchr(base, '/');
  if (name[0] == '/' || !slash) path = strdup(name);
  else if (asprintf(&path, "%.*s/%s", (int)(slash - base), base, name) < 0) path = NULL;
  free(src);
  FILE *f = path ? fopen(path, "r") : NULL;
  if (!f) {
    scen_err(L, design, "cannot read the design '%s': %s", path ? path : name, strerror(errno));
    free(path);
    free(name);
    return;
  }
  if (compose_files_add(&sc->files, path)) scen_err(L, design, "out of memory");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0, rows = 0, k = 0, bad = 0;
  while (!bad && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0) continue;
    char *p = line;
    if (k == 0) { /* the header: one path per column */
      int ncol = 1;
      for (char *q = line; *q; q++) ncol += *q == ',';
      sc->sweep = calloc((size_t)ncol, sizeof *sc->sweep);
      if (!sc->sweep) {
        scen_err(L, design, "out of memory");
        bad = 1;
        break;
      }
      for (int c = 0; c < ncol && !bad; c++) {
        int col = (int)(p - line) + 1;
        char *field = scen_csv_field(&p);
        tr_sweepparam sp;
        memset(&sp, 0, sizeof sp);
        sp.line = design->line;
        sp.col = design->col;
        char err[512];
        if (scen_path_parse(sc, field, &sp.path, err, sizeof err) < 0) {
          diag_error(L->d, path, lineno, col, "column %d of the design: %s", c + 1, err);
          L->errors++;
          bad = 1;
        } else if (sp.path.kind == PATH_TICKS) {
          diag_error(L->d, path, lineno, col,
                     "a sweep cannot change experiment.ticks: every "
                     "point has the same horizon");
          L->errors++;
          scen_path_free(&sp.path);
          bad = 1;
        } else {
          sc->sweep[sc->nsweep++] = sp;
        }
      }
      k = sc->nsweep;
      continue;
    }
    int c = 0;
    for (; c < k && !bad; c++) {
      int col = (int)(p - line) + 1;
      if (c > 0 && p == line + len && p[-1] != ',') break;
      char *field = scen_csv_field(&p), *end;
      errno = 0;
      double x = strtod(field, &end);
      if (!*field || *end || errno == ERANGE || !isfinite(x)) {
        diag_error(L->d, path, lineno, col, "expected a finite number for '%s', got '%s'",
                   sc->sweep[c].path.text ? sc->sweep[c].path.text : "", field);
        L->errors++;
        bad = 1;
        break;
      }
      const tr_attrdecl *attr = scen_path_attr(sc, &sc->sweep[c].path);
      if (attr && attr->bounded && (x < attr->min || x > attr->max)) {
        diag_error(L->d, path, lineno, col, "value %g is outside [%g, %g] of '%s'", x, attr->min,
                   attr->max, sc->sweep[c].path.text ? sc->sweep[c].path.text : "");
        L->errors++;
        bad = 1;
        break;
      }
      tr_sweepparam *sp = &sc->sweep[c];
      double *v = realloc(sp->values, (size_t)(rows + 1) * sizeof *v);
      if (!v) {
        scen_err(L, design, "out of memory");
        bad = 1;
        break;
      }
      sp->values = v;
      sp->values[rows] = x;
      sp->nvalues = rows + 1;
    }
    if (!bad && (c != k || *p)) {
      diag_error(L->d, path, lineno, 1, "row %d of the design has %s fields than its header (%d)",
                 rows + 1, c < k ? "fewer" : "more", k);
      L->errors++;
      bad = 1;
    }
    if (!bad) rows++;
  }
  if (!bad && rows == 0) {
    diag_error(L->d, path, lineno > 0 ? lineno : 0, 0,
               "the design has no points (a header line "
               "of paths, then one row per point)");
    L->errors++;
  }
  sc->sweep_points = rows;
  free(line);
  fclose(f);
  free(path);
  free(name);
}

/* The sweep: block: its method, points and params (docs/scenario-format.md, "sweep"). Long: one
** pass over the keys of the sweep: block in document order; each key's check is a few lines, and
** splitting it would scatter the table of keys. */
static void scen_sweep(scen_load *L, const ynode *node) {
  tr_scenario *sc = L->sc;
  if (scen_map(L, node, "'sweep'") <= 0) return;
  static const char *const keys[] = {"method", "points", "params", "design"};
  scen_keys(L, node, keys, NELEM(keys), "in sweep");
  sc->sweep_method = SWEEP_GRID;
  const ynode *n = ynode_get(node, "method");
  if (n) {
    int m = -1;
    if (n->type == YN_SCALAR)
      for (int i = 0; i < NELEM(scen_sweep_methods); i++)
        if (strcmp(n->str, scen_sweep_methods[i]) == 0) m = i;
    if (m < 0) {
      char msg[512], buf[80];
      snprintf(msg, sizeof msg, "unknown sweep method %s", scen_what(n, buf, sizeof buf));
      if (n->type == YN_SCALAR)
        diag_did_you_mean(msg, sizeof msg, n->str, scen_sweep_methods, NELEM(scen_sweep_methods));
      scen_err(L, n, "%s: grid, sobol, lhs, random, file or saltelli", msg);
    } else {
      sc->sweep_method = SWEEP_GRID + m;
    }
  }
  const ynode *design = ynode_get(node, "design");
  if (sc->sweep_method == SWEEP_FILE || design) {
    scen_sweep_file(L, node, design);
    return;
  }
  long long pts;
  if ((n = ynode_get(node, "points"))) {
    if (scen_integer(L, n, "points", 1, INT_MAX, &pts) == 0) sc->sweep_points = (int)pts;
  } else if (sc->sweep_method != SWEEP_GRID) {
    scen_err(L, node, "a %s sweep needs 'points' (1 or more)",
             scen_sweep_methods[sc->sweep_method - SWEEP_GRID]);
  }
  const ynode *params = ynode_get(node, "params");
  int m = scen_map(L, params, "'params' of sweep");
  if (m == 0 || (m > 0 && params->n == 0)) {
    scen_err(L, params ? params : node, "a sweep needs 'params': path -> values or range");
    return;
  }
  if (m < 0) return;
  sc->sweep = calloc((size_t)params->n, sizeof *sc->sweep);
  if (!sc->sweep) {
    scen_err(L, params, "out of memory");
    return;
  }
  for (int i = 0; i < params->n; i++) {
    const ynode *k = params->keys[i], *v = params->items[i];
    tr_sweepparam p;
    memset(&p, 0, sizeof p);
    p.line = k->line;
    p.col = k->col;
    char err[512];
    if (scen_path_parse(sc, k->str, &p.path, err, sizeof err) < 0) {
      scen_err(L, k, "%s", err);
      continue;
    }
    if (p.path.kind == PATH_TICKS) {
      scen_err(L, k,
               "a sweep cannot change experiment.ticks: every point has the same horizon "
               "(use -t or --set experiment.ticks=T)");
      scen_path_free(&p.path);
      continue;
    }
    scen_sweep_param(L, &p, k, v);
    sc->sweep[sc->nsweep++] = p;
  }
  /* Saltelli: a Sobol sequence of 2k dimensions (GSL: at most 40), and
  ** N (k + 2) points (docs/experiments.md, Sobol indices). */
  if (sc->sweep_method == SWEEP_SALTELLI && params->n > 20)
    scen_err(L, params,
             "a saltelli sweep takes at most 20 params (its Sobol sequence has 2 "
             "dimensions per param, and GSL's at most 40), got %d",
             params->n);
  else if (sc->sweep_method == SWEEP_SALTELLI && sc->sweep_points > 0
           && (long long)sc->sweep_points * (params->n + 2) > 10000000)
    scen_err(L, ynode_get(node, "points"),
             "a saltelli sweep of %d params and %d points runs "
             "%lld points (N (k + 2)), more than 10000000",
             params->n, sc->sweep_points, (long long)sc->sweep_points * (params->n + 2));
}


/* ------------------------------------------------------------ calibrate */

static const char *const scen_prior_dists[] = {"uniform", "normal", "lognormal", "beta"};

/* One prior: {min, max} (uniform), or {dist: normal|lognormal|beta, ...}.
** Long: one check per prior distribution of its parameters and of the range it gives, all
** filling the one tr_prior. */
static void scen_prior(scen_load *L, tr_prior *p, const ynode *k, const ynode *v) {
  tr_scenario *sc = L->sc;
  p->line = k->line;
  p->col = k->col;
  char err[512], where[300];
  snprintf(where, sizeof where, "in the prior of '%s'", k->str);
  if (scen_path_parse(sc, k->str, &p->path, err, sizeof err) < 0) {
    scen_err(L, k, "%s", err);
    return;
  }
  if (p->path.kind == PATH_TICKS) {
    scen_err(L, k, "experiment.ticks cannot be calibrated: every run has the same horizon");
    return;
  }
  if (scen_map(L, v, where) <= 0) {
    if (!v || v->type == YN_SCALAR)
      scen_err(L, v ? v : k,
               "the prior of '%s' needs {min, max} or {dist: normal|lognormal|beta, ...}", k->str);
    return;
  }
  static const char *const keys[] = {"dist", "min", "max", "mean", "sd", "zeta", "sigma", "a", "b"};
  scen_keys(L, v, keys, NELEM(keys), where);
  p->dist = PRIOR_UNIFORM;
  const ynode *dn = ynode_get(v, "dist");
  if (dn) {
    int m = -1;
    if (dn->type == YN_SCALAR)
      for (int i = 0; i < NELEM(scen_prior_dists); i++)
        if (strcmp(dn->str, scen_prior_dists[i]) == 0) m = i;
    if (m < 0) {
      char msg[512], buf[80];
      snprintf(msg, sizeof msg, "unknown prior %s", scen_what(dn, buf, sizeof buf));
      if (dn->type == YN_SCALAR)
        diag_did_you_mean(msg, sizeof msg, dn->str, scen_prior_dists, NELEM(scen_prior_dists));
      scen_err(L, dn, "%s: uniform, normal, lognormal or beta", msg);
      return;
    }
    p->dist = m;
  }
  const ynode *mn = ynode_get(v, "min"), *mx = ynode_get(v, "max");
  double lo = -INFINITY, hi = INFINITY;
  if (mn && scen_number(L, mn, "min", &lo)) return;
  if (mx && scen_number(L, mx, "max", &hi)) return;
  static const char *const need[][2] = {
      {"min", "max"}, {"mean", "sd"}, {"zeta", "sigma"}, {"a", "b"}};
  const ynode *na = p->dist == PRIOR_UNIFORM ? mn : ynode_get(v, need[p->dist][0]);
  const ynode *nb = p->dist == PRIOR_UNIFORM ? mx : ynode_get(v, need[p->dist][1]);
  if (!na || !nb) {
    scen_err(L, v, "a %s prior needs '%s' and '%s' (%s)", scen_prior_dists[p->dist],
             need[p->dist][0], need[p->dist][1], k->str);
    return;
  }
  if (scen_number(L, na, need[p->dist][0], &p->a) || scen_number(L, nb, need[p->dist][1], &p->b))
    return;
  if (p->dist == PRIOR_UNIFORM && !(p->a < p->b)) {
    scen_err(L, v, "the prior of '%s' needs min < max, got [%g, %g]", k->str, p->a, p->b);
    return;
  }
  if ((p->dist == PRIOR_NORMAL || p->dist == PRIOR_LOGNORMAL) && !(p->b > 0)) {
    scen_err(L, nb, "'%s' of the prior of '%s' must be > 0", need[p->dist][1], k->str);
    return;
  }
  if (p->dist == PRIOR_BETA && !(p->a > 0 && p->b > 0)) {
    scen_err(L, v, "a and b of the beta prior of '%s' must be > 0", k->str);
    return;
  }
  if (p->dist == PRIOR_UNIFORM) {
    lo = p->a;
    hi = p->b;
  } else if (p->dist == PRIOR_BETA) {
    if (!mn) lo = 0;
    if (!mx) hi = 1;
  } else if (p->dist == PRIOR_LOGNORMAL && lo < 0) lo = 0;
  if (!(lo < hi)) {
    scen_err(L, v, "the prior of '%s' has an empty support [%g, %g]", k->str, lo, hi);
    return;
  }
  p->lo = lo;
  p->hi = hi;
  const tr_attrdecl *attr = scen_path_attr(sc, &p->path);
  if (attr && attr->bounded && (lo < attr->min || hi > attr->max))
    scen_err(L, v,
             "the prior of '%s' reaches outside the attribute's bounds [%g, %g]: give it "
             "min and max inside them (its support is [%g, %g])",
             k->str, attr->min, attr->max, lo, hi);
}

/* observed: a mapping name -> number, or a CSV file (a header of summary
** names and one row of values). Values land in calib.observed, in summary
** order; every summary needs one and every observed name a summary.
** Long: the two forms (a mapping, a CSV file) fill the same values and are then checked together
** against the summaries, so they share the names and the error paths. */
static void scen_observed(scen_load *L, const ynode *node) {
  tr_calibdecl *c = &L->sc->calib;
  int n = c->nsummaries;
  const char *names[n + 1];
  for (int i = 0; i < n; i++) names[i] = c->summaries[i].name;
  c->observed = calloc((size_t)n + 1, sizeof *c->observed);
  unsigned char *have = calloc((size_t)n + 1, 1);
  if (!c->observed || !have) {
    scen_err(L, node, "out of memory");
    free(have);
    return;
  }
  char **keys = NULL, *line = NULL;
  double *vals = NULL;
  int nk = 0, file_line = 0;
  char *file = NULL;
  if (node->type == YN_MAP) {
    nk = node->n;
    keys = calloc((size_t)nk + 1, sizeof *keys);
    vals = calloc((size_t)nk + 1, sizeof *vals);
    for (int i = 0; keys && vals && i < nk; i++) {
      keys[i] = node->keys[i]->str;
      if (scen_number(L, node->items[i], node->keys[i]->str, &vals[i])) keys[i] = NULL;
    }
  } else if (node->type == YN_SCALAR && ynode_scalar_kind(node) == YS_STR) {
    char *src = diag_source_file(node->line);
    const char *base = src ? src : L->sc->path;
    const char *slash = strrchr(base, '/');
    if (node->str[0] == '/' || !slash) file = strdup(node->str);
    else if (asprintf(&file, "%.*s/%s", (int)(slash - base), base, node->str) < 0) file = NULL;
    free(src);
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f) {
      scen_err(L, node, "cannot read the observed file '%s': %s", file ? file : node->str,
               strerror(errno));
    } else {
      size_t cap = 0;
      char *header = NULL;
      ssize_t len;
      int row = 0;
      while ((len = getline(&line, &cap, f)) >= 0) {
        file_line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (!header) {
          header = strdup(line);
          continue;
        }
        if (row++ == 0) {
          char *hp = header, *vp = line;
          while (hp && *hp) {
            char *h = scen_csv_field(&hp), *vtext = scen_csv_field(&vp), *end;
            char **nkeys = realloc(keys, (size_t)(nk + 1) * sizeof *nkeys);
            double *nvals = realloc(vals, (size_t)(nk + 1) * sizeof *nvals);
            if (!nkeys || !nvals) {
              free(nkeys ? nkeys : keys);
              keys = NULL;
              break;
            }
            keys = nkeys;
            vals = nvals;
            errno = 0;
            vals[nk] = strtod(vtext, &end);
            keys[nk] = strdup(h);
            if (!*vtext || *end || !isfinite(vals[nk])) {
              diag_error(L->d, file, file_line, 0,
                         "observed value of '%s' is not a finite number: '%s'", h, vtext);
              L->errors++;
              free(keys[nk]);
              keys[nk] = NULL;
            }
            nk++;
          }
        } else {
          diag_error(L->d, file, file_line, 0,
                     "the observed file has one row of values under its header");
          L->errors++;
        }
      }
      free(header);
      fclose(f);
      if (compose_files_add(&L->sc->files, file)) scen_err(L, node, "out of memory");
      c->observed_file = file;
      file = NULL;
    }
  } else {
    char buf[80];
    scen_err(L, node,
             "'observed' takes a mapping summary -> value, or the path of a CSV file, got %s",
             scen_what(node, buf, sizeof buf));
  }
  for (int i = 0; keys && i < nk; i++) {
    if (!keys[i]) continue;
    int s = -1;
    for (int j = 0; j < n; j++)
      if (strcmp(keys[i], names[j]) == 0) s = j;
    if (s < 0) {
      char msg[512];
      snprintf(msg, sizeof msg, "observed '%s' has no summary of that name", keys[i]);
      diag_did_you_mean(msg, sizeof msg, keys[i], names, n);
      if (node->type == YN_MAP) scen_err(L, node->keys[i], "%s", msg);
      else {
        diag_error(L->d, c->observed_file, 1, 0, "%s", msg);
        L->errors++;
      }
      continue;
    }
    c->observed[s] = vals[i];
    have[s] = 1;
  }
  for (int j = 0; j < n; j++)
    if (!have[j] && L->errors == 0)
      scen_err(L, node, "summary '%s' has no observed value", names[j]);
  if (node->type != YN_MAP)
    for (int i = 0; keys && i < nk; i++) free(keys[i]);
  free(keys);
  free(vals);
  free(have);
  free(line);
  free(file);
}

/* The calibrate: block: method, particles, generations, alpha, tolerance, distance, params,
** summaries and observed (docs/calibration.md). Long: one pass over the keys of the calibrate:
** block in document order; each key's check is a few lines, and splitting it would scatter the
** table of keys. */
static void scen_calibrate(scen_load *L, const ynode *node) {
  tr_calibdecl *c = &L->sc->calib;
  if (scen_map(L, node, "'calibrate'") <= 0) return;
  c->present = 1;
  c->line = node->line;
  c->col = node->col;
  c->particles = 1000;
  c->generations = 8;
  c->alpha = 0.5;
  c->distance = DIST_EUCLIDEAN_SCALED;
  static const char *const keys[] = {"method",    "particles", "generations", "tolerance", "params",
                                     "summaries", "observed",  "distance",    "alpha"};
  scen_keys(L, node, keys, NELEM(keys), "in calibrate");
  const ynode *n;
  if ((n = ynode_get(node, "method")) && (n->type != YN_SCALAR || strcmp(n->str, "abc-smc") != 0)) {
    char buf[80];
    scen_err(L, n, "unknown calibration method %s: the method is abc-smc",
             scen_what(n, buf, sizeof buf));
  }
  long long v;
  if ((n = ynode_get(node, "particles")) && scen_integer(L, n, "particles", 10, 10000000, &v) == 0)
    c->particles = (int)v;
  if ((n = ynode_get(node, "generations")) && scen_integer(L, n, "generations", 1, 100, &v) == 0)
    c->generations = (int)v;
  if ((n = ynode_get(node, "alpha")) && scen_number(L, n, "alpha", &c->alpha) == 0
      && !(c->alpha > 0 && c->alpha < 1))
    scen_err(L, n,
             "'alpha' is the quantile of the previous distances that sets the next "
             "tolerance: a number in (0, 1), got %g",
             c->alpha);
  if ((n = ynode_get(node, "tolerance")) && scen_map(L, n, "'tolerance'") > 0) {
    static const char *const tkeys[] = {"final"};
    scen_keys(L, n, tkeys, 1, "in tolerance");
    const ynode *f = ynode_get(n, "final");
    if (f && scen_number(L, f, "final", &c->tol_final) == 0) {
      c->has_tol_final = 1;
      if (c->tol_final < 0)
        scen_err(L, f, "the final tolerance is a distance: >= 0, got %g", c->tol_final);
    }
  }
  if ((n = ynode_get(node, "distance"))) {
    if (n->type == YN_SCALAR && strcmp(n->str, "euclidean-scaled") == 0)
      c->distance = DIST_EUCLIDEAN_SCALED;
    else if (n->type == YN_SCALAR && strcmp(n->str, "euclidean") == 0) c->distance = DIST_EUCLIDEAN;
    else {
      char buf[80];
      scen_err(L, n, "unknown distance %s: euclidean-scaled or euclidean",
               scen_what(n, buf, sizeof buf));
    }
  }
  const ynode *params = ynode_get(node, "params");
  if (scen_map(L, params, "'params' of calibrate") <= 0 || params->n == 0) {
    scen_err(L, params ? params : node, "calibrate needs 'params': path -> prior");
  } else {
    c->priors = calloc((size_t)params->n, sizeof *c->priors);
    if (!c->priors) {
      scen_err(L, params, "out of memory");
      return;
    }
    for (int i = 0; i < params->n; i++)
      scen_prior(L, &c->priors[c->npriors++], params->keys[i], params->items[i]);
  }
  const ynode *sums = ynode_get(node, "summaries");
  if (scen_map(L, sums, "'summaries' of calibrate") <= 0 || sums->n == 0) {
    scen_err(L, sums ? sums : node,
             "calibrate needs 'summaries': name -> expression evaluated at "
             "the end of each run");
    return;
  }
  scen_exprs(L, sums, 2, &c->summaries, &c->nsummaries);
  for (int i = 0; i < c->nsummaries; i++)
    for (int m = 0; m < L->sc->nmetrics; m++)
      if (c->summaries[i].name && strcmp(c->summaries[i].name, L->sc->metrics[m].name) == 0)
        scen_err(L, sums->keys[i],
                 "summary '%s' has the name of a metric: summaries are "
                 "evaluated alongside the metrics, so give it another name",
                 c->summaries[i].name);
  const ynode *obs = ynode_get(node, "observed");
  if (!obs) scen_err(L, node, "calibrate needs 'observed': the summaries' observed values");
  else scen_observed(L, obs);
}

/* ------------------------------------------------------------ the load */

static const char *const scen_top_keys[] = {
    "scenario",        "title",     "description", "experiment", "limits",  "model",
    "actors",          "relations", "actions",     "events",     "metrics", "outcomes",
    "default_outcome", "variants",  "sweep",       "kinds",      "helpers", "calibrate"};

static char *scen_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/* With an attribute on_bound: reject, the run's record counts the dropped
** writes: a last metric `rejected` = world.rejected, unless the scenario
** defines a metric of that name itself (docs/scenario-format.md#actors). */
static void scen_rejected_metric(scen_load *L) {
  tr_scenario *sc = L->sc;
  const tr_attrdecl *at = NULL;
  for (int a = 0; a < sc->nactors && !at; a++)
    for (int i = 0; i < sc->actors[a].nattrs && !at; i++)
      if (sc->actors[a].attrs[i].on_bound == BOUND_REJECT) at = &sc->actors[a].attrs[i];
  for (int r = 0; r < sc->nrels && !at; r++)
    for (int i = 0; i < sc->rels[r].nattrs && !at; i++)
      if (sc->rels[r].attrs[i].on_bound == BOUND_REJECT) at = &sc->rels[r].attrs[i];
  for (int q = 0; q < sc->nnetrules && !at; q++)
    for (int i = 0; i < sc->netrules[q].nattrs && !at; i++)
      if (sc->netrules[q].attrs[i].on_bound == BOUND_REJECT) at = &sc->netrules[q].attrs[i];
  if (!at) return;
  for (int i = 0; i < sc->nmetrics; i++)
    if (sc->metrics[i].name && strcmp(sc->metrics[i].name, "rejected") == 0) return;
  tr_exprdecl *m = realloc(sc->metrics, (size_t)(sc->nmetrics + 1) * sizeof *m);
  if (!m) {
    scen_err(L, NULL, "out of memory");
    return;
  }
  sc->metrics = m;
  m = &sc->metrics[sc->nmetrics++];
  memset(m, 0, sizeof *m);
  m->name = scen_strdup(L, "rejected");
  m->expr = scen_strdup(L, "world.rejected");
  m->line = m->name_line = at->line;
  m->col = m->name_col = at->col;
}

static void scen_validate(scen_load *L, const ynode *root) {
  tr_scenario *sc = L->sc;
  scen_keys(L, root, scen_top_keys, NELEM(scen_top_keys), "at the top of the scenario");

  const ynode *n = ynode_get(root, "scenario");
  if (!n) {
    scen_err(L, root, "the scenario needs an id: 'scenario: NAME'");
  } else if ((sc->id = scen_text(L, n, "scenario"))) {
    if (!scen_is_name(sc->id, 1))
      scen_err(L, n, "invalid scenario id '%s': ids match [a-z][a-z0-9_-]*", sc->id);
  }
  if ((n = ynode_get(root, "title"))) sc->title = scen_text(L, n, "title");
  if ((n = ynode_get(root, "description"))) sc->description = scen_text(L, n, "description");
  if ((n = ynode_get(root, "helpers"))) {
    sc->helpers = scen_script(L, n, "helpers");
    sc->helpers_line = n->line;
    sc->helpers_col = n->col;
  }

  scen_experiment(L, ynode_get(root, "experiment"));
  scen_limits(L, ynode_get(root, "limits"));
  scen_model(L, ynode_get(root, "model"));
  scen_actors(L, ynode_get(root, "actors"));
  scen_index_actors(L);
  scen_kinds(L, ynode_get(root, "kinds"));
  scen_relations(L, ynode_get(root, "relations"));
  scen_layout(L);
  scen_actions(L, ynode_get(root, "actions"));
  if (L->lc) L->errors += L->lc->collect_params(sc, L->d);
  L->errors += params_check_actors(sc, L->d);

  if ((n = ynode_get(root, "default_outcome"))) {
    char *name = scen_text(L, n, "default_outcome");
    if (name && scen_check_name(L, n, name, "outcome name", NULL, 0, NULL) == 0) {
      free(sc->default_outcome);
      sc->default_outcome = name;
    } else {
      free(name);
    }
  }
  scen_exprs(L, ynode_get(root, "metrics"), 0, &sc->metrics, &sc->nmetrics);
  scen_rejected_metric(L);
  scen_exprs(L, ynode_get(root, "outcomes"), 1, &sc->outcomes, &sc->noutcomes);
  scen_events(L, ynode_get(root, "events"));
  scen_variants(L, ynode_get(root, "variants"));
  scen_sweep(L, ynode_get(root, "sweep"));
  scen_calibrate(L, ynode_get(root, "calibrate"));

  for (int i = 0; i < sc->nmetrics; i++) sc->metrics[i].by_name = check_metric_by_name(sc, i);
  /* events_count() reads the run's events, which are then kept */
  for (int i = 0; i < sc->nmetrics; i++)
    if (sc->metrics[i].expr && strstr(sc->metrics[i].expr, "events_count")) sc->counts_events = 1;
  for (int i = 0; i < sc->noutcomes; i++)
    if (sc->outcomes[i].expr && strstr(sc->outcomes[i].expr, "events_count")) sc->counts_events = 1;
  for (int i = 0; i < sc->nevents; i++)
    if (sc->events[i].when && strstr(sc->events[i].when, "events_count")) sc->counts_events = 1;
  for (int i = 0; i < sc->calib.nsummaries; i++)
    if (sc->calib.summaries[i].expr && strstr(sc->calib.summaries[i].expr, "events_count"))
      sc->counts_events = 1;
  /* calibration summaries are checked as metrics after every metric */
  tr_exprdecl *metrics = sc->metrics, *all = NULL;
  int nmetrics = sc->nmetrics, ns = sc->calib.nsummaries;
  if (ns && (all = calloc((size_t)(nmetrics + ns), sizeof *all))) {
    if (nmetrics) memcpy(all, metrics, (size_t)nmetrics * sizeof *all);
    memcpy(all + nmetrics, sc->calib.summaries, (size_t)ns * sizeof *all);
    sc->metrics = all;
    sc->nmetrics = nmetrics + ns;
  }
  L->errors += check_expressions(sc, L->d);
  sc->metrics = metrics;
  sc->nmetrics = nmetrics;
  free(all);

  if (!sc->title) sc->title = scen_strdup(L, sc->id ? sc->id : "");
  if (!sc->description) sc->description = scen_strdup(L, "");
}

/* SHA-256 of the scenario file (hex), for the manifest and --resume. */
static void scen_sha256(const char *path, char hex[65]) {
  struct sha256_ctx ctx;
  uint8_t digest[SHA256_DIGEST_SIZE];
  unsigned char chunk[65536];
  hex[0] = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return;
  sha256_init(&ctx);
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) sha256_update(&ctx, got, chunk);
  fclose(f);
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* The fingerprint of a composed scenario: SHA-256 over the hex SHA-256 of
** each of its files, in order; a scenario of one file keeps that file's. */
static void scen_files_sha256(const tr_scenario_files *f, char hex[65]) {
  if (f->n <= 1) {
    scen_sha256(f->paths[0], hex);
    return;
  }
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  for (int i = 0; i < f->n; i++) {
    char one[65];
    scen_sha256(f->paths[i], one);
    sha256_update(&ctx, 64, (const uint8_t *)one);
  }
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* The scenario of a YAML tree (freed here), named path, read from files
** (taken over, freed here on error). */
static tr_scenario *scen_from_tree(const tr_lua_checks *lc, ynode *root, const char *path,
                                   tr_scenario_files files, const char *sweep_file,
                                   const char *variants_file, char *const *sets, int nsets,
                                   tr_diag *d) {
  scen_load L = {NULL, d, path, 0, NULL, root, sets, nsets, lc};
  tr_scenario *sc = L.sc = calloc(1, sizeof *sc);
  if (!sc) {
    diag_error(d, path, 0, 0, "out of memory");
    ynode_free(root);
    compose_files_free(&files);
    return NULL;
  }
  sc->files = files;
  if (sweep_file) sc->sweep_file = scen_strdup(&L, sweep_file);
  if (variants_file) sc->variants_file = scen_strdup(&L, variants_file);
  sc->path = scen_strdup(&L, path);
  sc->dir = scen_dirname(path);
  if (!sc->dir) scen_err(&L, NULL, "out of memory");
  sc->tick_unit = scen_strdup(&L, "tick");
  sc->default_outcome = scen_strdup(&L, "horizon");
  sc->instr_limit = 0; /* counted only when declared */
  sc->cpu_ms = 1000;
  sc->memory_mb = 256;
  sc->sweep_method = SWEEP_NONE;
  for (int r = 0; r < ROLE_COUNT; r++) scen_role(&L, tr_role_names[r]);
  if (model_ndefaults > 0) {
    sc->model = malloc((size_t)model_ndefaults * sizeof *sc->model);
    if (!sc->model) scen_err(&L, NULL, "out of memory");
    else {
      memcpy(sc->model, model_defaults, (size_t)model_ndefaults * sizeof *sc->model);
      sc->nmodel = model_ndefaults;
    }
  }

  if (root->type == YN_SCALAR && ynode_scalar_kind(root) == YS_NULL)
    scen_err(&L, NULL, "empty scenario");
  else if (root->type != YN_MAP)
    scen_err(&L, root, "a scenario is a mapping of keys (scenario, actors, ...), not a %s",
             root->type == YN_SEQ ? "list" : "single value");
  else if (L.errors == 0) scen_validate(&L, root);

  ynode_free(root);
  free(L.by_id);
  if (L.errors) {
    if (lc) lc->syntax_check(sc, d); /* their errors too: all at once */
    tr_scenario_free(sc);
    return NULL;
  }
  check_warnings(sc, d);
  return sc;
}

tr_scenario *scenario_load_with(const tr_lua_checks *lc, const char *path, const char *sweep_file,
                                const char *variants_file, char *const *sets, int nsets,
                                tr_diag *d) {
  tr_scenario_files files = {NULL, 0};
  ynode *root = compose_scenario(path, sweep_file, variants_file, &files, d);
  if (!root) {
    compose_files_free(&files);
    return NULL;
  }
  tr_scenario *sc =
      scen_from_tree(lc, root, path, files, sweep_file, variants_file, sets, nsets, d);
  if (sc) scen_files_sha256(&sc->files, sc->sha256);
  return sc;
}

tr_scenario *scenario_load_text(const tr_lua_checks *lc, const char *text, size_t len,
                                const char *name, tr_diag *d) {
  if (!name) name = "<string>";
  if (len > TR_MAX_FILE_BYTES) {
    diag_error(d, name, 0, 0, "the scenario is larger than 16 MiB");
    return NULL;
  }
  ynode *root = ynode_load_string(text, len, name, d);
  if (!root) return NULL;
  tr_scenario_files none = {NULL, 0};
  tr_scenario *sc = scen_from_tree(lc, root, name, none, NULL, NULL, NULL, 0, d);
  if (sc) {
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)text);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(sc->sha256 + 2 * i, 3, "%02x", digest[i]);
  }
  return sc;
}
