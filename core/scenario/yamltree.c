/*
** yamltree.c — a YAML document read with libyaml's event parser into a tree
** of ynodes, each carrying its 1-based line and column.
**
** The tree is a plain, untyped image of the file; meaning is given later by
** scenario.c. What the scenario format refuses at the YAML level is refused
** here, with a place: aliases and anchors (a scenario is a tree, not a
** graph), duplicate mapping keys, non-scalar keys, nesting over TR_MAX_DEPTH,
** files over TR_MAX_FILE_BYTES, more than one document. Syntax errors are
** libyaml's own words. Problems that leave the event stream intact (aliases,
** duplicates) are all collected; a syntax error or the depth cap ends the
** parse. A load with any error returns NULL and frees what it built.
*/
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/yamltree.h"

typedef struct ynode_parse {
  yaml_parser_t parser;
  const char *name;          /* file name used in diagnostics */
  const unsigned char *text; /* the whole input, for reader-error places */
  size_t len;
  tr_diag *d;
  int errors; /* errors added by this load */
  int fatal;  /* the event stream cannot be trusted further */
} ynode_parse;

static void ynode_error(ynode_parse *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ynode_error(ynode_parse *p, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(p->d, p->name, line, col, fmt, ap);
  va_end(ap);
  p->errors++;
}

/* Line and column (1-based, columns in characters) of a byte offset: libyaml
** reports reader errors (bad UTF-8, control characters) by offset only. */
static void ynode_offset_place(const ynode_parse *p, size_t offset, int *line, int *col) {
  int l = 1, c = 1;
  if (offset > p->len) offset = p->len;
  for (size_t i = 0; i < offset; i++) {
    unsigned char ch = p->text[i];
    if (ch == '\n') {
      l++;
      c = 1;
    } else if ((ch & 0xC0) != 0x80) c++;
  }
  *line = l;
  *col = c;
}

/* The text of line l (1-based) of the input: start and length. */
static int ynode_line(const ynode_parse *p, int l, const char **start) {
  const char *t = (const char *)p->text, *end = t + p->len;
  for (int i = 1; i < l && t < end; i++) {
    const char *nl = memchr(t, '\n', (size_t)(end - t));
    if (!nl) return -1;
    t = nl + 1;
  }
  if (t >= end && l > 1) return -1;
  const char *nl = memchr(t, '\n', (size_t)(end - t));
  *start = t;
  return (int)((nl ? nl : end) - t);
}

/* A key line "  name: ..." : its indentation and key (into key). */
static int ynode_key_line(const char *s, int len, int *indent, char *key, size_t size) {
  int i = 0;
  while (i < len && s[i] == ' ') i++;
  if (i < len && s[i] == '-') return 0; /* a list item */
  int k = i;
  while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.'))
    k++;
  if (k == i || k >= len || s[k] != ':' || (k + 1 < len && s[k + 1] != ' ')) return 0;
  *indent = i;
  snprintf(key, size, "%.*s", k - i, s + i);
  return 1;
}

/* What a user can do about a syntax error at line l, in their words:
** tabs, and keys of one mapping that do not line up. "" when unknown. */
static void ynode_hint(const ynode_parse *p, int l, char *hint, size_t size) {
  hint[0] = '\0';
  const char *s;
  for (int k = l; k >= 1 && k >= l - 1; k--) {
    int len = ynode_line(p, k, &s);
    for (int i = 0; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
      if (s[i] == '\t') {
        if (k == l) snprintf(hint, size, ": YAML does not allow tabs for indentation: use spaces");
        else
          snprintf(hint, size,
                   ": line %d is indented with a tab; YAML does not allow tabs for "
                   "indentation: use spaces",
                   k);
        return;
      }
  }
  int len = ynode_line(p, l, &s), indent, pindent;
  char key[128], pkey[128];
  if (len < 0 || !ynode_key_line(s, len, &indent, key, sizeof key)) return;
  for (int k = l - 1; k >= 1; k--) {
    const char *ps;
    int plen = ynode_line(p, k, &ps), j = 0;
    while (j < plen && ps[j] == ' ') j++;
    if (j == plen || ps[j] == '#') continue; /* blank or comment */
    if (!ynode_key_line(ps, plen, &pindent, pkey, sizeof pkey) || pindent == indent) return;
    /* the line above opens a block only when nothing follows its colon */
    const char *after = ps + pindent + strlen(pkey) + 1;
    while (after < ps + plen && *after == ' ') after++;
    int opens = after == ps + plen || *after == '#';
    if (indent > pindent && !opens)
      snprintf(hint, size,
               ": '%s:' is indented deeper than '%s:' above it; keys of one mapping "
               "line up",
               key, pkey);
    else if (indent < pindent)
      snprintf(hint, size,
               ": '%s:' is indented less than '%s:' above it; keys of one mapping "
               "line up",
               key, pkey);
    return;
  }
}

static void ynode_syntax_error(ynode_parse *p) {
  yaml_parser_t *yp = &p->parser;
  int line, col;
  p->fatal = 1;
  if (yp->error == YAML_MEMORY_ERROR) {
    ynode_error(p, 0, 0, "out of memory while reading YAML");
    return;
  }
  if (yp->error == YAML_READER_ERROR) {
    ynode_offset_place(p, yp->problem_offset, &line, &col);
    if (yp->problem_value != -1)
      ynode_error(p, line, col, "%s (byte #x%X)",
                  yp->problem ? yp->problem : "cannot read the input", (unsigned)yp->problem_value);
    else ynode_error(p, line, col, "%s", yp->problem ? yp->problem : "cannot read the input");
    return;
  }
  line = (int)yp->problem_mark.line + 1;
  col = (int)yp->problem_mark.column + 1;
  char hint[600];
  ynode_hint(p, line, hint, sizeof hint);
  if (yp->context)
    ynode_error(p, line, col, "%s %s%s", yp->problem ? yp->problem : "syntax error", yp->context,
                hint);
  else ynode_error(p, line, col, "%s%s", yp->problem ? yp->problem : "syntax error", hint);
}

static int ynode_next(ynode_parse *p, yaml_event_t *ev) {
  if (p->fatal) return 0;
  if (!yaml_parser_parse(&p->parser, ev)) {
    ynode_syntax_error(p);
    return 0;
  }
  return 1;
}

void ynode_free(ynode *n) {
  if (!n) return;
  free(n->str);
  for (int i = 0; i < n->n; i++) {
    if (n->keys) ynode_free(n->keys[i]);
    if (n->items) ynode_free(n->items[i]);
  }
  free(n->keys);
  free(n->items);
  free(n);
}

static ynode *ynode_new(ynode_parse *p, int type, yaml_mark_t mark) {
  ynode *n = calloc(1, sizeof *n);
  if (!n) {
    ynode_error(p, 0, 0, "out of memory while reading YAML");
    p->fatal = 1;
    return NULL;
  }
  n->type = type;
  n->line = (int)mark.line + 1;
  n->col = (int)mark.column + 1;
  return n;
}

/* Appends a child (and, for a mapping, its key); 0 or -1 on no memory. */
static int ynode_push(ynode_parse *p, ynode *parent, int *cap, ynode *key, ynode *item) {
  if (parent->n == *cap) {
    int ncap = *cap ? 2 * *cap : 4;
    ynode **items = realloc(parent->items, (size_t)ncap * sizeof *items);
    if (!items) goto nomem;
    parent->items = items;
    if (parent->type == YN_MAP) {
      ynode **keys = realloc(parent->keys, (size_t)ncap * sizeof *keys);
      if (!keys) goto nomem;
      parent->keys = keys;
    }
    *cap = ncap;
  }
  if (parent->type == YN_MAP) parent->keys[parent->n] = key;
  parent->items[parent->n] = item;
  parent->n++;
  return 0;
nomem:
  ynode_error(p, 0, 0, "out of memory while reading YAML");
  p->fatal = 1;
  ynode_free(key);
  ynode_free(item);
  return -1;
}

static void ynode_refuse_anchor(ynode_parse *p, const yaml_char_t *anchor, yaml_mark_t mark) {
  if (anchor)
    ynode_error(p, (int)mark.line + 1, (int)mark.column + 1,
                "YAML anchor '&%s' is not supported: write the value out in full",
                (const char *)anchor);
}

/* Duplicate keys: sort key references by (text, position) so equal keys are
** adjacent and in file order; each one after the first of its run is an
** error. O(n log n), so a huge mapping cannot make the check quadratic. */
typedef struct {
  const ynode *key;
  int index;
} ynode_keyref;

static int ynode_keycmp(const void *pa, const void *pb) {
  const ynode_keyref *a = pa, *b = pb;
  size_t la = a->key->len, lb = b->key->len;
  int c = memcmp(a->key->str, b->key->str, la < lb ? la : lb);
  if (c) return c;
  if (la != lb) return la < lb ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static void ynode_check_duplicates(ynode_parse *p, const ynode *map) {
  if (map->n < 2) return;
  ynode_keyref *refs = malloc((size_t)map->n * sizeof *refs);
  if (!refs) return;
  int m = 0;
  for (int i = 0; i < map->n; i++)
    if (map->keys[i] && map->keys[i]->type == YN_SCALAR) {
      refs[m].key = map->keys[i];
      refs[m].index = i;
      m++;
    }
  qsort(refs, (size_t)m, sizeof *refs, ynode_keycmp);
  for (int i = 1, first = 0; i < m; i++) {
    const ynode *a = refs[first].key, *b = refs[i].key;
    if (a->len == b->len && memcmp(a->str, b->str, a->len) == 0)
      ynode_error(p, b->line, b->col, "duplicate key '%s' (first at line %d)", b->str, a->line);
    else first = i;
  }
  free(refs);
}

/* Builds the node that starts with event ev (already read); depth counts the
** collections enclosing it. Returns NULL on a fatal problem (or, for an
** alias, a placeholder null scalar so that parsing can go on).
** Long: one switch over the libyaml event kinds, each case building its kind of node; the
** collection case's loop needs the parser state of the switch. */
static ynode *ynode_build(ynode_parse *p, yaml_event_t *ev, int depth) {
  ynode *n = NULL;
  switch (ev->type) {
    case YAML_ALIAS_EVENT:
      ynode_error(p, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                  "YAML alias '*%s' is not supported: write the value out in full",
                  (const char *)ev->data.alias.anchor);
      n = ynode_new(p, YN_SCALAR, ev->start_mark);
      if (n && !(n->str = strdup(""))) {
        ynode_free(n);
        n = NULL;
        p->fatal = 1;
      }
      if (n) n->plain = 1;
      return n;

    case YAML_SCALAR_EVENT: {
      ynode_refuse_anchor(p, ev->data.scalar.anchor, ev->start_mark);
      n = ynode_new(p, YN_SCALAR, ev->start_mark);
      if (!n) return NULL;
      n->len = ev->data.scalar.length;
      n->str = malloc(n->len + 1);
      if (!n->str) {
        ynode_free(n);
        ynode_error(p, 0, 0, "out of memory while reading YAML");
        p->fatal = 1;
        return NULL;
      }
      memcpy(n->str, ev->data.scalar.value, n->len);
      n->str[n->len] = '\0';
      /* An explicit !!str tag makes a plain scalar a string. */
      const char *tag = (const char *)ev->data.scalar.tag;
      n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
          && !(tag && strcmp(tag, YAML_STR_TAG) == 0);
      return n;
    }

    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      int is_map = ev->type == YAML_MAPPING_START_EVENT;
      yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
      ynode_refuse_anchor(p, anchor, ev->start_mark);
      if (depth + 1 > TR_MAX_DEPTH) {
        ynode_error(p, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "nesting deeper than %d levels is not supported", TR_MAX_DEPTH);
        p->fatal = 1;
        return NULL;
      }
      n = ynode_new(p, is_map ? YN_MAP : YN_SEQ, ev->start_mark);
      if (!n) return NULL;
      int cap = 0;
      yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
      for (;;) {
        yaml_event_t child;
        if (!ynode_next(p, &child)) break;
        if (child.type == end) {
          yaml_event_delete(&child);
          if (is_map) ynode_check_duplicates(p, n);
          return n;
        }
        ynode *key = NULL;
        if (is_map) {
          key = ynode_build(p, &child, depth + 1);
          yaml_event_delete(&child);
          if (!key) break;
          if (key->type != YN_SCALAR)
            ynode_error(p, key->line, key->col, "a mapping key must be a plain value, not a %s",
                        key->type == YN_MAP ? "mapping" : "sequence");
          if (!ynode_next(p, &child)) {
            ynode_free(key);
            break;
          }
        }
        ynode *item = ynode_build(p, &child, depth + 1);
        yaml_event_delete(&child);
        if (!item) {
          ynode_free(key);
          break;
        }
        if (is_map && key->type != YN_SCALAR) { /* already reported */
          ynode_free(key);
          ynode_free(item);
          continue;
        }
        if (ynode_push(p, n, &cap, key, item) < 0) break;
      }
      ynode_free(n);
      return NULL;
    }

    default:
      ynode_error(p, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                  "unexpected YAML event");
      p->fatal = 1;
      return NULL;
  }
}

ynode *ynode_load_string(const char *text, size_t len, const char *name, tr_diag *d) {
  ynode_parse p;
  memset(&p, 0, sizeof p);
  p.name = name;
  p.text = (const unsigned char *)text;
  p.len = len;
  p.d = d;
  if (!yaml_parser_initialize(&p.parser)) {
    diag_error(d, name, 0, 0, "out of memory while reading YAML");
    return NULL;
  }
  yaml_parser_set_input_string(&p.parser, p.text, len);

  ynode *root = NULL;
  int ndocs = 0;
  yaml_event_t ev;
  while (ynode_next(&p, &ev)) {
    yaml_event_type_t type = ev.type;
    if (type == YAML_DOCUMENT_START_EVENT) {
      if (++ndocs > 1) {
        ynode_error(&p, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                    "a scenario is one YAML document; found a second one");
        yaml_event_delete(&ev);
        break;
      }
    } else if (type == YAML_SCALAR_EVENT || type == YAML_SEQUENCE_START_EVENT
               || type == YAML_MAPPING_START_EVENT || type == YAML_ALIAS_EVENT) {
      ynode *n = ynode_build(&p, &ev, 0);
      if (root) ynode_free(root); /* cannot happen: one node per document */
      root = n;
    }
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT) break;
  }
  yaml_parser_delete(&p.parser);

  if (!p.errors && !root) ynode_error(&p, 0, 0, "empty scenario");
  if (p.errors) {
    ynode_free(root);
    return NULL;
  }
  return root;
}

ynode *ynode_load_file(const char *path, tr_diag *d) {
  struct stat st;
  if (stat(path, &st) != 0) {
    diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    diag_error(d, path, 0, 0, "is a directory, not a scenario file");
    return NULL;
  }
  if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > TR_MAX_FILE_BYTES) {
    diag_error(d, path, 0, 0, "file is %lld bytes; scenarios over %u MiB are refused",
               (long long)st.st_size, TR_MAX_FILE_BYTES / (1024u * 1024u));
    return NULL;
  }
  /* The file may have grown (or be a pipe) since stat: the read stops one
  ** byte past the cap. */
  size_t len = 0;
  char *buf = fs_read_file(path, TR_MAX_FILE_BYTES, 0, &len);
  if (!buf) {
    if (errno == ENOMEM) diag_error(d, path, 0, 0, "out of memory while reading the file");
    else if (errno == EFBIG)
      diag_error(d, path, 0, 0, "scenarios over %u MiB are refused",
                 TR_MAX_FILE_BYTES / (1024u * 1024u));
    else if (errno == EIO) diag_error(d, path, 0, 0, "cannot read the file");
    else diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
    return NULL;
  }
  ynode *root = ynode_load_string(buf, len, path, d);
  free(buf);
  return root;
}

