/*
** internal.h — the engine's internal interfaces, one section per subsystem.
** Data flows one way: YAML (yamltree) -> validated scenario (scenario) ->
** instances (paths applied) -> world + Lua (world, luaapi, sandbox) -> runs
** (tick) -> results (experiment) -> statistics and CSV (stats, output).
*/
#ifndef TR_INTERNAL_H
#define TR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <math.h>

#include "tightrope.h"

#define TR_MAX_FILE_BYTES (16u * 1024u * 1024u) /* docs/scenario-format.md, "Validation" */
#define TR_MAX_DEPTH 64                          /* docs/scenario-format.md, "Validation" */

/* ------------------------------------------------------------------ diag */
/* An error is a value with a place: FILE:LINE:COL (line/col 1-based, 0 when
** unknown). Printed in the compiler style "FILE:LINE:COL: error: MESSAGE".
** Errors are kept in the order they were found; tr_diag_print sorts them by
** file, line and column so a user reads them top to bottom. */
typedef struct tr_msg {
  char *file;   /* may be NULL: the message has no place */
  int line, col;
  char *text;
  int level;    /* DIAG_ERROR, DIAG_WARNING or DIAG_NOTE */
} tr_msg;
enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct tr_diag {
  tr_msg *msgs;
  int n, cap;
  int sorted;   /* msgs are in print order (tr_diag_get sorts them) */
};

