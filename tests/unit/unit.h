/*
** unit.h — the assertion macros of the C unit tests (tests/unit/unit_*.c):
** each CHECK prints "ok" or "FAIL" with the place and what it compared, and
** unit_done() prints "N passed, M failed" as the last line (the Makefile's
** `unit` target sums those lines) and gives the exit status.
*/
#ifndef TR_UNIT_H
#define TR_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static long unit_passed, unit_failed;

static void unit_report(int ok, const char *file, int line, const char *what)
{
  if (ok)
    unit_passed++;
  else {
    unit_failed++;
    printf("FAIL %s:%d: %s\n", file, line, what);
  }
}

/* A condition. */
#define CHECK(cond) unit_report((cond) != 0, __FILE__, __LINE__, #cond)

/* A double within a relative tolerance of a published value (7 significant
** digits published: tol 5e-7 of the value). */
#define CHECK_NEAR(x, ref, tol)                                               \
  do {                                                                        \
    double x_ = (x), r_ = (ref);                                              \
    char w_[256];                                                             \
    snprintf(w_, sizeof w_, "%s = %.17g, expected %.17g (tolerance %g)", #x,  \
             x_, r_, (double)(tol));                                          \
    unit_report(isfinite(x_) && fabs(x_ - r_) <= (tol) * fabs(r_) + 1e-300,   \
                __FILE__, __LINE__, w_);                                      \
  } while (0)

/* Two strings equal (NULL equals only NULL). */
#define CHECK_STR(s, ref)                                                     \
  do {                                                                        \
    const char *s_ = (s), *r_ = (ref);                                        \
    char w_[256];                                                             \
    snprintf(w_, sizeof w_, "%s = \"%s\", expected \"%s\"", #s,               \
             s_ ? s_ : "(null)", r_ ? r_ : "(null)");                         \
    unit_report(s_ && r_ ? strcmp(s_, r_) == 0 : s_ == r_, __FILE__,          \
                __LINE__, w_);                                                \
  } while (0)

static int unit_done(const char *name)
{
  printf("%s: %ld passed, %ld failed\n", name, unit_passed, unit_failed);
  return unit_failed ? 1 : 0;
}

#endif
