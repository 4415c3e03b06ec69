/*
** compose.c — one scenario tree from several files (docs/scenario-format.md,
** "Composing scenarios"): `extends: base.yaml` and the `--sweep FILE` and
** `--variants FILE` blocks.
**
** A scenario that extends a base takes every key of the base and overrides
** it by key: where both have a mapping, the two merge key by key (the base's
** keys keep their order, the scenario's new keys follow); anything else — a
** list, a number, a string, or a mapping against a non-mapping — replaces
** the base's value whole. The base may extend another base, up to
** COMPOSE_MAX_DEPTH files; a file that extends itself, directly or through
** others, is refused naming both files. A --sweep or --variants file holds
** one top-level key, `sweep` or `variants`, whose value replaces the
** scenario's block.
**
** Invariant: every node keeps the place it was written at. Nodes of the
** scenario file itself carry plain line numbers; nodes of every other file
** carry lines encoded by diag_source_line, so that an error anywhere later —
** in validation or when an expression is compiled — names the right file
** and line without the later stages knowing about composition.
*/
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "scenario/compose.h"

#define COMPOSE_MAX_DEPTH 8 /* levels of extends: at most 9 files */

/* Encode the place of every node of a tree as a line of file `source`. */
static void compose_mark(ynode *n, int source) {
  if (!n) return;
  n->line = diag_source_line(source, n->line);
  for (int i = 0; i < n->n; i++) {
    if (n->keys) compose_mark(n->keys[i], source);
    if (n->items) compose_mark(n->items[i], source);
  }
}

/* Index of key in a mapping, or -1. */
static int compose_find(const ynode *map, const char *key) {
  for (int i = 0; i < map->n; i++)
    if (map->keys[i] && map->keys[i]->type == YN_SCALAR && strcmp(map->keys[i]->str, key) == 0)
      return i;
  return -1;
}

/* Take the value at index i out of a mapping (the slot keeps a NULL). */
static ynode *compose_take(ynode *map, int i) {
  ynode *v = map->items[i];
  map->items[i] = NULL;
  return v;
}

static void compose_remove(ynode *map, int i) {
  ynode_free(map->keys[i]);
  ynode_free(map->items[i]);
  memmove(map->keys + i, map->keys + i + 1, (size_t)(map->n - i - 1) * sizeof *map->keys);
  memmove(map->items + i, map->items + i + 1, (size_t)(map->n - i - 1) * sizeof *map->items);
  map->n--;
}

/* Merge `over` into `base` (both mappings), consuming over's nodes. */
static int compose_merge(ynode *base, ynode *over) {
  for (int i = 0; i < over->n; i++) {
    const char *key = over->keys[i]->str;
    int j = compose_find(base, key);
    if (j >= 0 && base->items[j] && over->items[i] && base->items[j]->type == YN_MAP
        && over->items[i]->type == YN_MAP) {
      if (compose_merge(base->items[j], over->items[i])) return -1;
      continue;
    }
    if (j >= 0) {
      ynode_free(base->items[j]);
      base->items[j] = compose_take(over, i);
      /* the key's place is the overriding file's */
      ynode_free(base->keys[j]);
      base->keys[j] = over->keys[i];
      over->keys[i] = NULL;
      continue;
    }
    ynode **k = realloc(base->keys, (size_t)(base->n + 1) * sizeof *k);
    if (!k) return -1;
    base->keys = k;
    ynode **v = realloc(base->items, (size_t)(base->n + 1) * sizeof *v);
    if (!v) return -1;
    base->items = v;
    base->keys[base->n] = over->keys[i];
    base->items[base->n] = compose_take(over, i);
    over->keys[i] = NULL;
    base->n++;
  }
  return 0;
}

/* A path relative to the folder of `file` (absolute paths as they are). */
static char *compose_relative(const char *file, const char *path) {
  if (path[0] == '/') return strdup(path);
  const char *slash = strrchr(file, '/');
  if (!slash) return strdup(path);
  char *r = NULL;
  if (asprintf(&r, "%.*s/%s", (int)(slash - file), file, path) < 0) return NULL;
  return r;
}

/* The chain of files read, for the scenario's fingerprint and for cycles. */
typedef struct compose_chain {
  char *real[COMPOSE_MAX_DEPTH + 1]; /* realpath of each file, child first */
  int n;
  tr_scenario_files *files;
  tr_diag *d;
} compose_chain;

int compose_files_add(tr_scenario_files *f, const char *path) {
  char **p = realloc(f->paths, (size_t)(f->n + 1) * sizeof *p);
  if (!p) return -1;
  f->paths = p;
  if (!(f->paths[f->n] = strdup(path))) return -1;
  f->n++;
  return 0;
}

