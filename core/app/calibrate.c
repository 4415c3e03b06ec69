/*
** calibrate.c — `tightrope calibrate`: approximate Bayesian computation
** with sequential Monte Carlo (docs/calibration.md), and the posterior a
** `run --posterior` draws its parameters from.
**
** The algorithm is adaptive population Monte Carlo (Beaumont, Cornuet,
** Marin & Robert 2009) with tolerances set from the previous generation's
** distances (Del Moral, Doucet & Jasra 2012; Drovandi & Pettitt 2011):
**   generation 1: candidates from the prior; the first N of them (the
**     pilot) also fix the summaries' scales (median absolute deviations)
**     and the first tolerance, the alpha-quantile of their distances;
**   generation t > 1: a candidate is a particle of generation t-1 drawn by
**     weight and moved by a Gaussian kernel of twice the population's
**     weighted covariance; a move outside the prior's support is discarded
**     unsimulated; weight = prior / sum_j w_j K(theta | theta_j);
**   a candidate is accepted when its run's distance is within the
**     generation's tolerance, until N are; the next tolerance is the
**     weighted alpha-quantile of the accepted distances (strictly below the
**     last one), or the final tolerance once it is reached.
**
** Invariants. Every candidate's proposal comes from a stream of its own
** (master seed, generation, candidate index) and its run from a seed of
** (master seed, generation, batch, position); candidates are simulated in
** batches of a fixed size and accepted in index order. So posterior.csv is
** byte-identical for any -j, and a generation depends only on the one
** before it: --resume continues after the last generation written.
** Every file is replaced whole (written aside, then renamed) after each
** generation, manifest.yaml last.
*/
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <nettle/sha2.h>

#include "base/diag.h"
#include "base/fs.h"
#include "base/number.h"
#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "scenario/instances.h"
#include "scenario/options.h"
#include "base/rng.h"
#include "experiment/manifest.h"
#include "experiment/mpi.h"
#include "app/api.h"
#include "experiment/experiment.h"
#include "app/calibrate.h"

/* Under MPI every rank runs the calibration; each batch's runs are spread
** over the ranks by the experiment, whose results reach rank 0 only, so
** rank 0 hands every rank the batch's summaries and status. Rank 0 alone
** writes and speaks. */
static int cal_rank(void) { return mpi_rank(); }

#define CAL_SALT_PROPOSE 0x70726f706f736531ULL
#define CAL_SALT_SIMULATE 0x73696d756c617465ULL
#define CAL_MAX_PER_ACCEPT 200 /* candidates per particle before giving up */

/* One generation: N particles with their weights, distances, summaries. */
typedef struct cal_gen {
  double *theta;  /* n * k */
  double *weight; /* n, normalised */
  double *dist;   /* n */
  double *summ;   /* n * m */
  int n;
  double tolerance;
  long simulations; /* runs simulated for this generation */
  long proposals;   /* candidates drawn (some outside the prior, unsimulated) */
  double ess;
} cal_gen;

typedef struct cal_ctx {
  tr_scenario *sc;
  const tr_calibdecl *c;
  tr_options *opts; /* resolved; runs, format, seeds changed per batch */
  uint64_t master;
  int k, m, N;
  double *scale; /* m */
  cal_gen *gens;
  int ngens;
  const char *out;
  tr_diag *d;
  /* the batch being simulated */
  double *batch_summ;
  int batch_n;
  int metric0; /* index of the first summary among the metrics */
} cal_ctx;

/* ---------------------------------------------------------------- priors */

static double prior_draw(const tr_prior *p, gsl_rng *r) {
  for (int tries = 0; tries < 100000; tries++) {
    double x;
    switch (p->dist) {
      case PRIOR_NORMAL: x = p->a + gsl_ran_gaussian(r, p->b); break;
      case PRIOR_LOGNORMAL: x = gsl_ran_lognormal(r, p->a, p->b); break;
      case PRIOR_BETA: x = p->lo + (p->hi - p->lo) * gsl_ran_beta(r, p->a, p->b); break;
      default: x = gsl_ran_flat(r, p->a, p->b); break;
    }
    if (x >= p->lo && x <= p->hi) return x;
  }
  return NAN; /* a truncation with (almost) no mass: reported by the caller */
}

/* log density up to a constant per prior; -inf outside the support */
static double prior_logpdf(const tr_prior *p, double x) {
  if (!(x >= p->lo && x <= p->hi)) return -INFINITY;
  switch (p->dist) {
    case PRIOR_NORMAL: return log(gsl_ran_gaussian_pdf(x - p->a, p->b));
    case PRIOR_LOGNORMAL: return log(gsl_ran_lognormal_pdf(x, p->a, p->b));
    case PRIOR_BETA: return log(gsl_ran_beta_pdf((x - p->lo) / (p->hi - p->lo), p->a, p->b));
    default: return 0;
  }
}

static double log_prior(const cal_ctx *x, const double *theta) {
  double s = 0;
  for (int j = 0; j < x->k; j++) s += prior_logpdf(&x->c->priors[j], theta[j]);
  return s;
}

/* ------------------------------------------------------------ simulation */

static int cal_collect(void *ctx, const tr_run_info *run) {
  cal_ctx *x = ctx;
  int i = run->point - 1;
  if (i < 0 || i >= x->batch_n) return 1;
  for (int s = 0; s < x->m; s++)
    x->batch_summ[(size_t)i * (size_t)x->m + (size_t)s] = run->finals[x->metric0 + s];
  return 0;
}

