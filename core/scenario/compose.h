/* compose.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_COMPOSE_H
#define TR_SCENARIO_COMPOSE_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"

/* The YAML tree of the scenario at path with its `extends` bases merged in
** and the --sweep / --variants blocks (either may be NULL) put in place;
** every file read is appended to files. NULL on error (messages in d). */
ynode *compose_scenario(const char *path, const char *sweep_file, const char *variants_file,
                        tr_scenario_files *files, tr_diag *d);
int compose_files_add(tr_scenario_files *f, const char *path); /* 0, or -1: no memory */
void compose_files_free(tr_scenario_files *f);
/* The scenario at path with --sweep / --variants files (either may be
** NULL) and the --set overrides (populations make room for a count set
** there), its scripts checked by lc (tr_lua_checks, scenario.h). */
tr_scenario *scenario_load_with(const tr_lua_checks *lc, const char *path, const char *sweep_file,
                                const char *variants_file, char *const *sets, int nsets,
                                tr_diag *d);
/* The scenario of YAML text (named name in messages), likewise. */
tr_scenario *scenario_load_text(const tr_lua_checks *lc, const char *text, size_t len,
                                const char *name, tr_diag *d);

#endif
