/*
** report.c — `tightrope report OUTDIR` (docs/cli.md, REPORT): the charts of a finished
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

#include <gsl/gsl_statistics_double.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/yamltree.h"
#include "experiment/output.h"
#include "experiment/manifest.h"
#include "base/stats.h"
#include "app/report.h"

#define REP_MAX_CSV_BYTES ((size_t)1 << 31) /* refuse a CSV over 2 GiB */
#define REP_WIDTH 900                       /* chart size in pixels */
#define REP_HEIGHT 480

/* ------------------------------------------------------------------ CSV */

/* A CSV file parsed in place: cells point into text. */
typedef struct rep_csv {
  char *text;
  char **cells; /* nrows * ncols, row-major; header excluded */
  char **header;
  int ncols;
  size_t nrows;
} rep_csv;

static void rep_csv_free(rep_csv *t) {
  free(t->text);
  free(t->cells);
  free(t->header);
  memset(t, 0, sizeof *t);
}

/* Reads a whole file, never through a symbolic link nor from a pipe or a
** device; NULL with errno set on failure. */
static char *rep_slurp(const char *path, size_t *len) {
  return fs_read_file(path, REP_MAX_CSV_BYTES, FS_REGULAR, len);
}

/* Splits text into fields (RFC 4180: "" inside quotes is one quote),
** unquoting in place. Rows with a different number of fields than the
** header are an error. 0, 1 when the file is absent, -1 on error (d).
** Long: one pass over the file's characters splitting fields and rows, whose state (position,
** quotes, field count) the checks share. */
static int rep_csv_load(const char *dir, const char *name, rep_csv *t, tr_diag *d) {
  char path[4096];
  size_t len, ncells = 0, capcells = 0;
  char **cells = NULL;
  char *r, *w, *end;
  int row_fields = 0, header_fields = -1;

  memset(t, 0, sizeof *t);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  t->text = rep_slurp(path, &len);
  if (!t->text) {
    if (errno == ENOENT) return 1;
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
        } else *w++ = *r++;
      }
    }
    while (r < end && *r != ',' && *r != '\n' && *r != '\r') *w++ = *r++;
    if (r < end && *r == '\r') r++;
    if (r >= end || *r == '\n') line_end = 1;
    r++; /* past the comma or LF */
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
      if (header_fields < 0) header_fields = row_fields;
      else if (row_fields != header_fields) {
        diag_error(d, path, 0, 0, "a row has %d fields, the header %d", row_fields, header_fields);
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
  memcpy(t->cells, cells + header_fields, t->nrows * (size_t)header_fields * sizeof *cells);
  free(cells);
  return 0;
fail:
  free(cells);
  rep_csv_free(t);
  return -1;
}

/* Column index by name, or -1. */
static int rep_col(const rep_csv *t, const char *name) {
  for (int c = 0; c < t->ncols; c++)
    if (strcmp(t->header[c], name) == 0) return c;
  return -1;
}

static const char *rep_cell(const rep_csv *t, size_t row, int col) {
  return col < 0 ? "" : t->cells[row * (size_t)t->ncols + (size_t)col];
}

/* A number cell; NaN when empty or not a number. */
static double rep_num(const rep_csv *t, size_t row, int col) {
  const char *s = rep_cell(t, row, col);
  char *end;
  double x;
  if (!*s) return NAN;
  x = strtod(s, &end);
  return *end ? NAN : x;
}

/* Requires the named columns; -1 with an error naming the first missing. */
static int rep_need(const rep_csv *t, const char *file, const char *const *names, int n, int *cols,
                    tr_diag *d) {
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

static int rep_names_index(const rep_names *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->name[i], name) == 0) return i;
  return -1;
}

static int rep_names_add(rep_names *l, const char *name) {
  int i = rep_names_index(l, name);
  if (i >= 0) return i;
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    const char **grown = realloc(l->name, (size_t)cap * sizeof *grown);
    if (!grown) return -1;
    l->name = grown;
    l->cap = cap;
  }
  l->name[l->n] = name;
  return l->n++;
}

/* ------------------------------------------------------------ escaping */

/* Length of the valid UTF-8 sequence at p (2 to 4 bytes), or 0. */
static int rep_utf8_len(const unsigned char *p) {
  int n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
  if (*p < 0xC2 || *p > 0xF4) return 0;
  for (int i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

/* Text for gnuplot (see the top of this file). script: inside a
** single-quoted string of a command file (a quote is doubled); else a
** double-quoted field of a data file (a double quote becomes a single one,
** '#' becomes '?'). Backquotes, '@', '$', backslashes, control characters
** and invalid UTF-8 become '?' in both. */
static void rep_gp_text(char *out, size_t size, const char *text, int script) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && n + 5 < size;) {
    unsigned ch = *p;
    if (ch >= 0x80) {
      int len = rep_utf8_len(p);
      if (len) {
        memcpy(out + n, p, (size_t)len);
        n += (size_t)len;
        p += len;
      } else {
        out[n++] = '?';
        p++;
      }
      continue;
    }
    p++;
    if (ch == '\n' || ch == '\t') out[n++] = ' ';
    else if (ch < 0x20 || ch == 0x7f || strchr("`@$\\", (int)ch)) out[n++] = '?';
    else if (ch == '\'' && script) {
      out[n++] = '\'';
      out[n++] = '\'';
    } else if (ch == '"' && !script) out[n++] = '\'';
    else if (ch == '#' && !script) out[n++] = '?';
    else out[n++] = (char)ch;
  }
  out[n] = '\0';
}

static void rep_gp_label(char *out, size_t size, const char *text) {
  rep_gp_text(out, size, text, 0);
}

static void rep_gp_str(char *out, size_t size, const char *text) {
  rep_gp_text(out, size, text, 1);
}

static void rep_html(FILE *f, const char *text) {
  for (const char *p = text ? text : ""; *p; p++) switch (*p) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&#39;", f); break;
      default: fputc(*p, f);
    }
}

/* A data-file number: "?" (gnuplot's missing value here) for NaN. */
static void rep_gp_num(FILE *f, double x) {
  char text[40];
  if (isfinite(x)) {
    /* the shortest of 15, 16, 17 digits that reads back as x */
    for (int digits = 15; digits <= 17; digits++) {
      snprintf(text, sizeof text, "%.*g", digits, x);
      if (strtod(text, NULL) == x) break;
    }
    fprintf(f, " %s", text);
  } else fputs(" ?", f);
}

/* --------------------------------------------------------------- charts */

enum { SEC_OUTCOMES, SEC_COMPARE, SEC_METRICS, SEC_SWEEP, SEC_SENSITIVITY, SEC_COUNT };

typedef struct rep_chart {
  char stem[64]; /* file name without extension */
  char *title;   /* raw text (escaped when written) */
  char *caption; /* one line: what the chart shows */
  int section;
  int width, height;
} rep_chart;

/* A name from the manifest with what the report labels it with. */
typedef struct rep_item {
  char *name, *description, *expr;
} rep_item;

typedef struct rep_list {
  rep_item *item;
  int n;
} rep_list;

typedef report_opts rep_opts;

typedef struct rep_ctx {
  const char *outdir;
  char *reportdir, *tmpdir;
  tr_diag *d;
  rep_opts opts;
  rep_chart *charts;
  int ncharts, capcharts;
  rep_names variants; /* baseline first, as in outcomes.csv */
  rep_names outcomes;
  char *vsel, *osel;       /* chosen with --variants / --outcomes */
  int *panel;              /* variants drawn as panels (indices), baseline first */
  int npanels, *panel_of;  /* panel of each variant, or -1 */
  int panels_by_effect;    /* panels chosen by the largest paired difference */
  int npoints;             /* distinct points in outcomes.csv */
  int shown_point;         /* the point whose series and shares are drawn */
  int pooled_compare;      /* compare.csv pools a sweep's points */
  int horizon;             /* last tick of any run at the shown point */
  int summary_from_series; /* the metric summary was computed from series.csv */
  int quartiles;           /* the 50% band could be drawn */
  /* manifest */
  char *scenario_id, *scenario_path, *runs, *ticks, *seed, *quantiles;
  char *title, *description, *tick_unit, *sweep_method;
  rep_list vinfo, minfo, oinfo, sinfo; /* variants, metrics, outcomes, swept paths */
  double *sweep_written;               /* scenario value of each swept path (sinfo order) */
  const rep_csv *points;               /* points.csv, or NULL */
} rep_ctx;

/* Okabe and Ito's colour-blind-safe palette, yellow last (it is faint). */
static const char *const rep_colors[] = {"#E69F00", "#56B4E9", "#009E73", "#0072B2",
                                         "#D55E00", "#CC79A7", "#000000", "#F0E442"};
#define REP_NCOLORS (int)(sizeof rep_colors / sizeof rep_colors[0])
#define REP_MAIN "#0072B2"  /* the variant in small multiples */
#define REP_GHOST "#9a9a9a" /* the baseline ghosted behind it */
#define REP_MAX_PANELS 12   /* small multiples per chart */
#define REP_MAX_ROWS 40     /* rows of a paired-difference chart */
#define REP_MAX_HEIGHT 4000 /* far under cairo's 32767-pixel limit */

/* Over a long horizon the curves are drawn every k-th tick (and at the
** horizon) so that a chart's data stays near 4,000 rows a curve. */
static int rep_stride(int horizon) { return horizon > 4000 ? horizon / 4000 + 1 : 1; }

/* Past the palette's colours, lines are told apart by their dash type. */
static int rep_dash(int k) { return k < REP_NCOLORS ? 1 : 3 + (k / REP_NCOLORS - 1) % 3; }

static const rep_item *rep_find(const rep_list *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (l->item[i].name && strcmp(l->item[i].name, name) == 0) return &l->item[i];
  return NULL;
}

static const char *rep_desc(const rep_list *l, const char *name) {
  const rep_item *it = rep_find(l, name);
  return it && it->description && *it->description ? it->description : NULL;
}

/* 1 when NAME is in the comma list (NULL: every name). */
static int rep_in_list(const char *list, const char *name) {
  size_t len = strlen(name);
  if (!list) return 1;
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && strncmp(p, name, n) == 0) return 1;
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

static int rep_metric_chosen(const rep_ctx *x, const char *name) {
  return rep_in_list(x->opts.metrics, name);
}

/* Opens TMPDIR/stem.ext for writing. */
static FILE *rep_open(rep_ctx *x, const char *stem, const char *ext) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s%s", x->tmpdir, stem, ext);
  f = fopen(path, "w");
  if (!f) diag_error(x->d, path, 0, 0, "cannot write: %s", strerror(errno));
  return f;
}

static int rep_close(rep_ctx *x, FILE *f, const char *stem) {
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    diag_error(x->d, x->tmpdir, 0, 0, "cannot write the files of chart '%s'", stem);
    return -1;
  }
  return 0;
}

static int rep_oom(rep_ctx *x) {
  diag_error(x->d, NULL, 0, 0, "out of memory");
  return -1;
}

/* Registers a chart; its command file is STEM.gp in the temporary folder. */
static rep_chart *rep_add_chart(rep_ctx *x, const char *stem, const char *title,
                                const char *caption, int section, int height) {
  rep_chart *c;
  if (x->ncharts == x->capcharts) {
    int cap = x->capcharts ? x->capcharts * 2 : 16;
    rep_chart *grown = realloc(x->charts, (size_t)cap * sizeof *grown);
    if (!grown) return NULL;
    x->charts = grown;
    x->capcharts = cap;
  }
  c = &x->charts[x->ncharts];
  memset(c, 0, sizeof *c);
  snprintf(c->stem, sizeof c->stem, "%s", stem);
  c->title = strdup(title);
  c->caption = strdup(caption ? caption : "");
  if (!c->title || !c->caption) {
    free(c->title);
    free(c->caption);
    return NULL;
  }
  c->section = section;
  c->width = REP_WIDTH;
  c->height = height < 240 ? 240 : height > REP_MAX_HEIGHT ? REP_MAX_HEIGHT : height;
  x->ncharts++;
  return c;
}

/* The common head of every chart's command file. */
static void rep_gp_head(FILE *g, const char *title) {
  char label[1024];
  rep_gp_str(label, sizeof label, title);
  fprintf(g,
          "reset\nset datafile missing '?'\nset encoding utf8\n"
          "set title '%s'\nset grid lc rgb '#dddddd'\nset border lc rgb '#555555'\n"
          "set key outside right top vertical noenhanced\n",
          label);
}

/* --------------------------------------------------- small multiples */

/* Panels on a grid of the chart: head (multiplot title) on top, the key at
** the bottom; each cell holds a panel title, a plot and its x axis. */
typedef struct rep_grid {
  int n, cols, rows, width, height, cell_h, head, foot, top;
} rep_grid;

static void rep_grid_init(rep_grid *L, int n, int cell_h, int top) {
  L->n = n;
  L->cols = n <= 1 ? 1 : (n == 2 || n == 4) ? 2 : 3;
  L->rows = (n + L->cols - 1) / L->cols;
  L->width = REP_WIDTH;
  L->head = 44;
  L->foot = 52;
  L->top = top;
  L->cell_h = cell_h;
  L->height = L->head + L->rows * cell_h + L->foot;
}

/* Margins of panel i: the part f0..f1 (0 = top) of its plot area. */
static void rep_grid_margins(FILE *g, const rep_grid *L, int i, double f0, double f1) {
  double cw = (double)L->width / L->cols;
  int r = i / L->cols, c = i % L->cols;
  double left = c * cw + (c == 0 ? 72 : 60), right = (c + 1) * cw - 16;
  double top = L->head + r * L->cell_h + L->top, bottom = L->head + (r + 1) * L->cell_h - 44;
  double t = top + (bottom - top) * f0, b = top + (bottom - top) * f1;
  fprintf(g,
          "set lmargin at screen %.4f\nset rmargin at screen %.4f\n"
          "set tmargin at screen %.4f\nset bmargin at screen %.4f\n",
          left / L->width, right / L->width, 1 - t / L->height, 1 - b / L->height);
}

/* The legend under the whole grid: a plot of nothing across the chart's
** width whose key lists the entries; each entry is "STYLE title 'TEXT'"
** for a NaN function. Call after the panels. */
static void rep_grid_legend(FILE *g, const rep_grid *L, const char *const *entries, int n) {
  fprintf(g,
          "set lmargin at screen 0.02\nset rmargin at screen 0.98\n"
          "set tmargin at screen %.4f\nset bmargin at screen 0.005\n"
          "unset title\nunset xlabel\nunset ylabel\nunset border\nunset tics\n"
          "unset grid\nunset arrow\nunset label\nset xrange [0:1]\nset yrange [0:1]\n"
          "set key inside center center horizontal noenhanced font ',10' samplen 2.5\n"
          "plot ",
          (L->foot - 4.0) / L->height);
  for (int i = 0; i < n; i++) fprintf(g, "%sNaN %s", i ? ", " : "", entries[i]);
  fputc('\n', g);
}