/* Run one simulation per candidate theta[0..n-1] (n * k values) with the
** batch's seed; summaries into summ (n * m). A TR_* status. */
static int cal_simulate(cal_ctx *x, uint64_t seed, const double *theta, int n, double *summ) {
  tr_scenario *sc = x->sc;
  int old_method = sc->sweep_method, old_points = sc->sweep_points, old_n = sc->nsweep;
  tr_sweepparam *old = sc->sweep;
  tr_sweepparam *sw = calloc((size_t)x->k, sizeof *sw);
  double *vals = malloc((size_t)n * (size_t)x->k * sizeof *vals);
  if (!sw || !vals) {
    free(sw);
    free(vals);
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return TR_EOUTPUT;
  }
  for (int j = 0; j < x->k; j++) {
    sw[j].path = x->c->priors[j].path; /* shallow: never freed here */
    sw[j].values = vals + (size_t)j * (size_t)n;
    sw[j].nvalues = n;
    for (int i = 0; i < n; i++) sw[j].values[i] = theta[(size_t)i * (size_t)x->k + (size_t)j];
  }
  sc->sweep_method = SWEEP_FILE;
  sc->sweep_points = n;
  sc->sweep = sw;
  sc->nsweep = x->k;
  x->batch_summ = summ;
  x->batch_n = n;
  x->opts->seed = seed;
  x->opts->has_seed = 1;
  int status = tr_experiment_run(sc, x->opts, x->d);
  int worst = mpi_max_int(status), root_status = status;
  mpi_share_ints(&root_status, 1);
  status = root_status != TR_OK ? root_status : worst;
  if (status == TR_OK) mpi_share_doubles(summ, n * x->m);
  sc->sweep_method = old_method;
  sc->sweep_points = old_points;
  sc->sweep = old;
  sc->nsweep = old_n;
  free(sw);
  free(vals);
  return status;
}

static double cal_distance(const cal_ctx *x, const double *s) {
  double d2 = 0;
  for (int j = 0; j < x->m; j++) {
    double z = (s[j] - x->c->observed[j]) / x->scale[j];
    d2 += z * z;
  }
  return sqrt(d2);
}

/* Median absolute deviation of each summary over the pilot runs, the
** scale of the euclidean-scaled distance; a summary that does not vary
** there keeps scale 1 (its distance is then in its own units). */
static void cal_scales(cal_ctx *x, const double *summ, int n) {
  double *col = malloc((size_t)n * sizeof *col), *work = malloc((size_t)n * sizeof *work);
  for (int j = 0; j < x->m; j++) {
    double mad = 0;
    if (col && work && x->c->distance == DIST_EUCLIDEAN_SCALED) {
      for (int i = 0; i < n; i++) col[i] = summ[(size_t)i * (size_t)x->m + (size_t)j];
      mad = gsl_stats_mad0(col, 1, (size_t)n, work);
    }
    x->scale[j] = mad > 0 && isfinite(mad) ? mad : 1;
  }
  free(col);
  free(work);
}

/* The weighted alpha-quantile of a generation's distances. */
static double cal_quantile(const cal_gen *g, double alpha) {
  size_t *idx = malloc((size_t)g->n * sizeof *idx);
  if (!idx) return g->tolerance;
  gsl_sort_index(idx, g->dist, 1, (size_t)g->n);
  double acc = 0, q = g->dist[idx[g->n - 1]];
  for (int i = 0; i < g->n; i++) {
    acc += g->weight[idx[i]];
    if (acc >= alpha) {
      q = g->dist[idx[i]];
      break;
    }
  }
  free(idx);
  return q;
}

/* The next tolerance: the quantile, strictly below the last tolerance;
** -1 when no distance of the population is below it (nothing to shrink). */
static double cal_next_tolerance(const cal_ctx *x, const cal_gen *g, int *last) {
  double q = cal_quantile(g, x->c->alpha);
  if (!(q < g->tolerance)) {
    q = -1;
    for (int i = 0; i < g->n; i++)
      if (g->dist[i] < g->tolerance && g->dist[i] > q) q = g->dist[i];
    if (q < 0) return -1;
  }
  *last = 0;
  if (x->c->has_tol_final && q <= x->c->tol_final) {
    q = x->c->tol_final;
    *last = 1;
  }
  return q;
}

/* ------------------------------------------------------------ the kernel */

typedef struct cal_kernel {
  gsl_matrix *chol; /* Cholesky factor of 2 * Sigma */
  const cal_gen *prev;
} cal_kernel;

static int cal_kernel_make(const cal_ctx *x, const cal_gen *g, cal_kernel *kern) {
  int k = x->k;
  double mean[k], w2 = 0;
  for (int j = 0; j < k; j++) mean[j] = 0;
  for (int i = 0; i < g->n; i++) {
    w2 += g->weight[i] * g->weight[i];
    for (int j = 0; j < k; j++)
      mean[j] += g->weight[i] * g->theta[(size_t)i * (size_t)k + (size_t)j];
  }
  gsl_matrix *S = gsl_matrix_calloc((size_t)k, (size_t)k);
  if (!S) return -1;
  double norm = w2 < 1 ? 1 / (1 - w2) : 1; /* the unbiased weighted covariance */
  for (int i = 0; i < g->n; i++)
    for (int a = 0; a < k; a++)
      for (int b = 0; b <= a; b++) {
        double v = g->weight[i] * (g->theta[(size_t)i * (size_t)k + (size_t)a] - mean[a])
            * (g->theta[(size_t)i * (size_t)k + (size_t)b] - mean[b]) * norm;
        gsl_matrix_set(S, (size_t)a, (size_t)b, gsl_matrix_get(S, (size_t)a, (size_t)b) + v);
      }
  for (int a = 0; a < k; a++)
    for (int b = 0; b <= a; b++) {
      double v = 2 * gsl_matrix_get(S, (size_t)a, (size_t)b);
      gsl_matrix_set(S, (size_t)a, (size_t)b, v);
      gsl_matrix_set(S, (size_t)b, (size_t)a, v);
    }
  /* A population collapsed along some direction (one value left) gets a
  ** small jitter relative to the prior's width so the kernel can move. */
  for (int tries = 0; tries < 8; tries++) {
    gsl_matrix *C = gsl_matrix_alloc((size_t)k, (size_t)k);
    if (!C) {
      gsl_matrix_free(S);
      return -1;
    }
    gsl_matrix_memcpy(C, S);
    if (gsl_linalg_cholesky_decomp1(C) == GSL_SUCCESS) {
      kern->chol = C;
      kern->prev = g;
      gsl_matrix_free(S);
      return 0;
    }
    gsl_matrix_free(C);
    for (int a = 0; a < k; a++) {
      const tr_prior *p = &x->c->priors[a];
      double width =
          isfinite(p->hi - p->lo) ? p->hi - p->lo : (p->dist == PRIOR_UNIFORM ? 1 : p->b);
      double add = 1e-12 * width * width * pow(100, tries);
      gsl_matrix_set(S, (size_t)a, (size_t)a, gsl_matrix_get(S, (size_t)a, (size_t)a) + add);
    }
  }
  gsl_matrix_free(S);
  return -1;
}

