/* manifest.h — experiment layer (docs/internals.md, "Layers"). */
#ifndef TR_EXPERIMENT_MANIFEST_H
#define TR_EXPERIMENT_MANIFEST_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/yamltree.h"

/* Reading an output folder's manifest.yaml back (manifest.c). */
/* OUTDIR/manifest.yaml, a string to free. */
char *manifest_path(const char *outdir);
/* The manifest of outdir, or NULL; its errors go to d, or nowhere when d is
** NULL. */
ynode *manifest_load(const char *outdir, tr_diag *d);
/* m[section][key] (m[section] when key is NULL), or NULL. */
const ynode *manifest_get(const ynode *m, const char *section, const char *key);
/* The same when it is a scalar: its text, or NULL. */
const char *manifest_str(const ynode *m, const char *section, const char *key);
/* Whether the file at path is a manifest written by tightrope. */
int manifest_is_ours(const char *path);

#endif
