/*
** stats.c — the statistics of the output files (docs/output-files.md), all through GSL:
** Clopper–Pearson intervals of an outcome share (beta quantiles), the
** t-interval of a mean (Student t quantile, sd with n - 1), and the
** descriptive summary of finals.csv and series_summary.csv (mean, sd,
** percentiles interpolated as gsl_stats_quantile_from_sorted_data does),
** the paired differences of compare.csv, and the sensitivity measures of
** sensitivity.csv (standardised regression coefficients and partial rank
** correlation coefficients, by least squares with gsl_multifit_linear).
**
** Invariants: an undefined statistic is NaN (the CSV writer prints it as an
** empty field), never 0; the mean of a summary is computed on the values in
** the order given (run order), before they are sorted, so the mean printed
** next to a t-interval is the very mean the interval is centred on and the
** result does not depend on how the caller's threads finished.
*/
#include <math.h>

#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_machine.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "base/stats.h"

/* The x in [0, 1] with gsl_cdf_beta_P(x, a, b) = p, by Brent's method
** (gsl_root_fsolver_brent) on the bracket [0, 1], where the CDF goes from 0
** to 1. Used where GSL's own inverse (gsl_cdf_beta_Pinv, a Newton
** iteration) fails to converge and returns NaN, which it does for many
** (k, n) with n in the thousands. NaN only if the solver itself fails. */
static double stats_beta_root(double p, double a, double b);

/* Exact (Clopper–Pearson) interval of a binomial proportion k/n at the
** given confidence (e.g. 0.95): the alpha/2 quantile of Beta(k, n-k+1) and
** the 1 - alpha/2 quantile of Beta(k+1, n-k), with the bounds pinned to 0
** and 1 at k = 0 and k = n. Both bounds are lower-tail quantiles; each is
** GSL's inverse when it converges to a value whose CDF is the target, else
** the bracketed root of the CDF: never missing for 0 <= k <= n. */
static double stats_beta_quantile(double p, double a, double b) {
  double x = gsl_cdf_beta_Pinv(p, a, b);

  if (isfinite(x) && x >= 0 && x <= 1 && fabs(gsl_cdf_beta_P(x, a, b) - p) <= 1e-12 * p) return x;
  return stats_beta_root(p, a, b);
}

void stats_clopper_pearson(unsigned k, unsigned n, double conf, double *lo, double *hi) {
  double alpha = 1.0 - conf;

  if (k > n) { /* not a proportion: no interval */
    *lo = *hi = NAN;
    return;
  }
  *lo = k == 0 ? 0.0 : stats_beta_quantile(alpha / 2, k, (double)n - k + 1);
  *hi = k == n ? 1.0 : stats_beta_quantile(1 - alpha / 2, (double)k + 1, (double)n - k);
}

typedef struct {
  double p, a, b;
} stats_beta_target;

static double stats_beta_gap(double x, void *arg) {
  const stats_beta_target *t = arg;
  return gsl_cdf_beta_P(x, t->a, t->b) - t->p;
}

static double stats_beta_root(double p, double a, double b) {
  stats_beta_target t = {p, a, b};
  gsl_function f = {stats_beta_gap, &t};
  gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
  double x = NAN, lo = 0, hi = 1;

  if (!s || gsl_root_fsolver_set(s, &f, lo, hi) != GSL_SUCCESS) {
    if (s) gsl_root_fsolver_free(s);
    return NAN;
  }
  for (int i = 0; i < 500; i++) {
    if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS) break;
    x = gsl_root_fsolver_root(s);
    lo = gsl_root_fsolver_x_lower(s);
    hi = gsl_root_fsolver_x_upper(s);
    if (gsl_root_test_interval(lo, hi, 0, 4 * GSL_DBL_EPSILON) == GSL_SUCCESS
        || stats_beta_gap(x, &t) == 0)
      break;
  }
  gsl_root_fsolver_free(s);
  return x;
}

/* mean ± t(1 - alpha/2, n - 1) · sd / sqrt(n). */
void stats_t_interval(const double *x, size_t n, double conf, double *lo, double *hi) {
  double mean, sd, half;

  if (n < 2) {
    *lo = *hi = NAN;
    return;
  }
  mean = gsl_stats_mean(x, 1, n);
  sd = gsl_stats_sd_m(x, 1, n, mean);
  half = gsl_cdf_tdist_Pinv(1.0 - (1.0 - conf) / 2, (double)n - 1) * sd / sqrt((double)n);
  *lo = mean - half;
  *hi = mean + half;
}

