/*
** calreport.c — `tightrope report` on a calibration's folder
** (docs/calibration.md, "The report"): each parameter's weighted marginal
** density per generation with the prior's range marked, the pairwise
** scatter of the final population, and a page with calibration.csv and a
** summary of the posterior.
**
** The same rules as report.c: charts are drawn by gnuplot started with
** fork/execv (never a shell) in a private temporary folder under
** OUTDIR/report/, whose scripts name their files relative to it; nothing
** read from the folder reaches a gnuplot script but numbers and names
** filtered by cal_label(); every text on the page goes through cal_html().
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_sort.h>

#include "base/diag.h"
#include "app/report.h"
#include "scenario/yamltree.h"
#include "experiment/manifest.h"

#define CAL_BINS 30
#define CAL_MAX_BYTES ((size_t)1 << 30)

typedef struct cal_data {
  int k, m, ncol, n; /* parameters, summaries, columns, rows */
  char **names;      /* ncol column names */
  double *v;         /* n * ncol */
  int gens;
  double *lo, *hi; /* k: the prior's support, from the manifest */
} cal_data;

/* Only [A-Za-z0-9_.:+-] and spaces: a label that cannot escape a gnuplot
** string. */
static void cal_label(char *out, size_t size, const char *s) {
  size_t n = 0;
  for (; *s && n + 1 < size; s++)
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
        || strchr("_.:+- ", *s))
      out[n++] = *s;
  out[n] = '\0';
}

static void cal_html(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&#39;", f); break;
      default: fputc(*s, f);
    }
  }
}

