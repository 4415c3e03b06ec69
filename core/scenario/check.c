/*
** check.c — static checks of the names inside expressions (metrics,
** outcomes, event `when`), so that `check` refuses what would otherwise fail
** at run time or at the tick an event first fires (docs/scenario-format.md,
** "Mistakes check finds").
**
** An expression is read with a small Lua tokenizer (no state, nothing runs):
** every free name it reads must be an actor id, a name the expression
** environment binds, or a metric defined earlier (metrics) / any metric
** (outcomes, `when`). Chains the checker can follow statically are followed:
** ACTOR.ATTR, ACTOR.params.KEY, rel('A','B').ATTR, world:METHOD('ID'),
** math.FN, and the aggregates over world:actors('ROLE'),
** world:outgoing('ID'), world:incoming('ID') or {A, B, ...} with a quoted
** attribute (present on at least one member suffices). Anything computed is
** left to run time. Errors point at the name inside the YAML line.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "base/diag.h"
#include "scenario/modeldecl.h"
#include "scenario/scenario.h"
#include "scenario/networks.h"

enum { T_EOF, T_NAME, T_STR, T_NUM, T_OP };

typedef struct ctok {
  int type;
  const char *s; /* T_NAME, T_OP, T_NUM: in the source; T_STR: its content */
  int len;
  int off;   /* byte offset in the expression */
  int plain; /* T_STR: content has no escapes (s/len is exact) */
} ctok;

typedef struct cexpr {
  const tr_scenario *sc;
  tr_diag *d;
  const char *file;
  char **lines;
  int nlines;       /* the scenario file, to place names */
  const char *what; /* "metric 'x'" */
  const char *expr;
  int line, col, quoted; /* where the expression's value starts */
  int visible;           /* metrics 0..visible-1 are readable */
  int self;              /* metric index of this expression, or -1 */
  ctok *t;
  int n;
  char **bound;
  int nbound;  /* locals of function literals */
  int *fplace; /* per (metric, metric): line, col of a forward read */
  int errors;
} cexpr;

static const char *const check_keywords[] = {
    "and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while"};
/* What the expression environment binds besides actor ids and metrics
** (luaapi.c, build_state). */
static const char *const check_env[] = {
    "world", "tick",   "ticks", "rel",  "sum",      "mean",     "min",         "max",
    "count", "math",   "gini",  "sd",   "var",      "median",   "quantile",    "ipairs",
    "pairs", "select", "table", "type", "tostring", "tonumber", "events_count"};
static const char *const check_world[] = {"tick",     "ticks",    "run",      "actor", "actors",
                                          "rel",      "outgoing", "incoming", "has",   "others",
                                          "rejected", "sum",      "mean"};
static const char *const check_math[] = {"abs",  "ceil",       "floor", "fmod",       "huge", "log",
                                         "max",  "maxinteger", "min",   "mininteger", "modf", "pi",
                                         "sqrt", "exp",        "ult",   "tointeger",  "type", "sin",
                                         "cos",  "tan",        "asin",  "acos",       "atan"};
static const char *const check_actor_fields[] = {"id", "role", "name", "params"};
static const char *const check_rel_fields[] = {"from", "to", "kind"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int in_list(const char *s, int len, const char *const *list, int n) {
  for (int i = 0; i < n; i++)
    if ((int)strlen(list[i]) == len && strncmp(s, list[i], (size_t)len) == 0) return 1;
  return 0;
}

/* ------------------------------------------------------------ tokenizer */

/* Length of a long bracket opening at s ("[[" or "[=*["), its level in
** *level; 0 when s opens none. */
static int long_open(const char *s, int *level) {
  if (s[0] != '[') return 0;
  int i = 1;
  while (s[i] == '=') i++;
  if (s[i] != '[') return 0;
  *level = i - 1;
  return i + 1;
}

static const char *long_close(const char *s, int level) {
  for (; *s; s++) {
    if (*s != ']') continue;
    int i = 1;
    while (i <= level && s[i] == '=') i++;
    if (i == level + 1 && s[i] == ']') return s;
  }
  return NULL;
}

/* Splits x's Lua expression into tokens (names, numbers, strings, operators), skipping comments;
** 0, or -1 when out of memory. Long: one lexer loop with a branch per token class; each branch
** is a few lines, and splitting it would scatter the lexer. */
static int tokenize(cexpr *x) {
  const char *src = x->expr, *p = src;
  int cap = 16;
  x->t = malloc((size_t)cap * sizeof *x->t);
  if (!x->t) return -1;
  for (;;) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (x->n + 1 >= cap) {
      cap *= 2;
      ctok *nt = realloc(x->t, (size_t)cap * sizeof *nt);
      if (!nt) return -1;
      x->t = nt;
    }
    ctok *k = &x->t[x->n];
    memset(k, 0, sizeof *k);
    k->off = (int)(p - src);
    k->s = p;
    if (!*p) {
      k->type = T_EOF;
      return 0;
    }
    int level;
    if (p[0] == '-' && p[1] == '-') { /* comment */
      int ol = long_open(p + 2, &level);
      if (ol) {
        const char *e = long_close(p + 2 + ol, level);
        p = e ? e + level + 2 : p + strlen(p);
      } else {
        while (*p && *p != '\n') p++;
      }
      continue;
    }
    if (isalpha((unsigned char)*p) || *p == '_') {
      while (isalnum((unsigned char)*p) || *p == '_') p++;
      k->type = T_NAME;
    } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
      while (isalnum((unsigned char)*p) || *p == '.' || *p == '_'
             || ((*p == '+' || *p == '-') && strchr("eEpP", p[-1])))
        p++;
      k->type = T_NUM;
    } else if (*p == '"' || *p == '\'') {
      char q = *p++;
      k->s = p;
      k->plain = 1;
      while (*p && *p != q && *p != '\n') {
        if (*p == '\\') {
          k->plain = 0;
          if (p[1]) p++;
        }
        p++;
      }
      k->type = T_STR;
      k->len = (int)(p - k->s);
      if (*p == q) p++;
      x->n++;
      continue;
    } else if (long_open(p, &level)) {
      int ol = long_open(p, &level);
      const char *e = long_close(p + ol, level);
      k->type = T_STR;
      k->s = p + ol;
      k->len = e ? (int)(e - k->s) : (int)strlen(k->s);
      k->plain = 1;
      p = e ? e + level + 2 : p + strlen(p);
      x->n++;
      continue;
    } else {
      static const char *const ops[] = {
          "...", "..", "==", "~=", "<=", ">=", "//", "::", "<<", ">>"};
      int l = 1;
      for (int i = 0; i < NELEM(ops); i++)
        if (strncmp(p, ops[i], strlen(ops[i])) == 0) {
          l = (int)strlen(ops[i]);
          break;
        }
      p += l;
      k->type = T_OP;
    }
    k->len = (int)(p - k->s);
    x->n++;
  }
}

