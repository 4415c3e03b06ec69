/*
** report.c — `tightrope report OUTDIR` (SPEC §7): the charts of a finished
** experiment, drawn by gnuplot from its CSVs, and a page that shows them.
**
** The report reads outcomes.csv, series_summary.csv, compare.csv and
** sensitivity.csv (whichever exist) and manifest.yaml, writes one gnuplot
** command file per chart plus its data files into a private temporary
** folder OUTDIR/report/.tmp-XXXXXX (mode 0700), and runs gnuplot once on a
** driver script that draws every chart as SVG and as PNG (pngcairo, else
** the gd `png` terminal). Then it moves the charts into OUTDIR/report/ and
** writes OUTDIR/report/index.html last.
**
** Invariants a reader must keep:
**  - Nothing read from the folder reaches gnuplot's command language except
**    through rep_gp_label(), which keeps only [A-Za-z0-9_.:+-()%,/=] and
**    spaces (every valid actor, variant, outcome, metric and path name
**    fits), so a crafted CSV cannot run gnuplot's `system` or backquotes. gnuplot runs with its
**    working folder set to the temporary folder and names its outputs
**    relative to it, so the OUTDIR path never appears in a script either.
**    gnuplot is started with fork/execv, never through a shell.
**  - Every text taken from the data goes into index.html through
**    rep_html(), which escapes & < > " '.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define REP_MAX_CSV_BYTES ((size_t)1 << 31)   /* refuse a CSV over 2 GiB */
#define REP_WIDTH 900                         /* chart size in pixels */
#define REP_HEIGHT 480

/* ------------------------------------------------------------------ CSV */

/* A CSV file parsed in place: cells point into text. */
typedef struct rep_csv {
  char *text;
  char **cells;                /* nrows * ncols, row-major; header excluded */
  char **header;
  int ncols;
  size_t nrows;
} rep_csv;

static void rep_csv_free(rep_csv *t)
{
  free(t->text);
  free(t->cells);
  free(t->header);
  memset(t, 0, sizeof *t);
}

/* Reads a whole file; NULL with errno set on failure. */
static char *rep_slurp(const char *path, size_t *len)
{
  /* never through a symbolic link, and never a pipe or a device (a FIFO
  ** would block, /dev/zero never ends) */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;

  if (!f) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  for (;;) {
    if (n + 65536 + 1 > cap) {
      char *grown;
      cap = cap ? cap * 2 : 131072;
      if (cap > REP_MAX_CSV_BYTES) {
        free(buf);
        fclose(f);
        errno = EFBIG;
        return NULL;
      }
      grown = realloc(buf, cap);
      if (!grown) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      buf = grown;
    }
    got = fread(buf + n, 1, 65536, f);
    n += got;
    if (got < 65536)
      break;
  }
  if (ferror(f)) {
    free(buf);
    fclose(f);
    errno = EIO;
    return NULL;
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Splits text into fields (RFC 4180: "" inside quotes is one quote),
** unquoting in place. Rows with a different number of fields than the
** header are an error. 0, 1 when the file is absent, -1 on error (d). */
static int rep_csv_load(const char *dir, const char *name, rep_csv *t,
                        tr_diag *d)
{
  char path[4096];
  size_t len, ncells = 0, capcells = 0;
  char **cells = NULL;
  char *r, *w, *end;
  int row_fields = 0, header_fields = -1;

  memset(t, 0, sizeof *t);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  t->text = rep_slurp(path, &len);
  if (!t->text) {
    if (errno == ENOENT)
      return 1;
    diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
    return -1;
  }
  r = w = t->text;
  end = t->text + len;
  while (r < end) {
    char *field = w;
    int line_end = 0;
    if (*r == '"') {
      r++;
      for (;;) {
        if (r >= end) {
          diag_error(d, path, 0, 0, "unterminated quoted field");
          goto fail;
        }
        if (*r == '"' && r + 1 < end && r[1] == '"') {
          *w++ = '"';
          r += 2;
        } else if (*r == '"') {
          r++;
          break;
        } else
          *w++ = *r++;
      }
    }
    while (r < end && *r != ',' && *r != '\n' && *r != '\r')
      *w++ = *r++;
    if (r < end && *r == '\r')
      r++;
    if (r >= end || *r == '\n')
      line_end = 1;
    r++;                        /* past the comma or LF */
    *w++ = '\0';
    if (ncells == capcells) {
      char **grown;
      capcells = capcells ? capcells * 2 : 1024;
      grown = realloc(cells, capcells * sizeof *grown);
      if (!grown) {
        diag_error(d, path, 0, 0, "out of memory");
        goto fail;
      }
      cells = grown;
    }
    cells[ncells++] = field;
    row_fields++;
    if (line_end) {
      if (header_fields < 0)
        header_fields = row_fields;
      else if (row_fields != header_fields) {
        diag_error(d, path, 0, 0, "a row has %d fields, the header %d",
                   row_fields, header_fields);
        goto fail;
      }
      row_fields = 0;
    }
  }
  if (header_fields <= 0) {
    diag_error(d, path, 0, 0, "empty file");
    goto fail;
  }
  t->ncols = header_fields;
  t->header = malloc((size_t)header_fields * sizeof *t->header);
  t->nrows = ncells / (size_t)header_fields - 1;
  t->cells = malloc((t->nrows * (size_t)header_fields + 1) * sizeof *t->cells);
  if (!t->header || !t->cells) {
    diag_error(d, path, 0, 0, "out of memory");
    goto fail;
  }
  memcpy(t->header, cells, (size_t)header_fields * sizeof *cells);
  memcpy(t->cells, cells + header_fields,
         t->nrows * (size_t)header_fields * sizeof *cells);
  free(cells);
  return 0;
fail:
  free(cells);
  rep_csv_free(t);
  return -1;
}

/* Column index by name, or -1. */
static int rep_col(const rep_csv *t, const char *name)
{
  for (int c = 0; c < t->ncols; c++)
    if (strcmp(t->header[c], name) == 0)
      return c;
  return -1;
}

static const char *rep_cell(const rep_csv *t, size_t row, int col)
{
  return col < 0 ? "" : t->cells[row * (size_t)t->ncols + (size_t)col];
}

/* A number cell; NaN when empty or not a number. */
static double rep_num(const rep_csv *t, size_t row, int col)
{
  const char *s = rep_cell(t, row, col);
  char *end;
  double x;
  if (!*s)
    return NAN;
  x = strtod(s, &end);
  return *end ? NAN : x;
}

/* Requires the named columns; -1 with an error naming the first missing. */
static int rep_need(const rep_csv *t, const char *file, const char *const *names,
                    int n, int *cols, tr_diag *d)
{
  for (int i = 0; i < n; i++) {
    cols[i] = rep_col(t, names[i]);
    if (cols[i] < 0) {
      diag_error(d, file, 1, 0, "no column '%s'", names[i]);
      return -1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- names */

/* A list of distinct names in order of first appearance. */
typedef struct rep_names {
  const char **name;
  int n, cap;
} rep_names;

static int rep_names_index(const rep_names *l, const char *name)
{
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->name[i], name) == 0)
      return i;
  return -1;
}

static int rep_names_add(rep_names *l, const char *name)
{
  int i = rep_names_index(l, name);
  if (i >= 0)
    return i;
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    const char **grown = realloc(l->name, (size_t)cap * sizeof *grown);
    if (!grown)
      return -1;
    l->name = grown;
    l->cap = cap;
  }
  l->name[l->n] = name;
  return l->n++;
}

/* ------------------------------------------------------------ escaping */

/* Text safe inside a single-quoted gnuplot string or a data file field:
** only [A-Za-z0-9_.:+-()%,/=] and spaces are kept, anything else becomes '?'
** (see the top of this file). */
static void rep_gp_label(char *out, size_t size, const char *text)
{
  size_t n = 0;
  for (const char *p = text; *p && n + 1 < size; p++) {
    unsigned char ch = (unsigned char)*p;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
             || (ch >= '0' && ch <= '9') || strchr("_.:+-()%,/= ", ch) != NULL;
    out[n++] = ok && ch ? (char)ch : '?';
  }
  out[n] = '\0';
}

static void rep_html(FILE *f, const char *text)
{
  for (const char *p = text ? text : ""; *p; p++)
    switch (*p) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*p, f);
    }
}

