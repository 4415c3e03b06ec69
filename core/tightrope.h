/*
** tightrope.h — the public C API of the tightrope engine (libtightrope).
** A scenario is loaded and validated once, then an experiment (variants x
** points x runs) is executed and its results written to an output folder
** (CSV files, results.sqlite or both), or handed run by run to a callback.
** docs/c-api.md is the reference: ownership, threads, errors, an example.
**
** Link with `pkg-config --cflags --libs tightrope`. Every symbol of the
** library starts with tr_ (and every macro with TR_).
**
** Ownership: every object made by a tr_*_new or tr_*_load function belongs
** to the caller and is released by its tr_*_free (which accepts NULL).
** Strings handed to a setter are copied; strings returned by the library
** belong to the object they come from and live as long as it does.
**
** Threads: a tr_scenario is read-only after loading, so several threads may
** run experiments on one scenario at the same time, each with its own
** tr_options and tr_diag and its own output folder. A tr_options or tr_diag
** must not be used by two threads at once — except tr_options_cancel, which
** any thread may call at any time while an experiment uses the options.
*/
#ifndef TIGHTROPE_H
#define TIGHTROPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TR_VERSION_MAJOR 0
#define TR_VERSION_MINOR 1
#define TR_VERSION_PATCH 0
#define TR_VERSION "0.1.0"
/* For #if: TR_VERSION_NUMBER >= TR_MAKE_VERSION(0, 1, 0). */
#define TR_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define TR_VERSION_NUMBER TR_MAKE_VERSION(TR_VERSION_MAJOR, TR_VERSION_MINOR, TR_VERSION_PATCH)

#if defined(__GNUC__)
#define TR_API __attribute__((visibility("default")))
#else
#define TR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the command line exits with them (docs/cli.md). */
enum {
  TR_OK = 0,
  TR_EINVALID = 1, /* invalid scenario, script or --set: nothing ran */
  TR_EUSAGE = 2,   /* usage error (an unknown variant, a bad option value) */
  TR_ERUNTIME = 3, /* a run failed at run time */
  TR_EOUTPUT = 4,  /* output could not be written */
  TR_EINT = 130,   /* interrupted by SIGINT, or cancelled: resumable */
  TR_ETERM = 143   /* interrupted by SIGTERM: resumable */
};

/* The library's version at run time ("0.1.0"), to compare with TR_VERSION. */
TR_API const char *tr_version(void);

/* ------------------------------------------------------------ diagnostics */
/* A list of messages, each with its place (file NULL when it has none;
** line and col 1-based, 0 when unknown). */
typedef struct tr_diag tr_diag;
typedef struct tr_message {
  const char *file;
  int line, col;
  const char *text;
} tr_message;

TR_API tr_diag *tr_diag_new(void);
TR_API void tr_diag_free(tr_diag *d);
TR_API int tr_diag_count(const tr_diag *d);
/* Message i (0 <= i < count) in the order tr_diag_print prints them (by
** file, line, column); 0, or -1 when i is out of range. The strings belong
** to d and live until it is freed. */
TR_API int tr_diag_get(tr_diag *d, int i, tr_message *out);
/* Every message as "FILE:LINE:COL: error: TEXT" lines, sorted by place. */
TR_API void tr_diag_print(const tr_diag *d, FILE *to);
/* The closest of names[0..n-1] to word (a plausible typo: edit distance,
** case-insensitive), or NULL: for "did you mean" messages. */
TR_API const char *tr_suggest(const char *word, const char *const *names, int n);
/* Appends " (did you mean 'X'?)" to the string in buf (size bytes in all)
** when tr_suggest finds X; leaves buf alone otherwise. */
TR_API void tr_did_you_mean(char *buf, size_t size, const char *word, const char *const *names,
                            int n);

/* --------------------------------------------------------------- scenario */
typedef struct tr_scenario tr_scenario;

/* Load and validate SCENARIO.yaml; NULL (with every error in d) when it is
** invalid. Scripts are looked up from the scenario's folder. */
TR_API tr_scenario *tr_scenario_load(const char *path, tr_diag *d);
/* The same from YAML text of len bytes; name stands for the file in
** messages and its folder is where scripts are looked up ("." when name has
** no folder). */
TR_API tr_scenario *tr_scenario_load_string(const char *text, size_t len, const char *name,
                                            tr_diag *d);
TR_API void tr_scenario_free(tr_scenario *sc);
/* Compile every script and expression of the scenario; 0 when all compile,
** else -1 with the errors in d. tr_experiment_run needs a compiled one. */
TR_API int tr_scenario_compile(const tr_scenario *sc, tr_diag *d);