/* The title of a panel: the variant's name and its description, wrapped
** into at most two lines of about chars characters. */
static void rep_panel_title(FILE *g, const char *name, const char *desc, int chars) {
  char label[512], line[512];
  rep_gp_str(label, sizeof label, name);
  fprintf(g, "set title '%s'", label);
  if (desc) {
    const char *p = desc;
    for (int l = 0; l < 2 && *p; l++) {
      size_t n = strlen(p), cut = n;
      while (*p == ' ') p++, n--;
      cut = n;
      if (n > (size_t)chars) {
        cut = (size_t)chars;
        while (cut > 0 && p[cut] != ' ') cut--;
        if (cut == 0) cut = (size_t)chars;
      }
      snprintf(line, sizeof line, "%.*s%s", (int)cut, p, l == 1 && cut < n ? " ..." : "");
      rep_gp_str(label, sizeof label, line);
      fprintf(g, " . \"\\n\" . '%s'", label);
      p += cut;
    }
  }
  fputs(" font ',10' offset 0,-0.3\n", g);
}

static int rep_grid_chars(const rep_grid *L) { return L->cols == 1 ? 110 : L->cols == 2 ? 62 : 37; }

/* The time axis label: the tick unit. */
static void rep_time_label(rep_ctx *x, char *out, size_t size) {
  rep_gp_str(out, size, x->tick_unit && *x->tick_unit ? x->tick_unit : "tick");
}

/* ------------------------------------------------ cumulative incidence */

/* Tallies the runs of runs.csv at the shown point into total[p] per panel
** variant p and ends[(p, outcome, tick)], ticks clamped to [0, horizon]. */
static void rep_incidence_count(rep_ctx *x, const rep_csv *runs, const int *col, unsigned *ends,
                                unsigned *total) {
  int K = x->outcomes.n, T = x->horizon;
  for (size_t r = 0; r < runs->nrows; r++) {
    int v = rep_names_index(&x->variants, rep_cell(runs, r, col[0])), p, k, t;
    if (v < 0 || (p = x->panel_of[v]) < 0 || atoi(rep_cell(runs, r, col[1])) != x->shown_point)
      continue;
    k = rep_names_index(&x->outcomes, rep_cell(runs, r, col[2]));
    t = atoi(rep_cell(runs, r, col[3]));
    total[p]++;
    if (k >= 0)
      ends[((size_t)p * (size_t)K + (size_t)k) * (size_t)(T + 1)
           + (size_t)(t < 0       ? 0
                          : t > T ? T
                                  : t)]++;
  }
}

/* incidence.dat: per panel variant, a block per chosen outcome (its
** cumulative share with a 95% interval) and one for the runs not yet ended.
** -1 on error. */
static int rep_incidence_data(rep_ctx *x, const unsigned *ends, const unsigned *total,
                              const int *chosen, int nk) {
  int K = x->outcomes.n, P = x->npanels, T = x->horizon;
  char label[1024];
  FILE *dat;
  if (!(dat = rep_open(x, "incidence", ".dat"))) return -1;
  fputs("# Cumulative incidence: blocks (gnuplot index) per panel variant, one per\n"
        "# outcome then 'not_ended'; columns tick share ci_low ci_high\n",
        dat);
  for (int p = 0; p < P; p++) {
    unsigned n = total[p];
    const char *vname = x->variants.name[x->panel[p]];
    for (int j = 0; j <= nk; j++) {
      unsigned cum = 0;
      rep_gp_label(label, sizeof label, vname);
      fprintf(dat, "# variant %s outcome ", label);
      rep_gp_label(label, sizeof label, j < nk ? x->outcomes.name[chosen[j]] : "not_ended");
      fprintf(dat, "%s\n", label);
      for (int t = 0; t <= T; t++) {
        double lo = NAN, hi = NAN;
        if (j < nk)
          cum += ends[((size_t)p * (size_t)K + (size_t)chosen[j]) * (size_t)(T + 1) + (size_t)t];
        else
          for (int k = 0; k < K; k++)
            cum += ends[((size_t)p * (size_t)K + (size_t)k) * (size_t)(T + 1) + (size_t)t];
        if (t % rep_stride(T) != 0 && t != T) continue;
        fprintf(dat, "%d", t);
        if (n == 0) {
          fputs(" ? ? ?\n", dat);
          continue;
        }
        if (j < nk) {
          stats_clopper_pearson(cum, n, 0.95, &lo, &hi);
          rep_gp_num(dat, (double)cum / n);
        } else rep_gp_num(dat, (double)(n - cum) / n);
        rep_gp_num(dat, lo);
        rep_gp_num(dat, hi);
        fputc('\n', dat);
      }
      fputs("\n\n", dat);
    }
  }
  if (rep_close(x, dat, "incidence")) return -1;
  return 0;
}

/* The gnuplot commands of each panel of the incidence chart: each chosen
** outcome's share with its interval over the baseline's dashed lines, and
** the share not yet ended. */
static void rep_incidence_panels(rep_ctx *x, FILE *g, const rep_grid *L, const int *chosen,
                                 int nk) {
  int P = x->npanels;
  char label[1024];
  for (int p = 0; p < P; p++) {
    int first = 1, keyed = 0;
    rep_grid_margins(g, L, p, 0, 1);
    rep_panel_title(g, x->variants.name[x->panel[p]],
                    p ? rep_desc(&x->vinfo, x->variants.name[x->panel[p]])
                      : "the scenario as written",
                    rep_grid_chars(L));
    fprintf(g, "set ylabel '%s' offset 1.5,0\n", p % L->cols == 0 ? "share of runs" : "");
    fputs("unset key\n", g);
    fputs("plot \\\n", g);
    for (int j = 0; j < nk; j++) {
      const char *color = rep_colors[chosen[j] % REP_NCOLORS];
      rep_gp_str(label, sizeof label, x->outcomes.name[chosen[j]]);
      if (p > 0) {
        fprintf(g, "%s  'incidence.dat' index %d using 1:2 with lines lw 1.2 dt 2 lc rgb '%s' %s",
                first ? "" : ", \\\n", j, color,
                keyed && j == 0 ? "title 'baseline (dashed)'" : "notitle");
        first = 0;
      }
      fprintf(g,
              "%s  'incidence.dat' index %d using 1:($2 > 0 ? $3 : NaN):($2 > 0 ? $4 : NaN) "
              "with filledcurves lc rgb '%s' "
              "fs transparent solid 0.22 noborder notitle, \\\n"
              "  'incidence.dat' index %d using 1:2 with lines lw 2.2 lc rgb '%s' dt %d title '%s'",
              first ? "" : ", \\\n", p * (nk + 1) + j, color, p * (nk + 1) + j, color,
              rep_dash(chosen[j]), keyed ? label : "");
      first = 0;
    }
    fprintf(g,
            "%s  'incidence.dat' index %d using 1:2 with lines lw 1.5 lc rgb '#666666' "
            "title '%s'\n",
            first ? "" : ", \\\n", p * (nk + 1) + nk, keyed ? "not yet ended" : "");
  }
}

/* The legend of the incidence chart, under its panels. -1 when out of
** memory. */
static int rep_incidence_legend(rep_ctx *x, FILE *g, const rep_grid *L, const int *chosen, int nk) {
  char label[1024];
  char(*entries)[600] = malloc((size_t)(nk + 4) * sizeof *entries);
  const char **list = malloc((size_t)(nk + 4) * sizeof *list);
  int ne = 0;
  if (!entries || !list) {
    free(entries);
    free(list);
    return -1;
  }
  for (int j = 0; j < nk; j++) {
    rep_gp_str(label, sizeof label, x->outcomes.name[chosen[j]]);
    snprintf(entries[ne++], sizeof entries[0], "with lines lw 2.2 lc rgb '%s' dt %d title '%.500s'",
             rep_colors[chosen[j] % REP_NCOLORS], rep_dash(chosen[j]), label);
  }
  snprintf(entries[ne++], sizeof entries[0],
           "with boxes fs solid 0.3 noborder lc rgb '#888888' title '95%% interval'");
  snprintf(entries[ne++], sizeof entries[0],
           "with lines lw 1.2 dt 2 lc rgb '#333333' title 'baseline (dashed)'");
  snprintf(entries[ne++], sizeof entries[0],
           "with lines lw 1.5 lc rgb '#666666' title 'not yet ended'");
  for (int i = 0; i < ne; i++) list[i] = entries[i];
  rep_grid_legend(g, L, list, ne);
  free(entries);
  free(list);
  return 0;
}

/* For each panel variant, the share of runs that ended in each outcome by
** tick t with its pointwise 95% Clopper-Pearson interval, and the share
** not yet ended; the baseline's curves are repeated faintly in each panel. */
static int rep_incidence_chart(rep_ctx *x, const rep_csv *runs) {
  static const char *const need[] = {"variant", "point", "outcome", "end_tick"};
  int col[4], K = x->outcomes.n, P = x->npanels, T = x->horizon, nk = 0;
  unsigned *ends, *total;
  char label[1024], unit[256], title[512], caption[1024];
  FILE *g;
  rep_grid L;
  int rc = -1, *chosen;

  if (rep_need(runs, "runs.csv", need, 4, col, x->d)) return -1;
  ends = calloc((size_t)P * (size_t)K * (size_t)(T + 1), sizeof *ends);
  total = calloc((size_t)P + 1, sizeof *total);
  chosen = calloc((size_t)K + 1, sizeof *chosen);
  if (!ends || !total || !chosen) {
    rep_oom(x);
    goto done;
  }
  for (int k = 0; k < K; k++)
    if (x->osel[k]) chosen[nk++] = k;
  rep_incidence_count(x, runs, col, ends, total);
  if (rep_incidence_data(x, ends, total, chosen, nk)) goto done;

  rep_grid_init(&L, P, 268, 58);
  snprintf(title, sizeof title, "How soon do runs end, and how?");
  snprintf(caption, sizeof caption,
           "Share of runs that have ended in each outcome by each %s, with 95%% "
           "pointwise intervals (shaded once the outcome has happened), one panel "
           "per variant; dashed lines repeat the baseline; grey: runs not yet ended.",
           x->tick_unit ? x->tick_unit : "tick");
  if (!rep_add_chart(x, "incidence", title, caption, SEC_OUTCOMES, L.height)) {
    rep_oom(x);
    goto done;
  }
  if (!(g = rep_open(x, "incidence", ".gp"))) goto done;
  rep_gp_head(g, "");
  rep_time_label(x, unit, sizeof unit);
  rep_gp_str(label, sizeof label, title);
  fprintf(g,
          "unset title\nset multiplot title '%s' font ',13'\n"
          "set xrange [0:%d]\nset yrange [0:1]\nset ytics 0.25\nset xlabel '%s' offset 0,0.4\n",
          label, T > 0 ? T : 1, unit);
  rep_incidence_panels(x, g, &L, chosen, nk);
  if (rep_incidence_legend(x, g, &L, chosen, nk)) {
    fclose(g);
    rep_oom(x);
    goto done;
  }
  fputs("unset multiplot\n", g);
  if (rep_close(x, g, "incidence")) goto done;
  rc = 0;
done:
  free(ends);
  free(total);
  free(chosen);
  return rc;
}

/* ------------------------------------------------------ metric series */

/* One tick of one metric across the runs of a panel variant still going. */
typedef struct rep_sum {
  double n, mean, sd, p05, p25, p50, p75, p95;
} rep_sum;

typedef struct rep_series {
  rep_names metrics; /* in file order */
  int T1;            /* ticks 0..T1-1 */
  rep_sum *sum;      /* [panel][metric][tick] */
  char *binary;      /* per metric: every value is 0 or 1 */
} rep_series;

static rep_sum *rep_sum_at(const rep_series *s, int p, int m, int t) {
  return &s->sum[((size_t)p * (size_t)s->metrics.n + (size_t)m) * (size_t)s->T1 + (size_t)t];
}

static int rep_series_alloc(rep_ctx *x, rep_series *s) {
  size_t n = (size_t)x->npanels * (size_t)s->metrics.n * (size_t)s->T1;
  s->sum = malloc((n + 1) * sizeof *s->sum);
  s->binary = malloc((size_t)s->metrics.n + 1);
  if (!s->sum || !s->binary) return rep_oom(x);
  for (size_t i = 0; i < n; i++) {
    rep_sum *q = &s->sum[i];
    q->n = 0;
    q->mean = q->sd = q->p05 = q->p25 = q->p50 = q->p75 = q->p95 = NAN;
  }
  memset(s->binary, 1, (size_t)s->metrics.n + 1);
  return 0;
}

/* The summary as series_summary.csv has it (no quartiles). A metric is
** taken as 0/1 (docs/cli.md#report) when at every tick its percentiles are
** in [0, 1], its mean is k/n and its sd exactly that of k ones among n
** values (for values in [0, 1] only 0/1 values reach that variance), and
** its final values' least and greatest (finals.csv) are 0 or 1. */
static int rep_series_from_summary(rep_ctx *x, const rep_csv *t, const rep_csv *finals,
                                   rep_series *s) {
  static const char *const need[] = {"variant", "point", "tick", "metric", "n",
                                     "mean",    "sd",    "p05",  "p50",    "p95"};
  int col[10];
  if (rep_need(t, "series_summary.csv", need, 10, col, x->d)) return -1;
  s->T1 = x->horizon + 1;
  for (size_t r = 0; r < t->nrows; r++)
    if (rep_names_add(&s->metrics, rep_cell(t, r, col[3])) < 0) return rep_oom(x);
  if (rep_series_alloc(x, s)) return -1;
  for (size_t r = 0; r < t->nrows; r++) {
    int v = rep_names_index(&x->variants, rep_cell(t, r, col[0])), p, m, tick;
    rep_sum *q;
    double var;
    if (v < 0 || (p = x->panel_of[v]) < 0 || atoi(rep_cell(t, r, col[1])) != x->shown_point)
      continue;
    tick = atoi(rep_cell(t, r, col[2]));
    if (tick < 0 || tick >= s->T1) continue;
    m = rep_names_index(&s->metrics, rep_cell(t, r, col[3]));
    q = rep_sum_at(s, p, m, tick);
    q->n = rep_num(t, r, col[4]);
    q->mean = rep_num(t, r, col[5]);
    q->sd = rep_num(t, r, col[6]);
    q->p05 = rep_num(t, r, col[7]);
    q->p50 = rep_num(t, r, col[8]);
    q->p95 = rep_num(t, r, col[9]);
    var = q->n > 1 ? q->n / (q->n - 1) * q->mean * (1 - q->mean) : 0;
    if (!(q->p05 >= 0 && q->p95 <= 1) || !(q->mean >= 0 && q->mean <= 1)
        || !(fabs(q->mean * q->n - round(q->mean * q->n)) <= 1e-6)
        || (q->n > 1 && !(fabs(q->sd * q->sd - var) <= 1e-9 * (1 + var))))
      s->binary[m] = 0;
  }
  /* and the final values: least and greatest 0 or 1 */
  if (finals) {
    int mc = rep_col(finals, "metric"), lo = rep_col(finals, "min"), hi = rep_col(finals, "max");
    for (size_t r = 0; mc >= 0 && lo >= 0 && hi >= 0 && r < finals->nrows; r++) {
      int m = rep_names_index(&s->metrics, rep_cell(finals, r, mc));
      double a = rep_num(finals, r, lo), b = rep_num(finals, r, hi);
      if (m >= 0 && (!(a == 0 || a == 1) || !(b == 0 || b == 1))) s->binary[m] = 0;
    }
  }
  return 0;
}

static int rep_dbl_cmp(const void *a, const void *b) {
  double p = *(const double *)a, q = *(const double *)b;
  return (p > q) - (p < q);
}

