/* yamltree.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_YAMLTREE_H
#define TR_SCENARIO_YAMLTREE_H

#include "base/common.h"
#include "base/diag.h"

/* A YAML document read with libyaml's event parser into a tree of nodes,
** each with its line and column. Aliases and anchors are refused, duplicate
** keys are refused, depth and size are capped (docs/scenario-format.md, "Validation"). */
enum { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode ynode;
struct ynode {
  int type;
  int line, col; /* 1-based place of the node's first character */
  /* scalar */
  char *str; /* scalar text (NUL-terminated; len may hide NULs) */
  size_t len;
  int plain; /* 1 when the scalar was unquoted (type resolution) */
  /* sequence / mapping: n items; a mapping's keys are scalars */
  int n;
  ynode **keys;  /* YN_MAP only */
  ynode **items; /* sequence items, or mapping values */
};

/* NULL on error (all problems added to d, with places in path). */
ynode *ynode_load_file(const char *path, tr_diag *d);
ynode *ynode_load_string(const char *text, size_t len, const char *name, tr_diag *d);
void ynode_free(ynode *n);
/* Mapping lookup by key; NULL when absent. */
ynode *ynode_get(const ynode *map, const char *key);

/* YAML 1.2 core schema for plain scalars. */
enum { YS_NULL, YS_BOOL, YS_INT, YS_FLOAT, YS_STR };
int ynode_scalar_kind(const ynode *n); /* YS_* (quoted scalars: YS_STR) */

#endif