static int is_op(const cexpr *x, int i, const char *op) {
  return i >= 0 && i < x->n && x->t[i].type == T_OP && x->t[i].len == (int)strlen(op)
      && strncmp(x->t[i].s, op, strlen(op)) == 0;
}

static int is_name(const cexpr *x, int i, const char *name) {
  return i >= 0 && i < x->n && x->t[i].type == T_NAME && x->t[i].len == (int)strlen(name)
      && strncmp(x->t[i].s, name, strlen(name)) == 0;
}

/* A token's text as a NUL-terminated string (into buf). */
static const char *tok_text(const ctok *k, char *buf, size_t size) {
  int l = k->len < (int)size - 1 ? k->len : (int)size - 1;
  memcpy(buf, k->s, (size_t)l);
  buf[l] = '\0';
  return buf;
}

/* ---------------------------------------------------------------- places */

/* Column of token k in the YAML file: the value's column plus the offset,
** when the file shows the token's text there (a single-line scalar);
** otherwise the start of the value. */
static char **read_lines(const char *path, int *n);

static void tok_place(const cexpr *x, const ctok *k, int *line, int *col) {
  *line = x->line;
  *col = x->col;
  int c = x->col + (x->quoted ? 1 : 0) + k->off;
  /* an expression of a base scenario (extends): its own file's line */
  char *other = diag_source_file(x->line);
  char **olines = NULL;
  int on = 0, ln = diag_source_plain(x->line);
  if (other) olines = read_lines(other, &on);
  free(other);
  const char *l = olines ? (ln >= 1 && ln <= on ? olines[ln - 1] : NULL)
                         : (x->line >= 1 && x->line <= x->nlines ? x->lines[x->line - 1] : NULL);
  if (l) {
    int start = c - 1 + (k->type == T_STR ? 1 : 0); /* a string: after its quote */
    if (start >= 0 && (size_t)start < strlen(l) && strncmp(l + start, k->s, (size_t)k->len) == 0)
      *col = start + 1;
  }
  for (int i = 0; i < on; i++) free(olines[i]);
  free(olines);
}

static void cerr(cexpr *x, const ctok *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cerr(cexpr *x, const ctok *k, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int line, col;
  tok_place(x, k, &line, &col);
  diag_error(x->d, x->file, line, col, "%s: %s", x->what, msg);
  x->errors++;
}

/* " (did you mean 'X'?)" or "". */
static const char *dym(char *buf, size_t size, const char *word, const char *const *names, int n) {
  buf[0] = '\0';
  diag_did_you_mean(buf, size, word, names, n);
  return buf;
}

/* ------------------------------------------------------------- checking */

static int actor_has(const tr_actordecl *a, const char *name) {
  for (int i = 0; i < a->nattrs; i++)
    if (strcmp(a->attrs[i].name, name) == 0) return 1;
  return 0;
}

static int attrs_have(const tr_attrdecl *attrs, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(attrs[i].name, name) == 0) return 1;
  return 0;
}

/* Actor index of a quoted id at token i (-1 with an error when unknown,
** -2 when the token is not a plain string). */
static int actor_arg(cexpr *x, int i) {
  if (i >= x->n || x->t[i].type != T_STR || !x->t[i].plain) return -2;
  char id[256];
  tok_text(&x->t[i], id, sizeof id);
  int a = scen_actor_find(x->sc, id);
  if (a >= 0) return a;
  const char **ids = malloc((size_t)(x->sc->nactors + 1) * sizeof *ids);
  char s[300] = "";
  if (ids) {
    for (int j = 0; j < x->sc->nactors; j++) ids[j] = x->sc->actors[j].id;
    dym(s, sizeof s, id, ids, x->sc->nactors);
    free(ids);
  }
  cerr(x, &x->t[i], "unknown actor '%s'%s", id, s);
  return -1;
}

/* The field read at t[i] ('.' NAME) of an actor. */
static void actor_field(cexpr *x, int a, int i) {
  if (!is_op(x, i, ".") || i + 1 >= x->n || x->t[i + 1].type != T_NAME) return;
  const tr_actordecl *ad = &x->sc->actors[a];
  char f[256];
  tok_text(&x->t[i + 1], f, sizeof f);
  if (actor_has(ad, f)) return;
  if (strcmp(f, "params") == 0) {
    if (!is_op(x, i + 2, ".") || i + 3 >= x->n || x->t[i + 3].type != T_NAME) return;
    char key[256];
    tok_text(&x->t[i + 3], key, sizeof key);
    int n = 0;
    const char *names[512];
    if (ad->params.type == TV_MAP)
      for (int j = 0; j < ad->params.n && n < 512; j++) names[n++] = ad->params.keys[j];
    const tr_scriptdecl *sd = params_script(x->sc, ad->policy); /* declared defaults */
    for (int j = 0; sd && j < sd->nparams && n < 512; j++) names[n++] = sd->params[j].name;
    for (int j = 0; j < n; j++)
      if (strcmp(names[j], key) == 0) return;
    char sug[300];
    cerr(x, &x->t[i + 3], "actor '%s' has no parameter '%s'%s", ad->id, key,
         dym(sug, sizeof sug, key, names, n));
    return;
  }
  if (in_list(f, (int)strlen(f), check_actor_fields, NELEM(check_actor_fields))) return;
  const char *names[ad->nattrs + NELEM(check_actor_fields) + 1];
  int n = 0;
  for (int j = 0; j < ad->nattrs; j++) names[n++] = ad->attrs[j].name;
  for (int j = 0; j < NELEM(check_actor_fields); j++) names[n++] = check_actor_fields[j];
  char sug[300];
  cerr(x, &x->t[i + 1], "actor '%s' has no attribute '%s'%s", ad->id, f,
       dym(sug, sizeof sug, f, names, n));
}

