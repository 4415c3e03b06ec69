/*
** unit_stats.c — checks of core/stats.c that need the C function itself:
** the Clopper–Pearson interval for every k of n in {1..60, 1000, 3000,
** 10^4, 10^5} against a reference found by bisection on the beta CDF
** (gsl_cdf_beta_P), which shares nothing with the inverse under test but
** the CDF. For n = 10^5 every 97th k (and the 20 at each end) is bisected
** in full, and every other k is checked to lie in the final bracket of
** such a bisection (two CDF evaluations instead of forty). Built and run by `make test` (see the Makefile); prints
** "N passed, N failed" and exits non-zero on a failure.
*/
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "base/stats.h"

/* x with gsl_cdf_beta_P(x, a, b) = p: bisection of [0, 1] until the
** bracket is narrower than 1e-12 of its upper end (or stops shrinking). */
static double bisect(double p, double a, double b)
{
  double lo = 0, hi = 1;
  for (;;) {
    double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi || hi - lo <= 1e-12 * hi)
      return gsl_cdf_beta_P(hi, a, b) - p < p - gsl_cdf_beta_P(lo, a, b) ? hi : lo;
    if (gsl_cdf_beta_P(mid, a, b) < p)
      lo = mid;
    else
      hi = mid;
  }
}

/* The relative error allowed between the interval and the reference: the
** CDF is flat to rounding over a few ulps of x, so both roots agree to far
** better than a reader of a 95% interval needs. */
#define TOL 1e-9

static int close_to(double x, double ref)
{
  return isfinite(x) && fabs(x - ref) <= TOL * fabs(ref) + 1e-300;
}

/* The same check without the full bisection, for n where bisecting every
** k would take minutes: x is within TOL of the root when the CDF crosses p
** between x (1 - TOL) and x (1 + TOL), the bracket a bisection would end
** with. */
static int brackets(double x, double p, double a, double b)
{
  return isfinite(x) && x > 0 && x < 1
         && gsl_cdf_beta_P(x * (1 - TOL), a, b) <= p
         && gsl_cdf_beta_P(fmin(1, x * (1 + TOL)), a, b) >= p;
}

static long passed, failed;

static void check_n(unsigned n)
{
  long bad = 0;
  for (unsigned k = 0; k <= n; k++) {
    double lo, hi, rlo, rhi;
    stats_clopper_pearson(k, n, 0.95, &lo, &hi);
    int ok;
    if (n <= 10000 || k % 97 == 0 || k < 20 || n - k < 20) {
      rlo = k == 0 ? 0.0 : bisect(0.025, k, (double)n - k + 1);
      rhi = k == n ? 1.0 : bisect(0.975, (double)k + 1, (double)n - k);
      ok = close_to(lo, rlo) && close_to(hi, rhi);
    } else {
      rlo = rhi = NAN;
      ok = brackets(lo, 0.025, k, (double)n - k + 1)
           && brackets(hi, 0.975, (double)k + 1, (double)n - k);
    }
    if (!ok || !(lo <= (double)k / n) || !((double)k / n <= hi)) {
      if (bad++ < 5)
        printf("FAIL clopper_pearson(%u, %u): [%.17g, %.17g], reference [%.17g, %.17g]\n",
               k, n, lo, hi, rlo, rhi);
    }
  }
  if (bad) {
    failed++;
    printf("FAIL clopper_pearson n=%u: %ld of %u counts wrong or missing\n", n, bad, n + 1);
  } else {
    passed++;
    printf("ok   clopper_pearson n=%u: every k in 0..%u matches bisection\n", n, n);
  }
}

int main(void)
{
  static const unsigned big[] = {1000, 3000, 10000, 100000};
  gsl_set_error_handler_off();
  for (unsigned n = 1; n <= 60; n++)
    check_n(n);
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
    check_n(big[i]);
  printf("%ld passed, %ld failed\n", passed, failed);
  return failed ? 1 : 0;
}