/* A data-file number: "?" (gnuplot's missing value here) for NaN. */
static void rep_gp_num(FILE *f, double x)
{
  if (isfinite(x))
    fprintf(f, " %.17g", x);
  else
    fputs(" ?", f);
}

/* --------------------------------------------------------------- charts */

enum { SEC_METRICS, SEC_OUTCOMES, SEC_COMPARE, SEC_SENSITIVITY, SEC_COUNT };

typedef struct rep_chart {
  char stem[64];               /* file name without .svg/.png */
  char *title;                 /* raw text (escaped when written) */
  int section;
  int width, height;
} rep_chart;

typedef struct rep_ctx {
  const char *outdir;
  char *reportdir, *tmpdir;
  tr_diag *d;
  rep_chart *charts;
  int ncharts, capcharts;
  rep_names variants;          /* baseline first, as in outcomes.csv */
  rep_names outcomes;
  int npoints;                 /* distinct points in outcomes.csv */
  int shown_point;             /* the point whose series and shares are drawn */
  int pooled_compare;          /* compare.csv pools a sweep's points */
  /* manifest */
  char *scenario_id, *scenario_path, *runs, *ticks, *seed, *quantiles;
} rep_ctx;

static const char *const rep_colors[] = {
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};
#define REP_NCOLORS (int)(sizeof rep_colors / sizeof rep_colors[0])

/* Opens TMPDIR/stem.ext for writing. */
static FILE *rep_open(rep_ctx *x, const char *stem, const char *ext)
{
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s%s", x->tmpdir, stem, ext);
  f = fopen(path, "w");
  if (!f)
    diag_error(x->d, path, 0, 0, "cannot write: %s", strerror(errno));
  return f;
}

static int rep_close(rep_ctx *x, FILE *f, const char *stem)
{
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    diag_error(x->d, x->tmpdir, 0, 0, "cannot write the files of chart '%s'", stem);
    return -1;
  }
  return 0;
}

/* Registers a chart; its command file is STEM.gp in the temporary folder. */
static rep_chart *rep_add_chart(rep_ctx *x, const char *stem, const char *title,
                                int section, int height)
{
  rep_chart *c;
  if (x->ncharts == x->capcharts) {
    int cap = x->capcharts ? x->capcharts * 2 : 16;
    rep_chart *grown = realloc(x->charts, (size_t)cap * sizeof *grown);
    if (!grown)
      return NULL;
    x->charts = grown;
    x->capcharts = cap;
  }
  c = &x->charts[x->ncharts];
  memset(c, 0, sizeof *c);
  snprintf(c->stem, sizeof c->stem, "%s", stem);
  c->title = strdup(title);
  if (!c->title)
    return NULL;
  c->section = section;
  c->width = REP_WIDTH;
  c->height = height;
  x->ncharts++;
  return c;
}