double stats_quantile_sorted(const double *sorted, size_t n, double p) {
  if (n == 0) return NAN;
  return gsl_stats_quantile_from_sorted_data(sorted, 1, n, p);
}

void stats_describe(double *x, size_t n, double conf, stats_summary *s) {
  s->n = n;
  s->mean = s->sd = s->ci_low = s->ci_high = NAN;
  s->p05 = s->p50 = s->p95 = s->min = s->max = NAN;
  if (n == 0) return;

  /* Before sorting: the mean in run order (see the top of this file). */
  s->mean = gsl_stats_mean(x, 1, n);
  if (n >= 2) s->sd = gsl_stats_sd_m(x, 1, n, s->mean);
  if (conf > 0 && conf < 1) stats_t_interval(x, n, conf, &s->ci_low, &s->ci_high);

  gsl_sort(x, 1, n);
  s->p05 = stats_quantile_sorted(x, n, 0.05);
  s->p50 = stats_quantile_sorted(x, n, 0.50);
  s->p95 = stats_quantile_sorted(x, n, 0.95);
  s->min = x[0];
  s->max = x[n - 1];
}

/* ------------------------------------------------------ paired differences */

/* Mean of the per-pair differences and its t-interval (n - 1 degrees of
** freedom); no interval (NaN) with one pair. When every one of n >= 2
** differences is the same number the sample sd is 0 and the interval is
** exactly [mean, mean]: it is pinned rather than computed, so that no
** rounding in mean ± 0 can widen it. */
void stats_paired(const double *diffs, size_t n, double conf, double *mean, double *lo,
                  double *hi) {
  int constant = 1;

  *mean = *lo = *hi = NAN;
  if (n == 0) return;
  *mean = gsl_stats_mean(diffs, 1, n);
  if (n < 2) /* one pair: no interval, even a zero-width one */
    return;
  for (size_t i = 1; i < n && constant; i++) constant = diffs[i] == diffs[0];
  if (constant) {
    *mean = *lo = *hi = diffs[0];
    return;
  }
  stats_t_interval(diffs, n, conf, lo, hi);
}

/* ------------------------------------------------------------- sensitivity */

/* Ranks 1..n of x[0..n-1] (stride 1), ties sharing their average rank. */
static int stats_rank(const double *x, size_t n, double *rank) {
  size_t *order = malloc((n ? n : 1) * sizeof *order);

  if (!order) return -1;
  gsl_sort_index(order, x, 1, n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) j++;
    for (size_t t = i; t <= j; t++) /* ranks i+1 .. j+1 share */
      rank[order[t]] = (double)(i + j + 2) / 2.0;
    i = j + 1;
  }
  free(order);
  return 0;
}

/* Least-squares residuals of y on the columns of z (n x p, with an
** intercept column when the caller put one there). */
static int stats_residuals(const gsl_matrix *z, const gsl_vector *y, gsl_vector *resid) {
  size_t n = z->size1, p = z->size2;
  gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n, p);
  gsl_vector *c = gsl_vector_alloc(p);
  gsl_matrix *cov = gsl_matrix_alloc(p, p);
  double chisq;
  int rc = -1;

  if (ws && c && cov && gsl_multifit_linear(z, y, c, cov, &chisq, ws) == 0
      && gsl_multifit_linear_residuals(z, y, c, resid) == 0)
    rc = 0;
  if (ws) gsl_multifit_linear_free(ws);
  if (c) gsl_vector_free(c);
  if (cov) gsl_matrix_free(cov);
  return rc;
}

/* 1 when the residuals are zero up to rounding (relative to scale). */
static int stats_negligible(const gsl_vector *r, double scale) {
  double ss = 0;
  for (size_t i = 0; i < r->size; i++) ss += gsl_vector_get(r, i) * gsl_vector_get(r, i);
  return sqrt(ss / (double)r->size) <= 1e-9 * (scale > 0 ? scale : 1);
}

