/*
** unit_stats_published.c — core/stats.c against published values: the
** Clopper–Pearson interval against R's binom.test, the Student t quantile
** through the t-interval against R's t.test and qt, the paired interval
** against R's paired t.test on the `sleep` data, and the percentiles of
** stats_describe against R's quantile() (type 7, R's default, which is what
** gsl_stats_quantile_from_sorted_data computes). Published values have 7
** significant digits: the tolerance is 5e-7 of the value.
*/
#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "base/stats.h"
#include "unit.h"

#define PUB 5e-7

static double quantile(const double *sorted, size_t n, double p)
{
  return stats_quantile_sorted(sorted, n, p);
}

int main(void)
{
  double lo, hi, mean;

  gsl_set_error_handler_off();

  /* Clopper–Pearson: binom.test(x, n)$conf.int in R. */
  stats_clopper_pearson(0, 10, 0.95, &lo, &hi);
  CHECK(lo == 0);
  CHECK_NEAR(hi, 0.3084971, PUB);
  stats_clopper_pearson(10, 10, 0.95, &lo, &hi);
  CHECK_NEAR(lo, 0.6915029, PUB);
  CHECK(hi == 1);
  stats_clopper_pearson(5, 10, 0.95, &lo, &hi);
  CHECK_NEAR(lo, 0.1870860, PUB);
  CHECK_NEAR(hi, 0.8129140, PUB);
  stats_clopper_pearson(1, 10, 0.95, &lo, &hi);
  CHECK_NEAR(lo, 0.002528579, PUB);
  CHECK_NEAR(hi, 0.4450161, PUB);
  /* ?binom.test: Mendel's peas, 682 of 925. */
  stats_clopper_pearson(682, 925, 0.95, &lo, &hi);
  CHECK_NEAR(lo, 0.7076683, PUB);
  CHECK_NEAR(hi, 0.7654066, PUB);
  /* Not a proportion: no interval. */
  stats_clopper_pearson(11, 10, 0.95, &lo, &hi);
  CHECK(isnan(lo) && isnan(hi));

  /* t-interval of 1:10: t.test(1:10)$conf.int = [3.334149, 7.665851], i.e.
  ** 5.5 -+ qt(0.975, 9) sd / sqrt(10) with qt(0.975, 9) = 2.262157. */
  {
    double x[10];
    for (int i = 0; i < 10; i++)
      x[i] = i + 1;
    stats_t_interval(x, 10, 0.95, &lo, &hi);
    CHECK_NEAR(lo, 3.334149, PUB);
    CHECK_NEAR(hi, 7.665851, PUB);
    CHECK_NEAR((hi - lo) / 2 / (sqrt(55.0 / 6) / sqrt(10.0)), 2.262157, PUB);
    /* 99%: qt(0.995, 9) = 3.249836. */
    stats_t_interval(x, 10, 0.99, &lo, &hi);
    CHECK_NEAR((hi - lo) / 2 / (sqrt(55.0 / 6) / sqrt(10.0)), 3.249836, PUB);
  }
  /* Two values 0 and 2: mean 1, sd sqrt(2), half-width qt(0.975, 1) = 12.7062. */
  {
    double x[2] = {0, 2};
    stats_t_interval(x, 2, 0.95, &lo, &hi);
    CHECK_NEAR((hi - lo) / 2, 12.706205 * 1.0, PUB);
    stats_t_interval(x, 1, 0.95, &lo, &hi);
    CHECK(isnan(lo) && isnan(hi));
  }

  /* Paired: t.test(extra ~ group, data = sleep, paired = TRUE) in R's
  ** ?t.test: mean difference -1.58, 95% interval [-2.4598858, -0.7001142]. */
  {
    static const double g1[10] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
    static const double g2[10] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};
    double d[10];
    for (int i = 0; i < 10; i++)
      d[i] = g1[i] - g2[i];
    stats_paired(d, 10, 0.95, &mean, &lo, &hi);
    CHECK_NEAR(mean, -1.58, 1e-12);
    CHECK_NEAR(lo, -2.4598858, PUB);
    CHECK_NEAR(hi, -0.7001142, PUB);
    /* Every difference equal: exactly [mean, mean]; one pair: no interval. */
    double same[4] = {0.5, 0.5, 0.5, 0.5};
    stats_paired(same, 4, 0.95, &mean, &lo, &hi);
    CHECK(mean == 0.5 && lo == 0.5 && hi == 0.5);
    stats_paired(same, 1, 0.95, &mean, &lo, &hi);
    CHECK(mean == 0.5 && isnan(lo) && isnan(hi));
  }

  /* R-7 quantiles: quantile(1:10, p) in R. */
  {
    double x[10];
    for (int i = 0; i < 10; i++)
      x[i] = i + 1;
    CHECK_NEAR(quantile(x, 10, 0.1), 1.9, 1e-12);
    CHECK_NEAR(quantile(x, 10, 0.25), 3.25, 1e-12);
    CHECK_NEAR(quantile(x, 10, 0.5), 5.5, 1e-12);
    CHECK_NEAR(quantile(x, 10, 0.75), 7.75, 1e-12);
    CHECK_NEAR(quantile(x, 10, 0.33), 3.97, 1e-12);
    CHECK(quantile(x, 10, 0) == 1 && quantile(x, 10, 1) == 10);
    CHECK(isnan(quantile(x, 0, 0.5)));
    CHECK(quantile(x, 1, 0.3) == 1);
    /* quantile(c(1, 2, 4, 8), c(0.05, 0.95)) = 1.15, 7.4 */
    double y[4] = {1, 2, 4, 8};
    CHECK_NEAR(quantile(y, 4, 0.05), 1.15, 1e-12);
    CHECK_NEAR(quantile(y, 4, 0.95), 7.4, 1e-12);
  }

  /* stats_describe of 10:1 (unsorted): mean 5.5, sd(1:10) = 3.027650,
  ** quantile(1:10, c(0.05, 0.5, 0.95)) = 1.45, 5.5, 9.55, the t-interval of
  ** t.test; x comes back sorted. */
  {
    double x[10];
    stats_summary s;
    for (int i = 0; i < 10; i++)
      x[i] = 10 - i;
    stats_describe(x, 10, 0.95, &s);
    CHECK(s.n == 10);
    CHECK_NEAR(s.mean, 5.5, 1e-15);
    CHECK_NEAR(s.sd, 3.027650, PUB);
    CHECK_NEAR(s.ci_low, 3.334149, PUB);
    CHECK_NEAR(s.ci_high, 7.665851, PUB);
    CHECK_NEAR(s.p05, 1.45, 1e-12);
    CHECK_NEAR(s.p50, 5.5, 1e-12);
    CHECK_NEAR(s.p95, 9.55, 1e-12);
    CHECK(s.min == 1 && s.max == 10 && x[0] == 1 && x[9] == 10);
    /* One value: sd and interval undefined (NaN, an empty field). */
    double one[1] = {3};
    stats_describe(one, 1, 0.95, &s);
    CHECK(s.mean == 3 && isnan(s.sd) && isnan(s.ci_low) && s.p05 == 3 && s.max == 3);
    stats_describe(one, 0, 0.95, &s);
    CHECK(isnan(s.mean) && isnan(s.min));
  }

  /* Sensitivity: y an exact increasing function of column 0 and free of
  ** column 1 gives PRCC 1 for column 0; y = -3 x0 gives SRC -1 and PRCC -1;
  ** a constant column is undefined (NaN). */
  {
    enum { N = 20 };
    double x[N * 3], y[N], src[3], prcc[3];
    for (int i = 0; i < N; i++) {
      x[i * 3] = i;
      x[i * 3 + 1] = (i * 7) % N;          /* a permutation: uncorrelated enough */
      x[i * 3 + 2] = 4;                    /* constant */
      y[i] = exp(0.1 * i);
    }
    CHECK(stats_sensitivity(x, N, 3, y, src, prcc) == 0);
    CHECK_NEAR(prcc[0], 1.0, 1e-9);
    CHECK(isnan(src[2]) && isnan(prcc[2]));
    for (int i = 0; i < N; i++)
      y[i] = -3 * x[i * 3];
    CHECK(stats_sensitivity(x, N, 3, y, src, prcc) == 0);
    CHECK_NEAR(src[0], -1.0, 1e-9);
    CHECK_NEAR(prcc[0], -1.0, 1e-9);
    CHECK(fabs(src[1]) < 1e-9);
  }
  return unit_done("unit_stats_published");
}