/* rel('A', 'B') or world:rel('A', 'B') with its '(' at t[i]; then a field
** read after ')'. */
static void rel_call(cexpr *x, int i) {
  if (!is_op(x, i, "(") || !is_op(x, i + 2, ",") || !is_op(x, i + 4, ")")) return;
  int from = actor_arg(x, i + 1), to = actor_arg(x, i + 3);
  if (from < 0 || to < 0) return;
  int j = i + 5;
  if (!is_op(x, j, ".") || j + 1 >= x->n || x->t[j + 1].type != T_NAME) return;
  const tr_scenario *sc = x->sc;
  int r = scen_rel_find(sc, from, to);
  int q = r < 0 ? scen_netrule_find(sc, from, to) : -1; /* in some runs' networks */
  char f[256];
  tok_text(&x->t[j + 1], f, sizeof f);
  if (r < 0 && q < 0) {
    cerr(x, &x->t[i + 1], "no relation %s -> %s (reading '%s' of it fails at run time)",
         sc->actors[from].id, sc->actors[to].id, f);
    return;
  }
  const tr_attrdecl *attrs = r >= 0 ? sc->rels[r].attrs : sc->netrules[q].attrs;
  int na = r >= 0 ? sc->rels[r].nattrs : sc->netrules[q].nattrs;
  if (attrs_have(attrs, na, f)
      || in_list(f, (int)strlen(f), check_rel_fields, NELEM(check_rel_fields)))
    return;
  const char *names[na + NELEM(check_rel_fields) + 1];
  int n = 0;
  for (int k = 0; k < na; k++) names[n++] = attrs[k].name;
  for (int k = 0; k < NELEM(check_rel_fields); k++) names[n++] = check_rel_fields[k];
  char sug[300];
  cerr(x, &x->t[j + 1], "relation %s -> %s has no attribute '%s'%s", sc->actors[from].id,
       sc->actors[to].id, f, dym(sug, sizeof sug, f, names, n));
}

/* Index of a role name (built-in or the scenario's own), or -1. */
static int role_index(const tr_scenario *sc, const char *r) {
  if (sc->nroles > 0) {
    for (int k = 0; k < sc->nroles; k++)
      if (sc->roles[k] && strcmp(r, sc->roles[k]) == 0) return k;
    return -1;
  }
  for (int k = 0; k < ROLE_COUNT; k++)
    if (strcmp(r, tr_role_names[k]) == 0) return k;
  return -1;
}

/* world.NAME or world:NAME(...) at t[i] (the '.' or ':'). */
static void world_use(cexpr *x, int i) {
  if (!(is_op(x, i, ".") || is_op(x, i, ":")) || i + 1 >= x->n || x->t[i + 1].type != T_NAME)
    return;
  char m[256];
  tok_text(&x->t[i + 1], m, sizeof m);
  if (!in_list(m, (int)strlen(m), check_world, NELEM(check_world))) {
    char sug[300];
    if (strcmp(m, "end_run") == 0 || strcmp(m, "set") == 0 || strcmp(m, "add") == 0
        || strcmp(m, "transfer") == 0 || strcmp(m, "nudge") == 0)
      cerr(x, &x->t[i + 1], "world:%s cannot be called from an expression (expressions only read)",
           m);
    else
      cerr(x, &x->t[i + 1], "world has no field '%s'%s", m,
           dym(sug, sizeof sug, m, check_world, NELEM(check_world)));
    return;
  }
  int j = i + 2;
  if (!is_op(x, j, "(")) return;
  if (strcmp(m, "rel") == 0) {
    rel_call(x, j);
    return;
  }
  if (strcmp(m, "actor") == 0 || strcmp(m, "outgoing") == 0 || strcmp(m, "incoming") == 0) {
    if (!is_op(x, j + 2, ")")) return;
    int a = actor_arg(x, j + 1);
    if (a >= 0 && strcmp(m, "actor") == 0) actor_field(x, a, j + 3);
    return;
  }
  if (strcmp(m, "actors") == 0 && is_op(x, j + 2, ")") && x->t[j + 1].type == T_STR
      && x->t[j + 1].plain) {
    char r[64];
    tok_text(&x->t[j + 1], r, sizeof r);
    const tr_scenario *sc = x->sc;
    if (role_index(sc, r) >= 0) return;
    char sug[300];
    cerr(x, &x->t[j + 1], "unknown role '%s'%s: no actor of the scenario has it", r,
         dym(sug, sizeof sug, r, (const char *const *)sc->roles, sc->nroles));
  }
}

/* The members of a list expression t[b..e) the checker can name: actors
** (mask over actors) or relations (mask over the fixed relations, and over
** the random rules whose relations it may hold in a run). 0 when unknown. */
enum { LIST_NONE, LIST_ACTORS, LIST_RELS };

static int list_members(cexpr *x, int b, int e, unsigned char *amask, unsigned char *rmask,
                        unsigned char *qmask, char *label, size_t lsize) {
  const tr_scenario *sc = x->sc;
  snprintf(label, lsize, "%.*s",
           x->t[e - 1].off + x->t[e - 1].len - x->t[b].off + (x->t[e - 1].type == T_STR ? 1 : 0),
           x->expr + x->t[b].off);
  if (e - b >= 5 && is_name(x, b, "world") && is_op(x, b + 1, ":") && is_op(x, b + 3, "(")
      && is_op(x, e - 1, ")")) {
    char m[32];
    tok_text(&x->t[b + 2], m, sizeof m);
    if (strcmp(m, "actors") == 0) {
      int role = -1;
      if (e - b == 6) {
        if (x->t[b + 4].type != T_STR) return LIST_NONE;
        char r[64];
        tok_text(&x->t[b + 4], r, sizeof r);
        if ((role = role_index(sc, r)) < 0) return LIST_NONE;
      } else if (e - b != 5) {
        return LIST_NONE;
      }
      for (int a = 0; a < sc->nactors; a++) amask[a] = role < 0 || sc->actors[a].role == role;
      return LIST_ACTORS;
    }
    if ((strcmp(m, "outgoing") == 0 || strcmp(m, "incoming") == 0) && e - b == 6
        && x->t[b + 4].type == T_STR && x->t[b + 4].plain) {
      char id[256];
      tok_text(&x->t[b + 4], id, sizeof id);
      int a = scen_actor_find(sc, id);
      if (a < 0) return LIST_NONE;
      int out = m[0] == 'o';
      for (int r = 0; r < sc->nrels; r++) rmask[r] = (out ? sc->rels[r].from : sc->rels[r].to) == a;
      for (int q = 0; q < sc->nnetrules; q++) {
        const tr_netrule *nr = &sc->netrules[q];
        int f = out || nr->same ? nr->f0 : nr->t0, n = out || nr->same ? nr->nf : nr->nt;
        qmask[q] = a >= f && a < f + n;
      }
      return LIST_RELS;
    }
    return LIST_NONE;
  }
  if (is_op(x, b, "{") && is_op(x, e - 1, "}")) {
    for (int i = b + 1; i < e - 1; i++) {
      if (i % 2 == (b + 1) % 2) {
        if (x->t[i].type != T_NAME) return LIST_NONE;
        char id[256];
        tok_text(&x->t[i], id, sizeof id);
        int a = scen_actor_find(sc, id);
        if (a < 0) return LIST_NONE;
        amask[a] = 1;
      } else if (!is_op(x, i, ",")) {
        return LIST_NONE;
      }
    }
    return e - b > 2 ? LIST_ACTORS : LIST_NONE;
  }
  return LIST_NONE;
}

