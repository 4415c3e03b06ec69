/* replay.h — app layer (docs/internals.md, "Layers"). */
#ifndef TR_APP_REPLAY_H
#define TR_APP_REPLAY_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/options.h"

/* Re-run run `run` of (variant, point) and print its trace; with runs_csv,
** compare its row. Returns an exit status. */
int replay_run(const tr_scenario *sc, const tr_options *opts, const char *variant, int point,
               int run, const char *runs_csv, tr_diag *d);

#endif
