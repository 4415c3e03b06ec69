/* options.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_OPTIONS_H
#define TR_SCENARIO_OPTIONS_H

#include "base/common.h"
#include "base/diag.h"
#include "scenario/scenario.h"
#include "scenario/instances.h"

enum {
  SERIES_SUMMARY = TR_SERIES_SUMMARY,
  SERIES_ALL = TR_SERIES_ALL,
  SERIES_NONE = TR_SERIES_NONE
};

/* Made by tr_options_new (api.c), which owns every string in it. The
** experiment works on a resolved copy (opts_resolve): a shallow copy with
** the scenario's defaults filled in, whose cancel still points at the
** original's flag. */
struct tr_options {
  int runs, ticks; /* resolved */
  uint64_t seed;
  int has_runs, has_ticks, has_seed; /* given (else the scenario's, else defaults) */
  int threads;                       /* 0: one per core */
  const char *out;                   /* resolved output folder */
  char *out_owned;                   /* as set (NULL: results/<id>) */
  char **sets;
  int nsets;                            /* "PATH=VALUE" */
  int seed_per_point;                   /* calibration: run r of point p uses seed (p-1)*runs + r */
  int baseline_only;                    /* calibration: no variants */
  const struct tr_posterior *posterior; /* --posterior, loaded: per-run parameters, or NULL */
  char *posterior_file;                 /* --posterior FILE as given */
  char **variants;
  int nvariants; /* --variant filters (NULL: all) */
  int series;    /* SERIES_* */
  int events;
  int format; /* TR_FORMAT_* bit set */
  int quiet;
  int resume;
  int keep_going; /* --keep-going: failing runs recorded, the rest finish */
  int strict;     /* --strict: warnings are errors */
  int force;      /* --force: write over files with our names in a foreign folder */
  int signals;    /* catch SIGINT/SIGTERM while running */
  int argc;
  char **argv; /* for the manifest and replay hints */
  /* Run until precise (docs/experiments.md): precision > 0 adds batches of
  ** `batch` runs until every outcome share's 95% Clopper-Pearson half-width
  ** is <= precision, `runs` being the ceiling. After the experiment the
  ** output's copy of the options has runs = the runs reached, and: */
  double precision;
  int batch;
  int precision_reached;            /* 1 when every half-width got <= precision */
  int precision_ceiling;            /* the runs asked for (-n): the ceiling */
  double precision_widest;          /* the widest half-width at the end */
  char *sweep_file, *variants_file; /* --sweep, --variants (NULL: the scenario's) */
  tr_run_callback callback;
  void *callback_ctx;
  int cancel_flag; /* set by tr_options_cancel (atomically) */
  int *cancel;     /* &cancel_flag of the options the user holds */
};
/* A calibrated posterior (--posterior FILE, calibrate.c): the final
** generation's particles and weights over paths; run r of every variant
** and point takes the particle drawn for r. */
typedef struct tr_posterior {
  int k, n;        /* paths, particles */
  tr_path *paths;  /* k */
  double *theta;   /* n * k, row-major */
  double *cum;     /* n cumulative normalised weights */
  char sha256[65]; /* of the posterior file */
  char *file;
} tr_posterior;


#endif