/* log of sum_j w_j exp(-q_j / 2), q_j the squared Mahalanobis distance of
** theta from particle j under the kernel (constants dropped: they cancel
** when the weights are normalised). */
static double cal_kernel_logmix(const cal_ctx *x, const cal_kernel *kern, const double *theta) {
  int k = x->k;
  const cal_gen *g = kern->prev;
  double best = -INFINITY, *lq = malloc((size_t)g->n * sizeof *lq);
  if (!lq) return NAN;
  for (int i = 0; i < g->n; i++) {
    double z[k];
    for (int a = 0; a < k; a++) { /* forward substitution: L z = theta - theta_i */
      double v = theta[a] - g->theta[(size_t)i * (size_t)k + (size_t)a];
      for (int b = 0; b < a; b++) v -= gsl_matrix_get(kern->chol, (size_t)a, (size_t)b) * z[b];
      z[a] = v / gsl_matrix_get(kern->chol, (size_t)a, (size_t)a);
    }
    double q = 0;
    for (int a = 0; a < k; a++) q += z[a] * z[a];
    lq[i] = g->weight[i] > 0 ? log(g->weight[i]) - q / 2 : -INFINITY;
    if (lq[i] > best) best = lq[i];
  }
  double s = 0;
  for (int i = 0; i < g->n; i++) s += exp(lq[i] - best);
  free(lq);
  return best + log(s);
}

/* --------------------------------------------------------------- outputs */

static int cal_write_file(const cal_ctx *x, const char *name, const char *text, size_t len) {
  char *tmp = NULL, *path = NULL;
  if (asprintf(&tmp, "%s/.%s.tmp", x->out, name) < 0) tmp = NULL;
  if (asprintf(&path, "%s/%s", x->out, name) < 0) path = NULL;
  int fd =
      tmp && path ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666) : -1;
  int ok = fd >= 0;
  for (size_t off = 0; ok && off < len;) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else off += (size_t)w;
  }
  if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0)) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok) {
    diag_error(x->d, NULL, 0, 0, "cannot write %s/%s: %s", x->out, name, strerror(errno));
    if (tmp) unlink(tmp);
  }
  free(tmp);
  free(path);
  return ok ? 0 : -1;
}

