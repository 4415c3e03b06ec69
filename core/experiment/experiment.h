/* experiment.h — experiment layer: planning and running an experiment
** (experiment.c). */
#ifndef TR_EXPERIMENT_EXPERIMENT_H
#define TR_EXPERIMENT_EXPERIMENT_H

#include "base/common.h"
#include "scenario/instances.h"
#include "scenario/options.h"

/* The instances of an experiment (tr_plan, instances.h), in output order. */
int exp_plan(const tr_scenario *sc, const tr_options *opts, tr_plan *plan, tr_diag *d);
void exp_plan_free(tr_plan *plan);
/* The particle index run r takes (0..n-1): a draw by weight from a stream
** of the master seed and r only, so every variant and point of run r shares
** it (paired comparisons hold the parameters fixed). */
int posterior_pick(const tr_posterior *p, uint64_t master, int run);
/* Copy src's values into dst (allocated to the scenario's sizes) and apply
** particle i, under src's variant changes and sweep values of the same
** paths (docs/calibration.md); 0, or -1 with a message in err. */
int posterior_apply(const tr_scenario *sc, const tr_posterior *p, int i, const tr_instance *src,
                    tr_instance *dst, char *err, size_t size);
/* The experiment itself, on resolved options (experiment.c). */
int exp_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d);

#endif