/* SRC: regress standardised y on the standardised active paths. Both are
** centred, so the fit needs no intercept. 0, or -1 (out of memory, or the
** fit failed). column: n doubles of scratch. */
static int stats_src(const double *x, size_t n, size_t k, const double *y, const size_t *active,
                     size_t ka, double ymean, double ysd, double *column, double *src) {
  gsl_matrix *xs = gsl_matrix_alloc(n, ka);
  gsl_vector *ys = gsl_vector_alloc(n);
  gsl_vector *coef = gsl_vector_alloc(ka);
  gsl_matrix *cov = gsl_matrix_alloc(ka, ka);
  gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n, ka);
  double chisq;
  int fit = -1;
  if (xs && ys && coef && cov && ws) {
    for (size_t a = 0; a < ka; a++) {
      double mean, sd;
      for (size_t i = 0; i < n; i++) column[i] = x[i * k + active[a]];
      mean = gsl_stats_mean(column, 1, n);
      sd = gsl_stats_sd_m(column, 1, n, mean);
      for (size_t i = 0; i < n; i++) gsl_matrix_set(xs, i, a, (column[i] - mean) / sd);
    }
    for (size_t i = 0; i < n; i++) gsl_vector_set(ys, i, (y[i] - ymean) / ysd);
    fit = gsl_multifit_linear(xs, ys, coef, cov, &chisq, ws);
  }
  if (fit == 0)
    for (size_t a = 0; a < ka; a++) src[active[a]] = gsl_vector_get(coef, a);
  if (cov) gsl_matrix_free(cov);
  if (ws) gsl_multifit_linear_free(ws);
  if (xs) gsl_matrix_free(xs);
  if (ys) gsl_vector_free(ys);
  if (coef) gsl_vector_free(coef);
  return fit == 0 ? 0 : -1;
}

/* PRCC: rank-transform every active path and y; for each path, the
** correlation of the residuals of its ranks and of y's ranks, each
** regressed (with an intercept) on the ranks of the other paths. 0, or -1
** (out of memory). column: n doubles of scratch. */
static int stats_prcc(const double *x, size_t n, size_t k, const double *y, const size_t *active,
                      size_t ka, double *column, double *prcc) {
  double *ranks = malloc(((k + 1) * n + 1) * sizeof *ranks); /* ka cols, then y */
  gsl_matrix *z = NULL;
  gsl_vector *target = NULL, *rx = NULL, *ry = NULL;
  int rc = -1;

  if (!ranks) goto done;
  for (size_t a = 0; a < ka; a++) {
    for (size_t i = 0; i < n; i++) column[i] = x[i * k + active[a]];
    if (stats_rank(column, n, ranks + a * n)) goto done;
  }
  if (stats_rank(y, n, ranks + ka * n)) goto done;
  z = gsl_matrix_alloc(n, ka); /* intercept + the ka - 1 others */
  target = gsl_vector_alloc(n);
  rx = gsl_vector_alloc(n);
  ry = gsl_vector_alloc(n);
  if (!z || !target || !rx || !ry) goto done;
  for (size_t a = 0; a < ka; a++) {
    size_t col = 1;
    gsl_matrix_set_all(z, 1.0);
    for (size_t b = 0; b < ka; b++)
      if (b != a) {
        for (size_t i = 0; i < n; i++) gsl_matrix_set(z, i, col, ranks[b * n + i]);
        col++;
      }
    for (size_t i = 0; i < n; i++) gsl_vector_set(target, i, ranks[a * n + i]);
    if (stats_residuals(z, target, rx)) goto done;
    for (size_t i = 0; i < n; i++) gsl_vector_set(target, i, ranks[ka * n + i]);
    if (stats_residuals(z, target, ry)) goto done;
    if (stats_negligible(rx, (double)n) || stats_negligible(ry, (double)n))
      continue; /* undefined: nothing left to correlate */
    prcc[active[a]] = gsl_stats_correlation(rx->data, rx->stride, ry->data, ry->stride, n);
  }
  rc = 0;
done:
  free(ranks);
  if (z) gsl_matrix_free(z);
  if (target) gsl_vector_free(target);
  if (rx) gsl_vector_free(rx);
  if (ry) gsl_vector_free(ry);
  return rc;
}

int stats_sensitivity(const double *x, size_t n, size_t k, const double *y, double *src,
                      double *prcc) {
  size_t *active = malloc((k ? k : 1) * sizeof *active), ka = 0;
  double *column = malloc((n ? n : 1) * sizeof *column);
  double ymean, ysd;
  int rc = -1;

  for (size_t j = 0; j < k; j++) src[j] = prcc[j] = NAN;
  if (!active || !column) goto done;

  /* Paths that do not vary over the points have no coefficient. */
  for (size_t j = 0; j < k; j++) {
    for (size_t i = 0; i < n; i++) column[i] = x[i * k + j];
    if (n >= 2 && gsl_stats_sd(column, 1, n) > 0) active[ka++] = j;
  }
  rc = 0;
  if (n < 2) goto done;
  ymean = gsl_stats_mean(y, 1, n);
  ysd = gsl_stats_sd_m(y, 1, n, ymean);
  if (ka == 0 || n < ka + 2 || !(ysd > 0) || !isfinite(ysd)) goto done;
  rc = stats_src(x, n, k, y, active, ka, ymean, ysd, column, src) == 0
          && stats_prcc(x, n, k, y, active, ka, column, prcc) == 0
      ? 0
      : -1;

done:
  free(active);
  free(column);
  return rc;
}