/* The common head of every chart's command file. */
static void rep_gp_head(FILE *g, const char *title)
{
  char label[512];
  rep_gp_label(label, sizeof label, title);
  fprintf(g, "reset\nset datafile missing '?'\nset encoding utf8\n"
             "set title '%s'\nset grid lc rgb '#dddddd'\nset border lc rgb '#555555'\n"
             "set key outside right top vertical noenhanced\n", label);
}

/* Each metric over time per variant: median line and 5-95% band, at the
** shown point. */
static int rep_metric_charts(rep_ctx *x, const rep_csv *s)
{
  static const char *const need[] =
    {"variant", "point", "tick", "metric", "p05", "p50", "p95"};
  int col[7];
  rep_names metrics = {0};
  int rc = -1;

  if (rep_need(s, "series_summary.csv", need, 7, col, x->d))
    return -1;
  for (size_t r = 0; r < s->nrows; r++)
    if (rep_names_add(&metrics, rep_cell(s, r, col[3])) < 0)
      goto oom;
  for (int m = 0; m < metrics.n; m++) {
    char stem[64], title[512], label[256];
    int blocks = 0, drawn[64], any = 0;
    FILE *dat, *g;
    snprintf(stem, sizeof stem, "metric-%d", m + 1);
    if (!(dat = rep_open(x, stem, ".dat")))
      goto done;
    /* One block per variant (index i in gnuplot), in variant order. */
    for (int v = 0; v < x->variants.n && blocks < 64; v++) {
      int rows = 0, finite = 0;
      for (size_t r = 0; r < s->nrows; r++) {
        if (strcmp(rep_cell(s, r, col[3]), metrics.name[m]) != 0
            || strcmp(rep_cell(s, r, col[0]), x->variants.name[v]) != 0
            || atoi(rep_cell(s, r, col[1])) != x->shown_point)
          continue;
        rep_gp_num(dat, rep_num(s, r, col[2]));
        rep_gp_num(dat, rep_num(s, r, col[4]));
        rep_gp_num(dat, rep_num(s, r, col[5]));
        rep_gp_num(dat, rep_num(s, r, col[6]));
        fputc('\n', dat);
        finite += isfinite(rep_num(s, r, col[5]));
        rows++;
      }
      if (rows) {
        fputs("\n\n", dat);
        drawn[blocks++] = finite ? v : -1;
        any |= finite > 0;
      }
    }
    if (rep_close(x, dat, stem))
      goto done;
    if (!any)
      continue;
    snprintf(title, sizeof title, "%s over time", metrics.name[m]);
    if (!rep_add_chart(x, stem, title, SEC_METRICS, REP_HEIGHT))
      goto oom;
    if (!(g = rep_open(x, stem, ".gp")))
      goto done;
    rep_gp_head(g, title);
    rep_gp_label(label, sizeof label, metrics.name[m]);
    fprintf(g, "set autoscale xfix\nset xlabel 'tick'\nset ylabel '%s'\nplot \\\n", label);
    for (int b = 0, first = 1; b < blocks; b++) {
      int v = drawn[b];
      const char *color = rep_colors[(v < 0 ? 0 : v) % REP_NCOLORS];
      if (v < 0)
        continue;
      rep_gp_label(label, sizeof label, x->variants.name[v]);
      fprintf(g, "%s  '%s.dat' index %d using 1:2:4 with filledcurves "
                 "lc rgb '%s' fs transparent solid 0.18 noborder notitle, \\\n"
                 "  '%s.dat' index %d using 1:3 with lines lc rgb '%s' lw 2 "
                 "title '%s'",
              first ? "" : ", \\\n", stem, b, color, stem, b, color, label);
      first = 0;
    }
    fputc('\n', g);
    if (rep_close(x, g, stem))
      goto done;
  }
  rc = 0;
  goto done;
oom:
  diag_error(x->d, NULL, 0, 0, "out of memory");
done:
  free(metrics.name);
  return rc;
}

/* Outcome shares per variant with their Clopper-Pearson whiskers. */
static int rep_outcome_chart(rep_ctx *x, const rep_csv *t)
{
  static const char *const need[] =
    {"variant", "point", "outcome", "share", "ci_low", "ci_high"};
  int col[6];
  char label[256], title[256];
  FILE *dat, *g;

  if (rep_need(t, "outcomes.csv", need, 6, col, x->d))
    return -1;
  if (!(dat = rep_open(x, "outcomes", ".dat")))
    return -1;
  for (int k = 0; k < x->outcomes.n; k++) {
    rep_gp_label(label, sizeof label, x->outcomes.name[k]);
    fprintf(dat, "\"%s\"", label);
    for (int v = 0; v < x->variants.n; v++) {
      double share = NAN, lo = NAN, hi = NAN;
      for (size_t r = 0; r < t->nrows; r++)
        if (strcmp(rep_cell(t, r, col[0]), x->variants.name[v]) == 0
            && atoi(rep_cell(t, r, col[1])) == x->shown_point
            && strcmp(rep_cell(t, r, col[2]), x->outcomes.name[k]) == 0) {
          share = rep_num(t, r, col[3]);
          lo = rep_num(t, r, col[4]);
          hi = rep_num(t, r, col[5]);
        }
      /* A bar needs a number: an absent share draws as 0 without whiskers. */
      rep_gp_num(dat, isfinite(share) ? share : 0);
      rep_gp_num(dat, isfinite(lo) ? lo : (isfinite(share) ? share : 0));
      rep_gp_num(dat, isfinite(hi) ? hi : (isfinite(share) ? share : 0));
    }
    fputc('\n', dat);
  }
  if (rep_close(x, dat, "outcomes"))
    return -1;
  snprintf(title, sizeof title, "Outcome shares with 95%% intervals");
  if (!rep_add_chart(x, "outcomes", title, SEC_OUTCOMES, REP_HEIGHT)) {
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return -1;
  }
  if (!(g = rep_open(x, "outcomes", ".gp")))
    return -1;
  rep_gp_head(g, title);
  fputs("set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
        "set style fill solid 0.7 border -1\nset yrange [0:1.05]\n"
        "set ylabel 'share of runs'\nset xtics noenhanced\nplot \\\n", g);
  for (int v = 0; v < x->variants.n; v++) {
    rep_gp_label(label, sizeof label, x->variants.name[v]);
    fprintf(g, "%s  'outcomes.dat' using %d:%d:%d%s lc rgb '%s' title '%s'",
            v ? ", \\\n" : "", 2 + 3 * v, 3 + 3 * v, 4 + 3 * v,
            v ? "" : ":xtic(1)", rep_colors[v % REP_NCOLORS], label);
  }
  fputc('\n', g);
  return rep_close(x, g, "outcomes");
}