/* Reads posterior.csv of a calibration in outdir into c, with each parameter's range from the
** manifest's priors (the data's range otherwise); 0, or -1 (reported). Long: one pass over
** posterior.csv's lines followed by the ranges of its columns, sharing the columns read and the
** one failure exit. */
static int cal_read(const char *outdir, cal_data *c, tr_diag *d) {
  char *path = NULL;
  if (asprintf(&path, "%s/posterior.csv", outdir) < 0) return -1;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  FILE *f = NULL;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= CAL_MAX_BYTES)
    f = fdopen(fd, "r");
  if (!f) {
    diag_error(d, path, 0, 0,
               "cannot read the calibration's posterior (a regular file under 1 GiB)");
    if (fd >= 0) close(fd);
    free(path);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int bad = 0, lineno = 0, dist = -1;
  while (!bad && (len = getline(&line, &cap, f)) > 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (lineno == 1) {
      char *save = NULL;
      for (char *t = strtok_r(line, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char **nn = realloc(c->names, (size_t)(c->ncol + 1) * sizeof *nn);
        if (!nn) {
          bad = 1;
          break;
        }
        c->names = nn;
        c->names[c->ncol] = strdup(t);
        if (strcmp(t, "distance") == 0) dist = c->ncol;
        c->ncol++;
      }
      if (dist < 4 || c->ncol < 3 || strcmp(c->names[0], "generation") != 0) {
        diag_error(d, path, 1, 0, "not a posterior.csv of tightrope calibrate");
        bad = 1;
      }
      c->k = dist - 3;
      c->m = c->ncol - dist - 1;
      continue;
    }
    double *nv = realloc(c->v, (size_t)(c->n + 1) * (size_t)c->ncol * sizeof *nv);
    if (!nv) {
      bad = 1;
      break;
    }
    c->v = nv;
    char *p = line, *end;
    for (int j = 0; j < c->ncol; j++) {
      double x = strtod(p, &end);
      if (end == p) {
        diag_error(d, path, lineno, 0, "expected a number in column %d", j + 1);
        bad = 1;
        break;
      }
      c->v[(size_t)c->n * (size_t)c->ncol + (size_t)j] = x;
      p = *end == ',' ? end + 1 : end;
    }
    if (!bad && (int)c->v[(size_t)c->n * (size_t)c->ncol] > c->gens)
      c->gens = (int)c->v[(size_t)c->n * (size_t)c->ncol];
    c->n++;
  }
  free(line);
  fclose(f);
  free(path);
  if (bad || c->n == 0) {
    if (!bad) diag_error(d, outdir, 0, 0, "the calibration's posterior.csv has no particles");
    return -1;
  }
  /* the priors' supports from the manifest; the data's range otherwise */
  c->lo = calloc((size_t)c->k, sizeof *c->lo);
  c->hi = calloc((size_t)c->k, sizeof *c->hi);
  if (!c->lo || !c->hi) return -1;
  for (int j = 0; j < c->k; j++) {
    c->lo[j] = INFINITY;
    c->hi[j] = -INFINITY;
    for (int i = 0; i < c->n; i++) {
      double x = c->v[(size_t)i * (size_t)c->ncol + 3 + (size_t)j];
      if (x < c->lo[j]) c->lo[j] = x;
      if (x > c->hi[j]) c->hi[j] = x;
    }
  }
  ynode *man = manifest_load(outdir, NULL);
  const ynode *params = manifest_get(man, "calibration", "params");
  for (int j = 0; params && params->type == YN_SEQ && j < params->n && j < c->k; j++) {
    const ynode *sup = ynode_get(params->items[j], "support");
    if (sup && sup->type == YN_SEQ && sup->n == 2) {
      double lo = strtod(sup->items[0]->str, NULL), hi = strtod(sup->items[1]->str, NULL);
      if (isfinite(lo)) c->lo[j] = lo;
      if (isfinite(hi)) c->hi[j] = hi;
    }
  }
  ynode_free(man);
  for (int j = 0; j < c->k; j++)
    if (!(c->hi[j] > c->lo[j])) {
      c->lo[j] -= 0.5;
      c->hi[j] += 0.5;
    }
  return 0;
}

static void cal_free(cal_data *c) {
  for (int j = 0; j < c->ncol; j++) free(c->names[j]);
  free(c->names);
  free(c->v);
  free(c->lo);
  free(c->hi);
}

#define V(c, i, j) ((c)->v[(size_t)(i) * (size_t)(c)->ncol + (size_t)(j)])

/* Weighted mean, sd and the 5% and 95% quantiles of parameter j in the
** final generation. */
static void cal_summary(const cal_data *c, int j, double out[4]) {
  int n = 0;
  double *x = malloc((size_t)c->n * sizeof *x), *w = malloc((size_t)c->n * sizeof *w);
  if (!x || !w) {
    free(x);
    free(w);
    out[0] = out[1] = out[2] = out[3] = NAN;
    return;
  }
  for (int i = 0; i < c->n; i++)
    if ((int)V(c, i, 0) == c->gens) {
      x[n] = V(c, i, 3 + j);
      w[n] = V(c, i, 2);
      n++;
    }
  double sw = 0, m = 0, v = 0;
  for (int i = 0; i < n; i++) {
    sw += w[i];
    m += w[i] * x[i];
  }
  m /= sw;
  for (int i = 0; i < n; i++) v += w[i] * (x[i] - m) * (x[i] - m);
  out[0] = m;
  out[1] = sqrt(v / sw);
  /* weighted quantiles: sort by value (insertion into an index order) */
  out[2] = out[3] = NAN;
  size_t *idx = n ? malloc((size_t)n * sizeof *idx) : NULL;
  if (idx) {
    gsl_sort_index(idx, x, 1, (size_t)n);
    double acc = 0;
    out[2] = out[3] = x[idx[n - 1]];
    int got5 = 0;
    for (int i = 0; i < n; i++) {
      acc += w[idx[i]] / sw;
      if (!got5 && acc >= 0.05) {
        out[2] = x[idx[i]];
        got5 = 1;
      }
      if (acc >= 0.95) {
        out[3] = x[idx[i]];
        break;
      }
    }
    free(idx);
  }
  free(x);
  free(w);
}

/* The gnuplot commands and data of a calibration report: per parameter, its marginal density per
** generation, and the pairs of the last generation. Long: one pass over the parameters writing
** each one's data file and its plot into the one command file. */
static int cal_write_charts(const cal_data *c, const char *tmp) {
  char path[4096], label[256], label2[256];
  FILE *gp;
  snprintf(path, sizeof path, "%s/charts.gp", tmp);
  if (!(gp = fopen(path, "w"))) return -1;
  fputs("set terminal svg size 900,500 dynamic enhanced font 'sans,12' background rgb 'white'\n"
        "set key outside right top\nset grid ytics lc rgb '#dddddd'\n"
        "set style fill transparent solid 0.15 noborder\n",
        gp);
  static const char *const okabe_ito[] = {"#E69F00", "#56B4E9", "#009E73", "#F0E442",
                                          "#0072B2", "#D55E00", "#CC79A7", "#000000"};
  for (int j = 0; j < c->k; j++) {
    /* marginal-J.dat: bin centre, then one density column per generation */
    snprintf(path, sizeof path, "%s/marginal-%d.dat", tmp, j + 1);
    FILE *dat = fopen(path, "w");
    if (!dat) {
      fclose(gp);
      return -1;
    }
    double width = (c->hi[j] - c->lo[j]) / CAL_BINS;
    double *h = calloc((size_t)CAL_BINS * (size_t)c->gens, sizeof *h);
    if (!h) {
      fclose(dat);
      fclose(gp);
      return -1;
    }
    for (int i = 0; i < c->n; i++) {
      int g = (int)V(c, i, 0) - 1, b = (int)((V(c, i, 3 + j) - c->lo[j]) / width);
      if (g < 0 || g >= c->gens) continue;
      if (b == CAL_BINS) b--;
      if (b < 0 || b >= CAL_BINS) continue;
      h[(size_t)g * CAL_BINS + (size_t)b] += V(c, i, 2);
    }
    fprintf(dat, "# bin centre, then the weighted density of generations 1..%d\n", c->gens);
    for (int b = 0; b < CAL_BINS; b++) {
      fprintf(dat, "%.17g", c->lo[j] + (b + 0.5) * width);
      for (int g = 0; g < c->gens; g++) {
        double tot = 0;
        for (int bb = 0; bb < CAL_BINS; bb++) tot += h[(size_t)g * CAL_BINS + (size_t)bb];
        fprintf(dat, " %.17g", tot > 0 ? h[(size_t)g * CAL_BINS + (size_t)b] / (tot * width) : 0);
      }
      fputc('\n', dat);
    }
    free(h);
    fclose(dat);
    cal_label(label, sizeof label, c->names[3 + j]);
    fprintf(gp,
            "set output 'marginal-%d.svg'\nset title 'Posterior of %s by generation (prior range "
            "marked)'\n"
            "set xlabel '%s'\nset ylabel 'density'\nset xrange [%.17g:%.17g]\nunset arrow\n"
            "set arrow from %.17g, graph 0 to %.17g, graph 1 nohead dt 2 lc rgb '#777777'\n"
            "set arrow from %.17g, graph 0 to %.17g, graph 1 nohead dt 2 lc rgb '#777777'\nplot ",
            j + 1, label, label, c->lo[j], c->hi[j], c->lo[j], c->lo[j], c->hi[j], c->hi[j]);
    for (int g = 0; g < c->gens; g++)
      fprintf(gp,
              "%s'marginal-%d.dat' using 1:%d with lines lw %d lc rgb '%s' title 'generation %d'",
              g ? ", " : "", j + 1, g + 2, g == c->gens - 1 ? 3 : 1,
              g == c->gens - 1 ? "#000000" : okabe_ito[g % 7], g + 1);
    fputs("\n", gp);
  }
  fputs("unset arrow\nset key off\n", gp);
  for (int a = 0; a < c->k; a++)
    for (int b = a + 1; b < c->k; b++) {
      snprintf(path, sizeof path, "%s/pair-%d-%d.dat", tmp, a + 1, b + 1);
      FILE *dat = fopen(path, "w");
      if (!dat) {
        fclose(gp);
        return -1;
      }
      fputs("# the final generation: x, y, weight\n", dat);
      for (int i = 0; i < c->n; i++)
        if ((int)V(c, i, 0) == c->gens)
          fprintf(dat, "%.17g %.17g %.17g\n", V(c, i, 3 + a), V(c, i, 3 + b), V(c, i, 2));
      fclose(dat);
      cal_label(label, sizeof label, c->names[3 + a]);
      cal_label(label2, sizeof label2, c->names[3 + b]);
      fprintf(
          gp,
          "set output 'pair-%d-%d.svg'\nset title 'Final population: %s against %s (axes: prior "
          "ranges)'\n"
          "set xlabel '%s'\nset ylabel '%s'\nset xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n"
          "plot 'pair-%d-%d.dat' using 1:2 with points pt 7 ps 0.5 lc rgb '#0072B2'\n"
          "set autoscale y\n",
          a + 1, b + 1, label, label2, label, label2, c->lo[a], c->hi[a], c->lo[b], c->hi[b], a + 1,
          b + 1);
    }
  fclose(gp);
  return 0;
}

static char *cal_find_gnuplot(void) {
  const char *env = getenv("PATH");
  char *copy = strdup(env ? env : "/usr/bin:/bin"), *save = NULL, *found = NULL;
  for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
       dir = strtok_r(NULL, ":", &save)) {
    char *p = NULL;
    if (asprintf(&p, "%s/gnuplot", *dir ? dir : ".") >= 0 && access(p, X_OK) == 0) found = p;
    else free(p);
  }
  free(copy);
  return found;
}