/* The summary computed from series.csv (every run at every tick): the same
** statistics as series_summary.csv plus the quartiles. */
static int rep_series_from_runs(rep_ctx *x, const rep_csv *t, rep_series *s) {
  static const char *const need[] = {"variant", "point", "run", "tick"};
  int col[4], P = x->npanels, rc = -1;
  size_t *count = NULL, *start = NULL, *fill = NULL;
  double *vals = NULL;
  if (rep_need(t, "series.csv", need, 4, col, x->d)) return -1;
  s->T1 = x->horizon + 1;
  for (int c = 4; c < t->ncols; c++)
    if (rep_names_add(&s->metrics, t->header[c]) < 0) return rep_oom(x);
  if (rep_series_alloc(x, s)) return -1;
  count = calloc((size_t)P * (size_t)s->T1 + 1, sizeof *count);
  start = calloc((size_t)P * (size_t)s->T1 + 1, sizeof *start);
  fill = calloc((size_t)P * (size_t)s->T1 + 1, sizeof *fill);
  if (!count || !start || !fill) goto oom;
  for (size_t r = 0; r < t->nrows; r++) {
    int v = rep_names_index(&x->variants, rep_cell(t, r, col[0])), p, tick;
    if (v < 0 || (p = x->panel_of[v]) < 0 || atoi(rep_cell(t, r, col[1])) != x->shown_point)
      continue;
    tick = atoi(rep_cell(t, r, col[3]));
    if (tick >= 0 && tick < s->T1) count[(size_t)p * (size_t)s->T1 + (size_t)tick]++;
  }
  {
    size_t total = 0;
    for (size_t i = 0; i < (size_t)P * (size_t)s->T1; i++) {
      start[i] = total;
      total += count[i];
    }
    vals = malloc((total + 1) * sizeof *vals);
    if (!vals) goto oom;
  }
  for (int m = 0; m < s->metrics.n; m++) {
    if (!rep_metric_chosen(x, s->metrics.name[m])) continue;
    memset(fill, 0, (size_t)P * (size_t)s->T1 * sizeof *fill);
    for (size_t r = 0; r < t->nrows; r++) {
      int v = rep_names_index(&x->variants, rep_cell(t, r, col[0])), p, tick;
      size_t i;
      double val;
      if (v < 0 || (p = x->panel_of[v]) < 0 || atoi(rep_cell(t, r, col[1])) != x->shown_point)
        continue;
      tick = atoi(rep_cell(t, r, col[3]));
      if (tick < 0 || tick >= s->T1) continue;
      i = (size_t)p * (size_t)s->T1 + (size_t)tick;
      val = rep_num(t, r, 4 + m);
      if (!(val == 0 || val == 1)) s->binary[m] = 0;
      vals[start[i] + fill[i]++] = val;
    }
    for (int p = 0; p < P; p++)
      for (int tick = 0; tick < s->T1; tick++) {
        size_t i = (size_t)p * (size_t)s->T1 + (size_t)tick, n = 0;
        double *v = vals + start[i];
        rep_sum *q = rep_sum_at(s, p, m, tick);
        for (size_t j = 0; j < fill[i]; j++) /* drop missing values */
          if (isfinite(v[j])) v[n++] = v[j];
        q->n = (double)n;
        if (n == 0) continue;
        qsort(v, n, sizeof *v, rep_dbl_cmp);
        q->mean = gsl_stats_mean(v, 1, n);
        q->sd = n > 1 ? gsl_stats_sd(v, 1, n) : NAN;
        q->p05 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.05);
        q->p25 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.25);
        q->p50 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.50);
        q->p75 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.75);
        q->p95 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.95);
      }
  }
  x->summary_from_series = 1;
  x->quartiles = 1;
  rc = 0;
  goto done;
oom:
  rep_oom(x);
done:
  free(count);
  free(start);
  free(fill);
  free(vals);
  return rc;
}

static void rep_series_free(rep_series *s) {
  free(s->metrics.name);
  free(s->sum);
  free(s->binary);
  memset(s, 0, sizeof *s);
}

/* The .dat file of metric m over time, one block per panel variant: its
** quantiles (a 0/1 metric: its share at 1 and interval) and the runs still
** going. Widens [*lo, *hi] to the values written, raises *nmax to the most
** runs going, and sets *any when a value is defined. -1 on error. */
static int rep_metric_data(rep_ctx *x, const rep_series *s, int m, const char *stem, double *lo,
                           double *hi, double *nmax, int *any) {
  int P = x->npanels, binary = s->binary[m];
  const char *name = s->metrics.name[m];
  char label[1024];
  FILE *dat;
  if (!(dat = rep_open(x, stem, ".dat"))) return -1;
  rep_gp_label(label, sizeof label, name);
  fprintf(dat,
          "# %s over time: one block (gnuplot index) per panel variant; columns\n"
          "# %s\n",
          label,
          binary ? "tick n share ci_low ci_high  (a 0/1 metric: share of runs at 1)"
                 : "tick n p05 p25 p50 p75 p95");
  for (int p = 0; p < P; p++) {
    rep_gp_label(label, sizeof label, x->variants.name[x->panel[p]]);
    fprintf(dat, "# variant %s\n", label);
    for (int t = 0; t < s->T1; t++) {
      const rep_sum *q = rep_sum_at(s, p, m, t);
      if (q->n <= 0 || (t % rep_stride(s->T1 - 1) != 0 && t != s->T1 - 1)) continue;
      if (q->n > *nmax) *nmax = q->n;
      fprintf(dat, "%d %.0f", t, q->n);
      if (binary) {
        double share = q->mean, clo = NAN, chi = NAN;
        unsigned k = (unsigned)lround(share * q->n);
        if (isfinite(share)) {
          stats_clopper_pearson(k, (unsigned)q->n, 0.95, &clo, &chi);
          share = (double)k / q->n;
          *any = 1;
        }
        rep_gp_num(dat, share);
        rep_gp_num(dat, clo);
        rep_gp_num(dat, chi);
      } else {
        const double v[5] = {q->p05, q->p25, q->p50, q->p75, q->p95};
        for (int i = 0; i < 5; i++) {
          rep_gp_num(dat, v[i]);
          if (isfinite(v[i])) {
            *lo = fmin(*lo, v[i]);
            *hi = fmax(*hi, v[i]);
            *any = 1;
          }
        }
      }
      fputc('\n', dat);
    }
    fputs("\n\n", dat);
  }
  if (rep_close(x, dat, stem)) return -1;
  return 0;
}

/* The gnuplot commands of each panel of a metric's chart: the variant's
** bands and median (or share and interval) over the baseline's ghost, and
** under it the strip of the runs still going. */
static void rep_metric_panels(rep_ctx *x, FILE *g, const rep_grid *L, const char *stem, int binary,
                              double lo, double hi, double nmax, const char *unit) {
  int P = x->npanels;
  for (int p = 0; p < P; p++) {
    int keyed = 0;
    const char *ghost_title = keyed && p > 0 ? "title 'baseline'" : "notitle";
    /* the panel */
    rep_grid_margins(g, L, p, 0, 0.72);
    rep_panel_title(g, x->variants.name[x->panel[p]],
                    p ? rep_desc(&x->vinfo, x->variants.name[x->panel[p]])
                      : "the scenario as written",
                    rep_grid_chars(L));
    fprintf(g,
            "set yrange [%.17g:%.17g]\nset ytics autofreq\nset format x ''\nunset xlabel\n"
            "set grid\n",
            lo, hi);
    fputs("unset key\n", g);
    fputs("plot \\\n", g);
    if (binary) {
      if (p > 0)
        fprintf(g, "  '%s.dat' index 0 using 1:3 with lines lw 1.5 dt 2 lc rgb '%s' %s, \\\n", stem,
                REP_GHOST, ghost_title);
      fprintf(g,
              "  '%s.dat' index %d using 1:4:5 with filledcurves lc rgb '%s' "
              "fs transparent solid 0.25 noborder %s, \\\n"
              "  '%s.dat' index %d using 1:3 with lines lw 2.2 lc rgb '%s' %s\n",
              stem, p, REP_MAIN, keyed ? "title '95% interval'" : "notitle", stem, p, REP_MAIN,
              keyed ? "title 'share of runs at 1'" : "notitle");
    } else {
      if (p > 0)
        fprintf(g,
                "  '%s.dat' index 0 using 1:3:7 with filledcurves lc rgb '%s' "
                "fs transparent solid 0.2 noborder notitle, \\\n"
                "  '%s.dat' index 0 using 1:5 with lines lw 1.5 dt 2 lc rgb '%s' %s, \\\n",
                stem, REP_GHOST, stem, REP_GHOST, ghost_title);
      fprintf(g,
              "  '%s.dat' index %d using 1:3:7 with filledcurves lc rgb '%s' "
              "fs transparent solid 0.2 noborder %s, \\\n",
              stem, p, REP_MAIN, keyed ? "title 'middle 90%'" : "notitle");
      if (x->quartiles)
        fprintf(g,
                "  '%s.dat' index %d using 1:4:6 with filledcurves lc rgb '%s' "
                "fs transparent solid 0.35 noborder %s, \\\n",
                stem, p, REP_MAIN, keyed ? "title 'middle 50%'" : "notitle");
      fprintf(g, "  '%s.dat' index %d using 1:5 with lines lw 2.2 lc rgb '%s' %s\n", stem, p,
              REP_MAIN, keyed ? "title 'median'" : "notitle");
    }
    /* the strip: runs still going */
    rep_grid_margins(g, L, p, 0.80, 1);
    fprintf(g,
            "unset title\nunset key\nset yrange [0:%.0f]\nset ytics (%.0f) font ',8'\n"
            "set format x '%%g'\nset xlabel '%s' offset 0,0.5\nunset grid\n"
            "plot '%s.dat' index %d using 1:2 with fillsteps lc rgb '#aaaaaa' "
            "fs solid 0.6 noborder notitle\nset ytics font ',10'\n",
            nmax, nmax, unit, stem, p);
  }
}

/* The legend of a metric's chart, under its panels. */
static void rep_metric_legend(FILE *g, const rep_grid *L, int binary, int quartiles) {
  static const char *const cont[] = {
      "with boxes fs transparent solid 0.25 noborder lc rgb '" REP_GHOST
      "' title 'baseline: middle 90%'",
      "with lines lw 1.5 dt 2 lc rgb '" REP_GHOST "' title 'baseline: median'",
      "with boxes fs transparent solid 0.2 noborder lc rgb '" REP_MAIN "' title 'middle 90%'",
      "with boxes fs transparent solid 0.45 noborder lc rgb '" REP_MAIN "' title 'middle 50%'",
      "with lines lw 2.2 lc rgb '" REP_MAIN "' title 'median'",
      "with boxes fs solid 0.6 noborder lc rgb '#aaaaaa' title 'runs still going'"};
  static const char *const bin[] = {
      "with lines lw 1.5 dt 2 lc rgb '" REP_GHOST "' title 'baseline'",
      "with boxes fs transparent solid 0.25 noborder lc rgb '" REP_MAIN "' title '95% interval'",
      "with lines lw 2.2 lc rgb '" REP_MAIN "' title 'share of runs at 1'",
      "with boxes fs solid 0.6 noborder lc rgb '#aaaaaa' title 'runs still going'"};
  const char *list[6];
  int ne = 0;
  if (binary)
    for (int i = 0; i < 4; i++) list[ne++] = bin[i];
  else
    for (int i = 0; i < 6; i++)
      if (i != 3 || quartiles) list[ne++] = cont[i];
  rep_grid_legend(g, L, list, ne);
}

/* Each chosen metric over time: a panel per variant with the baseline
** ghosted behind it (median and 90% band in grey), the variant's median
** and 50%/90% bands of the runs still going, and under it a strip with the
** number of runs still going. A 0/1 metric is drawn as the share of runs
** at 1 with its 95% Clopper-Pearson interval. */
static int rep_metric_charts(rep_ctx *x, const rep_series *s) {
  int P = x->npanels, count = 0;
  char label[1024], unit[256], stem[64], title[512], caption[1024];
  rep_time_label(x, unit, sizeof unit);
  for (int m = 0; m < s->metrics.n; m++) {
    const char *name = s->metrics.name[m], *desc = rep_desc(&x->minfo, name);
    int binary = s->binary[m], any = 0;
    double lo = INFINITY, hi = -INFINITY, nmax = 1;
    FILE *g;
    rep_grid L;
    if (!rep_metric_chosen(x, name)) continue;
    snprintf(stem, sizeof stem, "metric-%d", ++count);
    if (rep_metric_data(x, s, m, stem, &lo, &hi, &nmax, &any)) return -1;
    if (!any) {
      count--;
      continue;
    }
    if (binary) lo = 0, hi = 1;
    else if (hi - lo <= 0) lo -= 1, hi += 1;
    else {
      double pad = 0.05 * (hi - lo);
      lo -= pad;
      hi += pad;
    }
    rep_grid_init(&L, P, 300, 58);
    snprintf(title, sizeof title, "%s over time%s", name, binary ? " (share of runs at 1)" : "");
    if (binary)
      snprintf(caption, sizeof caption,
               "%s%sA 0/1 metric: the share of runs still going at which it is 1, "
               "with its 95%% interval, per %s; dashed grey: the baseline; the strip "
               "under each panel counts the runs still going.",
               desc ? desc : "", desc ? ". " : "", x->tick_unit ? x->tick_unit : "tick");
    else
      snprintf(caption, sizeof caption,
               "%s%sMedian of the runs still going with the band of their middle 90%%%s, "
               "per %s; grey: the baseline; the strip under each panel counts the "
               "runs still going.",
               desc ? desc : "", desc ? ". " : "", x->quartiles ? " (darker: middle 50%)" : "",
               x->tick_unit ? x->tick_unit : "tick");
    if (!rep_add_chart(x, stem, title, caption, SEC_METRICS, L.height)) return rep_oom(x);
    if (!(g = rep_open(x, stem, ".gp"))) return -1;
    rep_gp_head(g, "");
    rep_gp_str(label, sizeof label, title);
    fprintf(g, "unset title\nset multiplot title '%s' font ',13'\nset xrange [0:%d]\n", label,
            x->horizon > 0 ? x->horizon : 1);
    rep_metric_panels(x, g, &L, stem, binary, lo, hi, nmax, unit);
    rep_metric_legend(g, &L, binary, x->quartiles);
    fputs("unset multiplot\n", g);
    if (rep_close(x, g, stem)) return -1;
  }
  return 0;
}

/* ------------------------------------------------------ outcome shares */

