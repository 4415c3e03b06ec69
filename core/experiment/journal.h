/* journal.h — experiment layer (docs/internals.md, "Layers"). */
#ifndef TR_EXPERIMENT_JOURNAL_H
#define TR_EXPERIMENT_JOURNAL_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/options.h"
#include "run/results.h"

/* A run's result as bytes (journal records and MPI messages): header,
** finals, series, events, checksum. Native byte order: a journal is read
** back on the machine that wrote it, MPI ranks run one build. */
typedef struct tr_buf {
  unsigned char *data;
  size_t len, cap;
} tr_buf;
int rec_encode(const tr_scenario *sc, const tr_runresult *r, long job, int with_series,
               tr_buf *out);
/* Decodes into r (whose finals/series are sized for the scenario's longest
** horizon); returns the job index, or -1 when the bytes are not a whole,
** valid record. */
long rec_decode(const tr_scenario *sc, const unsigned char *p, size_t len, size_t *used,
                tr_runresult *r, int maxticks);

/* The journal of an experiment in progress: OUTDIR/.tightrope-partial/ holds
** `experiment` (what must match to resume) and `runs.journal` (finished
** runs in job order, each written with one write(2), so a killed process
** loses only the runs it had not finished). */
typedef struct tr_journal tr_journal;
/* Creates the output folder if needed and locks it; on --resume checks the
** fingerprint. Returns NULL with an error in d; *status: the exit status. */
tr_journal *journal_open(const tr_scenario *sc, const tr_options *opts, const char *fingerprint,
                         tr_diag *d, int *status);
/* Feed(ctx, result) for jobs order(octx, 0) .. order(octx, n - 1) of the
** journal, in that order (run until precise: jobs are journalled batch by
** batch, and written to the output run by run). 0 or -1. */
int journal_feed_ordered(tr_journal *j, int maxticks, long n, long (*order)(const void *, long),
                         const void *octx, int (*feed)(void *, const tr_runresult *), void *ctx,
                         tr_diag *d);
/* On --resume: feed(ctx, result) for each recovered run, in order; *done
** receives their number. 0 or -1. */
int journal_recover(tr_journal *j, int maxticks, long *done,
                    int (*feed)(void *, const tr_runresult *), void *ctx, tr_diag *d);
int journal_append(tr_journal *j, const tr_runresult *r, long job); /* 0 or -1 */
/* Closes; remove != 0 deletes the partial folder (the experiment is done). */
void journal_close(tr_journal *j, int remove);

#endif
