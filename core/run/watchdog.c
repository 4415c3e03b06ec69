/*
** watchdog.c — the CPU-time bound of every call into Lua, and interrupts of
** running scripts, with no hook on the hot path (docs/security.md).
**
** A count hook makes Lua trap on every bytecode however rarely it fires, so
** scripts normally run without one. Instead each thread that owns a Lua
** state registers here; one watchdog thread wakes every WD_PERIOD_MS and,
** for each registered state, compares the call counter the state's thread
** bumps at every call (sandbox_call) with the one it saw last time. While
** the same call stays in progress it charges the thread's CPU clock
** against limits.cpu_ms; once the budget is spent, or when the process got
** SIGINT/SIGTERM, it sends the thread a signal whose handler installs a hook
** on the running state — the way the stock `lua` interpreter stops a script
** on Ctrl-C. The hook (sandbox.c) raises the error on the state's own
** thread, and keeps raising it on every instruction so that pcall cannot
** swallow it.
**
** Guarantee: a call is stopped after at least limits.cpu_ms and at most
** about limits.cpu_ms + WD_PERIOD_MS of its thread's CPU time (plus the
** time of a C library call it is inside of). The limit only ever turns a
** run into an error; it never changes a result.
*/
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>

#include "run/model.h"
#include "run/lua.h"
#include "run/watchdog.h"

#define WD_PERIOD_MS 20

/* A build with AddressSanitizer runs every script several times slower, so
** its CPU budgets stretch by this factor: the limit then stops the same
** runaway scripts, and not the honest work the tests measure (messages
** still name limits.cpu_ms as written). 1 in every normal build. */
#if defined(__SANITIZE_ADDRESS__)
#define WD_BUDGET_SCALE 10
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WD_BUDGET_SCALE 10
#endif
#endif
#ifndef WD_BUDGET_SCALE
#define WD_BUDGET_SCALE 1
#endif

typedef struct wd_entry {
  tr_lua *lx;
  pthread_t tid;
  clockid_t clock;
  unsigned long seen;  /* the call counter at the last look */
  long long cpu0;      /* the thread's CPU time when `seen` was first seen */
  unsigned long fired; /* the call already stopped (0: none) */
  int interrupted;     /* already told about SIGINT/SIGTERM */
} wd_entry;

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv = PTHREAD_COND_INITIALIZER;
static wd_entry *wd_list;
static int wd_n, wd_cap;
static pthread_cond_t wd_stopped_cv = PTHREAD_COND_INITIALIZER;
static int wd_running, wd_quit, wd_stopping;
static pthread_t wd_thread;
static volatile sig_atomic_t wd_signalled; /* set from a signal handler */
/* The signal that asked the experiment to stop: a signal handler has no
** context to write to, so this is the engine's one piece of process-wide
** state. */
static volatile sig_atomic_t wd_interrupted_by;
static __thread tr_lua *wd_self; /* the state this thread runs */
static int wd_sig;               /* the signal used to stop a call */

static long long cpu_ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts)) return 0;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Runs on the thread that owns the state: installs the stop hook. */
static void on_stop_signal(int sig) {
  (void)sig;
  int saved = errno;
  tr_lua *lx = wd_self;
  if (lx && lx->L) sandbox_arm_stop(lx);
  errno = saved;
}

static void fire(wd_entry *e, int interrupt) {
  tr_lua *lx = e->lx;
  if (interrupt) __atomic_store_n(&lx->wd_interrupt, 1, __ATOMIC_RELAXED);
  else __atomic_store_n(&lx->wd_fire_seq, e->seen, __ATOMIC_RELAXED);
  pthread_kill(e->tid, wd_sig);
}

static void *wd_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&wd_mu);
  while (!wd_quit) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += WD_PERIOD_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&wd_cv, &wd_mu, &until);
    if (wd_quit) break;
    int sig = wd_signalled;
    for (int i = 0; i < wd_n; i++) {
      wd_entry *e = &wd_list[i];
      if (sig && !e->interrupted) {
        e->interrupted = 1;
        fire(e, 1);
        continue;
      }
      unsigned long seq = __atomic_load_n(&e->lx->call_seq, __ATOMIC_RELAXED);
      if (seq != e->seen) {
        e->seen = seq;
        e->cpu0 = cpu_ns(e->clock);
        continue;
      }
      long long budget = e->lx->cpu_limit_ns;
      budget = budget > LLONG_MAX / WD_BUDGET_SCALE ? LLONG_MAX : budget * WD_BUDGET_SCALE;
      if (!budget || e->fired == seq || !__atomic_load_n(&e->lx->in_call, __ATOMIC_RELAXED))
        continue;
      if (cpu_ns(e->clock) - e->cpu0 >= budget) {
        e->fired = seq;
        fire(e, 0);
      }
    }
  }
  pthread_mutex_unlock(&wd_mu);
  return NULL;
}

int watchdog_register(tr_lua *lx) {
  pthread_mutex_lock(&wd_mu);
  while (wd_stopping) pthread_cond_wait(&wd_stopped_cv, &wd_mu);
  if (!wd_sig) {
    wd_sig = SIGRTMIN + 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(wd_sig, &sa, NULL);
  }
  if (wd_n == wd_cap) {
    int ncap = wd_cap ? wd_cap * 2 : 8;
    wd_entry *nl = realloc(wd_list, (size_t)ncap * sizeof *nl);
    if (!nl) {
      pthread_mutex_unlock(&wd_mu);
      return -1;
    }
    wd_list = nl;
    wd_cap = ncap;
  }
  wd_entry *e = &wd_list[wd_n];
  memset(e, 0, sizeof *e);
  e->lx = lx;
  e->tid = pthread_self();
  if (pthread_getcpuclockid(e->tid, &e->clock)) e->clock = CLOCK_THREAD_CPUTIME_ID;
  e->seen = lx->call_seq;
  e->cpu0 = cpu_ns(e->clock);
  if (!wd_running) {
    wd_quit = 0;
    if (pthread_create(&wd_thread, NULL, wd_main, NULL)) {
      pthread_mutex_unlock(&wd_mu);
      return -1;
    }
    wd_running = 1;
  }
  wd_n++;
  wd_self = lx;
  pthread_mutex_unlock(&wd_mu);
  return 0;
}

void watchdog_unregister(tr_lua *lx) {
  pthread_mutex_lock(&wd_mu);
  for (int i = 0; i < wd_n; i++)
    if (wd_list[i].lx == lx) {
      wd_list[i] = wd_list[--wd_n];
      break;
    }
  if (wd_self == lx) wd_self = NULL;
  if (wd_n == 0 && wd_running) { /* the last one: stop the thread */
    wd_quit = 1;
    wd_stopping = 1;
    pthread_cond_signal(&wd_cv);
    pthread_mutex_unlock(&wd_mu);
    pthread_join(wd_thread, NULL);
    pthread_mutex_lock(&wd_mu);
    wd_running = 0;
    wd_stopping = 0;
    free(wd_list);
    wd_list = NULL;
    wd_cap = 0;
    pthread_cond_broadcast(&wd_stopped_cv);
  }
  pthread_mutex_unlock(&wd_mu);
}

/* Async-signal-safe: called from SIGINT/SIGTERM handlers. */
void watchdog_signal(int sig) {
  wd_interrupted_by = sig;
  wd_signalled = 1;
}

int tr_interrupted(void) { return wd_interrupted_by; }

void watchdog_clear_signal(void) {
  wd_interrupted_by = 0;
  wd_signalled = 0;
}