/* Outcome shares per panel variant with their Clopper-Pearson whiskers. */
static int rep_outcome_chart(rep_ctx *x, const rep_csv *t) {
  static const char *const need[] = {"variant", "point", "outcome", "share", "ci_low", "ci_high"};
  int col[6];
  char label[512], title[256], caption[512];
  FILE *dat, *g;

  if (rep_need(t, "outcomes.csv", need, 6, col, x->d)) return -1;
  if (!(dat = rep_open(x, "outcomes", ".dat"))) return -1;
  fputs("# Outcome shares: one line per outcome; per panel variant the columns\n"
        "# share ci_low ci_high\n",
        dat);
  for (int k = 0; k < x->outcomes.n; k++) {
    if (!x->osel[k]) continue;
    rep_gp_label(label, sizeof label, x->outcomes.name[k]);
    fprintf(dat, "\"%s\"", label);
    for (int p = 0; p < x->npanels; p++) {
      double share = NAN, lo = NAN, hi = NAN;
      for (size_t r = 0; r < t->nrows; r++)
        if (strcmp(rep_cell(t, r, col[0]), x->variants.name[x->panel[p]]) == 0
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
  if (rep_close(x, dat, "outcomes")) return -1;
  snprintf(title, sizeof title, "How often does each outcome happen?");
  snprintf(caption, sizeof caption,
           "Share of runs that ended in each outcome, per "
           "variant (bars in variant order), with exact 95%% intervals.");
  if (!rep_add_chart(x, "outcomes", title, caption, SEC_OUTCOMES, 480)) return rep_oom(x);
  if (!(g = rep_open(x, "outcomes", ".gp"))) return -1;
  rep_gp_head(g, title);
  fputs("set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
        "set style fill solid 0.85 border -1\nset yrange [0:1.05]\n"
        "set ylabel 'share of runs'\nset xtics noenhanced\n"
        "set key outside bottom center horizontal\nplot \\\n",
        g);
  for (int p = 0; p < x->npanels; p++) {
    rep_gp_str(label, sizeof label, x->variants.name[x->panel[p]]);
    fprintf(g, "%s  'outcomes.dat' using %d:%d:%d%s lc rgb '%s' title '%s'", p ? ", \\\n" : "",
            2 + 3 * p, 3 + 3 * p, 4 + 3 * p, p ? "" : ":xtic(1)",
            p == 0 ? "#999999" : rep_colors[(p - 1) % REP_NCOLORS], label);
  }
  fputc('\n', g);
  return rep_close(x, g, "outcomes");
}

/* ---------------------------------------------------- paired differences */

typedef struct rep_diff {
  const char *variant, *name;
  int group; /* outcome or metric index: rows are grouped */
  double diff, lo, hi;
} rep_diff;

/* Within a group, the largest difference on top; undefined ones last. */
static int rep_diff_cmp(const void *a, const void *b) {
  const rep_diff *p = a, *q = b;
  int pf = isfinite(p->diff), qf = isfinite(q->diff);
  if (p->group != q->group) return p->group < q->group ? -1 : 1;
  if (pf != qf) return qf - pf;
  if (pf && p->diff != q->diff) return p->diff < q->diff ? 1 : -1;
  return strcmp(p->variant, q->variant);
}

/* Within a group, the largest absolute difference first. */
static int rep_diff_abs_cmp(const void *a, const void *b) {
  const rep_diff *p = a, *q = b;
  if (p->group != q->group) return p->group < q->group ? -1 : 1;
  if (fabs(p->diff) != fabs(q->diff)) return fabs(p->diff) < fabs(q->diff) ? 1 : -1;
  return strcmp(p->variant, q->variant);
}

/* Dot-and-whisker charts of rows[0..n): at most REP_MAX_ROWS rows a chart
** (stem-1, stem-2, ...), groups kept whole where they fit, first row on top,
** and the x range always holding the zero line.
** Long: the paging (counting pages, then writing each) shares the rows' groups and the x range
** computed once. */
static int rep_diff_pages(rep_ctx *x, const char *stem0, const char *title0, const char *caption,
                          const char *xlabel, const rep_diff *rows, int n, int label_group) {
  int start = 0, page = 0, pages = 0;
  char label[512], text[512], stem[64], title[512];
  /* count pages first, for "page i of n" */
  for (int s = 0; s < n;) {
    int e = s, used = 0;
    while (e < n) {
      int g = e;
      while (g < n && rows[g].group == rows[e].group) g++;
      if (used + (g - e) <= REP_MAX_ROWS) used += g - e, e = g;
      else if (used == 0) e += REP_MAX_ROWS, used = REP_MAX_ROWS;
      else break;
    }
    pages++;
    s = e;
  }
  while (start < n) {
    int end = start, used = 0, finite = 0, longest = 10;
    double lo = 0, hi = 0;
    FILE *dat, *g;
    while (end < n) {
      int e = end;
      while (e < n && rows[e].group == rows[end].group) e++;
      if (used + (e - end) <= REP_MAX_ROWS) used += e - end, end = e;
      else if (used == 0) end += REP_MAX_ROWS, used = REP_MAX_ROWS;
      else break;
    }
    if (end > n) end = n;
    page++;
    snprintf(stem, sizeof stem, "%s-%d", stem0, page);
    if (!(dat = rep_open(x, stem, ".dat"))) return -1;
    fputs("# label diff ci_low ci_high colour: first row on top\n", dat);
    for (int i = start; i < end; i++) {
      const rep_diff *r = &rows[i];
      if (label_group) snprintf(text, sizeof text, "%s: %s", r->name, r->variant);
      else snprintf(text, sizeof text, "%s", r->variant);
      rep_gp_label(label, sizeof label, text);
      if ((int)strlen(label) > longest) longest = (int)strlen(label);
      fprintf(dat, "\"%s\"", label);
      rep_gp_num(dat, r->diff);
      rep_gp_num(dat, isfinite(r->lo) ? r->lo : r->diff);
      rep_gp_num(dat, isfinite(r->hi) ? r->hi : r->diff);
      fprintf(dat, " %ld\n",
              strtol(rep_colors[(label_group ? r->group : 3) % REP_NCOLORS] + 1, NULL, 16));
      if (isfinite(r->diff)) {
        finite++;
        lo = fmin(lo, isfinite(r->lo) ? fmin(r->lo, r->diff) : r->diff);
        hi = fmax(hi, isfinite(r->hi) ? fmax(r->hi, r->diff) : r->diff);
      }
    }
    if (rep_close(x, dat, stem)) return -1;
    if (!finite) {
      start = end;
      continue;
    }
    if (hi - lo <= 0) lo = -1, hi = 1;
    else {
      double pad = 0.08 * (hi - lo);
      lo -= pad;
      hi += pad;
    }
    if (pages > 1) snprintf(title, sizeof title, "%s (%d of %d)", title0, page, pages);
    else snprintf(title, sizeof title, "%s", title0);
    if (!rep_add_chart(x, stem, title, caption, SEC_COMPARE, 130 + 24 * (end - start)))
      return rep_oom(x);
    if (!(g = rep_open(x, stem, ".gp"))) return -1;
    rep_gp_head(g, title);
    rep_gp_str(label, sizeof label, xlabel);
    fprintf(g,
            "set yrange [%d:-1]\nset ytics noenhanced font ',10'\nunset key\n"
            "set xlabel '%s'\nset xrange [%.17g:%.17g]\nset lmargin %d\n"
            "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead "
            "dt 2 lw 1.5 lc rgb '#333333'\n"
            "plot '%s.dat' using 2:0:3:4:5:ytic(1) with xerrorbars pt 7 ps 1.1 "
            "lw 2 lc rgb variable\n",
            end - start, label, lo, hi, longest > 60 ? 60 : longest + 2, stem);
    if (rep_close(x, g, stem)) return -1;
    start = end;
  }
  return 0;
}

/* The paired differences of compare.csv: outcome shares in one set of
** charts (one scale, grouped by outcome), each metric in its own. */
static int rep_compare_charts(rep_ctx *x, const rep_csv *t) {
  static const char *const need[] = {"variant", "kind", "name", "diff", "ci_low", "ci_high"};
  int col[6], n = 0, count = 0, rc = -1;
  rep_names metrics = {0};
  rep_diff *rows = malloc((t->nrows + 1) * sizeof *rows);
  char stem[64], title[512], caption[512];
  const char *pooled = x->pooled_compare ? ", pooled over the sweep's points" : "";

  if (!rows) return rep_oom(x);
  if (rep_need(t, "compare.csv", need, 6, col, x->d)) goto done;
  for (size_t r = 0; r < t->nrows; r++) {
    int v = rep_names_index(&x->variants, rep_cell(t, r, col[0]));
    int k = rep_names_index(&x->outcomes, rep_cell(t, r, col[2]));
    if (strcmp(rep_cell(t, r, col[1]), "outcome") != 0 || v < 0 || !x->vsel[v] || k < 0
        || !x->osel[k])
      continue;
    rows[n].variant = rep_cell(t, r, col[0]);
    rows[n].name = rep_cell(t, r, col[2]);
    rows[n].group = k;
    rows[n].diff = rep_num(t, r, col[3]);
    rows[n].lo = rep_num(t, r, col[4]);
    rows[n].hi = rep_num(t, r, col[5]);
    n++;
  }
  qsort(rows, (size_t)n, sizeof *rows, rep_diff_cmp);
  snprintf(title, sizeof title, "Outcome shares: variant minus baseline (paired%s)", pooled);
  snprintf(caption, sizeof caption,
           "Mean paired difference in the share of runs "
           "ending in each outcome, with its 95%% interval; an interval clear of the "
           "dashed zero line is a difference the runs resolve.");
  if (n
      && rep_diff_pages(x, "compare-outcomes", title, caption, "difference in share of runs", rows,
                        n, 1))
    goto done;

  for (size_t r = 0; r < t->nrows; r++)
    if (strcmp(rep_cell(t, r, col[1]), "metric") == 0
        && rep_names_add(&metrics, rep_cell(t, r, col[2])) < 0) {
      rep_oom(x);
      goto done;
    }
  for (int m = 0; m < metrics.n; m++) {
    if (!rep_metric_chosen(x, metrics.name[m])) continue;
    n = 0;
    for (size_t r = 0; r < t->nrows; r++) {
      int v = rep_names_index(&x->variants, rep_cell(t, r, col[0]));
      if (strcmp(rep_cell(t, r, col[1]), "metric") != 0 || v < 0 || !x->vsel[v]
          || strcmp(rep_cell(t, r, col[2]), metrics.name[m]) != 0)
        continue;
      rows[n].variant = rep_cell(t, r, col[0]);
      rows[n].name = metrics.name[m];
      rows[n].group = 0;
      rows[n].diff = rep_num(t, r, col[3]);
      rows[n].lo = rep_num(t, r, col[4]);
      rows[n].hi = rep_num(t, r, col[5]);
      n++;
    }
    qsort(rows, (size_t)n, sizeof *rows, rep_diff_cmp);
    snprintf(stem, sizeof stem, "compare-metric-%d", ++count);
    snprintf(title, sizeof title, "Final %s: variant minus baseline (paired%s)", metrics.name[m],
             pooled);
    snprintf(caption, sizeof caption,
             "Mean paired difference of %s at the end of "
             "each run, with its 95%% interval; dashed: zero.",
             metrics.name[m]);
    if (n && rep_diff_pages(x, stem, title, caption, "difference of the final value", rows, n, 0))
      goto done;
  }
  rc = 0;
done:
  free(rows);
  free(metrics.name);
  return rc;
}

/* ---------------------------------------------------------------- sweep */

/* For each swept parameter, a panel with every point's value against the
** parameter (dots with 95% whiskers, the baseline variant) and a line
** through them (rep_sweep_block). */
static int rep_sweep_panels(rep_ctx *x, const char *stem, const char *title, const char *caption,
                            const char *ylabel, int nseries, const char *const *series_names,
                            const int *series_colors, int binary_range) {
  rep_grid L;
  char label[1024];
  int P = x->sinfo.n > REP_MAX_PANELS ? REP_MAX_PANELS : x->sinfo.n;
  FILE *g;
  rep_grid_init(&L, P, 280, 40);
  if (!rep_add_chart(x, stem, title, caption, SEC_SWEEP, L.height)) return rep_oom(x);
  if (!(g = rep_open(x, stem, ".gp"))) return -1;
  rep_gp_head(g, "");
  rep_gp_str(label, sizeof label, title);
  fprintf(g,
          "unset title\nset multiplot title '%s' font ',13'\nset offsets graph 0.03, graph 0.03, "
          "0, 0\n",
          label);
  if (binary_range) fputs("set yrange [0:1]\n", g);
  for (int p = 0; p < P; p++) {
    int keyed = 0;
    rep_grid_margins(g, &L, p, 0, 1);
    rep_gp_str(label, sizeof label, x->sinfo.item[p].name);
    fprintf(g, "set title '%s' font ',10'\nset xlabel '%s' offset 0,0.4\nset ylabel '%s'\n", label,
            label, p % L.cols == 0 ? ylabel : "");
    fputs("unset key\n", g);
    if (isfinite(x->sweep_written[p]))
      fprintf(g,
              "set arrow 1 from first %.17g, graph 0 to first %.17g, graph 1 nohead "
              "dt 3 lc rgb '#555555'\n",
              x->sweep_written[p], x->sweep_written[p]);
    else fputs("unset arrow 1\n", g);
    fputs("plot \\\n", g);
    for (int s = 0; s < nseries; s++) {
      const char *color = rep_colors[series_colors[s] % REP_NCOLORS];
      rep_gp_str(label, sizeof label, series_names[s]);
      fprintf(g,
              "%s  '%s.dat' index %d using 1:2:3:4 with yerrorbars pt 7 ps 0.5 lc rgb '%s' "
              "title '%s', \\\n  '%s.dat' index %d using 1:6 with lines lw 2 "
              "lc rgb '%s' dt %d notitle",
              s ? ", \\\n" : "", stem, p * nseries + s, color, keyed ? label : "", stem,
              p * nseries + s, color, rep_dash(series_colors[s]));
    }
    fputc('\n', g);
  }
  {
    char(*entries)[600] = malloc((size_t)(nseries + 2) * sizeof *entries);
    const char **list = malloc((size_t)(nseries + 2) * sizeof *list);
    int ne = 0;
    if (!entries || !list) {
      free(entries);
      free(list);
      fclose(g);
      return rep_oom(x);
    }
    for (int s = 0; s < nseries; s++) {
      rep_gp_str(label, sizeof label, series_names[s]);
      snprintf(entries[ne], sizeof entries[0],
               "with linespoints pt 7 ps 0.6 lw 2 lc rgb '%s' dt %d title '%.500s'",
               rep_colors[series_colors[s] % REP_NCOLORS], rep_dash(series_colors[s]), label);
      list[ne] = entries[ne];
      ne++;
    }
    snprintf(entries[ne], sizeof entries[0],
             "with lines dt 3 lc rgb '#555555' title 'value in the scenario'");
    list[ne] = entries[ne];
    ne++;
    rep_grid_legend(g, &L, list, ne);
    free(entries);
    free(list);
  }
  fputs("unset multiplot\n", g);
  return rep_close(x, g, stem);
}

static int rep_row5_cmp(const void *a, const void *b) {
  const double *p = a, *q = b;
  if (p[0] != q[0]) return p[0] < q[0] ? -1 : 1;
  return (p[4] > q[4]) - (p[4] < q[4]);
}

/* One block of a sweep chart's data: for the baseline's rows of t named
** NAME (col: variant, point, name, value, ci_low, ci_high), the swept value
** of each point (points.csv column pcol), sorted by that value, then the
** point and the line drawn through the dots. buf holds 5 doubles per point. */
static void rep_sweep_block(rep_ctx *x, FILE *dat, const rep_csv *t, const int *col,
                            const char *name, const rep_csv *points, int pcol, double *buf) {
  int grid = x->sweep_method && strcmp(x->sweep_method, "grid") == 0;
  size_t n = 0, npt = points->nrows;
  fputs("# block\n", dat);
  for (size_t r = 0; r < t->nrows && n < npt; r++) {
    int pt = atoi(rep_cell(t, r, col[1]));
    double *row = buf + 5 * n;
    if (strcmp(rep_cell(t, r, col[0]), x->variants.name[0]) != 0
        || strcmp(rep_cell(t, r, col[2]), name) != 0 || pt < 1 || (size_t)pt > npt)
      continue;
    row[0] = rep_num(points, (size_t)pt - 1, pcol);
    row[1] = rep_num(t, r, col[3]);
    row[2] = rep_num(t, r, col[4]);
    row[3] = rep_num(t, r, col[5]);
    row[4] = pt;
    n++;
  }
  qsort(buf, n, 5 * sizeof *buf, rep_row5_cmp);
  for (size_t i = 0; i < n; i++) {
    /* the line: the mean of the points with this value (a grid), else a
    ** running mean of the 2h + 1 points nearest in value, h = n / 10 */
    size_t h = n / 10 > 0 ? n / 10 : 1, lo = i >= h ? i - h : 0, hi = i + h < n ? i + h : n - 1;
    double sum = 0;
    size_t k = 0;
    if (grid) {
      lo = hi = i;
      while (lo > 0 && buf[5 * (lo - 1)] == buf[5 * i]) lo--;
      while (hi + 1 < n && buf[5 * (hi + 1)] == buf[5 * i]) hi++;
    }
    for (size_t j = lo; j <= hi; j++)
      if (isfinite(buf[5 * j + 1])) {
        sum += buf[5 * j + 1];
        k++;
      }
    for (int j = 0; j < 4; j++) rep_gp_num(dat, buf[5 * i + j]);
    fprintf(dat, " %.0f", buf[5 * i + 4]);
    rep_gp_num(dat, k ? sum / (double)k : NAN);
    fputc('\n', dat);
  }
  fputs("\n\n", dat);
}

/* The Sweep section's charts: each outcome's share and each metric's mean against each swept
** parameter. Long: the outcome and metric charts share the points' parameter values and colours
** read at its start. */
static int rep_sweep_charts(rep_ctx *x, const rep_csv *points, const rep_csv *outcomes,
                            const rep_csv *finals) {
  int P = x->sinfo.n > REP_MAX_PANELS ? REP_MAX_PANELS : x->sinfo.n;
  int *pcol = calloc((size_t)P + 1, sizeof *pcol), rc = -1, count = 0;
  int ocol[6], fcol[6], npt = (int)points->nrows, pointcol = rep_col(points, "point");
  static const char *const oneed[] = {"variant", "point", "outcome", "share", "ci_low", "ci_high"};
  static const char *const fneed[] = {"variant", "point", "metric", "mean", "ci_low", "ci_high"};
  const char **names = calloc((size_t)x->outcomes.n + 1, sizeof *names);
  int *colors = calloc((size_t)x->outcomes.n + 1, sizeof *colors), ns = 0;
  double *px = malloc(((size_t)npt + 1) * 5 * sizeof *px);
  rep_names metrics = {0};
  char stem[64], title[512], caption[512];
  FILE *dat;

  if (!pcol || !names || !colors || !px) {
    rep_oom(x);
    goto done;
  }
  if (pointcol < 0 || rep_need(outcomes, "outcomes.csv", oneed, 6, ocol, x->d)) {
    if (pointcol < 0) diag_error(x->d, "points.csv", 1, 0, "no column 'point'");
    goto done;
  }
  for (int p = 0; p < P; p++)
    if ((pcol[p] = rep_col(points, x->sinfo.item[p].name)) < 0) {
      rc = 0; /* points.csv of another sweep: nothing to draw */
      goto done;
    }
  /* outcome shares against each parameter */
  if (!(dat = rep_open(x, "sweep-outcomes", ".dat"))) goto done;
  fputs("# Outcome shares over the sweep (baseline variant): blocks per swept\n"
        "# parameter and outcome; columns value share ci_low ci_high point line\n",
        dat);
  for (int k = 0; k < x->outcomes.n; k++)
    if (x->osel[k]) {
      names[ns] = x->outcomes.name[k];
      colors[ns++] = k;
    }
  for (int p = 0; p < P; p++)
    for (int s = 0; s < ns; s++) {
      rep_sweep_block(x, dat, outcomes, ocol, names[s], points, pcol[p], px);
    }
  if (rep_close(x, dat, "sweep-outcomes")) goto done;
  snprintf(title, sizeof title, "Outcome shares across the sweep");
  snprintf(caption, sizeof caption,
           "Each dot is a sweep point (baseline variant): "
           "its outcome share with a 95%% interval against one swept parameter; "
           "the dotted line marks the scenario's own value.");
  if (ns
      && rep_sweep_panels(x, "sweep-outcomes", title, caption, "share of runs", ns, names, colors,
                          1))
    goto done;

  /* metric means against each parameter */
  if (finals && finals->nrows) {
    if (rep_need(finals, "finals.csv", fneed, 6, fcol, x->d)) goto done;
    for (size_t r = 0; r < finals->nrows; r++)
      if (rep_names_add(&metrics, rep_cell(finals, r, fcol[2])) < 0) {
        rep_oom(x);
        goto done;
      }
    for (int m = 0; m < metrics.n; m++) {
      const char *one[1] = {metrics.name[m]};
      int color[1] = {3};
      if (!rep_metric_chosen(x, metrics.name[m])) continue;
      snprintf(stem, sizeof stem, "sweep-metric-%d", ++count);
      if (!(dat = rep_open(x, stem, ".dat"))) goto done;
      fputs("# Final mean over the sweep (baseline variant): blocks per swept\n"
            "# parameter; columns value mean ci_low ci_high point line\n",
            dat);
      for (int p = 0; p < P; p++) {
        rep_sweep_block(x, dat, finals, fcol, metrics.name[m], points, pcol[p], px);
      }
      if (rep_close(x, dat, stem)) goto done;
      snprintf(title, sizeof title, "Final %s across the sweep", metrics.name[m]);
      snprintf(caption, sizeof caption,
               "Each dot is a sweep point (baseline variant): "
               "the mean of %s at the end of the runs with its 95%% interval.",
               metrics.name[m]);
      if (rep_sweep_panels(x, stem, title, caption, "final mean", 1, one, color, 0)) goto done;
    }
  }
  rc = 0;
done:
  free(pcol);
  free(names);
  free(colors);
  free(px);
  free(metrics.name);
  return rc;
}

/* ---------------------------------------------------------- sensitivity */

/* One tornado chart per outcome and metric of sensitivity.csv: SRC and
** PRCC of every path as horizontal bars, the largest effect on top; where
** Sobol indices exist, a second chart with S1 inside ST, with intervals.
** Columns are read by name: the file may have a leading `variant` column
** (only the baseline's rows are drawn) and the Sobol columns or not. */
typedef struct rep_bar {
  const char *path;
  double src, prcc, size, s1, s1_low, s1_high, st, st_low, st_high;
} rep_bar;

static int rep_bar_cmp(const void *a, const void *b) {
  const rep_bar *p = a, *q = b;
  return (p->size > q->size) - (p->size < q->size);
}

/* Chart tornado-INDEX: the SRC and PRCC of each swept parameter (bars[0..n),
** the largest |value| reach) on output NAME of KIND, largest on top. -1 on
** error. */
static int rep_tornado_one(rep_ctx *x, rep_bar *bars, size_t n, double reach, const char *kind,
                           const char *name, int index) {
  char stem[64], title[512], caption[512], label[512];
  FILE *dat, *g;
  qsort(bars, n, sizeof *bars, rep_bar_cmp); /* smallest first: bottom */
  snprintf(stem, sizeof stem, "tornado-%d", index);
  if (!(dat = rep_open(x, stem, ".dat"))) return -1;
  fputs("# path src prcc: first row at the bottom\n", dat);
  for (size_t i = 0; i < n; i++) {
    rep_gp_label(label, sizeof label, bars[i].path);
    fprintf(dat, "\"%s\"", label);
    rep_gp_num(dat, bars[i].src);
    rep_gp_num(dat, bars[i].prcc);
    fputc('\n', dat);
  }
  if (rep_close(x, dat, stem)) return -1;
  snprintf(title, sizeof title, "Sensitivity of %s %s%s", kind, name,
           strcmp(kind, "outcome") == 0 ? " (share)" : " (final mean)");
  snprintf(caption, sizeof caption,
           "Which swept parameters drive %s: standardised "
           "regression coefficient (SRC, linear effect) and partial rank correlation "
           "(PRCC, monotone effect), largest on top.",
           name);
  if (!rep_add_chart(x, stem, title, caption, SEC_SENSITIVITY, 140 + 46 * (int)n))
    return rep_oom(x);
  if (!(g = rep_open(x, stem, ".gp"))) return -1;
  rep_gp_head(g, title);
  fprintf(g,
          "set yrange [-0.7:%zu-0.3]\nset xrange [%.17g:%.17g]\n"
          "set ytics noenhanced\nset xlabel 'coefficient'\nset lmargin 24\n"
          "set style fill solid 0.85 border -1\nset key outside bottom center horizontal\n"
          "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead lc rgb '#555555'\n"
          "plot '%s.dat' using ($2/2):($0+0.19):(abs($2)/2):(0.17):ytic(1) "
          "with boxxyerror lc rgb '%s' title 'SRC', \\\n"
          "  '%s.dat' using ($3/2):($0-0.19):(abs($3)/2):(0.17) "
          "with boxxyerror lc rgb '%s' title 'PRCC'\n",
          n, -1.05 * reach, 1.05 * reach, stem, rep_colors[3], stem, rep_colors[0]);
  if (rep_close(x, g, stem)) return -1;
  return 0;
}

/* Chart sobol-INDEX: the first-order and total Sobol indices of each swept
** parameter (bars[0..n)) on output NAME of KIND, with their intervals,
** largest ST on top. -1 on error. */
static int rep_sobol_one(rep_ctx *x, rep_bar *bars, size_t n, const char *kind, const char *name,
                         int index) {
  char stem[64], title[512], caption[512], label[512];
  FILE *dat, *g;
  double top = 1, bottom = 0;
  for (size_t i = 0; i < n; i++) {
    const double v[6] = {bars[i].s1, bars[i].s1_low, bars[i].s1_high,
                         bars[i].st, bars[i].st_low, bars[i].st_high};
    bars[i].size = isfinite(bars[i].st) ? bars[i].st : isfinite(bars[i].s1) ? bars[i].s1 : -1;
    for (int j = 0; j < 6; j++)
      if (isfinite(v[j])) {
        top = fmax(top, v[j]);
        bottom = fmin(bottom, v[j]);
      }
  }
  qsort(bars, n, sizeof *bars, rep_bar_cmp);
  snprintf(stem, sizeof stem, "sobol-%d", index);
  if (!(dat = rep_open(x, stem, ".dat"))) return -1;
  fputs("# path s1 s1_low s1_high st st_low st_high: first row at the bottom\n", dat);
  for (size_t i = 0; i < n; i++) {
    rep_gp_label(label, sizeof label, bars[i].path);
    fprintf(dat, "\"%s\"", label);
    rep_gp_num(dat, bars[i].s1);
    rep_gp_num(dat, bars[i].s1_low);
    rep_gp_num(dat, bars[i].s1_high);
    rep_gp_num(dat, bars[i].st);
    rep_gp_num(dat, bars[i].st_low);
    rep_gp_num(dat, bars[i].st_high);
    fputc('\n', dat);
  }
  if (rep_close(x, dat, stem)) return -1;
  snprintf(title, sizeof title, "Sobol indices of %s %s", kind, name);
  snprintf(caption, sizeof caption,
           "Share of the variance of %s due to each parameter "
           "alone (S1, dark, inside) and with its interactions (ST, light), with 95%% "
           "intervals; largest ST on top.",
           name);
  if (!rep_add_chart(x, stem, title, caption, SEC_SENSITIVITY, 140 + 40 * (int)n))
    return rep_oom(x);
  if (!(g = rep_open(x, stem, ".gp"))) return -1;
  rep_gp_head(g, title);
  fprintf(g,
          "set yrange [-0.7:%zu-0.3]\nset xrange [%.17g:%.17g]\n"
          "set ytics noenhanced\nset xlabel 'share of variance'\nset lmargin 24\n"
          "set style fill solid 0.85 border -1\nset key outside bottom center horizontal\n"
          "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead lc rgb '#555555'\n"
          "plot '%s.dat' using ($5/2):0:(abs($5)/2):(0.36):ytic(1) "
          "with boxxyerror lc rgb '#A6CEE3' title 'ST', \\\n"
          "  '%s.dat' using 5:($0+0.27):6:7 with xerrorbars pt 0 lw 1.5 lc rgb '#555555' "
          "notitle, \\\n"
          "  '%s.dat' using ($2/2):0:(abs($2)/2):(0.15) "
          "with boxxyerror lc rgb '%s' title 'S1', \\\n"
          "  '%s.dat' using 2:0:3:4 with xerrorbars pt 0 lw 1.5 lc rgb '#000000' notitle\n",
          n, bottom - 0.05 * (top - bottom), top + 0.05 * (top - bottom), stem, stem, stem,
          rep_colors[3], stem);
  if (rep_close(x, g, stem)) return -1;
  return 0;
}

/* The sensitivity charts of sensitivity.csv (the baseline's rows): per
** chosen outcome or metric, a tornado of SRC and PRCC, and a chart of the
** Sobol indices when the sweep estimated them. */
static int rep_tornado_charts(rep_ctx *x, const rep_csv *t) {
  static const char *const need[] = {"kind", "name", "path"};
  static const char *const sobol[] = {"src",     "prcc", "s1",     "s1_low",
                                      "s1_high", "st",   "st_low", "st_high"};
  int col[3], scol[8], vcol = rep_col(t, "variant"), count = 0, scount = 0;
  rep_bar *bars = malloc((t->nrows + 1) * sizeof *bars);
  char *done = calloc(t->nrows + 1, 1);

  if (!bars || !done) {
    free(bars);
    free(done);
    return rep_oom(x);
  }
  if (rep_need(t, "sensitivity.csv", need, 3, col, x->d)) goto fail;
  for (int i = 0; i < 8; i++) scol[i] = rep_col(t, sobol[i]);
  for (size_t r0 = 0; r0 < t->nrows; r0++) {
    const char *kind = rep_cell(t, r0, col[0]), *name = rep_cell(t, r0, col[1]);
    size_t n = 0, any = 0, anysobol = 0;
    double reach = 1;
    int k;
    if (done[r0] || (vcol >= 0 && strcmp(rep_cell(t, r0, vcol), x->variants.name[0]) != 0))
      continue;
    if (strcmp(kind, "outcome") == 0 ? (k = rep_names_index(&x->outcomes, name)) >= 0 && !x->osel[k]
                                     : !rep_metric_chosen(x, name))
      continue;
    for (size_t r = r0; r < t->nrows; r++) {
      rep_bar *b;
      double v[8];
      if (done[r] || strcmp(rep_cell(t, r, col[0]), kind) != 0
          || strcmp(rep_cell(t, r, col[1]), name) != 0
          || (vcol >= 0 && strcmp(rep_cell(t, r, vcol), x->variants.name[0]) != 0))
        continue;
      done[r] = 1;
      for (int i = 0; i < 8; i++) v[i] = rep_num(t, r, scol[i]);
      b = &bars[n++];
      b->path = rep_cell(t, r, col[2]);
      b->src = v[0], b->prcc = v[1], b->s1 = v[2], b->s1_low = v[3], b->s1_high = v[4];
      b->st = v[5], b->st_low = v[6], b->st_high = v[7];
      b->size = fmax(isfinite(b->src) ? fabs(b->src) : 0, isfinite(b->prcc) ? fabs(b->prcc) : 0);
      any += isfinite(b->src) || isfinite(b->prcc);
      anysobol += isfinite(b->s1) || isfinite(b->st);
      if (b->size > reach) reach = b->size;
    }
    if (any && rep_tornado_one(x, bars, n, reach, kind, name, ++count)) goto fail;
    if (anysobol && rep_sobol_one(x, bars, n, kind, name, ++scount)) goto fail;
  }
  free(bars);
  free(done);
  return 0;
fail:
  free(bars);
  free(done);
  return -1;
}
/* ------------------------------------------------------------- gnuplot */

/* Full path of an executable NAME on PATH, malloc'd; NULL when none. */
static char *rep_which(const char *name) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    char *full;
    if (asprintf(&full, "%.*s/%s", (int)len, len ? path : ".", name) >= 0) {
      struct stat st;
      if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) return full;
      free(full);
    }
    path += len + (colon ? 1 : 0);
  }
  return NULL;
}