static void put_num(FILE *f, double v) {
  char buf[64];
  out_format_number(buf, sizeof buf, v);
  fputs(buf, f);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void put_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* A double-quoted YAML scalar. */
static void put_yaml_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

/* Writes calibration.csv, posterior.csv and manifest.yaml of a calibration into its folder
** (finished: the manifest says it is finished); 0, or -1. Long: three files written one after
** the other, each a header and a loop over the generations, that share the open-and-check of the
** folder's files. */
static int cal_write(const cal_ctx *x, int finished) {
  if (cal_rank() != 0) return 0;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return -1;
  fputs("generation,particle,weight", f);
  for (int j = 0; j < x->k; j++) {
    fputc(',', f);
    put_field(f, x->c->priors[j].path.text);
  }
  fputs(",distance", f);
  for (int s = 0; s < x->m; s++) {
    fputc(',', f);
    put_field(f, x->c->summaries[s].name);
  }
  fputc('\n', f);
  for (int g = 0; g < x->ngens; g++) {
    const cal_gen *G = &x->gens[g];
    for (int i = 0; i < G->n; i++) {
      fprintf(f, "%d,%d,", g + 1, i + 1);
      put_num(f, G->weight[i]);
      for (int j = 0; j < x->k; j++) {
        fputc(',', f);
        put_num(f, G->theta[(size_t)i * (size_t)x->k + (size_t)j]);
      }
      fputc(',', f);
      put_num(f, G->dist[i]);
      for (int s = 0; s < x->m; s++) {
        fputc(',', f);
        put_num(f, G->summ[(size_t)i * (size_t)x->m + (size_t)s]);
      }
      fputc('\n', f);
    }
  }
  fclose(f);
  int bad = !text || cal_write_file(x, "posterior.csv", text, len);
  free(text);
  if (bad) return -1;

  f = open_memstream(&text, &len);
  if (!f) return -1;
  fputs("generation,tolerance,particles,simulations,proposals,acceptance_rate,ess\n", f);
  for (int g = 0; g < x->ngens; g++) {
    const cal_gen *G = &x->gens[g];
    fprintf(f, "%d,", g + 1);
    put_num(f, G->tolerance);
    fprintf(f, ",%d,%ld,%ld,", G->n, G->simulations, G->proposals);
    put_num(f, G->simulations ? (double)G->n / (double)G->simulations : 0);
    fputc(',', f);
    put_num(f, G->ess);
    fputc('\n', f);
  }
  fclose(f);
  bad = !text || cal_write_file(x, "calibration.csv", text, len);
  free(text);
  if (bad) return -1;

  /* the manifest: names are [a-z0-9_], paths and files double-quoted */
  f = open_memstream(&text, &len);
  if (!f) return -1;
  char *abspath = realpath(x->sc->path, NULL);
  fprintf(f, "# tightrope calibration: what was run (docs/calibration.md)\n");
  fprintf(f, "tightrope:\n  version: \"%s\"\n", TR_VERSION);
  fputs("scenario:\n  path: ", f);
  put_yaml_str(f, x->sc->path);
  fputs("\n  abspath: ", f);
  put_yaml_str(f, abspath ? abspath : x->sc->path);
  fputs("\n  id: ", f);
  put_yaml_str(f, x->sc->id);
  fprintf(f, "\n  sha256: \"%s\"\n", x->sc->sha256);
  free(abspath);
  fprintf(f, "calibration:\n  method: abc-smc\n  seed: %llu\n  particles: %d\n  generations: %d\n",
          (unsigned long long)x->master, x->N, x->ngens);
  fprintf(f, "  generations_max: %d\n  alpha: ", x->c->generations);
  put_num(f, x->c->alpha);
  fprintf(f, "\n  ticks: %d\n  finished: %s\n  distance: %s\n", x->opts->ticks,
          finished ? "true" : "false",
          x->c->distance == DIST_EUCLIDEAN ? "euclidean" : "euclidean-scaled");
  if (x->c->has_tol_final) {
    fputs("  tolerance_final: ", f);
    put_num(f, x->c->tol_final);
    fputc('\n', f);
  }
  fputs("  params:\n", f);
  static const char *const dists[] = {"uniform", "normal", "lognormal", "beta"};
  for (int j = 0; j < x->k; j++) {
    const tr_prior *p = &x->c->priors[j];
    fputs("    - {path: ", f);
    put_yaml_str(f, p->path.text);
    fprintf(f, ", prior: %s, a: ", dists[p->dist]);
    put_num(f, p->a);
    fputs(", b: ", f);
    put_num(f, p->b);
    fputs(", support: [", f);
    put_num(f, p->lo);
    fputs(", ", f);
    put_num(f, p->hi);
    fputs("]}\n", f);
  }
  fputs("  summaries:\n", f);
  for (int s = 0; s < x->m; s++) {
    fprintf(f, "    - {name: %s, observed: ", x->c->summaries[s].name);
    put_num(f, x->c->observed[s]);
    fputs(", scale: ", f);
    put_num(f, x->scale[s]);
    fputs("}\n", f);
  }
  fclose(f);
  bad = !text || cal_write_file(x, "manifest.yaml", text, len);
  free(text);
  return bad ? -1 : 0;
}

/* ------------------------------------------------------------- generations */

static int cal_gen_alloc(cal_gen *g, int n, int k, int m) {
  memset(g, 0, sizeof *g);
  g->theta = calloc((size_t)n * (size_t)k + 1, sizeof *g->theta);
  g->weight = calloc((size_t)n + 1, sizeof *g->weight);
  g->dist = calloc((size_t)n + 1, sizeof *g->dist);
  g->summ = calloc((size_t)n * (size_t)m + 1, sizeof *g->summ);
  return g->theta && g->weight && g->dist && g->summ ? 0 : -1;
}

static void cal_gen_free(cal_gen *g) {
  free(g->theta);
  free(g->weight);
  free(g->dist);
  free(g->summ);
}

static gsl_rng *cal_stream(uint64_t master, uint64_t salt, int gen, long index) {
  gsl_rng *r = gsl_rng_alloc(rng_type());
  if (r)
    gsl_rng_set(r,
                (unsigned long)rng_run_seed(rng_run_seed(master ^ salt, (uint64_t)gen),
                                            (uint64_t)index + 1));
  return r;
}

/* Propose candidate `index` of generation gen (1-based): from the prior, or
** from the kernel around the previous population. 0 when it lies inside
** the prior's support (theta set), 1 when outside, -1 on failure. */
static int cal_propose(const cal_ctx *x, int gen, long index, const cal_kernel *kern,
                       double *theta) {
  gsl_rng *r = cal_stream(x->master, CAL_SALT_PROPOSE, gen, index);
  if (!r) return -1;
  int rc = 0;
  if (!kern) {
    for (int j = 0; j < x->k; j++) {
      theta[j] = prior_draw(&x->c->priors[j], r);
      if (isnan(theta[j])) rc = -1;
    }
  } else {
    const cal_gen *g = kern->prev;
    double u = gsl_rng_uniform(r), acc = 0;
    int pick = g->n - 1;
    for (int i = 0; i < g->n; i++) {
      acc += g->weight[i];
      if (u < acc) {
        pick = i;
        break;
      }
    }
    double z[x->k];
    for (int a = 0; a < x->k; a++) z[a] = gsl_ran_gaussian(r, 1);
    for (int a = 0; a < x->k; a++) {
      double v = g->theta[(size_t)pick * (size_t)x->k + (size_t)a];
      for (int b = 0; b <= a; b++) v += gsl_matrix_get(kern->chol, (size_t)a, (size_t)b) * z[b];
      theta[a] = v;
    }
    if (!isfinite(log_prior(x, theta))) rc = 1;
  }
  gsl_rng_free(r);
  return rc;
}

/* One generation: candidates in batches of N, accepted in index order.
** Long: the batches of a generation share the candidates, their summaries and the acceptance
** state, and the order of acceptance (index order) must read as one loop. */
static int cal_generation(cal_ctx *x, int gen, const cal_kernel *kern, double tolerance, int pilot,
                          cal_gen *out) {
  int N = x->N, k = x->k, m = x->m;
  if (cal_gen_alloc(out, N, k, m)) {
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return TR_EOUTPUT;
  }
  out->tolerance = tolerance;
  double *theta = malloc((size_t)N * (size_t)k * sizeof *theta);
  double *cand = malloc((size_t)N * (size_t)k * sizeof *cand);
  double *summ = malloc((size_t)N * (size_t)m * sizeof *summ);
  int *valid = malloc((size_t)N * sizeof *valid);
  int status = theta && cand && summ && valid ? TR_OK : TR_EOUTPUT;
  long index = 0;
  for (int batch = 0; status == TR_OK && out->n < N; batch++) {
    if (out->proposals >= (long)CAL_MAX_PER_ACCEPT * N) {
      diag_error(x->d, NULL, 0, 0,
                 "calibration stopped in generation %d: %ld candidates gave %d of "
                 "%d particles within tolerance %g (acceptance below 1/%d); the generations before "
                 "it are in %s/posterior.csv",
                 gen, out->proposals, out->n, N, tolerance, CAL_MAX_PER_ACCEPT, x->out);
      status = TR_ERUNTIME;
      break;
    }
    int nv = 0;
    for (int i = 0; i < N && status == TR_OK; i++, index++) {
      int rc = cal_propose(x, gen, index, kern, theta);
      if (rc < 0) {
        diag_error(x->d, NULL, 0, 0,
                   "cannot draw from the priors (a truncated normal or lognormal "
                   "prior with almost no mass inside its min and max?)");
        status = TR_EINVALID;
      }
      valid[i] = rc == 0 ? nv : -1;
      if (rc == 0) memcpy(cand + (size_t)nv++ * (size_t)k, theta, (size_t)k * sizeof *theta);
    }
    out->proposals += N;
    if (status || nv == 0) continue;
    uint64_t seed = rng_run_seed(rng_run_seed(x->master ^ CAL_SALT_SIMULATE, (uint64_t)gen),
                                 (uint64_t)batch + 1);
    status = cal_simulate(x, seed, cand, nv, summ);
    if (status) break;
    out->simulations += nv;
    if (pilot && batch == 0) {
      cal_scales(x, summ, nv);
      double *d0 = malloc((size_t)nv * sizeof *d0);
      if (!d0) {
        status = TR_EOUTPUT;
        break;
      }
      for (int i = 0; i < nv; i++) d0[i] = cal_distance(x, summ + (size_t)i * (size_t)m);
      gsl_sort(d0, 1, (size_t)nv);
      double q = gsl_stats_quantile_from_sorted_data(d0, 1, (size_t)nv, x->c->alpha);
      free(d0);
      tolerance = q;
      if (x->c->has_tol_final && tolerance <= x->c->tol_final) tolerance = x->c->tol_final;
      out->tolerance = tolerance;
    }
    for (int i = 0; i < N && out->n < N; i++) {
      if (valid[i] < 0) continue;
      const double *s = summ + (size_t)valid[i] * (size_t)m;
      double dist = cal_distance(x, s);
      if (!(dist <= tolerance)) continue;
      const double *t = cand + (size_t)valid[i] * (size_t)k;
      int n = out->n++;
      memcpy(out->theta + (size_t)n * (size_t)k, t, (size_t)k * sizeof *t);
      memcpy(out->summ + (size_t)n * (size_t)m, s, (size_t)m * sizeof *s);
      out->dist[n] = dist;
      out->weight[n] =
          kern ? log_prior(x, t) - cal_kernel_logmix(x, kern, t) : 0; /* log, for now */
    }
  }
  if (status == TR_OK) { /* normalise the log weights */
    double best = -INFINITY, sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++)
      if (out->weight[i] > best) best = out->weight[i];
    for (int i = 0; i < N; i++) {
      out->weight[i] = exp(out->weight[i] - best);
      sum += out->weight[i];
    }
    for (int i = 0; i < N; i++) {
      out->weight[i] /= sum;
      sum2 += out->weight[i] * out->weight[i];
    }
    out->ess = 1 / sum2;
  }
  free(theta);
  free(cand);
  free(summ);
  free(valid);
  return status;
}