/* sum/mean/min/max(LIST, 'attr') with its '(' at t[i]. */
static void aggregate_call(cexpr *x, int i, const char *fn) {
  int depth = 0, comma = -1, close = -1;
  for (int j = i; j < x->n; j++) {
    if (is_op(x, j, "(") || is_op(x, j, "{") || is_op(x, j, "[")) depth++;
    else if (is_op(x, j, ")") || is_op(x, j, "}") || is_op(x, j, "]")) {
      if (--depth == 0) {
        close = j;
        break;
      }
    } else if (depth == 1 && is_op(x, j, ",") && comma < 0) comma = j;
  }
  if (comma < 0 || close != comma + 2 || x->t[comma + 1].type != T_STR || !x->t[comma + 1].plain
      || comma == i + 1)
    return;
  const tr_scenario *sc = x->sc;
  unsigned char *amask = calloc((size_t)sc->nactors + 1, 1);
  unsigned char *rmask = calloc((size_t)sc->nrels + 1, 1);
  unsigned char *qmask = calloc((size_t)sc->nnetrules + 1, 1);
  char label[256];
  int kind = amask && rmask && qmask
      ? list_members(x, i + 1, comma, amask, rmask, qmask, label, sizeof label)
      : LIST_NONE;
  if (kind != LIST_NONE) {
    char attr[256];
    tok_text(&x->t[comma + 1], attr, sizeof attr);
    int found = 0, members = 0, n = 0;
    int cap = 1;
    for (int a = 0; kind == LIST_ACTORS && a < sc->nactors; a++)
      if (amask[a]) cap += sc->actors[a].nattrs;
    for (int r = 0; kind == LIST_RELS && r < sc->nrels; r++)
      if (rmask[r]) cap += sc->rels[r].nattrs;
    for (int q = 0; kind == LIST_RELS && q < sc->nnetrules; q++)
      if (qmask[q]) cap += sc->netrules[q].nattrs;
    const char **names = malloc((size_t)cap * sizeof *names);
    for (int a = 0; kind == LIST_ACTORS && a < sc->nactors; a++) {
      if (!amask[a]) continue;
      members++;
      if (actor_has(&sc->actors[a], attr)) found = 1;
      for (int k = 0; names && k < sc->actors[a].nattrs; k++)
        names[n++] = sc->actors[a].attrs[k].name;
    }
    for (int r = 0; kind == LIST_RELS && r < sc->nrels; r++) {
      if (!rmask[r]) continue;
      members++;
      if (attrs_have(sc->rels[r].attrs, sc->rels[r].nattrs, attr)) found = 1;
      for (int k = 0; names && k < sc->rels[r].nattrs; k++) names[n++] = sc->rels[r].attrs[k].name;
    }
    for (int q = 0; kind == LIST_RELS && q < sc->nnetrules; q++) {
      const tr_netrule *nr = &sc->netrules[q];
      if (!qmask[q]) continue;
      members++;
      if (attrs_have(nr->attrs, nr->nattrs, attr)) found = 1;
      for (int k = 0; names && k < nr->nattrs; k++) names[n++] = nr->attrs[k].name;
    }
    if (members > 0 && !found) {
      char sug[300];
      cerr(x, &x->t[comma + 1], "%s: no %s of %s has an attribute '%s'%s", fn,
           kind == LIST_ACTORS ? "actor" : "relation", label, attr,
           dym(sug, sizeof sug, attr, names, names ? n : 0));
    }
    free(names);
  }
  free(amask);
  free(rmask);
  free(qmask);
}

static int metric_index(const tr_scenario *sc, const char *name) {
  for (int i = 0; i < sc->nmetrics; i++)
    if (sc->metrics[i].name && strcmp(sc->metrics[i].name, name) == 0
        && check_metric_by_name(sc, i))
      return i;
  return -1;
}

/* Metric m reads metric target, directly or through others (m -> ... -> target). */
static int metric_reads(const tr_scenario *sc, const unsigned char *reads, int m, int target,
                        unsigned char *seen) {
  if (seen[m]) return 0;
  seen[m] = 1;
  for (int j = 0; j < sc->nmetrics; j++)
    if (reads[(size_t)m * (size_t)sc->nmetrics + (size_t)j]
        && (j == target || metric_reads(sc, reads, j, target, seen)))
      return 1;
  return 0;
}

/* Locals of function literals: names after `local`, `for` and in a
** `function (...)` parameter list (scoping ignored: a name bound anywhere in
** the expression is not checked anywhere in it). */
static void collect_locals(cexpr *x) {
  x->bound = calloc((size_t)x->n + 1, sizeof *x->bound);
  if (!x->bound) return;
  for (int i = 0; i < x->n; i++) {
    int j = -1;
    if (is_name(x, i, "local") || is_name(x, i, "for")) j = i + 1;
    else if (is_name(x, i, "function") && is_op(x, i + 1, "(")) j = i + 2;
    if (is_name(x, j, "function")) j++;
    for (; j >= 0 && j < x->n; j++) {
      if (x->t[j].type == T_NAME) {
        char buf[256];
        if (!(x->bound[x->nbound] = strdup(tok_text(&x->t[j], buf, sizeof buf)))) return;
        x->nbound++;
      } else if (!is_op(x, j, ",")) {
        break;
      }
    }
  }
}

static int is_bound(const cexpr *x, const char *name) {
  for (int i = 0; i < x->nbound; i++)
    if (strcmp(x->bound[i], name) == 0) return 1;
  return 0;
}