/* The driver: every chart as SVG, then as PNG (pngcairo when gnuplot has
** it, else gd's png). */

/* The driver: every chart in each chosen format (SVG; PNG by pngcairo when
** gnuplot has it, else gd's png; PDF by pdfcairo). */
static int rep_write_driver(rep_ctx *x) {
  FILE *g = rep_open(x, "report", ".gp");
  if (!g) return -1;
  fputs("cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\n", g);
  for (int i = 0; i < x->ncharts; i++) {
    const rep_chart *c = &x->charts[i];
    if (x->opts.svg)
      fprintf(g,
              "set terminal svg size %d,%d fixed noenhanced font 'Sans,12' "
              "background rgb 'white'\nset output '%s.svg'\nload '%s.gp'\nunset output\n",
              c->width, c->height, c->stem, c->stem);
    if (x->opts.png)
      fprintf(g,
              "if (cairo) { set terminal pngcairo size %d,%d noenhanced "
              "font 'Sans,10' background rgb 'white' } else { set terminal png "
              "size %d,%d noenhanced background rgb 'white' }\n"
              "set output '%s.png'\nload '%s.gp'\nunset output\n",
              c->width, c->height, c->width, c->height, c->stem, c->stem);
    if (x->opts.pdf)
      fprintf(g,
              "set terminal pdfcairo size %.2fin,%.2fin noenhanced font 'Sans,8' "
              "background rgb 'white'\nset output '%s.pdf'\nload '%s.gp'\nunset output\n",
              c->width / 100.0, c->height / 100.0, c->stem, c->stem);
  }
  return rep_close(x, g, "report");
}

