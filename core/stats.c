/*
** stats.c — the statistics of the output files (SPEC §6), all through GSL:
** Clopper–Pearson intervals of an outcome share (beta quantiles), the
** t-interval of a mean (Student t quantile, sd with n - 1), and the
** descriptive summary of finals.csv and series_summary.csv (mean, sd,
** percentiles interpolated as gsl_stats_quantile_from_sorted_data does).
**
** Invariants: an undefined statistic is NaN (the CSV writer prints it as an
** empty field), never 0; the mean of a summary is computed on the values in
** the order given (run order), before they are sorted, so the mean printed
** next to a t-interval is the very mean the interval is centred on and the
** result does not depend on how the caller's threads finished.
*/
#include <math.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "internal.h"

/* Exact (Clopper–Pearson) interval of a binomial proportion k/n at the
** given confidence (e.g. 0.95): the alpha/2 quantiles of Beta(k, n-k+1) and
** Beta(k+1, n-k), with the bounds pinned to 0 and 1 at k = 0 and k = n. */
void stats_clopper_pearson(unsigned k, unsigned n, double conf,
                           double *lo, double *hi)
{
  double alpha = 1.0 - conf;

  if (k > n) {                 /* not a proportion: no interval */
    *lo = *hi = NAN;
    return;
  }
  *lo = k == 0 ? 0.0 : gsl_cdf_beta_Pinv(alpha / 2, k, (double)n - k + 1);
  *hi = k == n ? 1.0 : gsl_cdf_beta_Qinv(alpha / 2, (double)k + 1, (double)n - k);
}

/* mean ± t(1 - alpha/2, n - 1) · sd / sqrt(n). */
void stats_t_interval(const double *x, size_t n, double conf,
                      double *lo, double *hi)
{
  double mean, sd, half;

  if (n < 2) {
    *lo = *hi = NAN;
    return;
  }
  mean = gsl_stats_mean(x, 1, n);
  sd = gsl_stats_sd_m(x, 1, n, mean);
  half = gsl_cdf_tdist_Pinv(1.0 - (1.0 - conf) / 2, (double)n - 1) * sd
         / sqrt((double)n);
  *lo = mean - half;
  *hi = mean + half;
}

double stats_quantile_sorted(const double *sorted, size_t n, double p)
{
  if (n == 0)
    return NAN;
  return gsl_stats_quantile_from_sorted_data(sorted, 1, n, p);
}

void stats_describe(double *x, size_t n, double conf, stats_summary *s)
{
  s->n = n;
  s->mean = s->sd = s->ci_low = s->ci_high = NAN;
  s->p05 = s->p50 = s->p95 = s->min = s->max = NAN;
  if (n == 0)
    return;

  /* Before sorting: the mean in run order (see the top of this file). */
  s->mean = gsl_stats_mean(x, 1, n);
  if (n >= 2)
    s->sd = gsl_stats_sd_m(x, 1, n, s->mean);
  if (conf > 0 && conf < 1)
    stats_t_interval(x, n, conf, &s->ci_low, &s->ci_high);

  gsl_sort(x, 1, n);
  s->p05 = stats_quantile_sorted(x, n, 0.05);
  s->p50 = stats_quantile_sorted(x, n, 0.50);
  s->p95 = stats_quantile_sorted(x, n, 0.95);
  s->min = x[0];
  s->max = x[n - 1];
}