/* Walks the tokens; reads[] (metrics x metrics) records which metrics the
** expression of metric x->self reads.
** Long: one pass over the tokens with a branch per kind of name (actor, rel, world, math,
** aggregate, metric, ...); each branch is a few lines, and splitting it would scatter the table
** of names. */
static void check_tokens(cexpr *x, unsigned char *reads) {
  const tr_scenario *sc = x->sc;
  for (int i = 0; i < x->n; i++) {
    const ctok *k = &x->t[i];
    if (k->type != T_NAME) continue;
    if (is_op(x, i - 1, ".") || is_op(x, i - 1, ":") || is_op(x, i - 1, "::")
        || is_name(x, i - 1, "goto"))
      continue;
    if (in_list(k->s, k->len, check_keywords, NELEM(check_keywords))) continue;
    /* a key of a table constructor: {name = value} */
    if (is_op(x, i + 1, "=")
        && (is_op(x, i - 1, "{") || is_op(x, i - 1, ",") || is_op(x, i - 1, ";")))
      continue;
    char name[256];
    tok_text(k, name, sizeof name);
    if (is_bound(x, name)) continue;
    int a = scen_actor_find(sc, name);
    if (a >= 0) {
      actor_field(x, a, i + 1);
      continue;
    }
    if (strcmp(name, "rel") == 0) {
      rel_call(x, i + 1);
      continue;
    }
    if (strcmp(name, "world") == 0) {
      world_use(x, i + 1);
      continue;
    }
    if (strcmp(name, "math") == 0) {
      if (is_op(x, i + 1, ".") && i + 2 < x->n && x->t[i + 2].type == T_NAME) {
        char f[256], sug[300];
        tok_text(&x->t[i + 2], f, sizeof f);
        if (strcmp(f, "random") == 0 || strcmp(f, "randomseed") == 0)
          cerr(x, &x->t[i + 2],
               "math.%s is not available in expressions: metrics, outcomes and "
               "`when` read the world and draw nothing (draw in a policy or event)",
               f);
        else if (!in_list(f, (int)strlen(f), check_math, NELEM(check_math)))
          cerr(x, &x->t[i + 2], "math has no function '%s'%s", f,
               dym(sug, sizeof sug, f, check_math, NELEM(check_math)));
      }
      continue;
    }
    if (strcmp(name, "sum") == 0 || strcmp(name, "mean") == 0 || strcmp(name, "min") == 0
        || strcmp(name, "max") == 0 || strcmp(name, "gini") == 0 || strcmp(name, "sd") == 0
        || strcmp(name, "var") == 0 || strcmp(name, "median") == 0) {
      if (is_op(x, i + 1, "(")) aggregate_call(x, i + 1, name);
      continue;
    }
    if (in_list(name, (int)strlen(name), check_env, NELEM(check_env))) continue;
    int m = metric_index(sc, name);
    if (m >= 0) {
      if (x->self >= 0 && reads) reads[(size_t)x->self * (size_t)sc->nmetrics + (size_t)m] = 1;
      if (m < x->visible) continue;
      if (m == x->self)
        cerr(x, k, "metric '%s' reads itself: a metric sees only the metrics above it", name);
      else if (x->self >= 0 && x->fplace) {
        /* reported after the walk, which tells a cycle from a forward read */
        int *pl = &x->fplace[2 * ((size_t)x->self * (size_t)sc->nmetrics + (size_t)m)];
        if (pl[0] == 0) tok_place(x, k, &pl[0], &pl[1]);
      }
      continue;
    }
    /* a helpers file may define any name: left to run time */
    if (sc->helpers) continue;
    /* unknown: suggest among everything the expression could have meant */
    int cap = sc->nactors + sc->nmetrics + NELEM(check_env) + 1, n = 0;
    const char **names = malloc((size_t)cap * sizeof *names);
    if (names) {
      for (int j = 0; j < NELEM(check_env); j++) names[n++] = check_env[j];
      for (int j = 0; j < sc->nactors; j++) names[n++] = sc->actors[j].id;
      for (int j = 0; j < x->visible; j++) names[n++] = sc->metrics[j].name;
    }
    char sug[300];
    const char *what = is_op(x, i + 1, "(") ? "function" : "name";
    int o = -1;
    for (int j = 0; j < sc->noutcomes; j++)
      if (sc->outcomes[j].name && strcmp(sc->outcomes[j].name, name) == 0) o = j;
    if (o >= 0)
      cerr(x, k,
           "'%s' is an outcome, not a value: expressions read actors, relations and "
           "metrics",
           name);
    else cerr(x, k, "unknown %s '%s'%s", what, name, dym(sug, sizeof sug, name, names, n));
    free(names);
  }
}

/* Compiles "return EXPR" in a bare state: a syntax error is left to the
** compile step, which reports it. */
static int compiles(lua_State *L, const char *expr) {
  if (!L) return 1;
  size_t n = strlen(expr) + 8;
  char *src = malloc(n);
  if (!src) return 0;
  snprintf(src, n, "return %s", expr);
  int ok = luaL_loadbufferx(L, src, strlen(src), "=expr", "t") == LUA_OK;
  lua_pop(L, 1);
  free(src);
  return ok;
}

static char **read_lines(const char *path, int *n) {
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char **lines = NULL;
  int cap = 0;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t got;
  while ((got = getline(&line, &lcap, f)) >= 0) {
    if (got > 0 && line[got - 1] == '\n') line[--got] = '\0';
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nl = realloc(lines, (size_t)cap * sizeof *nl);
      if (!nl) break;
      lines = nl;
    }
    if (!(lines[*n] = strdup(line))) break;
    (*n)++;
  }
  free(line);
  fclose(f);
  return lines;
}

static void check_one(cexpr *base, lua_State *L, const char *what, const char *expr, int line,
                      int col, int quoted, int visible, int self, unsigned char *reads) {
  if (!expr || !compiles(L, expr)) return;
  cexpr x = *base;
  x.what = what;
  x.expr = expr;
  x.line = line;
  x.col = col;
  x.quoted = quoted;
  x.visible = visible;
  x.self = self;
  x.t = NULL;
  x.n = 0;
  x.bound = NULL;
  x.nbound = 0;
  x.errors = 0;
  if (tokenize(&x) == 0) {
    collect_locals(&x);
    check_tokens(&x, reads);
  }
  base->errors += x.errors;
  for (int i = 0; i < x.nbound; i++) free(x.bound[i]);
  free(x.bound);
  free(x.t);
}

int check_metric_by_name(const tr_scenario *sc, int i) {
  const char *name = sc->metrics[i].name;
  return name && !in_list(name, (int)strlen(name), check_env, NELEM(check_env))
      && scen_actor_find(sc, name) < 0;
}