/* Runs `gnuplot report.gp` in the temporary folder; its messages go to
** gnuplot.log there and are shown when it fails. */
static int rep_gnuplot(rep_ctx *x, const char *gnuplot) {
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
    if (in < 0 || out < 0 || chdir(x->tmpdir) != 0) _exit(126);
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
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  {
    size_t len = 0;
    char *text = rep_slurp(log, &len);
    const char *tail = text ? text : "";
    if (len > 2000) tail = text + len - 2000;
    diag_error(x->d, NULL, 0, 0, "gnuplot failed (%s %d) drawing the charts:\n%s",
               WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
    free(text);
  }
  return -1;
}


/* --------------------------------------------------------------- manifest */

/* The scalar at map[key1][key2] (key2 may be NULL), or NULL. */
static char *rep_dup(const char *s) { return strdup(s ? s : ""); }

static char *rep_dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* A list of maps with a name (variants, metrics, outcomes, sweep params):
** name under key, description and expr when present. */
static int rep_read_list(const ynode *seq, const char *key, rep_list *l) {
  if (!seq || seq->type != YN_SEQ) return 0;
  l->item = calloc((size_t)seq->n + 1, sizeof *l->item);
  if (!l->item) return -1;
  for (int i = 0; i < seq->n; i++) {
    const ynode *m = seq->items[i];
    const char *name = m->type == YN_MAP ? manifest_str(m, key, NULL) : NULL;
    rep_item *it = &l->item[l->n];
    if (!name) continue;
    it->name = strdup(name);
    it->description = rep_dup_or_null(manifest_str(m, "description", NULL));
    it->expr = rep_dup_or_null(manifest_str(m, "expr", NULL));
    l->n++;
    if (!it->name) return -1;
  }
  return 0;
}

static void rep_list_free(rep_list *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->item[i].name);
    free(l->item[i].description);
    free(l->item[i].expr);
  }
  free(l->item);
  memset(l, 0, sizeof *l);
}

static int rep_read_manifest(rep_ctx *x, const char *outdir, const char *path) {
  ynode *root = manifest_load(outdir, NULL);
  const ynode *sweep;
  int rc = -1;

  if (!root || root->type != YN_MAP) {
    diag_error(x->d, path, 0, 0, "not a tightrope manifest");
    goto done;
  }
  x->scenario_id = rep_dup(manifest_str(root, "scenario", "id"));
  x->scenario_path = rep_dup(manifest_str(root, "scenario", "path"));
  x->title = rep_dup(manifest_str(root, "scenario", "title"));
  x->description = rep_dup(manifest_str(root, "scenario", "description"));
  x->tick_unit = rep_dup(manifest_str(root, "scenario", "tick_unit"));
  x->runs = rep_dup(manifest_str(root, "settings", "runs"));
  x->ticks = rep_dup(manifest_str(root, "settings", "ticks"));
  x->seed = rep_dup(manifest_str(root, "settings", "seed"));
  x->quantiles = rep_dup(manifest_str(root, "settings", "series_quantiles"));
  x->sweep_method = rep_dup(manifest_str(root, "sweep", "method"));
  sweep = ynode_get(root, "sweep");
  if (rep_read_list(ynode_get(root, "variants"), "name", &x->vinfo)
      || rep_read_list(ynode_get(root, "metrics"), "name", &x->minfo)
      || rep_read_list(ynode_get(root, "outcomes"), "name", &x->oinfo)
      || rep_read_list(sweep && sweep->type == YN_MAP ? ynode_get(sweep, "params") : NULL, "path",
                       &x->sinfo))
    goto oom;
  x->sweep_written = malloc(((size_t)x->sinfo.n + 1) * sizeof *x->sweep_written);
  if (!x->sweep_written) goto oom;
  for (int i = 0; i < x->sinfo.n; i++) {
    const ynode *p = ynode_get(sweep, "params")->items[i];
    const char *v = manifest_str(p, "scenario_value", NULL);
    char *end;
    x->sweep_written[i] = v ? strtod(v, &end) : NAN;
    if (!v || *end || end == v) x->sweep_written[i] = NAN;
  }
  if (!*x->title) {
    free(x->title);
    x->title = rep_dup(x->scenario_id);
  }
  if (!*x->tick_unit) {
    free(x->tick_unit);
    x->tick_unit = rep_dup("tick");
  }
  rc = x->scenario_id && x->scenario_path && x->runs && x->ticks && x->seed && x->quantiles
          && x->title && x->description && x->tick_unit && x->sweep_method
      ? 0
      : -1;
  if (rc) goto oom;
  goto done;
oom:
  rc = -1;
  diag_error(x->d, NULL, 0, 0, "out of memory");
done:
  ynode_free(root);
  return rc;
}

/* ------------------------------------------------------------------ page */

static const char *const rep_section_titles[SEC_COUNT] = {
    "Outcomes", "Paired differences", "Metrics over time", "Sweep", "Sensitivity"};

static void rep_section_text(rep_ctx *x, FILE *f, int section) {
  switch (section) {
    case SEC_OUTCOMES:
      fputs("<p>How each run ended (<code>outcomes.csv</code>, <code>runs.csv</code>). "
            "Intervals are exact 95% Clopper&ndash;Pearson intervals; the curves' "
            "intervals are pointwise (at each tick on its own).</p>\n",
            f);
      break;
    case SEC_COMPARE:
      fputs("<p>Each variant minus the baseline (<code>compare.csv</code>). Run "
            "<i>r</i> of every variant uses the same random seed as run <i>r</i> "
            "of the baseline (common random numbers), so the differences are "
            "paired run by run; the dot is the mean paired difference and the "
            "whiskers its 95% t-interval. An interval that excludes the dashed "
            "zero line is a difference the runs resolve. Rows are ordered by "
            "effect, largest on top, within each outcome.",
            f);
      if (x->pooled_compare)
        fputs(" With a sweep, pairs are (point, run) and the rows pool every point; "
              "<code>compare_points.csv</code> has them point by point.",
              f);
      fputs("</p>\n", f);
      break;
    case SEC_METRICS:
      fputs("<p>Each metric at each ", f);
      rep_html(f, x->tick_unit);
      fputs(", over the runs still going then: a run counts up to the ", f);
      rep_html(f, x->tick_unit);
      fputs(" it ended, so the number of runs behind a band falls as runs end "
            "(the strip under each panel). ",
            f);
      if (x->summary_from_series) fputs("Computed from <code>series.csv</code> (every run).", f);
      else {
        fputs("From <code>series_summary.csv</code> (percentiles: ", f);
        rep_html(f, x->quantiles);
        fputs("); it has no quartiles, so the 50% band needs <code>--series all</code>.", f);
      }
      fputs("</p>\n", f);
      break;
    case SEC_SWEEP:
      fputs("<p>Each dot is one sweep point of the baseline variant "
            "(<code>points.csv</code>, <code>outcomes.csv</code>, "
            "<code>finals.csv</code>); the other parameters vary across the dots, "
            "so the spread at one value is partly theirs.",
            f);
      if (x->sinfo.n > REP_MAX_PANELS)
        fprintf(f,
                " The charts show the first %d of the %d swept parameters; "
                "<code>sensitivity.csv</code> and the tornado charts have them all.",
                REP_MAX_PANELS, x->sinfo.n);
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
            "on.</p>\n",
            f);
      break;
  }
}

/* A share or difference as the page writes it. */
static void rep_fmt(char *out, size_t size, double v) {
  if (!isfinite(v)) snprintf(out, size, "&ndash;");
  else if (fabs(v) >= 0.01 || v == 0) snprintf(out, size, "%.2f", v);
  else snprintf(out, size, "%.2g", v);
}

static void rep_fmt_metric(char *out, size_t size, double v) {
  if (!isfinite(v)) snprintf(out, size, "&ndash;");
  else snprintf(out, size, "%.3g", v);
}

/* The table of outcome shares with intervals, one row per chosen variant. */
static void rep_page_shares(rep_ctx *x, FILE *f, const rep_csv *t) {
  static const char *const need[] = {"variant", "point", "outcome", "share", "ci_low", "ci_high"};
  int col[6];
  char a[32], b[32], c[32];
  for (int i = 0; i < 6; i++)
    if ((col[i] = rep_col(t, need[i])) < 0) return;
  fputs("<div class=\"wide\"><table class=\"shares\">\n<caption>Share of runs ending in each "
        "outcome, with its 95% interval",
        f);
  if (x->npoints > 1) fprintf(f, " (point %d)", x->shown_point);
  fputs("</caption>\n<tr><th>variant</th>", f);
  for (int k = 0; k < x->outcomes.n; k++) {
    const char *desc = rep_desc(&x->oinfo, x->outcomes.name[k]);
    const rep_item *it = rep_find(&x->oinfo, x->outcomes.name[k]);
    if (!x->osel[k]) continue;
    fputs("<th title=\"", f);
    rep_html(f, desc ? desc : it && it->expr ? it->expr : "");
    fputs("\">", f);
    rep_html(f, x->outcomes.name[k]);
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  for (int v = 0; v < x->variants.n; v++) {
    if (!x->vsel[v]) continue;
    fputs("<tr><th><code>", f);
    rep_html(f, x->variants.name[v]);
    fputs("</code></th>", f);
    for (int k = 0; k < x->outcomes.n; k++) {
      double s = NAN, lo = NAN, hi = NAN;
      if (!x->osel[k]) continue;
      for (size_t r = 0; r < t->nrows; r++)
        if (atoi(rep_cell(t, r, col[1])) == x->shown_point
            && strcmp(rep_cell(t, r, col[0]), x->variants.name[v]) == 0
            && strcmp(rep_cell(t, r, col[2]), x->outcomes.name[k]) == 0) {
          s = rep_num(t, r, col[3]);
          lo = rep_num(t, r, col[4]);
          hi = rep_num(t, r, col[5]);
          break;
        }
      rep_fmt(a, sizeof a, s);
      rep_fmt(b, sizeof b, lo);
      rep_fmt(c, sizeof c, hi);
      fprintf(f, "<td>%s <span class=\"ci\">[%s, %s]</span></td>", a, b, c);
    }
    fputs("</tr>\n", f);
  }
  fputs("</table></div>\n", f);
}

/* The paired differences whose 95% interval excludes zero, in words. */
static void rep_page_findings(rep_ctx *x, FILE *f, const rep_csv *t) {
  static const char *const need[] = {"variant", "kind", "name", "diff", "ci_low", "ci_high"};
  int col[6], shown = 0, more = 0, total = 0;
  rep_diff *rows;
  size_t n = 0;
  char a[32], b[32], c[32];
  for (int i = 0; i < 6; i++)
    if ((col[i] = rep_col(t, need[i])) < 0) return;
  if (!(rows = malloc((t->nrows + 1) * sizeof *rows))) return;
  for (size_t r = 0; r < t->nrows; r++) {
    int v = rep_names_index(&x->variants, rep_cell(t, r, col[0])), k = -1;
    int outcome = strcmp(rep_cell(t, r, col[1]), "outcome") == 0;
    double lo = rep_num(t, r, col[4]), hi = rep_num(t, r, col[5]);
    if (v < 0 || !x->vsel[v] || !(lo > 0 || hi < 0) || !outcome) continue;
    if ((k = rep_names_index(&x->outcomes, rep_cell(t, r, col[2]))) < 0 || !x->osel[k]) continue;
    rows[n].variant = rep_cell(t, r, col[0]);
    rows[n].name = rep_cell(t, r, col[2]);
    rows[n].group = outcome ? k : x->outcomes.n; /* outcomes first */
    rows[n].diff = rep_num(t, r, col[3]);
    rows[n].lo = lo;
    rows[n].hi = hi;
    n++;
  }
  qsort(rows, n, sizeof *rows, rep_diff_abs_cmp);
  fputs("<h3>What the variants change</h3>\n", f);
  if (n == 0)
    fputs("<p>No variant's outcome shares differ from the baseline's by more than "
          "their 95% intervals allow.</p>\n",
          f);
  else {
    fprintf(f,
            "<p>Differences in outcome shares from the baseline, paired run by run, "
            "whose 95%% interval excludes zero%s (each interval on its own: with many "
            "comparisons, expect some by chance). Differences in the metrics are "
            "charted under <a href=\"#paired\">Paired differences</a>.</p>\n"
            "<ul class=\"findings\">\n",
            x->pooled_compare ? ", pooled over the sweep's points" : "");
    for (size_t i = 0; i < n; i++) {
      const rep_diff *r = &rows[i];
      int outcome = r->group < x->outcomes.n, per_group = 0;
      for (size_t j = i; j > 0 && rows[j - 1].group == r->group
           && (outcome || strcmp(rows[j - 1].name, r->name) == 0);
           j--)
        per_group++;
      total++;
      if (per_group >= 8) { /* the largest eight of each outcome or metric */
        more++;
        continue;
      }
      if (outcome) {
        rep_fmt(a, sizeof a, fabs(r->diff));
        rep_fmt(b, sizeof b, r->lo);
        rep_fmt(c, sizeof c, r->hi);
      } else {
        rep_fmt_metric(a, sizeof a, fabs(r->diff));
        rep_fmt_metric(b, sizeof b, r->lo);
        rep_fmt_metric(c, sizeof c, r->hi);
      }
      fputs("<li><code>", f);
      rep_html(f, r->variant);
      fprintf(f, "</code> %s %s", r->diff > 0 ? "raises" : "lowers",
              outcome ? "" : "the final mean of ");
      rep_html(f, r->name);
      fprintf(f, " by %s [%s, %s]</li>\n", a, r->diff > 0 ? b : c + (c[0] == '-'),
              r->diff > 0 ? c : b + (b[0] == '-'));
      shown++;
    }
    fputs("</ul>\n", f);
    if (more)
      fprintf(f,
              "<p>%d more (%d in all) in <a href=\"../compare.csv\">compare.csv</a>: "
              "the list shows the largest eight of each outcome.</p>\n",
              more, total);
  }
  free(rows);
}

static void rep_page_figure(rep_ctx *x, FILE *f, const rep_chart *c) {
  const char *shown = x->opts.svg ? "svg" : "png";
  fprintf(f, "<figure id=\"%s\">\n<img src=\"%s.%s\" alt=\"", c->stem, c->stem, shown);
  rep_html(f, c->title);
  fputs(". ", f);
  rep_html(f, c->caption);
  fprintf(f, "\" width=\"%d\" height=\"%d\">\n<figcaption><b>", c->width, c->height);
  rep_html(f, c->title);
  fputs(".</b> ", f);
  rep_html(f, c->caption);
  fputs(" <span class=\"files\">", f);
  if (x->opts.svg) fprintf(f, "<a href=\"%s.svg\">SVG</a> ", c->stem);
  if (x->opts.png) fprintf(f, "<a href=\"%s.png\">PNG</a> ", c->stem);
  if (x->opts.pdf) fprintf(f, "<a href=\"%s.pdf\">PDF</a> ", c->stem);
  fprintf(f, "<a href=\"%s.dat\">data</a></span></figcaption>\n</figure>\n", c->stem);
}

/* The page's head (its title and style sheet), its heading and lead. */
static void rep_page_head(const rep_ctx *x, FILE *f) {
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
        f);
  rep_html(f, x->title);
  fputs(
      "</title>\n<style>\n"
      "body{font-family:sans-serif;max-width:960px;margin:1.5em auto;padding:0 1em;"
      "color:#222;line-height:1.45}\n"
      "h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;margin-top:1.8em}\n"
      "figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #ddd}\n"
      "figcaption{font-size:.9em;color:#444}.files a{margin-right:.4em}\n"
      "code{background:#f4f4f4;padding:0 .2em}.wide{overflow-x:auto}\n"
      "table{border-collapse:collapse;margin:.6em 0}td,th{padding:.15em .8em .15em 0;"
      "text-align:left;vertical-align:top}\n"
      "table.shares td{white-space:nowrap}.ci{color:#666;font-size:.9em}\n"
      "caption{text-align:left;font-size:.9em;color:#444}\n"
      ".meta{color:#555}.note{background:#f6f6f0;padding:.5em .8em;border-left:3px solid #E69F00}\n"
      "@media print{@page{size:A4;margin:14mm}body{max-width:none;margin:0;font-size:10pt}"
      "figure,table{break-inside:avoid}h2{break-after:avoid}a{color:inherit;"
      "text-decoration:none}.files{display:none}}\n"
      "</style>\n</head>\n<body>\n<h1>",
      f);
  rep_html(f, x->title);
  fputs("</h1>\n", f);
  if (*x->description) {
    fputs("<p class=\"lead\">", f);
    rep_html(f, x->description);
    fputs("</p>\n", f);
  }
}

