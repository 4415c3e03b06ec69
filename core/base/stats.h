/* stats.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_STATS_H
#define TR_BASE_STATS_H

#include "base/common.h"

void stats_clopper_pearson(unsigned k, unsigned n, double conf, double *lo, double *hi);
/* t-interval of the mean of x[0..n-1]; NaN bounds when n < 2. */
void stats_t_interval(const double *x, size_t n, double conf, double *lo, double *hi);
/* The p-quantile (0..1) of sorted[0..n-1], interpolated between order
** statistics as gsl_stats_quantile_from_sorted_data does; NaN when n = 0. */
double stats_quantile_sorted(const double *sorted, size_t n, double p);
/* Summary of x[0..n-1] (finals.csv, series_summary.csv). Undefined
** statistics are NaN: everything when n = 0, sd and the interval when n < 2.
** mean and the t-interval (at conf; none when conf is not in (0,1)) are
** computed in the given order, then x is SORTED IN PLACE for the
** percentiles, min and max. */
typedef struct stats_summary {
  size_t n;
  double mean, sd;        /* sd with n - 1 */
  double ci_low, ci_high; /* t-interval of the mean */
  double p05, p50, p95, min, max;
} stats_summary;
void stats_describe(double *x, size_t n, double conf, stats_summary *s);
/* Paired comparison (compare.csv): the mean of diffs[0..n-1] and its
** t-interval at conf. NaN bounds when n < 2; otherwise every difference
** equal (zero variance) gives exactly [mean, mean]. */
void stats_paired(const double *diffs, size_t n, double conf, double *mean, double *lo, double *hi);
/* Sensitivity of y[0..n-1] to the k columns of x (n x k, row-major), as in
** sensitivity.csv: src[j] the standardised regression coefficient (least
** squares of standardised y on the standardised columns), prcc[j] the
** partial rank correlation coefficient (ranks, ties averaged; residuals of
** column j's and y's ranks regressed on the other columns' ranks with an
** intercept, then correlated). NaN when undefined: y or column j constant,
** n < (varying columns) + 2, residuals all zero. 0, or -1 out of memory. */
int stats_sensitivity(const double *x, size_t n, size_t k, const double *y, double *src,
                      double *prcc);
/* Sobol indices of the Saltelli design (docs/experiments.md): ya[N], yb[N]
** the responses of matrices A and B, yab[i*N + j] that of A_B^(i), row j.
** s1[i] first-order (Saltelli et al. 2010), st[i] total (Jansen 1999), and
** their conf intervals by a percentile bootstrap over the N base rows,
** nboot resamples drawn from rng (a gsl_rng *). NaN when undefined (a
** constant response, N < 2). 0, or -1 out of memory. */
int stats_sobol(const double *ya, const double *yb, const double *yab, size_t N, size_t k,
                size_t nboot, void *rng, double conf, double *s1, double *s1_lo, double *s1_hi,
                double *st, double *st_lo, double *st_hi);

#endif
