/* watchdog.h — run layer (docs/internals.md, "Layers"). */
#ifndef TR_RUN_WATCHDOG_H
#define TR_RUN_WATCHDOG_H

#include "base/common.h"
#include "run/model.h"
#include "run/lua.h"

/* The CPU-time bound of calls into Lua, and interrupts (watchdog.c): the
** thread that runs a state registers it (and unregisters it before closing
** the state); watchdog_signal is for SIGINT/SIGTERM handlers. */
int watchdog_register(tr_lua *lx);
void watchdog_unregister(tr_lua *lx);
void watchdog_signal(int sig);
void watchdog_clear_signal(void);

#endif