/* A dot-and-whisker chart of paired differences: one row per line of
** STEM.dat ("label" diff lo hi), first line on top, a dashed line at 0. */
static int rep_diff_chart(rep_ctx *x, const char *stem, const char *title,
                          const char *xlabel, int rows)
{
  char label[256];
  FILE *g;
  int height = 140 + 34 * rows;

  if (height < 260)
    height = 260;
  if (!rep_add_chart(x, stem, title, SEC_COMPARE, height)) {
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return -1;
  }
  if (!(g = rep_open(x, stem, ".gp")))
    return -1;
  rep_gp_head(g, title);
  rep_gp_label(label, sizeof label, xlabel);
  fprintf(g, "set yrange [%d:-1]\nset ytics noenhanced\nunset key\n"
             "set xlabel '%s'\nset offsets graph 0.08, graph 0.08, 0, 0\n"
             "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead "
             "dt 2 lc rgb '#555555'\n"
             "plot '%s.dat' using 2:0:3:4:ytic(1) with xerrorbars pt 7 ps 1.2 "
             "lw 2 lc rgb '#1f77b4'\n", rows, label, stem);
  return rep_close(x, g, stem);
}

/* The paired differences of compare.csv: outcome shares in one chart (one
** scale), each metric in its own. */
static int rep_compare_charts(rep_ctx *x, const rep_csv *t)
{
  static const char *const need[] =
    {"variant", "kind", "name", "diff", "ci_low", "ci_high"};
  int col[6], rows = 0, finite = 0;
  rep_names metrics = {0};
  char label[512], stem[64], title[512];
  FILE *dat;
  int rc = -1;

  if (rep_need(t, "compare.csv", need, 6, col, x->d))
    return -1;
  if (!(dat = rep_open(x, "compare-outcomes", ".dat")))
    return -1;
  for (size_t r = 0; r < t->nrows; r++) {
    char text[512];
    if (strcmp(rep_cell(t, r, col[1]), "outcome") != 0)
      continue;
    snprintf(text, sizeof text, "%s: %s", rep_cell(t, r, col[0]), rep_cell(t, r, col[2]));
    rep_gp_label(label, sizeof label, text);
    fprintf(dat, "\"%s\"", label);
    rep_gp_num(dat, rep_num(t, r, col[3]));
    rep_gp_num(dat, rep_num(t, r, col[4]));
    rep_gp_num(dat, rep_num(t, r, col[5]));
    fputc('\n', dat);
    finite += isfinite(rep_num(t, r, col[3])) && isfinite(rep_num(t, r, col[4]));
    rows++;
  }
  if (rep_close(x, dat, "compare-outcomes"))
    return -1;
  if (finite && rep_diff_chart(x, "compare-outcomes",
        x->pooled_compare ? "Outcome shares: variant - baseline (paired, pooled over points)"
                          : "Outcome shares: variant - baseline (paired)",
        "difference in share of runs", rows))
    return -1;

  for (size_t r = 0; r < t->nrows; r++)
    if (strcmp(rep_cell(t, r, col[1]), "metric") == 0
        && rep_names_add(&metrics, rep_cell(t, r, col[2])) < 0)
      goto oom;
  for (int m = 0; m < metrics.n; m++) {
    snprintf(stem, sizeof stem, "compare-metric-%d", m + 1);
    if (!(dat = rep_open(x, stem, ".dat")))
      goto done;
    rows = finite = 0;
    for (size_t r = 0; r < t->nrows; r++) {
      if (strcmp(rep_cell(t, r, col[1]), "metric") != 0
          || strcmp(rep_cell(t, r, col[2]), metrics.name[m]) != 0)
        continue;
      rep_gp_label(label, sizeof label, rep_cell(t, r, col[0]));
      fprintf(dat, "\"%s\"", label);
      rep_gp_num(dat, rep_num(t, r, col[3]));
      rep_gp_num(dat, rep_num(t, r, col[4]));
      rep_gp_num(dat, rep_num(t, r, col[5]));
      fputc('\n', dat);
      finite += isfinite(rep_num(t, r, col[3])) && isfinite(rep_num(t, r, col[4]));
      rows++;
    }
    if (rep_close(x, dat, stem))
      goto done;
    snprintf(title, sizeof title, "Final %s: variant - baseline (paired%s)",
             metrics.name[m], x->pooled_compare ? ", pooled over points" : "");
    if (finite && rep_diff_chart(x, stem, title, "difference of the final mean", rows))
      goto done;
  }
  rc = 0;
  goto done;
oom:
  diag_error(x->d, NULL, 0, 0, "out of memory");
done:
  free(metrics.name);
  return rc;
}