enum { TR_ACTORS, TR_RELATIONS, TR_METRICS, TR_OUTCOMES, TR_VARIANTS, TR_NETWORKS };
TR_API const char *tr_scenario_id(const tr_scenario *sc);
/* How many actors, relations, metrics, outcomes (declared ones; the default
** outcome is one more) or variants the scenario has. Relations are those
** fixed for every run; TR_NETWORKS counts the random relation rules, whose
** relations each run draws anew. */
TR_API int tr_scenario_count(const tr_scenario *sc, int what);
/* The name of item i: an actor's id, a relation as "FROM:TO", a metric, an
** outcome (i == count: the default outcome) or a variant; NULL out of range. */
TR_API const char *tr_scenario_name(const tr_scenario *sc, int what, int i);

/* ---------------------------------------------------------------- options */
/* What to run and where its results go: the command line's run options.
** Unset values take the scenario's (experiment.runs, .ticks, .seed), else
** the command line's defaults (100 runs, 100 ticks, seed 1, one thread per
** core, output folder results/<scenario id>, CSV files, series summary). */
typedef struct tr_options tr_options;

enum { TR_SERIES_SUMMARY, TR_SERIES_ALL, TR_SERIES_NONE };
/* Output formats, a bit set: TR_FORMAT_NONE writes no folder at all (the
** callback is then the only result, and nothing is journalled). */
enum { TR_FORMAT_NONE = 0, TR_FORMAT_CSV = 1, TR_FORMAT_SQLITE = 2, TR_FORMAT_BOTH = 3 };

/* A run's result, handed to the callback in output order (variant, point,
** run) on the thread that called tr_experiment_run, after the run was
** written. Pointers are valid during the call only. */
typedef struct tr_run_info {
  const char *variant; /* "baseline" or the variant's name */
  int variant_index;   /* 0 = baseline, then selected variants in file order */
  int point, run;      /* 1-based */
  uint64_t seed;       /* the run's seed */
  const char *outcome; /* the outcome's name (or the default outcome's) */
  int outcome_index;   /* 0..noutcomes-1, or noutcomes: the default */
  int end_tick;
  int nmetrics;
  const double *finals; /* nmetrics values at end_tick, in file order */
} tr_run_info;
/* Return 0 to go on, anything else to stop (as tr_options_cancel does). */
typedef int (*tr_run_callback)(void *ctx, const tr_run_info *run);