int check_expressions(const tr_scenario *sc, tr_diag *d) {
  cexpr base;
  memset(&base, 0, sizeof base);
  base.sc = sc;
  base.d = d;
  base.file = sc->path;
  base.lines = read_lines(sc->path, &base.nlines);
  lua_State *L = luaL_newstate();
  char what[300];
  int nm = sc->nmetrics;
  unsigned char *reads = nm ? calloc((size_t)nm * (size_t)nm, 1) : NULL;
  base.fplace = nm ? calloc((size_t)nm * (size_t)nm * 2, sizeof *base.fplace) : NULL;
  for (int i = 0; i < nm; i++) {
    const tr_exprdecl *m = &sc->metrics[i];
    if (!m->name) continue;
    snprintf(what, sizeof what, "%s '%s'", m->summary ? "summary" : "metric", m->name);
    check_one(&base, L, what, m->expr, m->line, m->col, m->quoted, i, i, reads);
  }
  /* Forward references and cycles among metrics (file order). */
  unsigned char *seen = nm ? calloc((size_t)nm, 1) : NULL;
  for (int i = 0; reads && seen && base.fplace && i < nm; i++)
    for (int j = i + 1; j < nm; j++) {
      if (!reads[(size_t)i * (size_t)nm + (size_t)j]) continue;
      memset(seen, 0, (size_t)nm);
      const tr_exprdecl *m = &sc->metrics[i];
      const int *pl = &base.fplace[2 * ((size_t)i * (size_t)nm + (size_t)j)];
      if (metric_reads(sc, reads, j, i, seen))
        diag_error(d, sc->path, pl[0], pl[1],
                   "metric '%s' reads metric '%s', which reads '%s' in turn: a cycle (a metric "
                   "sees only the metrics above it)",
                   m->name, sc->metrics[j].name, m->name);
      else
        diag_error(d, sc->path, pl[0], pl[1],
                   "metric '%s' reads metric '%s', which is defined below it (line %d): a metric "
                   "sees only the metrics above it; move '%s' up",
                   m->name, sc->metrics[j].name, sc->metrics[j].name_line, sc->metrics[j].name);
      base.errors++;
    }
  free(seen);
  free(reads);
  free(base.fplace);
  for (int i = 0; i < sc->noutcomes; i++) {
    const tr_exprdecl *o = &sc->outcomes[i];
    if (!o->name) continue;
    snprintf(what, sizeof what, "outcome '%s'", o->name);
    check_one(&base, L, what, o->expr, o->line, o->col, o->quoted, nm, -1, NULL);
  }
  for (int i = 0; i < sc->nevents; i++) {
    const tr_eventdecl *e = &sc->events[i];
    if (!e->when || !e->name) continue;
    snprintf(what, sizeof what, "event '%s' when", e->name);
    check_one(&base, L, what, e->when, e->when_line, e->when_col, e->when_quoted, nm, -1, NULL);
  }
  if (L) lua_close(L);
  for (int i = 0; i < base.nlines; i++) free(base.lines[i]);
  free(base.lines);
  return base.errors;
}

/* ------------------------------------------------------------- warnings */

/* The words of every script, snippet and expression: names and plain
** strings (read), and the names assigned as FIELD = (written). A declare{}
** call is skipped: declaring a parameter is not reading it. */
typedef struct wordset {
  char **w;
  int n, cap;
} wordset;

static int ws_has(const wordset *s, const char *w, int len) {
  for (int i = 0; i < s->n; i++)
    if ((int)strlen(s->w[i]) == len && strncmp(s->w[i], w, (size_t)len) == 0) return 1;
  return 0;
}

static void ws_add(wordset *s, const char *w, int len) {
  if (len <= 0 || len > 200 || ws_has(s, w, len)) return;
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 256;
    char **nw = realloc(s->w, (size_t)cap * sizeof *nw);
    if (!nw) return;
    s->w = nw;
    s->cap = cap;
  }
  if ((s->w[s->n] = strndup(w, (size_t)len))) s->n++;
}

static void ws_free(wordset *s) {
  for (int i = 0; i < s->n; i++) free(s->w[i]);
  free(s->w);
}

/* Adds the words of Lua source src to read (and assignment targets to
** written). Strings are split at '.' and ':' so "a.x" and "a:b.t" count. */
static void scan_words(const char *src, wordset *read, wordset *written) {
  cexpr x;
  memset(&x, 0, sizeof x);
  x.expr = src;
  if (tokenize(&x) == 0) {
    for (int i = 0; i < x.n; i++) {
      const ctok *k = &x.t[i];
      if (is_name(&x, i, "declare") && (is_op(&x, i + 1, "{") || is_op(&x, i + 1, "("))) {
        int depth = 0;
        for (i = i + 1; i < x.n; i++) {
          if (is_op(&x, i, "{") || is_op(&x, i, "(")) depth++;
          else if ((is_op(&x, i, "}") || is_op(&x, i, ")")) && --depth == 0) break;
        }
        continue;
      }
      if (k->type == T_NAME) {
        ws_add(read, k->s, k->len);
        if (written && is_op(&x, i + 1, "=") && (is_op(&x, i - 1, ".") || is_op(&x, i - 2, "[")))
          ws_add(written, k->s, k->len);
      } else if (k->type == T_STR && k->plain) {
        const char *p = k->s, *end = k->s + k->len;
        while (p < end) {
          const char *q = p;
          while (q < end && *q != '.' && *q != ':') q++;
          ws_add(read, p, (int)(q - p));
          /* world:set("a.x", v), world:add, world:transfer(a, b, "x", n) */
          if (written) ws_add(written, p, (int)(q - p));
          p = q + 1;
        }
      }
    }
  }
  free(x.t);
}

static void scan_file(const char *path, wordset *read, wordset *written) {
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (m) {
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && len < TR_MAX_FILE_BYTES)
      fwrite(chunk, 1, got, m);
    fclose(m);
    if (buf) scan_words(buf, read, written);
    free(buf);
  }
  fclose(f);
}

/* The baseline's value of a path; 0 when known. */
static int path_base(const tr_scenario *sc, const tr_path *p, double *v) {
  switch (p->kind) {
    case PATH_ACTOR_ATTR: *v = sc->actors[p->actor].attrs[p->attr].value; return 0;
    case PATH_REL_ATTR: *v = sc->rels[p->rel].attrs[p->attr].value; return 0;
    case PATH_MODEL: *v = sc->model[p->model].value; return 0;
    case PATH_TICKS: *v = sc->ticks; return sc->has_ticks ? 0 : -1;
    case PATH_PARAM: {
      const tr_value *m = &sc->actors[p->actor].params;
      for (int i = 0; m->type == TV_MAP && i < m->n; i++)
        if (strcmp(m->keys[i], p->key) == 0 && m->items[i].type == TV_NUM) {
          *v = m->items[i].num;
          return 0;
        }
      int state;
      const tr_paramdecl *pd = params_find(sc, p->actor, p->key, &state);
      if (pd && pd->has_default && pd->def.type == TV_NUM) {
        *v = pd->def.num;
        return 0;
      }
      return -1;
    }
    default: return -1;
  }
}

