/*
** console.c — the experiment's stderr, shared by the progress line and the
** scripts' print(): a write first clears a progress line on screen, and
** writes from several threads do not interleave.
*/
#include <pthread.h>
#include <stdio.h>

#include "base/console.h"

void console_write(tr_console *c, const char *s, size_t n) {
  pthread_mutex_lock(&c->mu);
  if (c->progress_shown) {
    fputs("\r\033[K", stderr);
    c->progress_shown = 0;
  }
  fwrite(s, 1, n, stderr);
  pthread_mutex_unlock(&c->mu);
}
