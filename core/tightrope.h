/*
** tightrope.h — the public embedding API of the tightrope engine.
** A scenario is loaded and validated once, then an experiment (variants x
** points x runs) is executed and its results written as CSV files.
*/
#ifndef TIGHTROPE_H
#define TIGHTROPE_H

#include <stdint.h>
#include <stdio.h>

#define TR_VERSION "0.1.0"

/* Exit statuses of the command line (SPEC §2). */
enum {
  TR_OK = 0,
  TR_EINVALID = 1,   /* invalid scenario or script: nothing ran */
  TR_EUSAGE = 2,     /* usage error */
  TR_ERUNTIME = 3,   /* a run failed at run time */
  TR_EOUTPUT = 4,    /* output could not be written */
  TR_EINT = 130,     /* interrupted by SIGINT */
  TR_ETERM = 143     /* interrupted by SIGTERM */
};

typedef struct tr_diag tr_diag;
typedef struct tr_scenario tr_scenario;
typedef struct tr_options tr_options;

/* Diagnostics: a list of errors, each with its place. */
tr_diag *tr_diag_new(void);
void tr_diag_free(tr_diag *d);
int tr_diag_count(const tr_diag *d);
void tr_diag_print(const tr_diag *d, FILE *to);

/* Load and validate SCENARIO.yaml; NULL (with every error in d) when invalid. */
tr_scenario *tr_scenario_load(const char *path, tr_diag *d);
void tr_scenario_free(tr_scenario *sc);

/* Compile every script and expression of the scenario; 0 when all compile. */
int tr_scenario_compile(const tr_scenario *sc, tr_diag *d);

/* Run the experiment described by opts; returns an exit status above. */
int tr_experiment_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d);

#endif