void diag_error(tr_diag *d, const char *file, int line, int col,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_verror(tr_diag *d, const char *file, int line, int col,
                 const char *fmt, va_list ap);
/* Warnings ("FILE:LINE:COL: warning: ...") and notes: printed with the
** errors, never counted by tr_diag_count (docs/scenario-format.md,
** "Mistakes check finds"). */
void diag_warning(tr_diag *d, const char *file, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_note(tr_diag *d, const char *file, int line, int col,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int diag_count_level(const tr_diag *d, int level);
/* --strict: every warning becomes an error. */
void diag_warnings_to_errors(tr_diag *d);
/* Forget every message (after printing them). */
void diag_clear(tr_diag *d);
/* The closest of names[0..n-1] to word (Levenshtein, case-insensitive), or
** NULL when none is close enough to be a plausible typo. */
const char *diag_suggest(const char *word, const char *const *names, int n);
/* The files a scenario is composed of: diag_source gives a file's index
** (1..63, 0 when the registry is full), diag_source_line the line number
** that carries that file with it; diag_verror decodes it (compose.c). */
int diag_source(const char *path);
int diag_source_line(int source, int line);
/* The file of an encoded line (a copy to free), or NULL for a plain line;
** and the line number within its file. */
char *diag_source_file(int line);
int diag_source_plain(int line);
/* Appends " (did you mean 'X'?)" to buf when a suggestion exists. */
void diag_did_you_mean(char *buf, size_t size, const char *word,
                       const char *const *names, int n);
/* Writes s to f as one shell word (quoted when it needs it). */
void diag_shell_word(FILE *f, const char *s);
/* Writes s to f with terminal control characters escaped (\x1b...). */
void diag_put_text(FILE *f, const char *s);

/* ------------------------------------------------------------ yamltree */
/* A YAML document read with libyaml's event parser into a tree of nodes,
** each with its line and column. Aliases and anchors are refused, duplicate
** keys are refused, depth and size are capped (docs/scenario-format.md, "Validation"). */
enum { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode ynode;
struct ynode {
  int type;
  int line, col;     /* 1-based place of the node's first character */
  /* scalar */
  char *str;         /* scalar text (NUL-terminated; len may hide NULs) */
  size_t len;
  int plain;         /* 1 when the scalar was unquoted (type resolution) */
  /* sequence / mapping: n items; a mapping's keys are scalars */
  int n;
  ynode **keys;      /* YN_MAP only */
  ynode **items;     /* sequence items, or mapping values */
};

/* NULL on error (all problems added to d, with places in path). */
ynode *ynode_load_file(const char *path, tr_diag *d);
ynode *ynode_load_string(const char *text, size_t len, const char *name, tr_diag *d);
void ynode_free(ynode *n);
/* Mapping lookup by key; NULL when absent. */
ynode *ynode_get(const ynode *map, const char *key);

/* YAML 1.2 core schema for plain scalars. */
enum { YS_NULL, YS_BOOL, YS_INT, YS_FLOAT, YS_STR };
int ynode_scalar_kind(const ynode *n);   /* YS_* (quoted scalars: YS_STR) */

/* ------------------------------------------------------------- scenario */
enum { ROLE_MEDIATOR, ROLE_PATRON, ROLE_PROXY, ROLE_STATE, ROLE_COUNT };
extern const char *const tr_role_names[ROLE_COUNT];

/* A generic YAML value (actor params), handed to Lua as a read-only table. */
enum { TV_NULL, TV_BOOL, TV_NUM, TV_STR, TV_SEQ, TV_MAP };
typedef struct tr_value tr_value;
struct tr_value {
  int type;
  double num;        /* TV_NUM, TV_BOOL (0/1) */
  char *str;         /* TV_STR */
  int n;             /* TV_SEQ, TV_MAP */
  char **keys;       /* TV_MAP */
  tr_value *items;   /* TV_SEQ, TV_MAP: n values */
  int line, col;
  int key_line, key_col;  /* an item of a TV_MAP: the place of its key */
};

/* A parameter a policy or action script declares (docs/lua-api.md,
** "Declaring parameters"): checked against the actors' `params:`, paths and
** --set before anything runs (params.c). */
enum { PT_NUMBER, PT_INTEGER, PT_STRING, PT_LIST, PT_ACTOR, PT_ANY, PT_COUNT };
extern const char *const tr_param_types[PT_COUNT];
typedef struct tr_paramdecl {
  char *name, *doc;
  int type;               /* PT_* */
  int items;              /* PT_LIST: type of each item, or -1 for any */
  int has_default;
  tr_value def;           /* when has_default */
  int has_min, has_max;
  double min, max;
  int line;               /* of the declare call in the script */
} tr_paramdecl;

enum { SD_NONE, SD_DECLARED, SD_UNKNOWN };
typedef struct tr_scriptdecl {
  char *path;             /* resolved script path */
  int state;              /* SD_NONE: declares nothing; SD_UNKNOWN: its top level failed */
  tr_paramdecl *params;
  int nparams;
} tr_scriptdecl;
/* What a write outside an attribute's bounds does (docs/scenario-format.md). */
enum { BOUND_CLAMP, BOUND_ERROR, BOUND_REJECT };

/* A distribution an attribute's starting value is drawn from, per run. */
enum { DIST_UNIFORM, DIST_NORMAL, DIST_BETA, DIST_LOGNORMAL, DIST_CHOICE, DIST_POISSON };
typedef struct tr_distdecl {
  int kind;
  double a, b;            /* uniform low/high, normal mean/sd, beta a/b,
                             lognormal zeta/sigma, poisson mean */
  double *values, *weights; int nvalues;   /* choice (weights NULL: equal) */
  int line, col;
} tr_distdecl;

typedef struct tr_attrdecl {
  char *name;
  double value, min, max; /* min/max are -inf/+inf when unbounded */
  int bounded;
  int slot;               /* index into the world's value array */
  int line, col;
  int on_bound;           /* BOUND_* */
  int integer;            /* type: integer (whole numbers only) */
  int dist;               /* index in sc->dists, or -1: the value is fixed */
} tr_attrdecl;

/* A population: `count` actors made from one entry of `actors`. Its members
** are the actors first .. first+cap-1, ids from the pattern numbered from 1;
** an instance uses the first `count` of them (docs/scenario-format.md). */
typedef struct tr_popdecl {
  char *name;             /* the key in `actors`; paths NAME.count */
  int first, cap, count;  /* count: the file's */
  int line, col;
  int ruled;              /* relations by rule join its members: count fixed */
} tr_popdecl;

typedef struct tr_actordecl {
  char *id, *name;        /* name defaults to id */
  int role;
  tr_attrdecl *attrs;
  int nattrs;
  char *policy;           /* resolved script path, or NULL: passive */
  int policy_line, policy_col;
  tr_value params;        /* TV_MAP, or TV_NULL when absent */
  int line, col;
  int pop, member;        /* population index and 1-based number, or -1, 0 */
} tr_actordecl;

typedef struct tr_reldecl {
  int from, to;           /* actor indices */
  char *kind;
  tr_attrdecl *attrs;
  int nattrs;
  int line, col;
} tr_reldecl;

/* Relation rules (docs/scenario-format.md#relations-by-rule). all and ring
** are the same in every run: the load lays their relations out in sc->rels.
** k_random, erdos_renyi and barabasi_albert are random: each run draws its
** own network from its stream (world_network, world.c), so such a rule is
** kept as a tr_netrule and its relations exist only in a run's world. */
enum { NET_ALL, NET_RING, NET_K_RANDOM, NET_ERDOS_RENYI, NET_BARABASI_ALBERT };
#define TR_MAX_RELS 20000000   /* relations of a scenario, and of one run */
typedef struct tr_netrule {
  int rule;               /* NET_K_RANDOM, NET_ERDOS_RENYI or NET_BARABASI_ALBERT */
  int f0, nf, t0, nt;     /* FROM members: actors f0 .. f0+nf-1; TO likewise */
  int same;               /* FROM and TO are one population */
  int k, m;               /* k_random: k; barabasi_albert: m */
  double p;               /* erdos_renyi: p */
  char *kind;             /* "" when none */
  tr_attrdecl *attrs;     /* every drawn relation's attributes; here .slot is */
  int nattrs;             /* the offset from the relation's first slot (0..nattrs-1) */
  int line, col;
} tr_netrule;

typedef struct tr_actiondecl {
  char *name;
  char *script;           /* resolved path (Lua action), NULL for built-ins */
  char cameo[8];          /* "" when none */
  double goldstein;
  int has_goldstein;
  int builtin;            /* index into model_actions, or -1 for Lua */
  int line, col;
} tr_actiondecl;

/* A path names one number of the scenario (docs/scenario-format.md, "Paths"). */
enum { PATH_ACTOR_ATTR, PATH_REL_ATTR, PATH_PARAM, PATH_MODEL, PATH_TICKS, PATH_COUNT };
typedef struct tr_path {
  int kind;
  int actor;              /* PATH_ACTOR_ATTR, PATH_PARAM */
  int rel;                /* PATH_REL_ATTR */
  int attr;               /* index in the actor's/relation's attrs */
  int slot;               /* world slot of an attribute path, else -1 */
  char *key;              /* PATH_PARAM: the key after "params." (may hold dots) */
  int model;              /* PATH_MODEL: index in sc->model */
  int pop;                /* PATH_COUNT: index in sc->pops */
  char *text;             /* as written */
} tr_path;

enum { CHANGE_SET, CHANGE_ADD };
typedef struct tr_change {
  int op;
  tr_path path;
  double value;
  int line, col;
} tr_change;

enum { EV_AT, EV_EVERY, EV_PROB };
typedef struct tr_eventdecl {
  char *name;
  int kind;
  int at, every;
  double prob;
  char *when;             /* expression or NULL */
  int when_line, when_col;
  int when_quoted;        /* the YAML value was quoted (check.c places names) */
  tr_change *changes;     /* set/add in file order (attribute paths only) */
  int nchanges;
  char *lua;              /* snippet or NULL */
  int lua_line, lua_col;
  int once;
  char cameo[8];
  double goldstein;
  int has_goldstein;
  int line, col;
} tr_eventdecl;

typedef struct tr_exprdecl { /* a metric or an outcome */
  char *name, *expr;
  char *description;      /* NULL when the scenario gives none */
  int line, col;          /* place of the expression */
  int quoted;             /* the YAML value was quoted (check.c places names) */
  int name_line, name_col;
  int by_name;            /* metric: visible by name to expressions (check.c) */
  int summary;            /* a calibration summary (calibrate:), checked like a metric */
} tr_exprdecl;

typedef struct tr_variantdecl {
  char *name, *description;
  int activation;         /* ACT_*, or -1: the experiment's */
  tr_change *changes;
  int nchanges;
  int line, col;
} tr_variantdecl;

enum { SWEEP_NONE, SWEEP_GRID, SWEEP_SOBOL, SWEEP_LHS, SWEEP_RANDOM, SWEEP_FILE, SWEEP_SALTELLI };
typedef struct tr_sweepparam {
  tr_path path;
  int is_range;           /* {min, max[, steps]} */
  double min, max;
  int steps;              /* grid range: number of values */
  double *values;         /* explicit list, or the grid's values */
  int nvalues;
  int line, col;
} tr_sweepparam;

typedef struct tr_modelparam {
  const char *name;       /* static storage (model.c's table) */
  double value;
  const char *range;      /* "LO..HI", either side may be empty (unbounded);
                             NULL: any finite number (params.c checks) */
} tr_modelparam;

/* Every file a scenario was read from (compose.c): the scenario file, then
** the bases it extends, then the --sweep and --variants files. */
typedef struct tr_scenario_files {
  char **paths;
  int n;
} tr_scenario_files;

/* A calibrate: block (docs/calibration.md): priors over paths, summaries as
** expressions evaluated at the end of each run, and their observed values. */
enum { PRIOR_UNIFORM, PRIOR_NORMAL, PRIOR_LOGNORMAL, PRIOR_BETA };
typedef struct tr_prior {
  tr_path path;
  int dist;               /* PRIOR_* */
  double a, b;            /* uniform: min, max; normal: mean, sd; lognormal: zeta,
                             sigma; beta: a, b (on [lo, hi]) */
  double lo, hi;          /* the support (beta: its interval, default [0, 1]) */
  int line, col;
} tr_prior;

enum { DIST_EUCLIDEAN_SCALED, DIST_EUCLIDEAN };
typedef struct tr_calibdecl {
  int present;
  int particles, generations;
  double tol_final;       /* 0 when not given: run every generation unless reached */
  int has_tol_final;
  double alpha;           /* quantile of the previous distances: the next tolerance */
  tr_prior *priors;       int npriors;
  tr_exprdecl *summaries; int nsummaries;
  double *observed;       /* nsummaries values, in summary order */
  char *observed_file;    /* when read from a CSV file (absolute or as resolved) */
  int distance;           /* DIST_* */
  int line, col;
} tr_calibdecl;

struct tr_scenario {
  char *path;             /* as given on the command line */
  char *dir;              /* its folder, for script lookup */
  char *id, *title, *description;
  int ticks, runs;
  int has_ticks, has_runs, has_seed;
  uint64_t seed;
  char *tick_unit;
  long long instr_limit;  /* limits.instructions, per Lua call (0: not counted) */
  long long cpu_ms;       /* limits.cpu_ms, CPU time per Lua call */
  long long memory_mb;    /* limits.memory_mb, per Lua state */
  double precision;       /* experiment.precision, 0 when absent */
  int batch;              /* experiment.batch, 0 when absent */

  tr_modelparam *model;   /* every model parameter, defaults filled in */
  int nmodel;

  tr_actordecl *actors;   int nactors;
  tr_reldecl *rels;       int nrels;      /* relations fixed for every run */
  tr_netrule *netrules;   int nnetrules;  /* random rules: relations drawn per run */
  char **kinds;           int nkinds;     /* declared under `kinds:` */
  tr_scriptdecl *scripts; int nscripts;   /* parameter declarations, per script */
  tr_actiondecl *actions; int nactions;   /* Lua actions then built-ins */
  tr_eventdecl *events;   int nevents;
  tr_exprdecl *metrics;   int nmetrics;
  tr_exprdecl *outcomes;  int noutcomes;
  char *default_outcome;  /* "horizon" unless given */
  tr_variantdecl *variants; int nvariants;

  int sweep_method;       /* SWEEP_* */
  int sweep_points;       /* sobol/lhs/random; file: the design's rows; saltelli: N, the base rows */
  tr_sweepparam *sweep;   int nsweep;

  /* Layout of the world's value array: actor attrs, then relation attrs. */
  int nslots;
  int *rel_hash;          /* open addressing over (from,to) -> rel index */
  int rel_hash_size;      /* power of two; -1 marks an empty bucket */
  char sha256[65];        /* of the scenario file, hex; over every file when composed */
  tr_scenario_files files;   /* what it was read from (files.n >= 1) */
  tr_calibdecl calib;     /* calibrate: (calib.present 0 when absent) */
  int counts_events;      /* an expression calls events_count: runs keep their events */
  char *sweep_file;       /* --sweep FILE, or NULL */
  char *variants_file;    /* --variants FILE, or NULL */

  /* Roles: the four built-in ones (ROLE_*), then any other role names in
  ** the order first used; an actor's role indexes this list. */
  char **roles;           int nroles;
  tr_popdecl *pops;       int npops;
  tr_distdecl *dists;     int ndists;
  int activation;         /* ACT_* */
  char *helpers;          /* resolved path of the helpers file, or NULL */
  int helpers_line, helpers_col;
};

/* experiment.activation (docs/scenario-format.md#activation-order). */
enum { ACT_SYNCHRONOUS, ACT_RANDOM_SEQUENTIAL, ACT_SEQUENTIAL };

/* tr_scenario_load, with the --set overrides the populations must make
** room for (a count set there may exceed the file's). */
tr_scenario *scen_load_sets(const char *path, char *const *sets, int nsets, tr_diag *d);

/* Static checks of the names inside expressions (check.c); returns the
** number of errors added to d. */
int check_expressions(const tr_scenario *sc, tr_diag *d);
/* Whether metric i is visible by name: not when an actor id or a name the
** expression environment binds already means something else. */
int check_metric_by_name(const tr_scenario *sc, int i);
/* What is legal but almost certainly wrong, as warnings (check.c): a swept
** path a variant also sets, a variant identical to the baseline, an
** attribute or parameter nothing reads, an outcome that can never hold. */
void check_warnings(const tr_scenario *sc, tr_diag *d);

/* Parameter declarations (params.c). params_collect runs each distinct
** policy and action script's top level once, in a sandbox, recording its
** declare{} calls into sc->scripts; errors in declarations go to d (their
** count is returned). params_check_actors checks every actor's `params:`
** against its policy's declarations. */
int params_collect(tr_scenario *sc, tr_diag *d);
int params_check_actors(const tr_scenario *sc, tr_diag *d);
void params_free(tr_scenario *sc);
/* `check`: a note per script that declares nothing but whose actors have
** params (they go unchecked). */
void params_notes(const tr_scenario *sc, tr_diag *d);
/* The declarations of a script (NULL when it has none recorded). */
const tr_scriptdecl *params_script(const tr_scenario *sc, const char *path);
/* Declaration of KEY (top-level) for an actor's policy, or NULL; *state
** receives the script's SD_* (SD_NONE when the actor has no policy). */
const tr_paramdecl *params_find(const tr_scenario *sc, int actor, const char *key, int *state);
/* A number written to ACTOR.params.KEY (path, variant, sweep, --set): 0, or
** -1 with a message in err (undeclared, wrong type, out of range). */
int params_check_number(const tr_scenario *sc, int actor, const char *key, double v, char *err,
                        size_t size);
/* A value for model parameter k: 0, or -1 with a message in err. */
int model_check_value(const tr_scenario *sc, int k, double v, char *err, size_t size);
/* Pushes the run-time `declare` (declarations were read at load: a no-op). */
struct lua_State;
void params_push_declare(struct lua_State *L);

/* Hash of an ordered pair of actors (the relation look-ups). */
unsigned scen_pair_hash(int from, int to);
/* Relation index of FROM->TO among the fixed relations, or -1. O(1). */
int scen_rel_find(const tr_scenario *sc, int from, int to);
/* The random rule that may draw FROM->TO in a run (an index in
** sc->netrules), or -1. */
int scen_netrule_find(const tr_scenario *sc, int from, int to);
/* Actor index by id, or -1. */
int scen_actor_find(const tr_scenario *sc, const char *id);
/* Parse and resolve a path against sc; 0 on success, else -1 with a message
** (including a suggestion) in err. */
int scen_path_parse(const tr_scenario *sc, const char *text, tr_path *out,
                    char *err, size_t errsize);
void scen_path_free(tr_path *p);
/* 1 when a and b name the same value (attribute slot, model key, param). */
int scen_path_same(const tr_path *a, const tr_path *b);
/* Slot of an actor's / a relation's attribute by name; -1 when absent. */
int scen_attr_slot(const tr_scenario *sc, int actor, const char *name);
int scen_rel_attr_slot(const tr_scenario *sc, int rel, const char *name);
/* Look up a script: scenario folder, TIGHTROPE_PATH, installed share dir,
** source tree scripts/. Returns a malloc'd path or NULL. */
char *scen_find_script(const char *scenario_dir, const char *name);

/* ------------------------------------------------------------ networks */
/* Relations by rule (networks.c): directed pairs of member numbers. */
typedef struct net_edges { int *e; size_t n, cap; } net_edges;   /* e: 2n ints */
/* The edges of rule NET_* over nf FROM and nt TO members (same: one
** population); the random rules draw from rng (a gsl_rng *). 0, or -1 out of
** memory. */
int net_make(net_edges *E, int rule, int nf, int nt, int same, int k, double p, int m, void *rng);
extern const char *const net_rule_names[5];  /* in NET_* order: "all", "ring", ... */
int net_all(net_edges *E, int nfrom, int nto, int same);
int net_ring(net_edges *E, int n, int k);
int net_k_random(net_edges *E, int nfrom, int nto, int k, int same, void *rng);
int net_erdos_renyi(net_edges *E, int n, double p, void *rng);
int net_barabasi_albert(net_edges *E, int n, int m, void *rng);  /* gsl_rng * */

/* --------------------------------------------------------------- model */
/* Built-in actions (C) and the model parameters they use (docs/model.md). */
typedef struct tr_world tr_world;
typedef struct tr_lua tr_lua;
typedef struct tr_modelaction {
  const char *name, *cameo;
  double goldstein;
  /* Resolve: actor acts on target; args is the Lua stack index of the args
  ** table (in the worker's Lua state). Returns 0, or -1 with a message set
  ** through lapi_error. *value receives the magnitude logged in events.csv
  ** (leave it NaN for none). */
  int (*resolve)(tr_lua *lx, int actor, int target, int args, double *value,
                 const char **cameo, double *goldstein);
} tr_modelaction;
extern const tr_modelaction model_actions[];
extern const int model_nactions;
/* Defaults of every model parameter (model.KEY). */
extern const tr_modelparam model_defaults[];
extern const int model_ndefaults;
/* Relation kinds the model and the default policies read. */
extern const char *const model_kinds[];
extern const int model_nkinds;
/* Attributes the built-in actions read or write. */
extern const char *const model_attrs[];
extern const int model_nattrs;

/* ----------------------------------------------------------- instances */
/* An instance is the baseline with a variant's and a point's changes (and
** the --set overrides) applied: initial values, model values, params. */
typedef struct tr_paramset { /* ACTOR.params.KEY = value */
  int actor;
  const char *key;
  double value;
} tr_paramset;

typedef struct tr_instance {
  int variant;            /* position in the experiment's variant list: 0 = baseline */
  int vdecl;              /* -1 = baseline, else index in sc->variants */
  int point;              /* 1-based */
  double *init;           /* nslots initial values, then one count per
                             population (init[nslots + p]) */
  double *model;          /* nmodel values */
  tr_paramset *params;    /* overrides of actor params */
  int nparams;
  int ticks;
  int activation;         /* ACT_* */
} tr_instance;

/* Instances of an experiment, in output order (variant-major, then point).
** Applies --set, then the variant's set/add, then the point's values;
** values outside an attribute's bounds are errors with their place. */
typedef struct tr_plan {
  tr_instance *inst; int ninst;
  int nvariants;                    /* selected, baseline included */
  const char **variant_names;       /* [0] = "baseline" */
  int *variant_decl;                /* -1 baseline, else sc->variants index */
  int npoints;
  double *points;                   /* npoints * sc->nsweep, or NULL */
} tr_plan;
int exp_plan(const tr_scenario *sc, const tr_options *opts, tr_plan *plan, tr_diag *d);
/* The baseline instance with horizon `ticks` (0, or -1 out of memory;
** free its init and model). */
int exp_instance_base(const tr_scenario *sc, int ticks, tr_instance *in);
void exp_plan_free(tr_plan *plan);

/* ------------------------------------------------------------- options */
enum { SERIES_SUMMARY = TR_SERIES_SUMMARY, SERIES_ALL = TR_SERIES_ALL, SERIES_NONE = TR_SERIES_NONE };

/* Made by tr_options_new (api.c), which owns every string in it. The
** experiment works on a resolved copy (opts_resolve): a shallow copy with
** the scenario's defaults filled in, whose cancel still points at the
** original's flag. */
struct tr_options {
  int runs, ticks;        /* resolved */
  uint64_t seed;
  int has_runs, has_ticks, has_seed; /* given (else the scenario's, else defaults) */
  int threads;            /* 0: one per core */
  const char *out;        /* resolved output folder */
  char *out_owned;        /* as set (NULL: results/<id>) */
  char **sets; int nsets; /* "PATH=VALUE" */
  int seed_per_point;     /* calibration: run r of point p uses seed (p-1)*runs + r */
  int baseline_only;      /* calibration: no variants */
  const struct tr_posterior *posterior;  /* --posterior, loaded: per-run parameters, or NULL */
  char *posterior_file;   /* --posterior FILE as given */
  char **variants; int nvariants; /* --variant filters (NULL: all) */
  int series;             /* SERIES_* */
  int events;
  int format;             /* TR_FORMAT_* bit set */
  int quiet;
  int resume;
  int keep_going;         /* --keep-going: failing runs recorded, the rest finish */
  int strict;             /* --strict: warnings are errors */
  int force;              /* --force: write over files with our names in a foreign folder */
  int signals;            /* catch SIGINT/SIGTERM while running */
  int argc; char **argv;  /* for the manifest and replay hints */
  /* Run until precise (docs/experiments.md): precision > 0 adds batches of
  ** `batch` runs until every outcome share's 95% Clopper-Pearson half-width
  ** is <= precision, `runs` being the ceiling. After the experiment the
  ** output's copy of the options has runs = the runs reached, and: */
  double precision;
  int batch;
  int precision_reached;  /* 1 when every half-width got <= precision */
  int precision_ceiling;  /* the runs asked for (-n): the ceiling */
  double precision_widest; /* the widest half-width at the end */
  char *sweep_file, *variants_file;  /* --sweep, --variants (NULL: the scenario's) */
  tr_run_callback callback; void *callback_ctx;
  int cancel_flag;        /* set by tr_options_cancel (atomically) */
  int *cancel;            /* &cancel_flag of the options the user holds */
};
/* A calibrated posterior (--posterior FILE, calibrate.c): the final
** generation's particles and weights over paths; run r of every variant
** and point takes the particle drawn for r. */
typedef struct tr_posterior {
  int k, n;               /* paths, particles */
  tr_path *paths;         /* k */
  double *theta;          /* n * k, row-major */
  double *cum;            /* n cumulative normalised weights */
  char sha256[65];        /* of the posterior file */
  char *file;
} tr_posterior;
/* The particle index run r takes (0..n-1): a draw by weight from a stream
** of the master seed and r only, so every variant and point of run r shares
** it (paired comparisons hold the parameters fixed). */
int posterior_pick(const tr_posterior *p, uint64_t master, int run);
/* Copy src's values into dst (allocated to the scenario's sizes) and apply
** particle i, under src's variant changes and sweep values of the same
** paths (docs/calibration.md); 0, or -1 with a message in err. */
int posterior_apply(const tr_scenario *sc, const tr_posterior *p, int i, const tr_instance *src,
                    tr_instance *dst, char *err, size_t size);
void posterior_free(tr_posterior *p);
/* The last generation of a posterior.csv, checked against sc (calibrate.c);
** NULL with the errors in d. */
tr_posterior *posterior_load(const tr_scenario *sc, const char *file, tr_diag *d);

/* The resolved copy of opts for sc (out_buf holds the default folder);
** TR_OK or TR_EUSAGE with a message (an unknown --variant) in d. */
int opts_resolve(const tr_options *opts, const tr_scenario *sc, tr_options *out,
                 char *out_buf, size_t out_size, tr_diag *d);
/* 1 when tr_options_cancel was called on the options opts was copied from. */
int opts_cancelled(const tr_options *opts);
/* The experiment itself, on resolved options (experiment.c). */
int exp_run(const tr_scenario *sc, const tr_options *opts, tr_diag *d);

/* ----------------------------------------------------------------- rng */
/* Each run's stream: a 64-bit-seeded generator registered as a
** gsl_rng_type, seeded with rng_run_seed(master, run). The map run -> seed
** is a bijection for a fixed master, so no two runs share a stream. */
uint64_t rng_run_seed(uint64_t master, uint64_t run);
const void *rng_type(void);   /* the const gsl_rng_type * */

/* ------------------------------------------------------------- results */
typedef struct tr_event {      /* a row of events.csv */
  int tick;
  int actor;                   /* -1 for a scenario event */
  const char *action;          /* action or event name (static/scenario) */
  int target;                  /* -1 when none */
  char cameo[8];               /* "" when none */
  double goldstein;            /* NaN when none */
  double value;                /* NaN when none */
} tr_event;

typedef struct tr_runresult {
  int variant, point, run;     /* variant: position in the run's variant list
                                  (0 = baseline); point, run 1-based */
  uint64_t seed;
  int outcome;                 /* 0..noutcomes-1, or noutcomes: the default */
  int end_tick;
  double *finals;              /* nmetrics values at end_tick */
  double *series;              /* (end_tick+1)*nmetrics values, tick-major */
  tr_event *events; int nevents, capevents;
} tr_runresult;

/* --------------------------------------------------------------- world */
/* The live state of one run: a flat array of attribute values (actor
** attributes, then relation attributes, in the scenario's slot order) with
** per-slot bounds. Invariant: during the decide step nothing writes val[];
** policies' writes wait in the write buffer, so every read sees the state as
** it was when the step began (docs/lua-api.md, "The tick"). */
typedef struct tr_write { int slot; double value; } tr_write;
typedef struct tr_actreq {   /* a queued action */
  int actor, action, target; /* target -1: none */
  int has_args;              /* args table at ARGS[queue index] in Lua */
} tr_actreq;

struct tr_world {
  const tr_scenario *sc;
  const tr_instance *inst;
  double *val;               /* nslots live values */
  double *lo, *hi;           /* bounds (-inf/+inf when unbounded) */
  int *writer;               /* per slot: the actor whose policy may write it */
  int *out_off, *out_rel;    /* relations by FROM actor (CSR: the fixed ones in file */
  int *in_off, *in_rel;      /* order, then the run's drawn ones); likewise by TO actor */
  int capcsr[2];             /* room in out_rel, in_rel */
  /* Relations drawn in this run by the scenario's random rules
  ** (world_network): relation sc->nrels + i is run_rel[i], whose attributes
  ** hold the slots slot0 .. slot0 + nattrs - 1, after the scenario's. */
  struct tr_runrel { int from, to, rule, slot0; } *run_rel;
  int nrun, caprun;
  int *run_hash, run_hash_size;   /* open addressing over (from,to) -> i; -1 empty */
  int nslots, capslots;      /* this run's slots: sc->nslots, then the drawn relations' */
  void *edges;               /* net_edges reused across runs */
  int *policy_actors, npolicy; /* actors with a policy, in file order */
  int *order;                /* this tick's shuffled copy of policy_actors */
  tr_write *wbuf; int nw, capw;
  int *dirty, ndirty;        /* slots written from C since the last sync */
  unsigned char *is_dirty;
  tr_actreq *queue; int nq, capq;
  int tick, ticks, run, variant, point;
  uint64_t seed;
  void *rng;                 /* gsl_rng * */
  int end_request;           /* -1, or the outcome index world:end_run asked */
  unsigned char *event_done; /* per event: a `once` event has fired */
  tr_runresult *res;         /* where the run's rows go */
  int log_events;
  /* Populations, bounds and types (docs/scenario-format.md). */
  unsigned char *present;    /* per actor: in this run (population counts) */
  unsigned char *strict;     /* per slot: 0 plain clamp, 1 on_bound error or
                                reject, 2 integer (with or without those) */
  unsigned char *on_bound;   /* per slot: BOUND_* */
  int *dist;                 /* per slot: index in sc->dists, or -1 */
  long long rejected;        /* writes on_bound: reject dropped this run */
  struct { int slot; double value; int kind; } fault;  /* kind 0: none */
};

tr_world *world_new(const tr_scenario *sc);
void world_free(tr_world *w);
void world_reset(tr_world *w, const tr_instance *inst, int run, uint64_t seed);
/* Per run, after world_reset and before anything reads a relation: draws
** the network of every random rule in file order from the run's stream and
** lays its relations out (slots, pair look-up, adjacency). 0, or -1 with a
** message in buf. Nothing to do without random rules. */
int world_network(tr_world *w, char *buf, size_t size);
/* Relations of the run: 0 .. sc->nrels - 1 fixed, then the drawn ones. */
static inline int world_nrels(const tr_world *w) { return w->sc->nrels + w->nrun; }
static inline int world_rel_from(const tr_world *w, int r) {
  return r < w->sc->nrels ? w->sc->rels[r].from : w->run_rel[r - w->sc->nrels].from;
}
static inline int world_rel_to(const tr_world *w, int r) {
  return r < w->sc->nrels ? w->sc->rels[r].to : w->run_rel[r - w->sc->nrels].to;
}
const char *world_rel_kind(const tr_world *w, int r);
/* Attributes of relation r: attrs[i] lives in slot *base + attrs[i].slot. */
const tr_attrdecl *world_rel_attrs(const tr_world *w, int r, int *n, int *base);
/* Relation index of FROM->TO in this run, or -1. O(1). */
int world_rel_find(const tr_world *w, int from, int to);
/* Slot of relation r's attribute by name; -1 when absent (or r < 0). */
int world_rel_attr_slot(const tr_world *w, int r, const char *name);
/* Clamp to the slot's bounds; the caller has refused NaN and infinities. */
static inline double world_clamp(const tr_world *w, int slot, double v) {
  if (v < w->lo[slot]) return w->lo[slot];
  if (v > w->hi[slot]) return w->hi[slot];
  return v;
}
/* A write outside the bounds of an attribute with on_bound error or reject,
** or a fraction written to an integer attribute: world_store handles it. */
static inline int world_plain(const tr_world *w, int slot, double v) {
  if (!w->strict[slot]) return 1;
  if (v < w->lo[slot] || v > w->hi[slot]) return 0;
  return w->strict[slot] == 1 || v == floor(v);
}
int world_store(tr_world *w, int slot, double v);
/* Every write from C goes here: the slot is marked for the Lua mirror
** (script_sync copies it into the views before Lua next runs). A write
** that on_bound rejects is dropped and counted; one it refuses (or a
** fraction for an integer) is recorded in w->fault, which the tick raises
** as the run's error (world_fault_message). */
static inline void world_write(tr_world *w, int slot, double v) {
  if (!world_plain(w, slot, v) && world_store(w, slot, v)) return;
  w->val[slot] = world_clamp(w, slot, v);
  if (!w->is_dirty[slot]) {
    w->is_dirty[slot] = 1;
    w->dirty[w->ndirty++] = slot;
  }
}
/* The message of w->fault (and clears it); NULL when there is none. */
const char *world_fault_message(tr_world *w, char *buf, size_t size);
/* Per run: draw the attributes declared with a distribution, in slot
** order, from the run's stream; -1 with a message in buf when a draw falls
** outside its bounds. */
int world_draw(tr_world *w, char *buf, size_t size);
int world_buffer(tr_world *w, int slot, double v);      /* 0 or -1 (OOM) */
void world_apply_buffer(tr_world *w);
/* world_queue and world_log: 0, -1 out of memory, or -2: the queued
** actions and logged events would pass limits.memory_mb (WORLD_MEM_MSG). */
#define WORLD_MEM_MSG "memory limit exceeded (limits.memory_mb = %I): the actions queued in " \
  "this tick and the events logged in this run count towards it"
int world_queue(tr_world *w, int actor, int action, int target, int has_args);
int world_log(tr_world *w, int actor, const char *action, int target,
              const char *cameo, double goldstein, double value);

/* ------------------------------------------------------------- sandbox */
/* The Lua state of a worker: counted allocator, count hook, safe globals
** (docs/lua-api.md, "The sandbox"), the rng table. TR_LX(L) is the tr_lua that owns L. */
#define TR_LX(L) (*(tr_lua **)lua_getextraspace(L))
struct lua_State;
/* New state with the sandbox's template globals in the registry field
** "tr.template"; NULL when out of memory. */
struct lua_State *sandbox_new(tr_lua *lx);
/* A fresh global table for one run: a copy of the template's libraries
** (so no script can change what another run sees). Pushes it. */
void sandbox_push_run_globals(struct lua_State *L);
/* Make a read-only proxy of the table at the top of the stack (replaces it). */
void sandbox_readonly(struct lua_State *L);
/* Call with the instruction budget reset; errors propagate. */
void sandbox_call(struct lua_State *L, tr_lua *lx, int nargs, int nresults);
/* Message handler for lua_pcall: message plus traceback, safe for any
** error value. */
int sandbox_msgh(struct lua_State *L);
/* Compile a chunk; a policy or action script is wrapped so that calling the
** result with an environment table runs the script's top level in it. */
int sandbox_load(struct lua_State *L, const char *src, size_t len,
                 const char *chunkname, int wrap);

/* ----------------------------------------------------------------- lua */
/* One Lua state per worker thread, made once per scenario: views, the world
** object and compiled scripts live in it across runs; each run gets fresh
** script environments (docs/lua-api.md, "The tick") and is executed inside one protected call.
** Limits: every call into a script is bounded by sc->instr_limit VM
** instructions (count hook) and the state by sc->memory_mb (allocator). */
enum { MODE_NONE, MODE_INIT, MODE_DECIDE, MODE_ACTION, MODE_EVENT, MODE_EXPR };
enum { WHAT_NONE, WHAT_LOAD_POLICY, WHAT_LOAD_ACTION, WHAT_INIT, WHAT_DECIDE,
       WHAT_ACTION, WHAT_EVENT, WHAT_WHEN, WHAT_METRIC, WHAT_OUTCOME, WHAT_LOAD_HELPERS };

typedef struct tr_runerror {
  int failed;
  int tick, actor;           /* actor -1: not in a policy */
  char what[128];            /* "decide", "init", "action 'x'", "metric 'y'" */
  char *message;             /* with Lua traceback; malloc'd */
} tr_runerror;

struct tr_lua {
  void *L;                   /* lua_State * */
  const tr_scenario *sc;
  tr_world *w;
  size_t mem, mem_limit;
  long long instr, instr_limit;
  int limit_hit, mem_hit;    /* limit_hit: LIMIT_* of the limit that stopped the call */
  /* The CPU-time bound (watchdog.c): call_seq counts calls, in_call says
  ** one is in progress; the watchdog sets wd_fire_seq to the call to stop,
  ** or wd_interrupt after SIGINT/SIGTERM, then signals this state's thread. */
  unsigned long call_seq, wd_fire_seq;
  int in_call, wd_interrupt;
  long long cpu_limit_ns;
  int mem_fatal;             /* a memory error was raised (pcall cannot swallow it) */
  int mode, cur_actor;
  int what_kind, what_index;   /* WHAT_*: what is running, for messages */
  const tr_instance *params_for; /* instance whose params tables are built */
  struct tr_console *console;    /* where print() goes (NULL: stderr) */
  const char **slot_names;       /* per slot: its attribute name as interned in L */
  struct tr_viewent *vmap;       /* view table address -> kind, index (luaapi.c) */
  unsigned vmask;                /* vmap has vmask + 1 entries */
  /* Views of the relations drawn in a run, made when a script first asks
  ** for one and dropped when the next run begins (luaapi.c). */
  struct tr_viewent *rvmap;      /* like vmap; rvmask + 1 entries, rvn used */
  unsigned rvmask, rvn;
  int run_views_hi, run_slots_hi; /* relation numbers and slots they took, exclusive */
  int ids_ref;                   /* registry reference of the id -> index table */
  /* Object identities for pairs, next and tostring (sandbox.c, see
  ** docs/security.md "Reproducibility"): every table, function and
  ** userdata gets a number from a counter when Lua allocates it. */
  struct tr_idmap *ids;
  unsigned long long next_id, run_id_base, params_id_end;
  ptrdiff_t udata_off;           /* lua_topointer(userdata) - its allocation */
};

/* The terminal shared by workers' print() and the progress line: whole
** lines, never interleaved (experiment.c). */
typedef struct tr_console tr_console;
void console_write(tr_console *c, const char *s, size_t n);

tr_lua *script_new(const tr_scenario *sc, tr_world *w, tr_diag *d);
void script_free(tr_lua *lx);
/* Execute run `run` (1-based) of inst with seed; fills w->res. Returns 0, or
** -1 with err filled (err->message owned by the caller afterwards). */
int tick_run(tr_lua *lx, const tr_instance *inst, int run, uint64_t seed,
            tr_runerror *err);
/* Compile every script and expression of sc (tr_scenario_compile). */
int script_compile_all(const tr_scenario *sc, tr_diag *d);
/* Syntax errors only, for a scenario that did not validate (no state kept). */
void script_syntax_check(const tr_scenario *sc, tr_diag *d);
/* Inside a run's protected call: fresh environments for the run. */
void script_begin_run(struct lua_State *L, tr_lua *lx, const tr_instance *inst);
/* Copy the world's changed slots into the views Lua reads (see luaapi.c). */
void script_sync(struct lua_State *L, tr_lua *lx);
/* "decide of 'qatar'", "metric 'tension'", ... */
void script_describe(const tr_lua *lx, char *buf, size_t size);
/* Statistics (gini, sd, var, median, quantile) and read-only helpers
** (ipairs, pairs, select, table) into the expression table at env. */
void exprlib_register(struct lua_State *L, int env);
/* Restore the hooks after a run that hit a limit. */
void sandbox_reset_limits(struct lua_State *L, tr_lua *lx);
/* Object numbering of a run: called at the start of every run before the
** instance's params tables are (re)built (after_params 0) and after
** (after_params 1, built: they were rebuilt), so that the same run numbers
** its objects the same in any worker (docs/security.md "Reproducibility"). */
void sandbox_begin_run_ids(tr_lua *lx, int after_params, int built);
/* Charge `units` of work done in C to the current call's instruction count
** (raises the instruction-limit error past the limit). */
void sandbox_charge(struct lua_State *L, double units);
/* The signal (SIGINT or SIGTERM) that asked the experiment to stop, or 0;
** scripts stop at their next count-hook call or charged C call. */
int tr_interrupted(void);
/* Install the hook that stops the running call (async-signal-safe). */
void sandbox_arm_stop(tr_lua *lx);
enum { LIMIT_NONE, LIMIT_INSTR, LIMIT_CPU, LIMIT_INTERRUPT };

/* ------------------------------------------------------------ watchdog */
/* The CPU-time bound of calls into Lua, and interrupts (watchdog.c): the
** thread that runs a state registers it (and unregisters it before closing
** the state); watchdog_signal is for SIGINT/SIGTERM handlers. */
int watchdog_register(tr_lua *lx);
void watchdog_unregister(tr_lua *lx);
void watchdog_signal(void);
void watchdog_clear_signal(void);

/* -------------------------------------------------------------- output */
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
  const double *points;             /* npoints * sc->nsweep values, or NULL */
} tr_outspec;

/* spec is copied, but what it points to (sc, opts, names, points) must
** outlive the output. d receives every error, out_add_run's too, so it must
** outlive the output as well. After -1 from out_add_run, call out_abort.
** out_finish and out_abort both free o; after a failed out_finish the
** staging folder is already removed and the output folder untouched. */
tr_output *out_open(const tr_outspec *spec, tr_diag *d);
/* Name prefix of out_open's staging folders inside the output folder. */
#define OUT_STAGING_PREFIX ".tightrope-staging-"
int out_add_run(tr_output *o, const tr_runresult *r);  /* 0 or -1 */
/* --keep-going: a run that failed at `tick` (actor id or NULL), in order
** with the others; 0 or -1. */
int out_add_failed(tr_output *o, const tr_runresult *r, int tick, const char *actor,
                   const char *message, const char *replay);
int out_finish(tr_output *o, tr_diag *d);              /* 0 or -1 */
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
/* Shortest string that reads back to the same double (docs/output-files.md): plain
** digits unless they are longer than the exponent form ("1e-5", "1.5e21").
** Returns the length written, or -1 when size is too small
** (OUT_NUMBER_SIZE always suffices). */
#define OUT_NUMBER_SIZE 32
int out_format_number(char *buf, size_t size, double x);

/* -------------------------------------------------------------- replay */
/* Re-run run `run` of (variant, point) and print its trace; with runs_csv,
** compare its row. Returns an exit status. */
int replay_run(const tr_scenario *sc, const tr_options *opts, const char *variant, int point,
               int run, const char *runs_csv, tr_diag *d);

/* -------------------------------------------------------------- sqlite */
/* results.sqlite read back (sqlite.c). Table `table` written to csv_path as
** the CSV file it mirrors: 0, 1 when there is no such table, -1 on error
** (in d). */
int sqlite_export_csv(const char *db_path, const char *table, const char *csv_path, tr_diag *d);
/* The names of the database's tables (malloc'd, NULL-terminated); their
** number, or -1. */
int sqlite_tables(const char *db_path, char ***names);
/* Run (variant, point, run) of table runs as its runs.csv line (malloc'd,
** no newline), or NULL. */
char *sqlite_run_row(const char *db_path, const char *variant, int point, int run);

/* ------------------------------------------------------------- journal */
/* A run's result as bytes (journal records and MPI messages): header,
** finals, series, events, checksum. Native byte order: a journal is read
** back on the machine that wrote it, MPI ranks run one build. */
typedef struct tr_buf { unsigned char *data; size_t len, cap; } tr_buf;
int rec_encode(const tr_scenario *sc, const tr_runresult *r, long job, int with_series, tr_buf *out);
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
int journal_feed_ordered(tr_journal *j, int maxticks, long n,
                         long (*order)(const void *, long), const void *octx,
                         int (*feed)(void *, const tr_runresult *), void *ctx, tr_diag *d);
/* On --resume: feed(ctx, result) for each recovered run, in order; *done
** receives their number. 0 or -1. */
int journal_recover(tr_journal *j, int maxticks, long *done,
                    int (*feed)(void *, const tr_runresult *), void *ctx, tr_diag *d);
int journal_append(tr_journal *j, const tr_runresult *r, long job);   /* 0 or -1 */
/* Closes; remove != 0 deletes the partial folder (the experiment is done). */
void journal_close(tr_journal *j, int remove);

/* --------------------------------------------------------------- stats */
void stats_clopper_pearson(unsigned k, unsigned n, double conf,
                           double *lo, double *hi);
/* t-interval of the mean of x[0..n-1]; NaN bounds when n < 2. */
void stats_t_interval(const double *x, size_t n, double conf,
                      double *lo, double *hi);
/* The p-quantile (0..1) of sorted[0..n-1], interpolated between order
** statistics as gsl_stats_quantile_from_sorted_data does; NaN when n = 0. */
double stats_quantile_sorted(const double *sorted, size_t n, double p);
/* Summary of x[0..n-1] (finals.csv, series_summary.csv). Undefined
** statistics are NaN: everything when n = 0, sd and the interval when n < 2.
** mean and the t-interval (at conf; none when conf is not in (0,1)) are
** computed in the given order, then x is SORTED IN PLACE for the
** percentiles, min and max. */
typedef struct stats_summary {
  size_t n;
  double mean, sd;          /* sd with n - 1 */
  double ci_low, ci_high;   /* t-interval of the mean */
  double p05, p50, p95, min, max;
} stats_summary;
void stats_describe(double *x, size_t n, double conf, stats_summary *s);
/* Paired comparison (compare.csv): the mean of diffs[0..n-1] and its
** t-interval at conf. NaN bounds when n < 2; otherwise every difference
** equal (zero variance) gives exactly [mean, mean]. */
void stats_paired(const double *diffs, size_t n, double conf,
                  double *mean, double *lo, double *hi);
/* Sensitivity of y[0..n-1] to the k columns of x (n x k, row-major), as in
** sensitivity.csv: src[j] the standardised regression coefficient (least
** squares of standardised y on the standardised columns), prcc[j] the
** partial rank correlation coefficient (ranks, ties averaged; residuals of
** column j's and y's ranks regressed on the other columns' ranks with an
** intercept, then correlated). NaN when undefined: y or column j constant,
** n < (varying columns) + 2, residuals all zero. 0, or -1 out of memory. */
int stats_sensitivity(const double *x, size_t n, size_t k, const double *y,
                      double *src, double *prcc);
/* Sobol indices of the Saltelli design (docs/experiments.md): ya[N], yb[N]
** the responses of matrices A and B, yab[i*N + j] that of A_B^(i), row j.
** s1[i] first-order (Saltelli et al. 2010), st[i] total (Jansen 1999), and
** their conf intervals by a percentile bootstrap over the N base rows,
** nboot resamples drawn from rng (a gsl_rng *). NaN when undefined (a
** constant response, N < 2). 0, or -1 out of memory. */
int stats_sobol(const double *ya, const double *yb, const double *yab,
                size_t N, size_t k, size_t nboot, void *rng, double conf,
                double *s1, double *s1_lo, double *s1_hi,
                double *st, double *st_lo, double *st_hi);

/* -------------------------------------------------------------- report */
/* `tightrope report OUTDIR` (docs/cli.md, REPORT): reads the CSVs and manifest.yaml of
** a finished experiment and draws its charts with gnuplot into
** OUTDIR/report/ (SVG and PNG) plus OUTDIR/report/index.html. Returns an
** exit status: TR_OK; 1 when OUTDIR holds no finished results;
** TR_EOUTPUT when a file cannot be written, gnuplot is missing or fails.
** Messages go to d. */
int report_run(const char *outdir, tr_diag *d);
/* What `report` draws: NULL lists mean every name (docs/cli.md#report). */
typedef struct report_opts {
  const char *variants, *metrics, *outcomes;  /* comma lists, or NULL: all */
  int svg, png, pdf;                          /* image formats drawn */
  int verified;                               /* the folder was checked (out_verify) already */
} report_opts;
/* report_run with options (o NULL: the defaults). */
int report_run_opts(const char *outdir, const report_opts *o, tr_diag *d);
/* The report of a calibration's folder (calreport.c): posterior marginals
** per generation and the final population's pairwise scatter. */
int calreport_run(const char *outdir, tr_diag *d);
/* A CSV or a SQLite results folder (api.c), with options. */
int report_any(const char *outdir, const report_opts *o, tr_diag *d);


/* ------------------------------------------------------------- compose */
/* The YAML tree of the scenario at path with its `extends` bases merged in
** and the --sweep / --variants blocks (either may be NULL) put in place;
** every file read is appended to files. NULL on error (messages in d). */
ynode *compose_scenario(const char *path, const char *sweep_file, const char *variants_file,
                        tr_scenario_files *files, tr_diag *d);
int compose_files_add(tr_scenario_files *f, const char *path);   /* 0, or -1: no memory */
void compose_files_free(tr_scenario_files *f);
/* tr_scenario_load with --sweep / --variants files (either may be NULL) and
** the --set overrides (populations make room for a count set there). */
tr_scenario *scenario_load_with(const char *path, const char *sweep_file,
                                const char *variants_file, char *const *sets, int nsets,
                                tr_diag *d);

/* ------------------------------------------------------------ scaffold */
/* `tightrope new DIR`: writes a commented starter scenario, policy and
** action into DIR (missing or empty). A TR_* status; messages go to d. */
int scaffold_new(const char *dir, tr_diag *d);

#endif
