/* report.h — app layer (docs/internals.md, "Layers"). */
#ifndef TR_APP_REPORT_H
#define TR_APP_REPORT_H

#include "base/common.h"
#include "base/diag.h"

/* What `report` draws: NULL lists mean every name (docs/cli.md#report). */
typedef struct report_opts {
  const char *variants, *metrics, *outcomes; /* comma lists, or NULL: all */
  int svg, png, pdf;                         /* image formats drawn */
  int verified;                              /* the folder was checked (out_verify) already */
} report_opts;
/* `tightrope report OUTDIR` (docs/cli.md, REPORT): reads the CSVs and manifest.yaml of
** a finished experiment and draws its charts with gnuplot into
** OUTDIR/report/ (SVG and PNG) plus OUTDIR/report/index.html, with options
** (o NULL: the defaults). Returns an exit status: TR_OK; 1 when OUTDIR holds
** no finished results; TR_EOUTPUT when a file cannot be written, gnuplot is
** missing or fails. Messages go to d. */
int report_run_opts(const char *outdir, const report_opts *o, tr_diag *d);
/* The report of a calibration's folder (calreport.c): posterior marginals
** per generation and the final population's pairwise scatter. */
int calreport_run(const char *outdir, tr_diag *d);
/* A CSV or a SQLite results folder (api.c), with options. */
int report_any(const char *outdir, const report_opts *o, tr_diag *d);

#endif