static int cal_gnuplot(const char *tmp, tr_diag *d) {
  char *gnuplot = cal_find_gnuplot();
  if (!gnuplot) {
    diag_error(d, NULL, 0, 0, "gnuplot is not installed (Debian: apt-get install gnuplot-nox)");
    return TR_EOUTPUT;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(tmp) != 0) _exit(127);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    char *argv[] = {gnuplot, "charts.gp", NULL};
    execv(gnuplot, argv);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    diag_error(d, NULL, 0, 0, "gnuplot failed drawing the calibration's charts");
    free(gnuplot);
    return TR_EOUTPUT;
  }
  free(gnuplot);
  return TR_OK;
}

/* The index.html of a calibration report: the posterior's summary table, the generations and the
** charts. Long: the page is written top to bottom in one pass, its sections each a few lines of
** HTML. */
static int cal_page(const cal_data *c, const char *outdir, const char *tmp) {
  char path[4096];
  snprintf(path, sizeof path, "%s/index.html", tmp);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Calibration</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:auto;"
        "padding:1em}img{max-width:100%;height:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
        "@media print{body{max-width:none}}</style></head><body>\n",
        f);
  fprintf(f, "<h1>Calibration: %d generations</h1>\n<p>ABC-SMC posterior of ", c->gens);
  for (int j = 0; j < c->k; j++) {
    fputs(j ? ", <code>" : "<code>", f);
    cal_html(f, c->names[3 + j]);
    fputs("</code>", f);
  }
  fputs(" (docs/calibration.md). Files: <a href=\"../posterior.csv\">posterior.csv</a>, "
        "<a href=\"../calibration.csv\">calibration.csv</a>, "
        "<a href=\"../manifest.yaml\">manifest.yaml</a>.</p>\n",
        f);
  fputs(
      "<h2>Posterior (final generation)</h2>\n<table><tr><th>parameter</th><th>mean</th><th>sd</th>"
      "<th>5%</th><th>95%</th><th>prior range</th></tr>\n",
      f);
  for (int j = 0; j < c->k; j++) {
    double s[4];
    cal_summary(c, j, s);
    fputs("<tr><td style=\"text-align:left\"><code>", f);
    cal_html(f, c->names[3 + j]);
    fprintf(f,
            "</code></td><td>%.4g</td><td>%.3g</td><td>%.4g</td><td>%.4g</td><td>[%.4g, "
            "%.4g]</td></tr>\n",
            s[0], s[1], s[2], s[3], c->lo[j], c->hi[j]);
  }
  fputs("</table>\n", f);
  char *cpath = NULL;
  if (asprintf(&cpath, "%s/calibration.csv", outdir) >= 0) {
    int fd = open(cpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *cf = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (cf) {
      fputs("<h2>Generations</h2>\n<table>\n", f);
      char *line = NULL;
      size_t cap = 0;
      ssize_t len;
      for (int row = 0; (len = getline(&line, &cap, cf)) > 0 && row < 200; row++) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        fputs("<tr>", f);
        char *save = NULL;
        for (char *t = strtok_r(line, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
          fputs(row ? "<td>" : "<th>", f);
          char *end;
          double x = strtod(t, &end);
          if (row && *t && !*end) fprintf(f, "%.4g", x);
          else cal_html(f, t);
          fputs(row ? "</td>" : "</th>", f);
        }
        fputs("</tr>\n", f);
      }
      free(line);
      fclose(cf);
      fputs("</table>\n", f);
    } else if (fd >= 0) {
      close(fd);
    }
  }
  free(cpath);
  fputs("<h2>Charts</h2>\n", f);
  for (int j = 0; j < c->k; j++) {
    fprintf(f, "<figure><img src=\"marginal-%d.svg\" alt=\"Weighted density of ", j + 1);
    cal_html(f, c->names[3 + j]);
    fputs(" in each generation; dashed lines mark the prior's range\"><figcaption>How the "
          "posterior of <code>",
          f);
    cal_html(f, c->names[3 + j]);
    fputs("</code> narrows generation by generation (the last in bold "
          "black).</figcaption></figure>\n",
          f);
  }
  for (int a = 0; a < c->k; a++)
    for (int b = a + 1; b < c->k; b++) {
      fprintf(f,
              "<figure><img src=\"pair-%d-%d.svg\" alt=\"Scatter of the final population: ", a + 1,
              b + 1);
      cal_html(f, c->names[3 + a]);
      fputs(" against ", f);
      cal_html(f, c->names[3 + b]);
      fputs("\"><figcaption>Which combinations of the two parameters fit the data (axes span "
            "the priors).</figcaption></figure>\n",
            f);
    }
  fputs("</body></html>\n", f);
  return fclose(f) == 0 ? 0 : -1;
}

