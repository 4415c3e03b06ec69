/* model.h — run layer: the built-in actions (model.c, docs/model.md). */
#ifndef TR_RUN_MODEL_H
#define TR_RUN_MODEL_H

#include "base/common.h"
#include "scenario/modeldecl.h"

typedef struct tr_world tr_world;
typedef struct tr_lua tr_lua;
/* Resolve: actor acts on target; args is the Lua stack index of the args
** table (in the worker's Lua state). Returns 0; a mistake in the
** arguments raises a Lua error (luaL_error) naming the action and the
** actor. *value receives the magnitude logged in events.csv (leave it NaN
** for none). */
typedef int (*tr_resolve)(tr_lua *lx, int actor, int target, int args, double *value,
                          const char **cameo, double *goldstein);
/* model_actions[i]'s resolver is model_resolvers[i]. */
extern const tr_resolve model_resolvers[];

#endif