/* -------------------------------------------------------------- resuming */

/* The generations of an earlier calibration in out, to continue after the
** last one (--resume): posterior.csv (full precision), calibration.csv
** and the summaries' scales from manifest.yaml. 0, or -1 with a message.
** Long: the three files of an earlier calibration are read in turn into the one context, and the
** checks that they agree need all three. */
static int cal_resume(cal_ctx *x) {
  char *path = NULL;
  ynode *man = manifest_load(x->out, x->d);
  const ynode *sha = manifest_get(man, "scenario", "sha256");
  const ynode *seed = manifest_get(man, "calibration", "seed");
  const ynode *parts = manifest_get(man, "calibration", "particles");
  const ynode *sums = manifest_get(man, "calibration", "summaries");
  const ynode *ticks = manifest_get(man, "calibration", "ticks");
  int ok = sha && seed && parts && sums && ticks && sums->type == YN_SEQ && sums->n == x->m;
  if (ok
      && (strcmp(sha->str, x->sc->sha256) != 0 || strtoull(seed->str, NULL, 10) != x->master
          || atoi(parts->str) != x->N || atoi(ticks->str) != x->opts->ticks)) {
    diag_error(x->d, NULL, 0, 0,
               "--resume: %s holds a calibration of another scenario file, seed, "
               "particle count or horizon; give the same ones, or another -o",
               x->out);
    ynode_free(man);
    return -1;
  }
  for (int s = 0; ok && s < x->m; s++) {
    const ynode *sc = ynode_get(sums->items[s], "scale");
    if (!sc) ok = 0;
    else x->scale[s] = strtod(sc->str, NULL);
  }
  ynode_free(man);
  if (!ok) {
    diag_error(x->d, NULL, 0, 0,
               "--resume: %s holds no calibration to continue (no readable manifest.yaml)", x->out);
    return -1;
  }
  /* calibration.csv: tolerance, simulations, proposals per generation */
  FILE *f = NULL;
  if (asprintf(&path, "%s/calibration.csv", x->out) >= 0) f = fopen(path, "r");
  free(path);
  char *line = NULL;
  size_t cap = 0;
  int g = 0;
  while (f && getline(&line, &cap, f) > 0) {
    int gen, n;
    char tol[64];
    long sims, props;
    if (sscanf(line, "%d,%63[^,],%d,%ld,%ld", &gen, tol, &n, &sims, &props) != 5) continue;
    cal_gen *ng = realloc(x->gens, (size_t)(g + 1) * sizeof *ng);
    if (!ng || gen != g + 1 || n != x->N) {
      ok = 0;
      break;
    }
    x->gens = ng;
    if (cal_gen_alloc(&x->gens[g], x->N, x->k, x->m)) {
      ok = 0;
      break;
    }
    x->gens[g].tolerance = strtod(tol, NULL);
    x->gens[g].simulations = sims;
    x->gens[g].proposals = props;
    x->ngens = ++g;
  }
  if (f) fclose(f);
  /* posterior.csv: every particle of every generation */
  f = NULL;
  if (ok && asprintf(&path, "%s/posterior.csv", x->out) >= 0) {
    f = fopen(path, "r");
    free(path);
  }
  int rows = 0, header = 1;
  while (ok && f && getline(&line, &cap, f) > 0) {
    if (header) {
      header = 0;
      continue;
    }
    char *p = line, *end;
    int gen = (int)strtol(p, &end, 10), i = end[0] == ',' ? (int)strtol(end + 1, &end, 10) : 0;
    if (gen < 1 || gen > x->ngens || i < 1 || i > x->N) {
      ok = 0;
      break;
    }
    cal_gen *G = &x->gens[gen - 1];
    double v[1 + x->k + 1 + x->m];
    p = end;
    for (int c = 0; c < 1 + x->k + 1 + x->m && ok; c++) {
      if (*p != ',') {
        ok = 0;
        break;
      }
      v[c] = strtod(p + 1, &end);
      p = end;
    }
    if (!ok) break;
    G->weight[i - 1] = v[0];
    for (int j = 0; j < x->k; j++) G->theta[(size_t)(i - 1) * (size_t)x->k + (size_t)j] = v[1 + j];
    G->dist[i - 1] = v[1 + x->k];
    for (int s = 0; s < x->m; s++)
      G->summ[(size_t)(i - 1) * (size_t)x->m + (size_t)s] = v[2 + x->k + s];
    if (i > G->n) G->n = i;
    rows++;
  }
  if (f) fclose(f);
  free(line);
  for (int gi = 0; gi < x->ngens; gi++) {
    double s2 = 0;
    for (int i = 0; i < x->N; i++) s2 += x->gens[gi].weight[i] * x->gens[gi].weight[i];
    x->gens[gi].ess = s2 > 0 ? 1 / s2 : 0;
  }
  if (!ok || x->ngens == 0 || rows != x->ngens * x->N) {
    diag_error(x->d, NULL, 0, 0, "--resume: the generations in %s are incomplete or unreadable",
               x->out);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- driver */

/* SIGINT/SIGTERM between batches (each batch's experiment catches its own
** and returns TR_EINT or TR_ETERM, which stops the calibration too). */
static volatile sig_atomic_t cal_signal;
static void cal_on_signal(int sig) { cal_signal = sig; }

/* TIGHTROPE_TEST_PAUSE_GENERATION=G: before generation G says so on stderr
** and waits for SIGINT or SIGTERM, so that a test can interrupt a
** calibration at a known place. */
static void cal_test_pause(int gen) {
  const char *env = getenv("TIGHTROPE_TEST_PAUSE_GENERATION");
  if (!env || atoi(env) != gen) return;
  fprintf(stderr, "tightrope: paused before generation %d (TIGHTROPE_TEST_PAUSE_GENERATION)\n",
          gen);
  fflush(stderr);
  struct timespec ms = {0, 10000000};
  while (!cal_signal) nanosleep(&ms, NULL);
}

/* The summaries become metrics after the scenario's own, so every run
** evaluates them at its end tick (their values arrive in its finals). */
static int cal_add_summaries(tr_scenario *sc) {
  const tr_calibdecl *c = &sc->calib;
  tr_exprdecl *all = realloc(sc->metrics, (size_t)(sc->nmetrics + c->nsummaries) * sizeof *all);
  if (!all) return -1;
  sc->metrics = all;
  for (int s = 0; s < c->nsummaries; s++) {
    tr_exprdecl *e = &sc->metrics[sc->nmetrics];
    *e = c->summaries[s];
    e->name = strdup(c->summaries[s].name);
    e->expr = strdup(c->summaries[s].expr ? c->summaries[s].expr : "0");
    e->by_name = 0;
    if (!e->name || !e->expr) {
      free(e->name);
      free(e->expr);
      return -1;
    }
    sc->nmetrics++;
  }
  return 0;
}

/* The options every batch of a calibration runs with: o's, one run per
** point of the baseline, no output files, each run's summaries collected
** into x. */
static void cal_batch_options(const tr_options *o, cal_ctx *x, tr_options *run) {
  *run = *o;
  run->runs = 1;
  run->has_runs = 1;
  run->format = TR_FORMAT_NONE;
  run->seed_per_point = 1;
  run->baseline_only = 1;
  run->nvariants = 0;
  run->events = 0;
  run->series = SERIES_NONE;
  run->resume = 0;
  run->quiet = 1;
  run->argc = 0; /* a batch is no command of its own: it prints no resume hint */
  run->argv = NULL;
  run->callback = cal_collect;
  run->callback_ctx = x;
  run->cancel = &run->cancel_flag;
  run->cancel_flag = 0;
}

/* The generations of a calibration from x->ngens + 1 on, the first at
** tolerance, while status is TR_OK, until one is at the final tolerance,
** the tolerance cannot shrink or every generation has run (*done), each
** written as it ends. SIGINT and SIGTERM (o->signals) stop it between
** generations. Returns the status. */
static int cal_run_generations(cal_ctx *x, const tr_options *o, int status, double tolerance,
                               int final_next, int *done) {
  tr_diag *d = x->d;
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cal_on_signal;
  sigemptyset(&sa.sa_mask);
  cal_signal = 0;
  if (o->signals) {
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  while (status == TR_OK && !*done && x->ngens < x->c->generations) {
    cal_test_pause(x->ngens + 1);
    if (cal_signal) {
      status = cal_signal == SIGTERM ? TR_ETERM : TR_EINT;
      break;
    }
    cal_gen *ng = realloc(x->gens, (size_t)(x->ngens + 1) * sizeof *ng);
    if (!ng) {
      status = TR_EOUTPUT;
      break;
    }
    x->gens = ng;
    cal_kernel kern = {NULL, NULL};
    int gen = x->ngens + 1;
    if (gen > 1 && cal_kernel_make(x, &x->gens[x->ngens - 1], &kern) != 0) {
      diag_error(d, NULL, 0, 0, "generation %d: the population's covariance cannot be factored",
                 gen);
      status = TR_ERUNTIME;
      break;
    }
    status =
        cal_generation(x, gen, gen > 1 ? &kern : NULL, tolerance, gen == 1, &x->gens[x->ngens]);
    if (kern.chol) gsl_matrix_free(kern.chol);
    if (status) {
      cal_gen_free(&x->gens[x->ngens]);
      break;
    }
    x->ngens++;
    cal_gen *g = &x->gens[x->ngens - 1];
    if (!o->quiet && cal_rank() == 0)
      fprintf(stderr,
              "tightrope: generation %d: tolerance %g, %ld runs, acceptance %.3f, ESS %.0f\n", gen,
              g->tolerance, g->simulations,
              g->simulations ? (double)g->n / (double)g->simulations : 0, g->ess);
    *done = x->c->has_tol_final && g->tolerance <= x->c->tol_final;
    if (!*done && x->ngens < x->c->generations) {
      tolerance = cal_next_tolerance(x, g, &final_next);
      if (tolerance < 0) *done = 1;
    }
    if (cal_write(x, *done || x->ngens == x->c->generations) != 0) status = TR_EOUTPUT;
  }
  if (o->signals) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  return status;
}

/* After an interrupted calibration (status TR_EINT or TR_ETERM), what was
** kept and the command that resumes it. */
static void cal_resume_hint(const cal_ctx *x, const tr_options *o, int status) {
  if ((status == TR_EINT || status == TR_ETERM) && o->argc > 0 && cal_rank() == 0) {
    fprintf(stderr,
            "tightrope: calibration interrupted by %s after %d generation%s, kept in %s\n"
            "resume with:",
            status == TR_ETERM ? "SIGTERM" : "SIGINT", x->ngens, x->ngens == 1 ? "" : "s", x->out);
    int has_resume = 0;
    for (int i = 0; i < o->argc; i++) {
      has_resume |= strcmp(o->argv[i], "--resume") == 0;
      fputc(' ', stderr);
      diag_shell_word(stderr, o->argv[i]);
    }
    fprintf(stderr, "%s\n", has_resume ? "" : " --resume");
  }
}

/* tightrope calibrate (docs/calibration.md): ABC-SMC generations of the
** scenario's calibrate: block, written to the output folder as they end. */
int tr_calibrate(const char *path, const tr_options *opts, tr_diag *d) {
  gsl_set_error_handler_off();
  tr_scenario *sc = tr_scenario_load_options(path, opts, d);
  if (!sc) return TR_EINVALID;
  int status = TR_OK;
  if (!sc->calib.present) {
    diag_error(d, path, 0, 0,
               "no calibrate: block: tightrope calibrate needs the priors, "
               "summaries and observed values (docs/calibration.md)");
    tr_scenario_free(sc);
    return TR_EINVALID;
  }
  int metric0 = sc->nmetrics;
  if (cal_add_summaries(sc) || tr_scenario_compile(sc, d)) {
    tr_scenario_free(sc);
    return TR_EINVALID;
  }
  tr_options o;
  char outbuf[4096];
  if ((status = opts_resolve(opts, sc, &o, outbuf, sizeof outbuf, d)) != TR_OK) {
    tr_scenario_free(sc);
    return status;
  }
  if (!opts->out) { /* default folder: results/<id>-calibration */
    snprintf(outbuf, sizeof outbuf, "results/%s-calibration", sc->id);
    o.out = outbuf;
  }
  cal_ctx x;
  memset(&x, 0, sizeof x);
  x.sc = sc;
  x.c = &sc->calib;
  x.master = o.seed;
  x.k = sc->calib.npriors;
  x.m = sc->calib.nsummaries;
  x.N = sc->calib.particles;
  x.out = o.out;
  x.d = d;
  x.metric0 = metric0;
  x.scale = calloc((size_t)x.m + 1, sizeof *x.scale);
  tr_options run;
  cal_batch_options(&o, &x, &run);
  x.opts = &run;
  if (!x.scale || (cal_rank() == 0 && fs_mkdirs(x.out) != 0)) {
    diag_error(d, NULL, 0, 0, "cannot create the output folder %s: %s", x.out, strerror(errno));
    status = TR_EOUTPUT;
  }
  if (status == TR_OK && o.resume && cal_resume(&x) != 0) status = TR_EUSAGE;
  /* done: a generation at the final tolerance is in, or the tolerance
  ** cannot shrink further, or every generation has run */
  double tolerance = INFINITY;
  int done = 0, final_next = 0;
  if (status == TR_OK && x.ngens > 0) { /* resumed: the next tolerance as it would have been */
    cal_gen *g = &x.gens[x.ngens - 1];
    done = x.c->has_tol_final && g->tolerance <= x.c->tol_final;
    if (!done) tolerance = cal_next_tolerance(&x, g, &final_next);
    if (tolerance < 0) done = 1;
  }
  status = cal_run_generations(&x, &o, status, tolerance, final_next, &done);
  cal_resume_hint(&x, &o, status);
  if (status == TR_OK && x.ngens > 0 && o.resume && done && cal_write(&x, 1) != 0)
    status = TR_EOUTPUT;
  if (status == TR_OK && !o.quiet && cal_rank() == 0)
    fprintf(stderr, "tightrope: posterior in %s/posterior.csv (%d generations)\n", x.out, x.ngens);
  for (int g = 0; g < x.ngens; g++) cal_gen_free(&x.gens[g]);
  free(x.gens);
  free(x.scale);
  tr_scenario_free(sc);
  return status;
}

/* ------------------------------------------------------------- posterior */

void posterior_free(tr_posterior *p) {
  if (!p) return;
  for (int j = 0; j < p->k; j++) scen_path_free(&p->paths[j]);
  free(p->paths);
  free(p->theta);
  free(p->cum);
  free(p->file);
  free(p);
}

/* The rows of a posterior.csv as read: each row's generation, and its
** weight followed by its k parameter values. */
typedef struct {
  double *rows; /* nrows x (k + 1) */
  int *gens;
  int nrows, gen_max;
} post_rows;

/* The header line of a posterior.csv (generation,particle,weight,PATH...,
** distance,SUMMARY...): its parameter paths into p->paths, the column of
** "distance" into *ncol. Returns nonzero (reported) when it is not one. */
static int post_header(tr_posterior *p, const tr_scenario *sc, char *line, const char *file,
                       int *ncol, tr_diag *d) {
  char *save = NULL, *tok = strtok_r(line, ",", &save);
  int col = 0, at_params = 0;
  while (tok) {
    if (col == 0 && strcmp(tok, "generation") != 0) break;
    if (col == 2) at_params = strcmp(tok, "weight") == 0;
    else if (col > 2 && at_params) {
      if (strcmp(tok, "distance") == 0) {
        at_params = 0;
        *ncol = col;
        break;
      }
      tr_path *np = realloc(p->paths, (size_t)(p->k + 1) * sizeof *np);
      if (!np) return 1;
      p->paths = np;
      char err[512];
      if (scen_path_parse(sc, tok, &p->paths[p->k], err, sizeof err) < 0) {
        diag_error(d, file, 1, 0,
                   "the posterior's parameter '%s' is not a path of %s: %s "
                   "(is the posterior from another scenario?)",
                   tok, sc->path, err);
        return 1;
      }
      if (p->paths[p->k].kind == PATH_PARAM || p->paths[p->k].kind == PATH_COUNT) {
        diag_error(d, file, 1, 0,
                   "--posterior sets attributes and model parameters; '%s' is an "
                   "actor parameter or a population count, which it cannot set per run",
                   tok);
        p->k++;
        return 1;
      }
      p->k++;
    }
    col++;
    tok = strtok_r(NULL, ",", &save);
  }
  if (*ncol == 0 || p->k == 0) {
    diag_error(d, file, 1, 0,
               "not a posterior.csv of tightrope calibrate (its header is "
               "generation,particle,weight, the parameters, distance, the summaries)");
    return 1;
  }
  return 0;
}

/* One particle row (line LINENO, NCOL numeric columns before "distance")
** appended to r. Returns nonzero (reported, or out of memory) on failure. */
static int post_row(post_rows *r, int k, char *line, int lineno, int ncol, const char *file,
                    tr_diag *d) {
  double v[ncol];
  char *s = line, *end;
  for (int c = 0; c < ncol; c++) {
    v[c] = strtod(s, &end);
    if (end == s || (*end != ',' && *end != '\0') || !isfinite(v[c])) {
      diag_error(d, file, lineno, 0, "expected a number in column %d", c + 1);
      return 1;
    }
    s = *end ? end + 1 : end;
  }
  double *nr = realloc(r->rows, (size_t)(r->nrows + 1) * (size_t)(k + 1) * sizeof *nr);
  int *ng = realloc(r->gens, (size_t)(r->nrows + 1) * sizeof *ng);
  if (!nr || !ng) {
    free(nr ? nr : r->rows);
    free(ng ? ng : r->gens);
    r->rows = NULL;
    r->gens = NULL;
    return 1;
  }
  r->rows = nr;
  r->gens = ng;
  r->gens[r->nrows] = (int)v[0];
  r->rows[(size_t)r->nrows * (size_t)(k + 1)] = v[2];
  for (int j = 0; j < k; j++)
    r->rows[(size_t)r->nrows * (size_t)(k + 1) + 1 + (size_t)j] = v[3 + j];
  if ((int)v[0] > r->gen_max) r->gen_max = (int)v[0];
  r->nrows++;
  return 0;
}

/* The calibration's manifest beside FILE, when there is one, must name
** scenario sc. Returns nonzero (reported) when it names another. */
static int post_manifest_check(const tr_scenario *sc, const char *file, tr_diag *d) {
  int bad = 0;
  char *dir = strdup(file), *slash = dir ? strrchr(dir, '/') : NULL;
  const char *folder = slash ? (*slash = '\0', dir) : ".";
  char *man = dir ? manifest_path(folder) : NULL;
  if (man) {
    ynode *m = manifest_load(folder, NULL);
    const ynode *id = manifest_get(m, "scenario", "id");
    if (id && id->type == YN_SCALAR && strcmp(id->str, sc->id) != 0) {
      diag_error(d, file, 0, 0, "this posterior calibrated scenario '%s' (%s), not '%s'", id->str,
                 man, sc->id);
      bad = 1;
    }
    ynode_free(m);
  }
  free(man);
  free(dir);
  return bad;
}

/* The last generation of r into p->theta, its weights cumulated and
** normalised into p->cum. Returns nonzero (reported, or out of memory) when
** a weight is negative or they sum to 0. */
static int post_last_generation(tr_posterior *p, const post_rows *r, const char *file, tr_diag *d) {
  int bad = 0;
  for (int i = 0; i < r->nrows; i++) p->n += r->gens[i] == r->gen_max;
  p->theta = malloc((size_t)p->n * (size_t)p->k * sizeof *p->theta);
  p->cum = malloc((size_t)p->n * sizeof *p->cum);
  double total = 0;
  int n = 0;
  for (int i = 0; p->theta && p->cum && i < r->nrows; i++) {
    if (r->gens[i] != r->gen_max) continue;
    double w = r->rows[(size_t)i * (size_t)(p->k + 1)];
    if (!(w >= 0)) {
      diag_error(d, file, 0, 0, "a particle has a negative weight");
      bad = 1;
      break;
    }
    total += w;
    p->cum[n] = total;
    for (int j = 0; j < p->k; j++)
      p->theta[(size_t)n * (size_t)p->k + (size_t)j] =
          r->rows[(size_t)i * (size_t)(p->k + 1) + 1 + (size_t)j];
    n++;
  }
  if (!p->theta || !p->cum) bad = 1;
  if (!bad && !(total > 0)) {
    diag_error(d, file, 0, 0, "the posterior's weights sum to 0");
    bad = 1;
  }
  for (int i = 0; !bad && i < n; i++) p->cum[i] /= total;
  return bad;
}

/* Every particle of p must be a valid start of every run of sc. Returns
** nonzero (reported) at the first that is not. */
static int post_check_particles(const tr_scenario *sc, const tr_posterior *p, const char *file,
                                tr_diag *d) {
  int bad = 0;
  tr_instance base, one;
  memset(&base, 0, sizeof base);
  memset(&one, 0, sizeof one);
  if (instance_base(sc, 1, &base) || instance_base(sc, 1, &one)) bad = 1;
  for (int i = 0; !bad && i < p->n; i++) {
    char err[512];
    if (posterior_apply(sc, p, i, &base, &one, err, sizeof err)) {
      diag_error(d, file, 0, 0, "particle %d of the last generation: %s", i + 1, err);
      bad = 1;
    }
  }
  free(base.init);
  free(base.model);
  free(one.init);
  free(one.model);
  return bad;
}

/* The last generation of FILE (a posterior.csv), checked against sc: every
** path must be the scenario's, every particle a valid start, and the
** calibration's manifest (beside the file) must name the same scenario. */
tr_posterior *posterior_load(const tr_scenario *sc, const char *file, tr_diag *d) {
  tr_posterior *p = calloc(1, sizeof *p);
  FILE *f = fopen(file, "r");
  if (!p || !f) {
    diag_error(d, file, 0, 0, "cannot read the posterior: %s", strerror(errno));
    if (f) fclose(f);
    free(p);
    return NULL;
  }
  p->file = strdup(file);
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0, bad = 0, ncol = 0;
  post_rows r = {NULL, NULL, 0, 0};
  while (!bad && (len = getline(&line, &cap, f)) > 0) {
    sha256_update(&ctx, (size_t)len, (const uint8_t *)line);
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (lineno == 1) bad = post_header(p, sc, line, file, &ncol, d);
    else bad = post_row(&r, p->k, line, lineno, ncol, file, d);
  }
  fclose(f);
  free(line);
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(p->sha256 + 2 * i, 3, "%02x", digest[i]);
  if (!bad && r.nrows == 0) {
    diag_error(d, file, lineno, 0, "the posterior has no particles");
    bad = 1;
  }
  if (!bad) bad = post_manifest_check(sc, file, d);
  if (!bad) bad = post_last_generation(p, &r, file, d);
  if (!bad) bad = post_check_particles(sc, p, file, d);
  free(r.rows);
  free(r.gens);
  if (bad) {
    posterior_free(p);
    return NULL;
  }
  return p;
}