/* The paragraph naming the scenario, runs, horizon and seed, and for a
** sweep the note saying which point the tables and charts show. */
static void rep_page_meta(const rep_ctx *x, FILE *f) {
  fputs("<p class=\"meta\">Scenario <code>", f);
  rep_html(f, x->scenario_id);
  fputs("</code> (<code>", f);
  rep_html(f, x->scenario_path);
  fputs("</code>): ", f);
  rep_html(f, x->runs);
  fputs(" runs per variant", f);
  if (x->npoints > 1) fprintf(f, " and point, %d sweep points", x->npoints);
  fputs(", horizon ", f);
  rep_html(f, x->ticks);
  fputc(' ', f);
  rep_html(f, x->tick_unit);
  fputs("s (one tick = one ", f);
  rep_html(f, x->tick_unit);
  fputs("), master seed ", f);
  rep_html(f, x->seed);
  fputs(".</p>\n", f);
  if (x->npoints > 1) {
    fprintf(f,
            "<p class=\"note\">This experiment swept %d points. The tables and the "
            "charts over time show point %d, ",
            x->npoints, x->shown_point);
    if (x->sinfo.n) {
      fputs("the point nearest the scenario as written (", f);
      for (int i = 0; i < x->sinfo.n; i++) {
        char v[40];
        rep_fmt_metric(v, sizeof v, x->sweep_written[i]);
        fputs(i ? ", <code>" : "<code>", f);
        rep_html(f, x->sinfo.item[i].name);
        fprintf(f, "</code> = %s", v);
      }
      fputs(")", f);
      if (x->points && rep_col(x->points, "point") >= 0) {
        const rep_csv *t = x->points;
        int pc = rep_col(t, "point");
        for (size_t r = 0; r < t->nrows; r++) {
          if (atoi(rep_cell(t, r, pc)) != x->shown_point) continue;
          fputs(", where the sweep set ", f);
          for (int c = 0, first = 1; c < t->ncols; c++) {
            if (c == pc) continue;
            fputs(first ? "<code>" : ", <code>", f);
            rep_html(f, t->header[c]);
            fputs("</code> = ", f);
            rep_html(f, rep_cell(t, r, c));
            first = 0;
          }
        }
      }
    } else fputs("the first point", f);
    fputs("; the Sweep section shows every point.</p>\n", f);
  }
}

/* The table of the variants shown, and which of them the small multiples
** draw when they cannot draw them all. */
static void rep_page_variants(const rep_ctx *x, FILE *f) {
  int nshown = 0;
  for (int v = 0; v < x->variants.n; v++) nshown += x->vsel[v];
  fputs("<h2>Variants</h2>\n<div class=\"wide\"><table>\n<tr><th>variant</th><th>what it "
        "changes</th></tr>\n",
        f);
  for (int v = 0; v < x->variants.n; v++) {
    const char *desc = rep_desc(&x->vinfo, x->variants.name[v]);
    if (!x->vsel[v]) continue;
    fputs("<tr><td><code>", f);
    rep_html(f, x->variants.name[v]);
    fputs("</code></td><td>", f);
    rep_html(f, v == 0 ? "the scenario as written" : desc ? desc : "");
    fputs("</td></tr>\n", f);
  }
  fputs("</table></div>\n", f);
  if (nshown > x->npanels)
    fprintf(f,
            "<p>The small-multiple charts show %d of these %d variants: the baseline "
            "and %s; choose others with <code>tightrope report OUTDIR --variants "
            "a,b</code>.</p>\n",
            x->npanels, nshown,
            x->panels_by_effect ? "those with the largest paired difference in any "
                                  "outcome share"
                                : "the first in file order");
}

/* The list of the outcomes shown, each with its description and the
** expression that ends a run. */
static void rep_page_outcome_list(const rep_ctx *x, FILE *f) {
  fputs("<dl class=\"outcomes\">\n", f);
  for (int k = 0; k < x->outcomes.n; k++) {
    const rep_item *it = rep_find(&x->oinfo, x->outcomes.name[k]);
    if (!x->osel[k]) continue;
    fputs("<dt><code>", f);
    rep_html(f, x->outcomes.name[k]);
    fputs("</code></dt><dd>", f);
    if (it && it->description) rep_html(f, it->description);
    if (it && it->expr) {
      fputs(it->description ? " (<code>" : "ends a run when <code>", f);
      rep_html(f, it->expr);
      fputs(it->description ? "</code>)" : "</code> holds", f);
    }
    fputs("</dd>\n", f);
  }
  fputs("</dl>\n", f);
}

/* The links to the files behind the page that exist in the output folder. */
static void rep_page_files(const rep_ctx *x, FILE *f) {
  static const char *const csvs[] = {"runs.csv",           "outcomes.csv",       "finals.csv",
                                     "series_summary.csv", "series.csv",         "events.csv",
                                     "compare.csv",        "compare_points.csv", "points.csv",
                                     "sensitivity.csv",    "manifest.yaml"};
  fputs("<h2>Files</h2>\n<p>The numbers behind this page (see the user guide's "
        "<i>output files</i>):",
        f);
  for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", x->outdir, csvs[i]);
    if (access(path, F_OK) == 0) fprintf(f, " <a href=\"../%s\">%s</a>", csvs[i], csvs[i]);
  }
  fputs(". Each chart's data is in <code>report/STEM.dat</code> and its gnuplot "
        "commands in <code>report/STEM.gp</code>.</p>\n"
        "<p><small>Drawn by tightrope " TR_VERSION " with gnuplot from the CSV "
        "files of this folder.</small></p>\n</body>\n</html>\n",
        f);
}

/* The report's index.html: head, scenario, variants, then each section's
** text and figures, then the links to the files behind it. */
static int rep_write_page(rep_ctx *x, const rep_csv *outcomes, const rep_csv *compare,
                          int have_series, int have_sensitivity, int have_runs) {
  FILE *f = rep_open(x, "index", ".html");
  if (!f) return -1;
  rep_page_head(x, f);
  rep_page_meta(x, f);
  rep_page_variants(x, f);
  for (int sec = 0; sec < SEC_COUNT; sec++) {
    int n = 0;
    for (int i = 0; i < x->ncharts; i++) n += x->charts[i].section == sec;
    if (sec == SEC_OUTCOMES) {
      fputs("<h2>Outcomes</h2>\n", f);
      rep_section_text(x, f, sec);
      rep_page_shares(x, f, outcomes);
      rep_page_outcome_list(x, f);
      if (compare) rep_page_findings(x, f, compare);
      if (!have_runs) fputs("<p>No <code>runs.csv</code>: the incidence curves need it.</p>\n", f);
    } else {
      if (n == 0 && !(sec == SEC_METRICS || (sec == SEC_SENSITIVITY && have_sensitivity))) continue;
      fprintf(f, "<h2 id=\"%s\">%s</h2>\n",
              sec == SEC_COMPARE       ? "paired"
                  : sec == SEC_METRICS ? "metrics"
                  : sec == SEC_SWEEP   ? "sweep"
                                       : "sensitivity",
              rep_section_titles[sec]);
      rep_section_text(x, f, sec);
      if (sec == SEC_METRICS && !have_series)
        fputs("<p>No <code>series_summary.csv</code> or <code>series.csv</code>: the "
              "experiment ran with <code>--series none</code>.</p>\n",
              f);
      else if (n == 0)
        fputs("<p>Nothing to draw: every value here is undefined or constant.</p>\n", f);
    }
    for (int i = 0; i < x->ncharts; i++)
      if (x->charts[i].section == sec) rep_page_figure(x, f, &x->charts[i]);
  }
  rep_page_files(x, f);
  return rep_close(x, f, "index");
}

/* ---------------------------------------------------------------- files */