ynode *ynode_get(const ynode *map, const char *key) {
  if (!map || map->type != YN_MAP) return NULL;
  for (int i = 0; i < map->n; i++)
    if (map->keys[i]->type == YN_SCALAR && strcmp(map->keys[i]->str, key) == 0)
      return map->items[i];
  return NULL;
}

/* ------------------------------------------------- core schema (YAML 1.2) */

static int ynode_all(const char *s, const char *set) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!strchr(set, *s)) return 0;
  return 1;
}

#define YN_DIGITS "0123456789"

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int ynode_is_float(const char *s) {
  if (*s == '-' || *s == '+') s++;
  size_t intd = strspn(s, YN_DIGITS);
  s += intd;
  if (*s == '.') {
    s++;
    size_t frac = strspn(s, YN_DIGITS);
    if (intd == 0 && frac == 0) return 0;
    s += frac;
  } else if (intd == 0) {
    return 0;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    size_t expd = strspn(s, YN_DIGITS);
    if (expd == 0) return 0;
    s += expd;
  }
  return *s == '\0';
}

int ynode_scalar_kind(const ynode *n) {
  if (!n || n->type != YN_SCALAR) return YS_STR;
  if (!n->plain) return YS_STR;
  const char *s = n->str;
  if (strlen(s) != n->len) return YS_STR; /* embedded NUL */
  if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
    return YS_NULL;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false")
      || !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return YS_BOOL;
  const char *u = (*s == '-' || *s == '+') ? s + 1 : s;
  if (ynode_all(u, YN_DIGITS)) return YS_INT;
  if (s[0] == '0' && s[1] == 'o' && ynode_all(s + 2, "01234567")) return YS_INT;
  if (s[0] == '0' && s[1] == 'x' && ynode_all(s + 2, YN_DIGITS "abcdefABCDEF")) return YS_INT;
  if (ynode_is_float(s)) return YS_FLOAT;
  if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF")) return YS_FLOAT;
  if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) return YS_FLOAT;
  return YS_STR;
}
