/* sandbox.h — run layer (docs/internals.md, "Layers"). */
#ifndef TR_RUN_SANDBOX_H
#define TR_RUN_SANDBOX_H

#include "base/common.h"
#include "run/model.h"

/* The Lua state of a worker: counted allocator, count hook, safe globals
** (docs/lua-api.md, "The sandbox"), the rng table. TR_LX(L) is the tr_lua that owns L. */
#define TR_LX(L) (*(tr_lua **)lua_getextraspace(L))
struct lua_State;
/* New state with the sandbox's template globals in the registry field
** "tr.template"; NULL when out of memory. */
struct lua_State *sandbox_new(tr_lua *lx);
/* A fresh global table for one run: a copy of the template's libraries
** (so no script can change what another run sees). Pushes it. */
void sandbox_push_run_globals(struct lua_State *L);
/* Make a read-only proxy of the table at the top of the stack (replaces it). */
void sandbox_readonly(struct lua_State *L);
/* Every field of the table at src into the table at dst, raw (the one copy
** loop of the Lua layer). */
void sandbox_copy_fields(struct lua_State *L, int src, int dst);
/* Call with the instruction budget reset; errors propagate. */
void sandbox_call(struct lua_State *L, tr_lua *lx, int nargs, int nresults);
/* Message handler for lua_pcall: message plus traceback, safe for any
** error value. */
int sandbox_msgh(struct lua_State *L);
/* Compile a chunk; a policy or action script is wrapped so that calling the
** result with an environment table runs the script's top level in it. */
int sandbox_load(struct lua_State *L, const char *src, size_t len, const char *chunkname, int wrap);

#endif