TR_API tr_options *tr_options_new(void);
TR_API void tr_options_free(tr_options *o);
/* Setters return 0, or -1 when the value is out of range (nothing changed):
** runs >= 1; 0 <= ticks <= 10^9; 1 <= threads <= 4096; series and format
** one of the enums above. */
TR_API int tr_options_set_runs(tr_options *o, int runs);
TR_API int tr_options_set_ticks(tr_options *o, int ticks);
TR_API int tr_options_set_seed(tr_options *o, uint64_t seed);
TR_API int tr_options_set_threads(tr_options *o, int threads);
/* The output folder (NULL: results/<scenario id>). */
TR_API int tr_options_set_out(tr_options *o, const char *dir);
/* Run until precise (docs/experiments.md): batches of `batch` runs (>= 1;
** default experiment.batch, else 100) until every outcome share's 95%
** Clopper-Pearson half-width is <= half_width (0 < half_width <= 0.5);
** runs is then the ceiling (default experiment.runs, else 10000). With it
** the callback sees the runs 1..n reached, in output order, once the last
** batch is in. */
TR_API int tr_options_set_precision(tr_options *o, double half_width);
TR_API int tr_options_set_batch(tr_options *o, int batch);
/* --set PATH=VALUE (repeatable): checked against the scenario when the
** experiment starts; -1 here only when the text has no '='. */
TR_API int tr_options_add_set(tr_options *o, const char *path_eq_value);
/* --variant NAME (repeatable): run only these variants besides the
** baseline; an unknown name fails the experiment with TR_EUSAGE. */
TR_API int tr_options_add_variant(tr_options *o, const char *name);
TR_API int tr_options_set_series(tr_options *o, int series);
TR_API int tr_options_set_events(tr_options *o, int on);
TR_API int tr_options_set_format(tr_options *o, int format);
/* --resume: finish the interrupted experiment in the output folder. */
TR_API int tr_options_set_resume(tr_options *o, int on);
/* --keep-going: a run that fails is recorded (runs.csv outcome `error`,
** errors.csv) and the others finish; the status is still TR_ERUNTIME. */
TR_API int tr_options_set_keep_going(tr_options *o, int on);
/* --strict: tr_scenario_load_options refuses a scenario with warnings. */
TR_API int tr_options_set_strict(tr_options *o, int on);
/* --force: write into an existing folder that is not a tightrope output
** folder but holds files with result names (refused otherwise). */
TR_API int tr_options_set_force(tr_options *o, int on);
/* Progress line on stderr when it is a terminal (off by default). */
TR_API int tr_options_set_progress(tr_options *o, int on);
/* Catch SIGINT and SIGTERM while the experiment runs, and stop as
** interrupted (off by default; the handlers are process-wide, so only one
** experiment at a time should ask for them). */
TR_API int tr_options_set_signals(tr_options *o, int on);
/* The command line recorded in manifest.yaml (copied). */
TR_API int tr_options_set_command(tr_options *o, int argc, const char *const *argv);
TR_API int tr_options_set_callback(tr_options *o, tr_run_callback fn, void *ctx);
/* Ask a running experiment to stop: no new run starts, the finished ones
** stay journalled (resumable with tr_options_set_resume), and
** tr_experiment_run returns TR_EINT. Safe from any thread and from a
** signal handler. Cleared when the next experiment starts. */
TR_API void tr_options_cancel(tr_options *o);
/* --sweep FILE, --variants FILE: take the scenario's sweep or variants
** block from a YAML file holding that one key (docs/scenario-format.md,
** "Composing scenarios"); NULL: the scenario's own. They act when the
** scenario is loaded with tr_scenario_load_options. */
TR_API int tr_options_set_sweep_file(tr_options *o, const char *path);
TR_API int tr_options_set_variants_file(tr_options *o, const char *path);
/* --posterior FILE: every run draws its parameters (by weight) from the last
** generation of a calibration's posterior.csv (docs/calibration.md); the
** file is read and checked against the scenario when the experiment
** starts. NULL: none. */
TR_API int tr_options_set_posterior(tr_options *o, const char *file);
/* tr_scenario_load with what of o shapes the scenario itself: the --sweep
** and --variants files, and the --set overrides (a population's count set
** there changes how many actors the scenario has). */
TR_API tr_scenario *tr_scenario_load_options(const char *path, const tr_options *o, tr_diag *d);
/* Read the settings of a finished experiment from OUTDIR/manifest.yaml into
** o (seed, ticks, --set overrides unless o has some) and the scenario's path
** into *scenario (malloc'd; free it). TR_OK, or TR_EUSAGE with a message. */
TR_API int tr_options_load_manifest(tr_options *o, const char *outdir, char **scenario, tr_diag *d);

/* ------------------------------------------------------------- experiment */
/* Run the experiment described by opts on a compiled scenario; returns a
** status above, with every error in d (a run that fails at run time: its
** variant, point, run, seed, tick, actor, Lua's message and traceback, and
** the replay command that reproduces it). */
TR_API int tr_experiment_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d);
/* What `tightrope check` does past compiling: resolve the options and build
** every variant and sweep point; runs nothing. *npoints receives the number
** of sweep points. A status above. */
TR_API int tr_experiment_check(const tr_scenario *sc, const tr_options *opts, int *npoints,
                               tr_diag *d);
/* Re-run run `run` (1-based) of variant (NULL: baseline) at `point` and print
** its trace to stdout, as `tightrope replay` does; with outdir, compare its
** row with OUTDIR/runs.csv (or results.sqlite). A status above. */
TR_API int tr_replay(const tr_scenario *sc, const tr_options *opts, const char *variant, int point,
                     int run, const char *outdir, tr_diag *d);
/* Calibrate the scenario at path to its observed data (`tightrope
** calibrate`: ABC-SMC driven by its calibrate: block): writes posterior.csv,
** calibration.csv and manifest.yaml into the options' output folder
** (default results/<id>-calibration). Uses the options' seed, threads,
** ticks, --set and resume. A status above. */
TR_API int tr_calibrate(const char *path, const tr_options *opts, tr_diag *d);
/* Start a scenario folder (`tightrope new DIR`): a commented scenario, a
** policy and an action that check and run. DIR must be missing or empty. */
TR_API int tr_new(const char *dir, tr_diag *d);
/* Draw the charts of a finished experiment (`tightrope report OUTDIR`). */
TR_API int tr_report(const char *outdir, tr_diag *d);
/* The same with `report`'s options (docs/cli.md#report): comma lists of the
** variants, metrics and outcomes to draw (NULL: all), and the image format
** "svg", "png" or "pdf" (NULL: SVG and PNG). An unknown name or format is
** TR_EUSAGE with a message. */
TR_API int tr_report_with(const char *outdir, const char *variants, const char *metrics,
                          const char *outcomes, const char *format, tr_diag *d);

#ifdef __cplusplus
}
#endif
#endif