/* Removes the files an earlier report left (its charts, their data and
** commands), so that the folder shows this report's charts only. */
static void rep_remove_old_charts(const char *dir) {
  static const char *const prefixes[] = {"metric-", "compare-",  "tornado-",  "sobol-",
                                         "sweep-",  "outcomes.", "incidence."};
  static const char *const exts[] = {".svg", ".png", ".pdf", ".dat", ".gp"};
  DIR *dh = opendir(dir);
  struct dirent *e;
  if (!dh) return;
  while ((e = readdir(dh)) != NULL) {
    size_t len = strlen(e->d_name);
    int ours = 0, ext = 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
      ext |= len > strlen(exts[i]) && strcmp(e->d_name + len - strlen(exts[i]), exts[i]) == 0;
    if (!ext) continue;
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

static int rep_move(rep_ctx *x, const char *name) {
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

/* ------------------------------------------------------------ selection */

/* Checks a --variants/--metrics/--outcomes list against the names the
** experiment has; an unknown name is a usage error with a suggestion. */
static int rep_check_list(rep_ctx *x, const char *option, const char *list,
                          const rep_names *known) {
  if (!list) return 0;
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    char word[256], msg[512];
    snprintf(word, sizeof word, "%.*s", (int)(n < 255 ? n : 255), p);
    if (rep_names_index(known, word) < 0) {
      snprintf(msg, sizeof msg, "%s: this experiment has no '%s'", option, word);
      diag_did_you_mean(msg, sizeof msg, word, known->name, known->n);
      diag_error(x->d, NULL, 0, 0, "%s", msg);
      return -1;
    }
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

/* The point of the sweep nearest the scenario as written: each swept value
** scaled by its range over the points, Euclidean distance, ties to the
** lowest point. 1 without a sweep or without the values. */
static int rep_nearest_point(const rep_ctx *x, const rep_csv *points) {
  int best = 1, pcol = rep_col(points, "point");
  double bestd = INFINITY;
  if (pcol < 0 || x->sinfo.n == 0) return 1;
  for (size_t r = 0; r < points->nrows; r++) {
    double dist = 0;
    for (int i = 0; i < x->sinfo.n; i++) {
      int c = rep_col(points, x->sinfo.item[i].name);
      double lo = INFINITY, hi = -INFINITY, v;
      if (c < 0 || !isfinite(x->sweep_written[i])) continue;
      for (size_t q = 0; q < points->nrows; q++) {
        lo = fmin(lo, rep_num(points, q, c));
        hi = fmax(hi, rep_num(points, q, c));
      }
      v = rep_num(points, r, c);
      if (hi > lo && isfinite(v)) dist += pow((v - x->sweep_written[i]) / (hi - lo), 2);
    }
    if (dist < bestd) {
      bestd = dist;
      best = atoi(rep_cell(points, r, pcol));
    }
  }
  return best > 0 ? best : 1;
}

/* The variants drawn as panels: every chosen one, or when more than
** REP_MAX_PANELS, the baseline and those with the largest absolute paired
** difference in a chosen outcome share. */
static int rep_choose_panels(rep_ctx *x, const rep_csv *compare) {
  int V = x->variants.n, chosen = 0;
  double *effect = calloc((size_t)V + 1, sizeof *effect);
  x->panel = calloc((size_t)V + 1, sizeof *x->panel);
  x->panel_of = malloc(((size_t)V + 1) * sizeof *x->panel_of);
  if (!effect || !x->panel || !x->panel_of) {
    free(effect);
    return rep_oom(x);
  }
  for (int v = 0; v < V; v++) {
    x->panel_of[v] = -1;
    chosen += x->vsel[v];
  }
  if (chosen > REP_MAX_PANELS && compare) {
    int vc = rep_col(compare, "variant"), kc = rep_col(compare, "kind"),
        nc = rep_col(compare, "name"), dc = rep_col(compare, "diff");
    for (size_t r = 0; vc >= 0 && kc >= 0 && nc >= 0 && dc >= 0 && r < compare->nrows; r++) {
      int v = rep_names_index(&x->variants, rep_cell(compare, r, vc));
      int k = rep_names_index(&x->outcomes, rep_cell(compare, r, nc));
      double d = fabs(rep_num(compare, r, dc));
      if (v >= 0 && k >= 0 && x->osel[k] && strcmp(rep_cell(compare, r, kc), "outcome") == 0
          && isfinite(d) && d > effect[v])
        effect[v] = d;
    }
    x->panels_by_effect = 1;
  }
  x->npanels = 0;
  x->panel_of[0] = 0;
  x->panel[x->npanels++] = 0;
  while (x->npanels < REP_MAX_PANELS) {
    int best = -1;
    for (int v = 1; v < V; v++)
      if (x->vsel[v] && x->panel_of[v] < 0 && (best < 0 || effect[v] > effect[best])) best = v;
    if (best < 0) break;
    x->panel_of[best] = 1; /* placed below, in file order */
    x->npanels++;
  }
  x->npanels = 0;
  for (int v = 0; v < V; v++)
    if (x->panel_of[v] >= 0) {
      x->panel_of[v] = x->npanels;
      x->panel[x->npanels++] = v;
    }
  free(effect);
  return 0;
}

/* ----------------------------------------------------------------- main */

/* The CSV files of the folder, and which of them exist (series: 1 for
** series_summary.csv, 2 for series.csv). */
typedef struct rep_tables {
  rep_csv outcomes, series, compare, sensitivity, runs, points, finals;
  int have_series, have_compare, have_sensitivity, have_runs, have_points, have_finals;
} rep_tables;

static void rep_tables_free(rep_tables *t) {
  rep_csv_free(&t->outcomes);
  rep_csv_free(&t->series);
  rep_csv_free(&t->compare);
  rep_csv_free(&t->sensitivity);
  rep_csv_free(&t->runs);
  rep_csv_free(&t->points);
  rep_csv_free(&t->finals);
}

/* The variants, outcomes and points of outcomes.csv. TR_OK, or the status
** to exit with (after a message). */
static int rep_scan_outcomes(rep_ctx *x, const rep_csv *outcomes) {
  static const char *const need[] = {"variant", "point", "outcome"};
  int col[3];
  if (rep_need(outcomes, "outcomes.csv", need, 3, col, x->d)) return 1;
  for (size_t r = 0; r < outcomes->nrows; r++) {
    int p = atoi(rep_cell(outcomes, r, col[1]));
    if (rep_names_add(&x->variants, rep_cell(outcomes, r, col[0])) < 0
        || rep_names_add(&x->outcomes, rep_cell(outcomes, r, col[2])) < 0) {
      diag_error(x->d, NULL, 0, 0, "out of memory");
      return TR_EOUTPUT;
    }
    if (p > x->npoints) x->npoints = p;
  }
  if (outcomes->nrows == 0) {
    diag_error(x->d, x->outdir, 0, 0, "no results here (outcomes.csv has no rows)");
    return 1;
  }
  x->pooled_compare = x->npoints > 1;
  return TR_OK;
}

/* The CSVs besides outcomes.csv, whichever exist; 0, or -1 (a message). */
static int rep_load_tables(const char *outdir, rep_tables *t, tr_diag *d) {
  static const char *const names[] = {"runs.csv",        "series_summary.csv", "compare.csv",
                                      "sensitivity.csv", "points.csv",         "finals.csv"};
  rep_csv *tables[] = {&t->runs, &t->series, &t->compare, &t->sensitivity, &t->points, &t->finals};
  int have[6], rc;
  for (int i = 0; i < 6; i++) {
    if ((rc = rep_csv_load(outdir, names[i], tables[i], d)) < 0) return -1;
    have[i] = rc == 0;
  }
  t->have_runs = have[0];
  t->have_series = have[1];
  t->have_compare = have[2];
  t->have_sensitivity = have[3];
  t->have_points = have[4];
  t->have_finals = have[5];
  if (!t->have_series) {
    if ((rc = rep_csv_load(outdir, "series.csv", &t->series, d)) < 0) return -1;
    t->have_series = rc == 0 ? 2 : 0;
  }
  return 0;
}

/* --variants, --outcomes and --metrics against what the folder holds.
** TR_OK, or the status to exit with (after a message). */
static int rep_check_choice(rep_ctx *x, const rep_opts *opts, const rep_tables *t) {
  rep_names metrics = {0};
  int rc;
  for (int i = 0; i < x->minfo.n; i++)
    if (rep_names_add(&metrics, x->minfo.item[i].name) < 0) goto oom;
  if (t->have_series == 1) {
    int mc = rep_col(&t->series, "metric");
    for (size_t r = 0; mc >= 0 && r < t->series.nrows; r++)
      if (rep_names_add(&metrics, rep_cell(&t->series, r, mc)) < 0) goto oom;
  } else if (t->have_series == 2)
    for (int c = 4; c < t->series.ncols; c++)
      if (rep_names_add(&metrics, t->series.header[c]) < 0) goto oom;
  rc = rep_check_list(x, "--variants", opts->variants, &x->variants)
      || rep_check_list(x, "--outcomes", opts->outcomes, &x->outcomes)
      || rep_check_list(x, "--metrics", opts->metrics, &metrics);
  free(metrics.name);
  return rc ? TR_EUSAGE : TR_OK;
oom:
  free(metrics.name);
  diag_error(x->d, NULL, 0, 0, "out of memory");
  return TR_EOUTPUT;
}

/* The variants and outcomes drawn, the point shown, the panels and the
** horizon. TR_OK, or the status to exit with (after a message). */
static int rep_choose(rep_ctx *x, const rep_opts *opts, rep_tables *t, const char *manifest) {
  int status = rep_check_choice(x, opts, t);
  if (status != TR_OK) return status;
  x->vsel = calloc((size_t)x->variants.n + 1, 1);
  x->osel = calloc((size_t)x->outcomes.n + 1, 1);
  if (!x->vsel || !x->osel) {
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return TR_EOUTPUT;
  }
  for (int v = 0; v < x->variants.n; v++)
    x->vsel[v] = v == 0 || rep_in_list(opts->variants, x->variants.name[v]);
  for (int k = 0; k < x->outcomes.n; k++)
    x->osel[k] = rep_in_list(opts->outcomes, x->outcomes.name[k]);
  x->shown_point = x->npoints > 1 && t->have_points ? rep_nearest_point(x, &t->points) : 1;
  x->points = t->have_points ? &t->points : NULL;
  if (rep_choose_panels(x, t->have_compare ? &t->compare : NULL)) return TR_EOUTPUT;
  x->horizon = atoi(x->ticks);
  if (t->have_runs) {
    int pc = rep_col(&t->runs, "point"), ec = rep_col(&t->runs, "end_tick");
    for (size_t r = 0; pc >= 0 && ec >= 0 && r < t->runs.nrows; r++)
      if (atoi(rep_cell(&t->runs, r, pc)) == x->shown_point
          && atoi(rep_cell(&t->runs, r, ec)) > x->horizon)
        x->horizon = atoi(rep_cell(&t->runs, r, ec));
  }
  if (x->horizon < 0 || x->horizon > 10000000) {
    diag_error(x->d, manifest, 0, 0, "settings.ticks is not a horizon this report can draw");
    return 1;
  }
  return TR_OK;
}

/* OUTDIR/report/ and a private temporary folder inside it; 0, or -1 (a
** message). */
static int rep_make_folders(rep_ctx *x) {
  struct stat st;
  if (asprintf(&x->reportdir, "%s/report", x->outdir) < 0
      || asprintf(&x->tmpdir, "%s/report/.tmp-XXXXXX", x->outdir) < 0) {
    x->reportdir = x->tmpdir = NULL;
    diag_error(x->d, NULL, 0, 0, "out of memory");
    return -1;
  }
  if (mkdir(x->reportdir, 0777) != 0 && errno != EEXIST) {
    diag_error(x->d, x->reportdir, 0, 0, "cannot create: %s", strerror(errno));
    return -1;
  }
  if (lstat(x->reportdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    /* a symbolic link would send the charts, and the removal of old ones,
    ** into another folder */
    diag_error(x->d, x->reportdir, 0, 0, "is %s where the report keeps its own folder; remove it",
               S_ISLNK(st.st_mode) ? "a symbolic link" : "not a folder");
    return -1;
  }
  if (!mkdtemp(x->tmpdir)) {
    diag_error(x->d, x->reportdir, 0, 0, "cannot write: %s", strerror(errno));
    free(x->tmpdir);
    x->tmpdir = NULL;
    return -1;
  }
  return 0;
}

/* Every chart and the page, drawn in the temporary folder; 0, or -1. */
static int rep_draw(rep_ctx *x, rep_tables *t, rep_series *sum, const char *gnuplot) {
  rep_csv *finals = t->have_finals ? &t->finals : NULL;
  if (t->have_series == 1 && rep_series_from_summary(x, &t->series, finals, sum)) return -1;
  if (t->have_series == 2 && rep_series_from_runs(x, &t->series, sum)) return -1;
  return (t->have_runs && rep_incidence_chart(x, &t->runs)) || rep_outcome_chart(x, &t->outcomes)
          || (t->have_compare && rep_compare_charts(x, &t->compare))
          || (t->have_series && rep_metric_charts(x, sum))
          || (x->npoints > 1 && t->have_points
              && rep_sweep_charts(x, &t->points, &t->outcomes, finals))
          || (t->have_sensitivity && rep_tornado_charts(x, &t->sensitivity)) || rep_write_driver(x)
          || rep_gnuplot(x, gnuplot)
          || rep_write_page(x, &t->outcomes, t->have_compare ? &t->compare : NULL, t->have_series,
                            t->have_sensitivity, t->have_runs)
      ? -1
      : 0;
}

/* Every chart is drawn: move them into place, the page last; 0, or -1. */
static int rep_install(rep_ctx *x) {
  rep_remove_old_charts(x->reportdir);
  for (int i = 0; i < x->ncharts; i++) {
    static const char *const exts[] = {".svg", ".png", ".pdf", ".dat", ".gp"};
    const int on[] = {x->opts.svg, x->opts.png, x->opts.pdf, 1, 1};
    for (int e = 0; e < 5; e++) {
      char name[96];
      if (!on[e]) continue;
      snprintf(name, sizeof name, "%s%s", x->charts[i].stem, exts[e]);
      if (rep_move(x, name)) return -1;
    }
  }
  return rep_move(x, "index.html");
}

static void rep_ctx_free(rep_ctx *x) {
  if (x->tmpdir) fs_remove_tree(x->tmpdir);
  for (int i = 0; i < x->ncharts; i++) {
    free(x->charts[i].title);
    free(x->charts[i].caption);
  }
  free(x->charts);
  free(x->variants.name);
  free(x->outcomes.name);
  free(x->vsel);
  free(x->osel);
  free(x->panel);
  free(x->panel_of);
  free(x->reportdir);
  free(x->tmpdir);
  free(x->scenario_id);
  free(x->scenario_path);
  free(x->runs);
  free(x->ticks);
  free(x->seed);
  free(x->quantiles);
  free(x->title);
  free(x->description);
  free(x->tick_unit);
  free(x->sweep_method);
  free(x->sweep_written);
  rep_list_free(&x->vinfo);
  rep_list_free(&x->minfo);
  rep_list_free(&x->oinfo);
  rep_list_free(&x->sinfo);
}

static int rep_run(const char *outdir, const rep_opts *opts, tr_diag *d) {
  rep_ctx x;
  rep_tables t;
  rep_series sum = {0};
  char *gnuplot = NULL, path[4096];
  int status = TR_EOUTPUT, rc;
  struct stat st;

  memset(&x, 0, sizeof x);
  memset(&t, 0, sizeof t);
  x.outdir = outdir;
  x.d = d;
  x.opts = *opts;

  /* A finished experiment has a manifest (renamed in last) and outcomes. */
  snprintf(path, sizeof path, "%s/manifest.yaml", outdir);
  if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    diag_error(d, outdir, 0, 0, "no such folder");
    return 1;
  }
  if (!x.opts.verified && out_verify(outdir, d)) return 1;
  if (access(path, R_OK) != 0) {
    diag_error(d, outdir, 0, 0,
               "no results here (no manifest.yaml): run "
               "'tightrope run SCENARIO.yaml -o %s' first",
               outdir);
    return 1;
  }
  rc = rep_csv_load(outdir, "outcomes.csv", &t.outcomes, d);
  if (rc) {
    if (rc > 0) diag_error(d, outdir, 0, 0, "no results here (no outcomes.csv)");
    return 1;
  }
  if (rep_read_manifest(&x, outdir, path)) {
    status = 1;
    goto done;
  }
  if ((status = rep_scan_outcomes(&x, &t.outcomes)) != TR_OK) goto done;
  status = TR_EOUTPUT;
  if (rep_load_tables(outdir, &t, d)) goto done;
  if ((status = rep_choose(&x, opts, &t, path)) != TR_OK) goto done;
  status = TR_EOUTPUT;
  gnuplot = rep_which("gnuplot");
  if (!gnuplot) {
    diag_error(d, NULL, 0, 0,
               "gnuplot not found on PATH: install it (Debian: "
               "apt-get install gnuplot-nox; 'make deps' does) to draw the report");
    goto done;
  }
  if (rep_make_folders(&x) || rep_draw(&x, &t, &sum, gnuplot) || rep_install(&x)) goto done;
  status = TR_OK;
done:
  rep_ctx_free(&x);
  free(gnuplot);
  rep_series_free(&sum);
  rep_tables_free(&t);
  return status;
}

int report_run_opts(const char *outdir, const report_opts *o, tr_diag *d) {
  rep_opts opts = {NULL, NULL, NULL, 1, 1, 0, 0};
  return rep_run(outdir, o ? o : &opts, d);
}


/* report_run_opts with report's options (docs/cli.md#report). */
int tr_report_with(const char *outdir, const char *variants, const char *metrics,
                   const char *outcomes, const char *format, tr_diag *d) {
  rep_opts opts = {variants, metrics, outcomes, 1, 1, 0, 0};
  if (!outdir) return TR_EUSAGE;
  if (format) {
    opts.svg = strcmp(format, "svg") == 0;
    opts.png = strcmp(format, "png") == 0 || strcmp(format, "pdf") == 0;
    opts.pdf = strcmp(format, "pdf") == 0;
    if (!opts.svg && !opts.png) {
      diag_error(d, NULL, 0, 0, "report: --format takes svg, png or pdf, got '%s'", format);
      return TR_EUSAGE;
    }
  }
  return report_any(outdir, &opts, d);
}