/* The outcome at t reads only ACTOR.ATTR and rel('A','B').ATTR (numbers,
** operators, comparisons, and/or/not): their slots into slots[]; -1 when it
** reads anything else (then nothing is claimed about it). */
static int outcome_slots(const tr_scenario *sc, const char *expr, int *slots, int max, int *n) {
  cexpr x;
  memset(&x, 0, sizeof x);
  x.expr = expr;
  int ok = tokenize(&x) == 0;
  *n = 0;
  for (int i = 0; ok && i < x.n; i++) {
    const ctok *k = &x.t[i];
    if (k->type == T_NUM || k->type == T_EOF) continue;
    if (k->type == T_OP) {
      static const char *const fine[] = {
          "<", ">", "<=", ">=", "==", "~=", "+", "-", "*", "/", "(", ")"};
      ok = in_list(k->s, k->len, fine, NELEM(fine));
      continue;
    }
    if (k->type != T_NAME) {
      ok = 0;
      continue;
    }
    static const char *const words[] = {"and", "or", "not"};
    if (in_list(k->s, k->len, words, NELEM(words))) continue;
    char name[256], f[256];
    tok_text(k, name, sizeof name);
    int slot = -1;
    if (strcmp(name, "rel") == 0 && is_op(&x, i + 1, "(") && x.t[i + 2].type == T_STR
        && is_op(&x, i + 3, ",") && i + 4 < x.n && x.t[i + 4].type == T_STR && is_op(&x, i + 5, ")")
        && is_op(&x, i + 6, ".") && i + 7 < x.n && x.t[i + 7].type == T_NAME) {
      char a[256], b[256];
      int from = scen_actor_find(sc, tok_text(&x.t[i + 2], a, sizeof a));
      int to = scen_actor_find(sc, tok_text(&x.t[i + 4], b, sizeof b));
      int r = from >= 0 && to >= 0 ? scen_rel_find(sc, from, to) : -1;
      if (r >= 0) slot = scen_rel_attr_slot(sc, r, tok_text(&x.t[i + 7], f, sizeof f));
      i += 7;
    } else if (is_op(&x, i + 1, ".") && i + 2 < x.n && x.t[i + 2].type == T_NAME
               && !is_op(&x, i + 3, ".") && !is_op(&x, i + 3, "(")) {
      int a = scen_actor_find(sc, name);
      if (a >= 0) slot = scen_attr_slot(sc, a, tok_text(&x.t[i + 2], f, sizeof f));
      i += 2;
    }
    if (slot < 0 || *n >= max) {
      ok = 0;
      continue;
    }
    slots[(*n)++] = slot;
  }
  free(x.t);
  return ok && *n > 0 ? 0 : -1;
}

/* Name of slot s (its attribute) and its initial value, into *name / *v. */
static const tr_attrdecl *slot_attr(const tr_scenario *sc, int s) {
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      if (sc->actors[a].attrs[i].slot == s) return &sc->actors[a].attrs[i];
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++)
      if (sc->rels[r].attrs[i].slot == s) return &sc->rels[r].attrs[i];
  return NULL;
}

/* Evaluates the outcome with the given initial values (a bare Lua state:
** actor tables and rel()); 1 when it holds, 0 when not, -1 on any error. */
static int outcome_holds(lua_State *L, const tr_scenario *sc, const char *expr,
                         const double *init) {
  lua_settop(L, 0);
  size_t n = strlen(expr) + 8;
  char *src = malloc(n);
  if (!src) return -1;
  snprintf(src, n, "return %s", expr);
  int st = luaL_loadbufferx(L, src, strlen(src), "=outcome", "t");
  free(src);
  if (st != LUA_OK) return -1;
  lua_newtable(L); /* the environment */
  for (int a = 0; a < sc->nactors; a++) {
    lua_createtable(L, 0, sc->actors[a].nattrs);
    for (int i = 0; i < sc->actors[a].nattrs; i++) {
      lua_pushnumber(L, init[sc->actors[a].attrs[i].slot]);
      lua_setfield(L, -2, sc->actors[a].attrs[i].name);
    }
    lua_setfield(L, -2, sc->actors[a].id);
  }
  lua_newtable(L); /* "from:to" -> relation table */
  for (int r = 0; r < sc->nrels; r++) {
    if (sc->rels[r].from < 0 || sc->rels[r].to < 0) continue;
    lua_createtable(L, 0, sc->rels[r].nattrs);
    for (int i = 0; i < sc->rels[r].nattrs; i++) {
      lua_pushnumber(L, init[sc->rels[r].attrs[i].slot]);
      lua_setfield(L, -2, sc->rels[r].attrs[i].name);
    }
    lua_pushfstring(L, "%s:%s", sc->actors[sc->rels[r].from].id, sc->actors[sc->rels[r].to].id);
    lua_insert(L, -2);
    lua_settable(L, -3);
  }
  luaL_loadstring(L, "local rels = ... return function(a, b) return rels[a .. ':' .. b] end");
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return -1;
  lua_setfield(L, -2, "rel");
  lua_setupvalue(L, -2, 1);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) return -1;
  int t = lua_type(L, -1);
  int yes = t == LUA_TBOOLEAN ? lua_toboolean(L, -1)
      : t == LUA_TNUMBER      ? lua_tonumber(L, -1) != 0
      : t == LUA_TNIL         ? 0
                              : -1;
  lua_settop(L, 0);
  return yes;
}

static void warn_outcomes(const tr_scenario *sc, tr_diag *d, const wordset *written) {
  lua_State *L = luaL_newstate();
  if (!L) return;
  double *init = malloc(((size_t)sc->nslots + 1) * sizeof *init);
  for (int o = 0; init && o < sc->noutcomes; o++) {
    const tr_exprdecl *oc = &sc->outcomes[o];
    int slots[64], n;
    if (!oc->expr || outcome_slots(sc, oc->expr, slots, 64, &n)) continue;
    int frozen = 1;
    for (int i = 0; i < n && frozen; i++) {
      const tr_attrdecl *ad = slot_attr(sc, slots[i]);
      frozen = ad && !ws_has(written, ad->name, (int)strlen(ad->name))
          && !in_list(ad->name, (int)strlen(ad->name), model_attrs, model_nattrs);
      for (int e = 0; frozen && e < sc->nevents; e++)
        for (int c = 0; c < sc->events[e].nchanges; c++)
          if (sc->events[e].changes[c].path.slot == slots[i]) frozen = 0;
      for (int s = 0; frozen && s < sc->nsweep; s++)
        if (sc->sweep[s].path.slot == slots[i]) frozen = 0;
    }
    if (!frozen) continue;
    /* the baseline, then each variant's initial values */
    int holds = 0;
    for (int v = -1; v < sc->nvariants && !holds; v++) {
      for (int a = 0; a < sc->nactors; a++)
        for (int i = 0; i < sc->actors[a].nattrs; i++)
          init[sc->actors[a].attrs[i].slot] = sc->actors[a].attrs[i].value;
      for (int r = 0; r < sc->nrels; r++)
        for (int i = 0; i < sc->rels[r].nattrs; i++)
          init[sc->rels[r].attrs[i].slot] = sc->rels[r].attrs[i].value;
      for (int c = 0; v >= 0 && c < sc->variants[v].nchanges; c++) {
        const tr_change *ch = &sc->variants[v].changes[c];
        if (ch->path.slot < 0) continue;
        init[ch->path.slot] = ch->op == CHANGE_SET ? ch->value : init[ch->path.slot] + ch->value;
      }
      int h = outcome_holds(L, sc, oc->expr, init);
      holds = h != 0; /* an error: claim nothing */
    }
    if (holds) continue;
    char names[512] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof names; i++) {
      const tr_attrdecl *ad = slot_attr(sc, slots[i]);
      char quoted[300];
      snprintf(quoted, sizeof quoted, "'%s'", ad ? ad->name : "?");
      if (strstr(names, quoted)) continue; /* each name once */
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", quoted);
    }
    diag_warning(d, sc->path, oc->line, oc->col,
                 "outcome '%s' can never hold: no script, event or model rule writes %s, and "
                 "the initial values do not satisfy it",
                 oc->name, names);
  }
  free(init);
  lua_close(L);
}