/* tightrope report on a calibration folder: the charts and index.html into outdir/report,
** written in a scratch folder and moved into place. Long: the scratch folder is made, filled and
** moved in one place so that every exit path removes it. */
int calreport_run(const char *outdir, tr_diag *d) {
  cal_data c;
  memset(&c, 0, sizeof c);
  if (cal_read(outdir, &c, d)) {
    cal_free(&c);
    return TR_EINVALID;
  }
  char *rep = NULL, *tmp = NULL;
  int status = TR_EOUTPUT;
  struct stat st;
  if (asprintf(&rep, "%s/report", outdir) < 0) goto out;
  if (lstat(rep, &st) == 0 ? !S_ISDIR(st.st_mode) : mkdir(rep, 0777) != 0) {
    diag_error(d, rep, 0, 0,
               "is not a folder tightrope can write its report in (a symbolic link "
               "or a file there is refused)");
    goto out;
  }
  if (asprintf(&tmp, "%s/.tmp-XXXXXX", rep) < 0 || !mkdtemp(tmp)) {
    diag_error(d, rep, 0, 0, "cannot write: %s", strerror(errno));
    goto out;
  }
  if (cal_write_charts(&c, tmp) || cal_page(&c, outdir, tmp)) {
    diag_error(d, tmp, 0, 0, "cannot write: %s", strerror(errno));
    goto clean;
  }
  if ((status = cal_gnuplot(tmp, d)) != TR_OK) goto clean;
  /* the charts and data files, then index.html last */
  char from[4096], to[4096];
  for (int pass = 0; pass < 2 && status == TR_OK; pass++) {
    for (int j = 0; j < c.k * c.k + c.k && status == TR_OK; j++) {
      const char *const exts[] = {"svg", "dat"};
      for (int e = 0; e < 2; e++) {
        if (pass) break;
        if (j < c.k) {
          snprintf(from, sizeof from, "%s/marginal-%d.%s", tmp, j + 1, exts[e]);
          snprintf(to, sizeof to, "%s/marginal-%d.%s", rep, j + 1, exts[e]);
        } else {
          int a = (j - c.k) / c.k, b = (j - c.k) % c.k;
          if (b <= a) continue;
          snprintf(from, sizeof from, "%s/pair-%d-%d.%s", tmp, a + 1, b + 1, exts[e]);
          snprintf(to, sizeof to, "%s/pair-%d-%d.%s", rep, a + 1, b + 1, exts[e]);
        }
        if (rename(from, to) != 0) {
          diag_error(d, to, 0, 0, "cannot write: %s", strerror(errno));
          status = TR_EOUTPUT;
        }
      }
    }
  }
  snprintf(from, sizeof from, "%s/index.html", tmp);
  snprintf(to, sizeof to, "%s/index.html", rep);
  if (status == TR_OK && rename(from, to) != 0) {
    diag_error(d, to, 0, 0, "cannot write: %s", strerror(errno));
    status = TR_EOUTPUT;
  }
clean:
  if (tmp) {
    char p[4096];
    snprintf(p, sizeof p, "%s/charts.gp", tmp);
    unlink(p);
    for (int j = 0; j < c.k; j++) {
      snprintf(p, sizeof p, "%s/marginal-%d.dat", tmp, j + 1);
      unlink(p);
      snprintf(p, sizeof p, "%s/marginal-%d.svg", tmp, j + 1);
      unlink(p);
      for (int b = j + 1; b < c.k; b++) {
        snprintf(p, sizeof p, "%s/pair-%d-%d.dat", tmp, j + 1, b + 1);
        unlink(p);
        snprintf(p, sizeof p, "%s/pair-%d-%d.svg", tmp, j + 1, b + 1);
        unlink(p);
      }
    }
    snprintf(p, sizeof p, "%s/index.html", tmp);
    unlink(p);
    rmdir(tmp);
  }
out:
  free(rep);
  free(tmp);
  cal_free(&c);
  return status;
}