/* Load `path` and, through its `extends`, every base below it. `source` is
** 0 for the scenario file itself (plain lines), else its diag source. */
static ynode *compose_load(compose_chain *ch, const char *path, int source) {
  char *real = realpath(path, NULL);
  ynode *root = ynode_load_file(path, ch->d);
  if (!root) {
    free(real);
    return NULL;
  }
  if (source) compose_mark(root, source);
  if (compose_files_add(ch->files, path)) {
    free(real);
    ynode_free(root);
    diag_error(ch->d, path, 0, 0, "out of memory");
    return NULL;
  }
  ch->real[ch->n++] = real ? real : strdup(path);
  int at = root->type == YN_MAP ? compose_find(root, "extends") : -1;
  if (at < 0) return root;

  const ynode *ext = root->items[at];
  const ynode *key = root->keys[at];
  if (!ext || ext->type != YN_SCALAR || ynode_scalar_kind(ext) != YS_STR || ext->len == 0) {
    diag_error(ch->d, path, (ext ? ext : key)->line, (ext ? ext : key)->col,
               "'extends' takes the path of a base scenario file");
    ynode_free(root);
    return NULL;
  }
  if (ch->n > COMPOSE_MAX_DEPTH) {
    diag_error(ch->d, path, ext->line, ext->col,
               "'extends' goes more than %d levels deep (from %s)", COMPOSE_MAX_DEPTH,
               ch->files->paths[0]);
    ynode_free(root);
    return NULL;
  }
  char *base_path = compose_relative(path, ext->str);
  if (!base_path) {
    diag_error(ch->d, path, ext->line, ext->col, "out of memory");
    ynode_free(root);
    return NULL;
  }
  char *base_real = realpath(base_path, NULL);
  for (int i = 0; base_real && i < ch->n; i++)
    if (strcmp(ch->real[i], base_real) == 0) {
      char chain[2048] = "";
      size_t used = 0;
      for (int k = i; k < ch->n && used < sizeof chain; k++)
        used += (size_t)snprintf(chain + used, sizeof chain - used, "%s -> ", ch->files->paths[k]);
      diag_error(ch->d, path, ext->line, ext->col, "'extends' makes a cycle: %s%s", chain,
                 base_path);
      free(base_real);
      free(base_path);
      ynode_free(root);
      return NULL;
    }
  free(base_real);
  ynode *base = compose_load(ch, base_path, diag_source(base_path));
  free(base_path);
  if (!base) {
    ynode_free(root);
    return NULL;
  }
  compose_remove(root, at);
  if (base->type != YN_MAP) {
    diag_error(ch->d, path, 0, 0, "the base scenario '%s' is not a mapping of keys", ext->str);
    ynode_free(base);
    ynode_free(root);
    return NULL;
  }
  if (root->type == YN_MAP && compose_merge(base, root)) {
    diag_error(ch->d, path, 0, 0, "out of memory");
    ynode_free(base);
    ynode_free(root);
    return NULL;
  }
  ynode_free(root);
  return base;
}

/* Replace root's block `key` by the one in `file` (--sweep, --variants). */
static int compose_block(compose_chain *ch, ynode *root, const char *file, const char *key,
                         const char *option) {
  ynode *over = ynode_load_file(file, ch->d);
  if (!over) return -1;
  compose_mark(over, diag_source(file));
  int ok = over->type == YN_MAP && over->n == 1 && strcmp(over->keys[0]->str, key) == 0;
  if (!ok) {
    const ynode *at = over;
    for (int i = 0; over->type == YN_MAP && i < over->n && at == over; i++)
      if (strcmp(over->keys[i]->str, key) != 0) at = over->keys[i];
    diag_error(ch->d, file, at->line, at->col,
               "a %s file holds one top-level key, '%s:', with the block as a scenario "
               "would have it",
               option, key);
    ynode_free(over);
    return -1;
  }
  if (compose_files_add(ch->files, file)) {
    ynode_free(over);
    return -1;
  }
  int j = compose_find(root, key);
  if (j >= 0) {
    ynode_free(root->items[j]);
    root->items[j] = compose_take(over, 0);
  } else if (compose_merge(root, over)) {
    ynode_free(over);
    return -1;
  }
  ynode_free(over);
  return 0;
}

ynode *compose_scenario(const char *path, const char *sweep_file, const char *variants_file,
                        tr_scenario_files *files, tr_diag *d) {
  compose_chain ch;
  memset(&ch, 0, sizeof ch);
  ch.files = files;
  ch.d = d;
  ynode *root = compose_load(&ch, path, 0);
  for (int i = 0; i < ch.n; i++) free(ch.real[i]);
  if (!root) return NULL;
  if (root->type != YN_MAP && (sweep_file || variants_file))
    return root; /* scenario.c reports it */
  if ((sweep_file && compose_block(&ch, root, sweep_file, "sweep", "--sweep"))
      || (variants_file && compose_block(&ch, root, variants_file, "variants", "--variants"))) {
    ynode_free(root);
    return NULL;
  }
  return root;
}

void compose_files_free(tr_scenario_files *f) {
  for (int i = 0; i < f->n; i++) free(f->paths[i]);
  free(f->paths);
  f->paths = NULL;
  f->n = 0;
}