/* The warnings of a compiled scenario (docs/scenario-format.md): sweeps that variants override,
** variants equal to the baseline, attributes and parameters nothing reads. Long: a list of
** independent checks, each a loop of a few lines over one part of the scenario, run in the order
** the warnings are printed. */
void check_warnings(const tr_scenario *sc, tr_diag *d) {
  /* A swept path that a variant also sets: the sweep's value wins. */
  for (int v = 0; v < sc->nvariants; v++)
    for (int c = 0; c < sc->variants[v].nchanges; c++)
      for (int s = 0; s < sc->nsweep; s++)
        if (scen_path_same(&sc->variants[v].changes[c].path, &sc->sweep[s].path))
          diag_warning(d, sc->path, sc->variants[v].changes[c].line, sc->variants[v].changes[c].col,
                       "variant '%s' sets '%s', which the sweep also sets (line %d): at every "
                       "point the sweep's value replaces the variant's, so this change does "
                       "nothing",
                       sc->variants[v].name, sc->variants[v].changes[c].path.text,
                       sc->sweep[s].line);
  /* A variant identical to the baseline. */
  for (int v = 0; v < sc->nvariants; v++) {
    const tr_variantdecl *vd = &sc->variants[v];
    int same = vd->activation < 0 || vd->activation == sc->activation;
    for (int c = 0; same && c < vd->nchanges; c++) {
      double base;
      const tr_change *ch = &vd->changes[c];
      if (ch->op == CHANGE_ADD) same = ch->value == 0;
      else same = path_base(sc, &ch->path, &base) == 0 && base == ch->value;
    }
    if (same)
      diag_warning(
          d, sc->path, vd->line, vd->col, "variant '%s' is identical to the baseline: %s", vd->name,
          vd->nchanges ? "every value it sets equals the baseline's" : "it changes nothing");
  }
  /* Attributes and parameters nothing reads. */
  wordset read = {0}, written = {0};
  for (int i = 0; i < sc->nactors; i++)
    if (sc->actors[i].policy) {
      int seen = 0;
      for (int j = 0; j < i && !seen; j++)
        seen = sc->actors[j].policy && strcmp(sc->actors[j].policy, sc->actors[i].policy) == 0;
      if (!seen) scan_file(sc->actors[i].policy, &read, &written);
    }
  for (int i = 0; i < sc->nactions; i++)
    if (sc->actions[i].script) scan_file(sc->actions[i].script, &read, &written);
  for (int i = 0; i < sc->nevents; i++) {
    if (sc->events[i].lua) scan_words(sc->events[i].lua, &read, &written);
    if (sc->events[i].when) scan_words(sc->events[i].when, &read, NULL);
  }
  for (int i = 0; i < sc->nmetrics; i++)
    if (sc->metrics[i].expr) scan_words(sc->metrics[i].expr, &read, NULL);
  for (int i = 0; i < sc->noutcomes; i++)
    if (sc->outcomes[i].expr) scan_words(sc->outcomes[i].expr, &read, NULL);
  int last_line = -1, last_col = -1;
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++) {
      const tr_attrdecl *ad = &sc->actors[a].attrs[i];
      if (ws_has(&read, ad->name, (int)strlen(ad->name))
          || in_list(ad->name, (int)strlen(ad->name), model_attrs, model_nattrs)
          || (ad->line == last_line && ad->col == last_col)) /* one line, many actors */
        continue;
      last_line = ad->line;
      last_col = ad->col;
      diag_warning(d, sc->path, ad->line, ad->col,
                   "attribute '%s' of actor '%s' is never read: no script, expression or model "
                   "rule reads '%s'",
                   ad->name, sc->actors[a].id, ad->name);
    }
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++) {
      const tr_attrdecl *ad = &sc->rels[r].attrs[i];
      if (ws_has(&read, ad->name, (int)strlen(ad->name))
          || in_list(ad->name, (int)strlen(ad->name), model_attrs, model_nattrs)
          || sc->rels[r].from < 0 || sc->rels[r].to < 0)
        continue;
      diag_warning(d, sc->path, ad->line, ad->col,
                   "attribute '%s' of relation %s -> %s is never read: no script, expression or "
                   "model rule reads '%s'",
                   ad->name, sc->actors[sc->rels[r].from].id, sc->actors[sc->rels[r].to].id,
                   ad->name);
    }
  for (int q = 0; q < sc->nnetrules; q++)
    for (int i = 0; i < sc->netrules[q].nattrs; i++) {
      const tr_attrdecl *ad = &sc->netrules[q].attrs[i];
      if (ws_has(&read, ad->name, (int)strlen(ad->name))
          || in_list(ad->name, (int)strlen(ad->name), model_attrs, model_nattrs))
        continue;
      diag_warning(d, sc->path, ad->line, ad->col,
                   "attribute '%s' of the relations of rule %s is never read: no script, "
                   "expression or model rule reads '%s'",
                   ad->name, net_rule_names[sc->netrules[q].rule], ad->name);
    }
  for (int s = 0; s < sc->nscripts; s++)
    for (int i = 0; i < sc->scripts[s].nparams; i++) {
      const tr_paramdecl *p = &sc->scripts[s].params[i];
      if (!ws_has(&read, p->name, (int)strlen(p->name)))
        diag_warning(d, sc->scripts[s].path, p->line, p->line > 0 ? 1 : 0,
                     "parameter '%s' is declared but never read by any script or expression",
                     p->name);
    }
  last_line = -1;
  for (int a = 0; a < sc->nactors; a++) {
    const tr_value *m = &sc->actors[a].params;
    const tr_scriptdecl *s = params_script(sc, sc->actors[a].policy);
    if (m->type != TV_MAP || (s && s->state != SD_NONE)) continue; /* declared: checked */
    for (int i = 0; i < m->n; i++)
      if (!ws_has(&read, m->keys[i], (int)strlen(m->keys[i]))
          && m->items[i].key_line != last_line) {
        last_line = m->items[i].key_line;
        diag_warning(d, sc->path, m->items[i].key_line, m->items[i].key_col,
                     "parameter '%s' of actor '%s' is never read by any script or expression",
                     m->keys[i], sc->actors[a].id);
      }
  }
  warn_outcomes(sc, d, &written);
  ws_free(&read);
  ws_free(&written);
}
