/* results.h — run layer (docs/internals.md, "Layers"). */
#ifndef TR_RUN_RESULTS_H
#define TR_RUN_RESULTS_H

#include "base/common.h"

typedef struct tr_event { /* a row of events.csv */
  int tick;
  int actor;          /* -1 for a scenario event */
  const char *action; /* action or event name (static/scenario) */
  int target;         /* -1 when none */
  char cameo[8];      /* "" when none */
  double goldstein;   /* NaN when none */
  double value;       /* NaN when none */
} tr_event;

typedef struct tr_runresult {
  int variant, point, run; /* variant: position in the run's variant list
                                  (0 = baseline); point, run 1-based */
  uint64_t seed;
  int outcome; /* 0..noutcomes-1, or noutcomes: the default */
  int end_tick;
  double *finals; /* nmetrics values at end_tick */
  double *series; /* (end_tick+1)*nmetrics values, tick-major */
  tr_event *events;
  int nevents, capevents;
} tr_runresult;

#endif
