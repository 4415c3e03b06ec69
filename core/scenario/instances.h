/* instances.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_INSTANCES_H
#define TR_SCENARIO_INSTANCES_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/scenario.h"

/* An instance is the baseline with a variant's and a point's changes (and
** the --set overrides) applied: initial values, model values, params. */
typedef struct tr_paramset { /* ACTOR.params.KEY = value */
  int actor;
  const char *key;
  double value;
} tr_paramset;

typedef struct tr_instance {
  int variant;         /* position in the experiment's variant list: 0 = baseline */
  int vdecl;           /* -1 = baseline, else index in sc->variants */
  int point;           /* 1-based */
  double *init;        /* nslots initial values, then one count per
                             population (init[nslots + p]) */
  double *model;       /* nmodel values */
  tr_paramset *params; /* overrides of actor params */
  int nparams;
  int ticks;
  int activation; /* ACT_* */
} tr_instance;

/* Instances of an experiment, in output order (variant-major, then point).
** Applies --set, then the variant's set/add, then the point's values;
** values outside an attribute's bounds are errors with their place. */
typedef struct tr_plan {
  tr_instance *inst;
  int ninst;
  int nvariants;              /* selected, baseline included */
  const char **variant_names; /* [0] = "baseline" */
  int *variant_decl;          /* -1 baseline, else sc->variants index */
  int npoints;
  double *points; /* npoints * sc->nsweep, or NULL */
} tr_plan;
/* The baseline instance with horizon `ticks` (0, or -1 out of memory;
** free its init and model). */
int instance_base(const tr_scenario *sc, int ticks, tr_instance *in);

#endif