/* One tornado chart per outcome and metric of sensitivity.csv: SRC and
** PRCC of every path as horizontal bars, the largest effect on top. */
typedef struct rep_bar { const char *path; double src, prcc, size; } rep_bar;

static int rep_bar_cmp(const void *a, const void *b)
{
  const rep_bar *p = a, *q = b;
  return (p->size > q->size) - (p->size < q->size);
}

static int rep_tornado_charts(rep_ctx *x, const rep_csv *t)
{
  static const char *const need[] = {"kind", "name", "path", "src", "prcc"};
  int col[5], count = 0;
  rep_bar *bars = malloc((t->nrows + 1) * sizeof *bars);

  if (!bars) {
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return -1;
  }
  if (rep_need(t, "sensitivity.csv", need, 5, col, x->d))
    goto fail;
  for (size_t r = 0; r < t->nrows;) {
    const char *kind = rep_cell(t, r, col[0]), *name = rep_cell(t, r, col[1]);
    size_t n = 0, any = 0;
    double reach = 1;
    char stem[64], title[512], label[256];
    FILE *dat, *g;
    /* The rows of one (kind, name) are consecutive. */
    while (r < t->nrows && strcmp(rep_cell(t, r, col[0]), kind) == 0
           && strcmp(rep_cell(t, r, col[1]), name) == 0) {
      rep_bar *b = &bars[n++];
      b->path = rep_cell(t, r, col[2]);
      b->src = rep_num(t, r, col[3]);
      b->prcc = rep_num(t, r, col[4]);
      b->size = fmax(isfinite(b->src) ? fabs(b->src) : 0,
                     isfinite(b->prcc) ? fabs(b->prcc) : 0);
      any += isfinite(b->src) || isfinite(b->prcc);
      if (b->size > reach)
        reach = b->size;
      r++;
    }
    if (!any)
      continue;                 /* nothing defined: a constant response */
    qsort(bars, n, sizeof *bars, rep_bar_cmp);  /* smallest first: bottom */
    snprintf(stem, sizeof stem, "tornado-%d", ++count);
    if (!(dat = rep_open(x, stem, ".dat")))
      goto fail;
    for (size_t i = 0; i < n; i++) {
      rep_gp_label(label, sizeof label, bars[i].path);
      fprintf(dat, "\"%s\"", label);
      rep_gp_num(dat, bars[i].src);
      rep_gp_num(dat, bars[i].prcc);
      fputc('\n', dat);
    }
    if (rep_close(x, dat, stem))
      goto fail;
    snprintf(title, sizeof title, "Sensitivity of %s %s%s", kind, name,
             strcmp(kind, "outcome") == 0 ? " (share)" : " (final mean)");
    if (!rep_add_chart(x, stem, title, SEC_SENSITIVITY,
                       140 + 46 * (int)n < 300 ? 300 : 140 + 46 * (int)n)) {
      diag_error(x->d, NULL, 0, 0, "out of memory");
      goto fail;
    }
    if (!(g = rep_open(x, stem, ".gp")))
      goto fail;
    rep_gp_head(g, title);
    fprintf(g, "set yrange [-0.7:%zu-0.3]\nset xrange [%.17g:%.17g]\n"
               "set ytics noenhanced\nset xlabel 'coefficient'\n"
               "set style fill solid 0.75 border -1\n"
               "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead lc rgb '#555555'\n"
               "plot '%s.dat' using ($2/2):($0+0.19):(abs($2)/2):(0.17):ytic(1) "
               "with boxxyerror lc rgb '#1f77b4' title 'SRC', \\\n"
               "  '%s.dat' using ($3/2):($0-0.19):(abs($3)/2):(0.17) "
               "with boxxyerror lc rgb '#ff7f0e' title 'PRCC'\n",
            n, -1.05 * reach, 1.05 * reach, stem, stem);
    if (rep_close(x, g, stem))
      goto fail;
  }
  free(bars);
  return 0;
fail:
  free(bars);
  return -1;
}

/* ------------------------------------------------------------- gnuplot */

/* Full path of an executable NAME on PATH, malloc'd; NULL when none. */
static char *rep_which(const char *name)
{
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    char *full;
    if (asprintf(&full, "%.*s/%s", (int)len, len ? path : ".", name) >= 0) {
      struct stat st;
      if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
        return full;
      free(full);
    }
    path += len + (colon ? 1 : 0);
  }
  return NULL;
}

/* The driver: every chart as SVG, then as PNG (pngcairo when gnuplot has
** it, else gd's png). */
static int rep_write_driver(rep_ctx *x)
{
  FILE *g = rep_open(x, "report", ".gp");
  if (!g)
    return -1;
  fputs("cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\n", g);
  for (int i = 0; i < x->ncharts; i++) {
    const rep_chart *c = &x->charts[i];
    fprintf(g, "set terminal svg size %d,%d dynamic noenhanced font 'Sans,12' "
               "background rgb 'white'\nset output '%s.svg'\nload '%s.gp'\nunset output\n",
            c->width, c->height, c->stem, c->stem);
    fprintf(g, "if (cairo) { set terminal pngcairo size %d,%d noenhanced "
               "font 'Sans,10' background rgb 'white' } else { set terminal png "
               "size %d,%d noenhanced background rgb 'white' }\n"
               "set output '%s.png'\nload '%s.gp'\nunset output\n",
            c->width, c->height, c->width, c->height, c->stem, c->stem);
  }
  return rep_close(x, g, "report");
}

