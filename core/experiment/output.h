/* output.h — experiment layer (docs/internals.md, "Layers"). */
#ifndef TR_EXPERIMENT_OUTPUT_H
#define TR_EXPERIMENT_OUTPUT_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/options.h"
#include "run/results.h"

/* Results arrive in output order (variant, point, run) and are streamed
** into files in a staging folder and into per-(variant, point)
** aggregators; out_finish computes the summaries and renames every file
** into the output folder at once. Nothing is replaced on failure. */
typedef struct tr_output tr_output;
typedef struct tr_outspec {
  const tr_scenario *sc;
  const tr_options *opts;
  const char *const *variant_names; /* [0] = "baseline" */
  int nvariants;                    /* including the baseline */
  int npoints;
  const double *points; /* npoints * sc->nsweep values, or NULL */
} tr_outspec;

/* spec is copied, but what it points to (sc, opts, names, points) must
** outlive the output. d receives every error, out_add_run's too, so it must
** outlive the output as well. After -1 from out_add_run, call out_abort.
** out_finish and out_abort both free o; after a failed out_finish the
** staging folder is already removed and the output folder untouched. */
tr_output *out_open(const tr_outspec *spec, tr_diag *d);
/* Removes the staging folders a killed process left in outdir (call it
** while holding the folder's lock). */
void out_remove_stale_staging(const char *outdir);
int out_add_run(tr_output *o, const tr_runresult *r); /* 0 or -1 */
/* --keep-going: a run that failed at `tick` (actor id or NULL), in order
** with the others; 0 or -1. */
int out_add_failed(tr_output *o, const tr_runresult *r, int tick, const char *actor,
                   const char *message, const char *replay);
int out_finish(tr_output *o, tr_diag *d); /* 0 or -1 */
void out_abort(tr_output *o);
/* Before replay or report read a folder: 0 when it holds one finished
** experiment (every file its manifest lists, with that size and SHA-256,
** and no other result file), or no results at all; else -1 with a message
** naming the file. */
int out_verify(const char *dir, tr_diag *d);
/* Before `run` writes anything: refuses (0 or an exit status, with a
** message) an output or scenario path that is not UTF-8, `-o /` and the
** home folder, a folder that is not a tightrope output folder but holds
** files with result names (unless --force), and a symbolic link, device or
** pipe where tightrope keeps its own file or folder (docs/security.md). */
int out_check_target(const tr_scenario *sc, const tr_options *opts, tr_diag *d);

#endif
