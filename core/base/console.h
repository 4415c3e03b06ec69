/* console.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_CONSOLE_H
#define TR_BASE_CONSOLE_H

#include "base/common.h"

/* The terminal shared by workers' print() and the experiment's progress
** line: whole writes, never interleaved, and a progress line on screen is
** cleared first (console.c). */
typedef struct tr_console {
  pthread_mutex_t mu;
  int progress_shown; /* a progress line is on screen */
} tr_console;
void console_write(tr_console *c, const char *s, size_t n);

#endif