/* Runs `gnuplot report.gp` in the temporary folder; its messages go to
** gnuplot.log there and are shown when it fails. */
static int rep_gnuplot(rep_ctx *x, const char *gnuplot)
{
  char log[4096];
  pid_t pid;
  int status;

  snprintf(log, sizeof log, "%s/gnuplot.log", x->tmpdir);
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    diag_error(x->d, NULL, 0, 0, "cannot start gnuplot: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *const argv[] = {(char *)"gnuplot", (char *)"report.gp", NULL};
    if (in < 0 || out < 0 || chdir(x->tmpdir) != 0)
      _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execv(gnuplot, argv);
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      diag_error(x->d, NULL, 0, 0, "cannot wait for gnuplot: %s", strerror(errno));
      return -1;
    }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  {
    size_t len = 0;
    char *text = rep_slurp(log, &len);
    const char *tail = text ? text : "";
    if (len > 2000)
      tail = text + len - 2000;
    diag_error(x->d, NULL, 0, 0, "gnuplot failed (%s %d) drawing the charts:\n%s",
               WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
    free(text);
  }
  return -1;
}

/* --------------------------------------------------------------- manifest */

/* The scalar at map[key1][key2] (key2 may be NULL), or NULL. */
static const char *rep_yaml_get(const ynode *root, const char *key1, const char *key2)
{
  const ynode *n = root ? ynode_get(root, key1) : NULL;
  if (n && key2)
    n = n->type == YN_MAP ? ynode_get(n, key2) : NULL;
  return n && n->type == YN_SCALAR ? n->str : NULL;
}

static char *rep_dup(const char *s)
{
  return strdup(s ? s : "");
}

static int rep_read_manifest(rep_ctx *x, const char *path)
{
  tr_diag *quiet = tr_diag_new();
  ynode *root = quiet ? ynode_load_file(path, quiet) : NULL;
  int rc = -1;

  if (!root || root->type != YN_MAP) {
    diag_error(x->d, path, 0, 0, "not a tightrope manifest");
    goto done;
  }
  x->scenario_id = rep_dup(rep_yaml_get(root, "scenario", "id"));
  x->scenario_path = rep_dup(rep_yaml_get(root, "scenario", "path"));
  x->runs = rep_dup(rep_yaml_get(root, "settings", "runs"));
  x->ticks = rep_dup(rep_yaml_get(root, "settings", "ticks"));
  x->seed = rep_dup(rep_yaml_get(root, "settings", "seed"));
  x->quantiles = rep_dup(rep_yaml_get(root, "settings", "series_quantiles"));
  rc = x->scenario_id && x->scenario_path && x->runs && x->ticks && x->seed
       && x->quantiles ? 0 : -1;
  if (rc)
    diag_error(x->d, NULL, 0, 0, "out of memory");
done:
  ynode_free(root);
  tr_diag_free(quiet);
  return rc;
}

/* ------------------------------------------------------------------ page */

static const char *const rep_section_titles[SEC_COUNT] = {
  "Metrics over time", "Outcomes", "Paired differences", "Sensitivity"
};

static void rep_section_text(rep_ctx *x, FILE *f, int section)
{
  switch (section) {
  case SEC_METRICS:
    fputs("<p>For each variant, the line is the median over runs of the metric "
          "at each tick and the shaded band runs from the 5th to the 95th "
          "percentile (<code>series_summary.csv</code>). A run that ended early "
          "leaves the band after its last tick. Percentiles: ", f);
    rep_html(f, x->quantiles);
    fputs(".</p>\n", f);
    break;
  case SEC_OUTCOMES:
    fputs("<p>The share of runs that ended in each outcome, per variant, with "
          "its exact 95% Clopper&ndash;Pearson interval as whiskers "
          "(<code>outcomes.csv</code>).</p>\n", f);
    break;
  case SEC_COMPARE:
    fputs("<p>Each variant minus the baseline (<code>compare.csv</code>). Run "
          "<i>r</i> of every variant uses the same random seed as run <i>r</i> "
          "of the baseline (common random numbers), so the differences are "
          "paired run by run; the dot is the mean paired difference and the "
          "whiskers its 95% t-interval. An interval that excludes the dashed "
          "zero line is a difference the runs resolve.", f);
    if (x->pooled_compare)
      fputs(" With a sweep, pairs are (point, run) and the rows pool every point; "
            "<code>compare_points.csv</code> has them point by point.", f);
    fputs("</p>\n", f);
    break;
  case SEC_SENSITIVITY:
    fputs("<p>How much each swept parameter drives each outcome share and metric "
          "mean over the sweep's points (<code>sensitivity.csv</code>, baseline "
          "variant): SRC is the standardised regression coefficient (the linear "
          "effect, in standard deviations of the response per standard "
          "deviation of the parameter), PRCC the partial rank correlation "
          "(monotone effect with the other parameters held out). Longest bars on "
          "top; a bar near 0 is a parameter the response does not depend "
          "on.</p>\n", f);
    break;
  }
}

static int rep_write_page(rep_ctx *x, int have_series, int have_compare,
                          int have_sensitivity)
{
  FILE *f = rep_open(x, "index", ".html");
  if (!f)
    return -1;
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>tightrope report: ", f);
  rep_html(f, x->scenario_id);
  fputs("</title>\n<style>\nbody{font-family:sans-serif;max-width:960px;margin:2em auto;"
        "padding:0 1em;color:#222;line-height:1.45}\nfigure{margin:1.5em 0}\n"
        "img{max-width:100%;height:auto;border:1px solid #ddd}\n"
        "figcaption{font-size:.9em;color:#555}\ncode{background:#f4f4f4;padding:0 .2em}\n"
        "table{border-collapse:collapse}td,th{padding:.1em .8em .1em 0;text-align:left}\n"
        "</style>\n</head>\n<body>\n<h1>Scenario ", f);
  rep_html(f, x->scenario_id);
  fputs("</h1>\n<table>\n<tr><th>scenario file</th><td>", f);
  rep_html(f, x->scenario_path);
  fputs("</td></tr>\n<tr><th>runs per variant and point</th><td>", f);
  rep_html(f, x->runs);
  fputs("</td></tr>\n<tr><th>ticks</th><td>", f);
  rep_html(f, x->ticks);
  fputs("</td></tr>\n<tr><th>master seed</th><td>", f);
  rep_html(f, x->seed);
  fputs("</td></tr>\n<tr><th>variants</th><td>", f);
  for (int v = 0; v < x->variants.n; v++) {
    if (v)
      fputs(", ", f);
    rep_html(f, x->variants.name[v]);
  }
  fprintf(f, "</td></tr>\n<tr><th>sweep points</th><td>%d</td></tr>\n</table>\n",
          x->npoints);
  if (x->npoints > 1)
    fprintf(f, "<p>This experiment swept %d points; the time series and outcome "
               "shares below are those of point %d (the other points are in the "
               "CSV files).</p>\n", x->npoints, x->shown_point);
  for (int sec = 0; sec < SEC_COUNT; sec++) {
    int n = 0;
    for (int i = 0; i < x->ncharts; i++)
      n += x->charts[i].section == sec;
    if (sec == SEC_COMPARE && !have_compare)
      continue;
    if (sec == SEC_SENSITIVITY && !have_sensitivity)
      continue;
    fprintf(f, "<h2>%s</h2>\n", rep_section_titles[sec]);
    rep_section_text(x, f, sec);
    if (sec == SEC_METRICS && !have_series)
      fputs("<p>No <code>series_summary.csv</code>: the experiment ran with "
            "<code>--series all</code> or <code>--series none</code>.</p>\n", f);
    else if (n == 0)
      fputs("<p>Nothing to draw: every value here is undefined or constant.</p>\n", f);
    for (int i = 0; i < x->ncharts; i++) {
      const rep_chart *c = &x->charts[i];
      if (c->section != sec)
        continue;
      fprintf(f, "<figure id=\"%s\">\n<img src=\"%s.svg\" alt=\"", c->stem, c->stem);
      rep_html(f, c->title);
      fprintf(f, "\" width=\"%d\" height=\"%d\">\n<figcaption>", c->width, c->height);
      rep_html(f, c->title);
      fprintf(f, " &mdash; <a href=\"%s.svg\">SVG</a>, <a href=\"%s.png\">PNG</a>"
                 "</figcaption>\n</figure>\n", c->stem, c->stem);
    }
  }
  fputs("<p><small>Drawn by tightrope " TR_VERSION " with gnuplot from the CSV "
        "files of this folder.</small></p>\n</body>\n</html>\n", f);
  return rep_close(x, f, "index");
}

/* ---------------------------------------------------------------- files */

static void rep_rmtree(const char *dir)
{
  DIR *dh = opendir(dir);
  struct dirent *e;
  if (dh) {
    while ((e = readdir(dh)) != NULL) {
      char path[4096];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(dh);
  }
  rmdir(dir);
}

/* Removes charts an earlier report left (metric-N, compare-*, tornado-N,
** outcomes), so that the folder shows this report's charts only. */
static void rep_remove_old_charts(const char *dir)
{
  static const char *const prefixes[] =
    {"metric-", "compare-", "tornado-", "outcomes."};
  DIR *dh = opendir(dir);
  struct dirent *e;
  if (!dh)
    return;
  while ((e = readdir(dh)) != NULL) {
    size_t len = strlen(e->d_name);
    int ours = 0;
    if (len < 5 || (strcmp(e->d_name + len - 4, ".svg") != 0
                    && strcmp(e->d_name + len - 4, ".png") != 0))
      continue;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
      ours |= strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0;
    if (ours) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
  }
  closedir(dh);
}

static int rep_move(rep_ctx *x, const char *name)
{
  char from[4096], to[4096];
  snprintf(from, sizeof from, "%s/%s", x->tmpdir, name);
  snprintf(to, sizeof to, "%s/%s", x->reportdir, name);
  if (rename(from, to) != 0) {
    diag_error(x->d, to, 0, 0, "cannot write: %s%s", strerror(errno),
               errno == ENOENT ? " (gnuplot did not draw it)" : "");
    return -1;
  }
  return 0;
}

/* ----------------------------------------------------------------- main */

int report_run(const char *outdir, tr_diag *d)
{
  rep_ctx x;
  rep_csv outcomes = {0}, series = {0}, compare = {0}, sensitivity = {0};
  char *gnuplot = NULL, path[4096];
  int status = TR_EOUTPUT, have_series, have_compare, have_sensitivity, rc;
  struct stat st;

  memset(&x, 0, sizeof x);
  x.outdir = outdir;
  x.d = d;

  /* A finished experiment has a manifest (renamed in last) and outcomes. */
  snprintf(path, sizeof path, "%s/manifest.yaml", outdir);
  if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    diag_error(d, outdir, 0, 0, "no such folder");
    return 1;
  }
  if (out_verify(outdir, d))
    return 1;
  if (access(path, R_OK) != 0) {
    diag_error(d, outdir, 0, 0, "no results here (no manifest.yaml): run "
               "'tightrope run SCENARIO.yaml -o %s' first", outdir);
    return 1;
  }
  rc = rep_csv_load(outdir, "outcomes.csv", &outcomes, d);
  if (rc) {
    if (rc > 0)
      diag_error(d, outdir, 0, 0, "no results here (no outcomes.csv)");
    return 1;
  }
  if (rep_read_manifest(&x, path)) {
    status = 1;
    goto done;
  }
  {
    static const char *const need[] = {"variant", "point", "outcome"};
    int col[3];
    if (rep_need(&outcomes, "outcomes.csv", need, 3, col, d)) {
      status = 1;
      goto done;
    }
    x.shown_point = 0;
    for (size_t r = 0; r < outcomes.nrows; r++) {
      int p = atoi(rep_cell(&outcomes, r, col[1]));
      if (rep_names_add(&x.variants, rep_cell(&outcomes, r, col[0])) < 0
          || rep_names_add(&x.outcomes, rep_cell(&outcomes, r, col[2])) < 0)
        goto oom;
      if (p > x.npoints)
        x.npoints = p;
      if (x.shown_point == 0 || p < x.shown_point)
        x.shown_point = p;
    }
    if (outcomes.nrows == 0) {
      diag_error(d, outdir, 0, 0, "no results here (outcomes.csv has no rows)");
      status = 1;
      goto done;
    }
  }
  x.pooled_compare = x.npoints > 1;

  gnuplot = rep_which("gnuplot");
  if (!gnuplot) {
    diag_error(d, NULL, 0, 0, "gnuplot not found on PATH: install it (Debian: "
               "apt-get install gnuplot-nox; 'make deps' does) to draw the report");
    goto done;
  }

  /* OUTDIR/report/ and a private temporary folder inside it. */
  if (asprintf(&x.reportdir, "%s/report", outdir) < 0
      || asprintf(&x.tmpdir, "%s/report/.tmp-XXXXXX", outdir) < 0) {
    x.reportdir = x.tmpdir = NULL;
    goto oom;
  }
  if (mkdir(x.reportdir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, x.reportdir, 0, 0, "cannot create: %s", strerror(errno));
    goto done;
  }
  if (lstat(x.reportdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    /* a symbolic link would send the charts, and the removal of old ones,
    ** into another folder */
    diag_error(d, x.reportdir, 0, 0, "is %s where the report keeps its own folder; remove it",
               S_ISLNK(st.st_mode) ? "a symbolic link" : "not a folder");
    goto done;
  }
  if (!mkdtemp(x.tmpdir)) {
    diag_error(d, x.reportdir, 0, 0, "cannot write: %s", strerror(errno));
    free(x.tmpdir);
    x.tmpdir = NULL;
    goto done;
  }

  rc = rep_csv_load(outdir, "series_summary.csv", &series, d);
  if (rc < 0)
    goto done;
  have_series = rc == 0;
  rc = rep_csv_load(outdir, "compare.csv", &compare, d);
  if (rc < 0)
    goto done;
  have_compare = rc == 0;
  rc = rep_csv_load(outdir, "sensitivity.csv", &sensitivity, d);
  if (rc < 0)
    goto done;
  have_sensitivity = rc == 0;

  if ((have_series && rep_metric_charts(&x, &series))
      || rep_outcome_chart(&x, &outcomes)
      || (have_compare && rep_compare_charts(&x, &compare))
      || (have_sensitivity && rep_tornado_charts(&x, &sensitivity))
      || rep_write_driver(&x) || rep_gnuplot(&x, gnuplot)
      || rep_write_page(&x, have_series, have_compare, have_sensitivity))
    goto done;

  /* Every chart is drawn: move them into place, the page last. */
  rep_remove_old_charts(x.reportdir);
  for (int i = 0; i < x.ncharts; i++) {
    char name[80];
    snprintf(name, sizeof name, "%s.svg", x.charts[i].stem);
    if (rep_move(&x, name))
      goto done;
    snprintf(name, sizeof name, "%s.png", x.charts[i].stem);
    if (rep_move(&x, name))
      goto done;
  }
  if (rep_move(&x, "index.html"))
    goto done;
  status = TR_OK;
  goto done;

oom:
  diag_error(d, NULL, 0, 0, "out of memory");
done:
  if (x.tmpdir)
    rep_rmtree(x.tmpdir);
  for (int i = 0; i < x.ncharts; i++)
    free(x.charts[i].title);
  free(x.charts);
  free(x.variants.name);
  free(x.outcomes.name);
  free(x.reportdir);
  free(x.tmpdir);
  free(gnuplot);
  free(x.scenario_id);
  free(x.scenario_path);
  free(x.runs);
  free(x.ticks);
  free(x.seed);
  free(x.quantiles);
  rep_csv_free(&outcomes);
  rep_csv_free(&series);
  rep_csv_free(&compare);
  rep_csv_free(&sensitivity);
  return status;
}
