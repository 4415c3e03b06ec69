/* calibrate.h — app layer: the calibration's posterior, as --posterior
** reads it (calibrate.c, docs/calibration.md). */
#ifndef TR_APP_CALIBRATE_H
#define TR_APP_CALIBRATE_H

#include "base/common.h"
#include "scenario/options.h"

void posterior_free(tr_posterior *p);
/* The last generation of a posterior.csv, checked against sc (calibrate.c);
** NULL with the errors in d. */
tr_posterior *posterior_load(const tr_scenario *sc, const char *file, tr_diag *d);

#endif