/* ----------------------------------------------------------- Sobol indices */

/* The estimators on the base rows idx[0..N-1] (a bootstrap resample, or
** 0..N-1): V the variance of the 2N values of A and B (divided by 2N),
** S1_i = mean_j yB_j (yABi_j - yA_j) / V (Saltelli et al. 2010, Table 2
** (b)), ST_i = mean_j (yA_j - yABi_j)^2 / (2 V) (Jansen 1999). NaN when
** V = 0. */
static void stats_sobol_once(const double *ya, const double *yb, const double *yab, size_t N,
                             size_t k, const size_t *idx, double *s1, double *st) {
  double mean = 0, var = 0;

  for (size_t j = 0; j < N; j++) mean += ya[idx[j]] + yb[idx[j]];
  mean /= 2.0 * (double)N;
  for (size_t j = 0; j < N; j++) {
    double a = ya[idx[j]] - mean, b = yb[idx[j]] - mean;
    var += a * a + b * b;
  }
  var /= 2.0 * (double)N;
  for (size_t i = 0; i < k; i++) {
    const double *yi = yab + i * N;
    double first = 0, total = 0;
    for (size_t j = 0; j < N; j++) {
      size_t r = idx[j];
      first += yb[r] * (yi[r] - ya[r]);
      total += (ya[r] - yi[r]) * (ya[r] - yi[r]);
    }
    s1[i] = var > 0 ? first / (double)N / var : NAN;
    st[i] = var > 0 ? total / (2.0 * (double)N) / var : NAN;
  }
}

int stats_sobol(const double *ya, const double *yb, const double *yab, size_t N, size_t k,
                size_t nboot, void *rng, double conf, double *s1, double *s1_lo, double *s1_hi,
                double *st, double *st_lo, double *st_hi) {
  size_t *idx = malloc((N ? N : 1) * sizeof *idx);
  double *b1 = malloc((k * nboot + 1) * sizeof *b1);
  double *bt = malloc((k * nboot + 1) * sizeof *bt);
  double *one1 = malloc((k + 1) * sizeof *one1);
  double *onet = malloc((k + 1) * sizeof *onet);
  int rc = -1;

  for (size_t i = 0; i < k; i++) s1[i] = s1_lo[i] = s1_hi[i] = st[i] = st_lo[i] = st_hi[i] = NAN;
  if (!idx || !b1 || !bt || !one1 || !onet) goto done;
  rc = 0;
  if (N < 2) goto done;
  for (size_t j = 0; j < N; j++) idx[j] = j;
  stats_sobol_once(ya, yb, yab, N, k, idx, s1, st);
  if (isnan(s1[0]) || nboot < 2) goto done;

  /* Bootstrap: resample the N base rows with replacement (each row j
  ** carries its A, B and every A_B^(i) value), nboot times; the interval is
  ** the (1 - conf)/2 and (1 + conf)/2 percentiles of the resampled
  ** indices. A resample whose variance is 0 counts as undefined and makes
  ** the interval undefined. */
  for (size_t b = 0; b < nboot; b++) {
    for (size_t j = 0; j < N; j++) idx[j] = (size_t)gsl_rng_uniform_int(rng, (unsigned long)N);
    stats_sobol_once(ya, yb, yab, N, k, idx, one1, onet);
    for (size_t i = 0; i < k; i++) {
      b1[i * nboot + b] = one1[i];
      bt[i * nboot + b] = onet[i];
    }
  }
  for (size_t i = 0; i < k; i++) {
    double *x1 = b1 + i * nboot, *xt = bt + i * nboot;
    int defined = 1;
    for (size_t b = 0; b < nboot && defined; b++) defined = !isnan(x1[b]) && !isnan(xt[b]);
    if (!defined) continue;
    gsl_sort(x1, 1, nboot);
    gsl_sort(xt, 1, nboot);
    s1_lo[i] = gsl_stats_quantile_from_sorted_data(x1, 1, nboot, (1 - conf) / 2);
    s1_hi[i] = gsl_stats_quantile_from_sorted_data(x1, 1, nboot, (1 + conf) / 2);
    st_lo[i] = gsl_stats_quantile_from_sorted_data(xt, 1, nboot, (1 - conf) / 2);
    st_hi[i] = gsl_stats_quantile_from_sorted_data(xt, 1, nboot, (1 + conf) / 2);
  }

done:
  free(idx);
  free(b1);
  free(bt);
  free(one1);
  free(onet);
  return rc;
}
