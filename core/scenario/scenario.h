/* scenario.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_SCENARIO_H
#define TR_SCENARIO_SCENARIO_H

#include "base/common.h"
#include "base/diag.h"

enum { ROLE_MEDIATOR, ROLE_PATRON, ROLE_PROXY, ROLE_STATE, ROLE_COUNT };
extern const char *const tr_role_names[ROLE_COUNT];

/* A generic YAML value (actor params), handed to Lua as a read-only table. */
enum { TV_NULL, TV_BOOL, TV_NUM, TV_STR, TV_SEQ, TV_MAP };
typedef struct tr_value tr_value;
struct tr_value {
  int type;
  double num;      /* TV_NUM, TV_BOOL (0/1) */
  char *str;       /* TV_STR */
  int n;           /* TV_SEQ, TV_MAP */
  char **keys;     /* TV_MAP */
  tr_value *items; /* TV_SEQ, TV_MAP: n values */
  int line, col;
  int key_line, key_col; /* an item of a TV_MAP: the place of its key */
};

/* A parameter a policy or action script declares (docs/lua-api.md,
** "Declaring parameters"): checked against the actors' `params:`, paths and
** --set before anything runs (params.c). */
enum { PT_NUMBER, PT_INTEGER, PT_STRING, PT_LIST, PT_ACTOR, PT_ANY, PT_COUNT };
extern const char *const tr_param_types[PT_COUNT];
typedef struct tr_paramdecl {
  char *name, *doc;
  int type;  /* PT_* */
  int items; /* PT_LIST: type of each item, or -1 for any */
  int has_default;
  tr_value def; /* when has_default */
  int has_min, has_max;
  double min, max;
  int line; /* of the declare call in the script */
} tr_paramdecl;

enum { SD_NONE, SD_DECLARED, SD_UNKNOWN };
typedef struct tr_scriptdecl {
  char *path; /* resolved script path */
  int state;  /* SD_NONE: declares nothing; SD_UNKNOWN: its top level failed */
  tr_paramdecl *params;
  int nparams;
  int shared, shared_line; /* declare {shared = true}: one instance per run (docs/lua-api.md) */
} tr_scriptdecl;
/* What a write outside an attribute's bounds does (docs/scenario-format.md). */
enum { BOUND_CLAMP, BOUND_ERROR, BOUND_REJECT };

/* A distribution an attribute's starting value is drawn from, per run. */
enum { DIST_UNIFORM, DIST_NORMAL, DIST_BETA, DIST_LOGNORMAL, DIST_CHOICE, DIST_POISSON };
typedef struct tr_distdecl {
  int kind;
  double a, b; /* uniform low/high, normal mean/sd, beta a/b,
                             lognormal zeta/sigma, poisson mean */
  double *values, *weights;
  int nvalues; /* choice (weights NULL: equal) */
  int line, col;
} tr_distdecl;

typedef struct tr_attrdecl {
  char *name;
  double value, min, max; /* min/max are -inf/+inf when unbounded */
  int bounded;
  int slot; /* index into the world's value array */
  int line, col;
  int on_bound; /* BOUND_* */
  int integer;  /* type: integer (whole numbers only) */
  int dist;     /* index in sc->dists, or -1: the value is fixed */
} tr_attrdecl;

/* A population: `count` actors made from one entry of `actors`. Its members
** are the actors first .. first+cap-1, ids from the pattern numbered from 1;
** an instance uses the first `count` of them (docs/scenario-format.md). */
typedef struct tr_popdecl {
  char *name;            /* the key in `actors`; paths NAME.count */
  int first, cap, count; /* count: the file's */
  int line, col;
  int ruled; /* relations by rule join its members: count fixed */
} tr_popdecl;

typedef struct tr_actordecl {
  char *id, *name; /* name defaults to id */
  int role;
  tr_attrdecl *attrs;
  int nattrs;
  char *policy; /* resolved script path, or NULL: passive */
  int policy_line, policy_col;
  tr_value params; /* TV_MAP, or TV_NULL when absent */
  int line, col;
  int pop, member; /* population index and 1-based number, or -1, 0 */
} tr_actordecl;

typedef struct tr_reldecl {
  int from, to; /* actor indices */
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
#define TR_MAX_RELS 20000000 /* relations of a scenario, and of one run */
typedef struct tr_netrule {
  int rule;           /* NET_K_RANDOM, NET_ERDOS_RENYI or NET_BARABASI_ALBERT */
  int f0, nf, t0, nt; /* FROM members: actors f0 .. f0+nf-1; TO likewise */
  int same;           /* FROM and TO are one population */
  int k, m;           /* k_random: k; barabasi_albert: m */
  double p;           /* erdos_renyi: p */
  char *kind;         /* "" when none */
  tr_attrdecl *attrs; /* every drawn relation's attributes; here .slot is */
  int nattrs;         /* the offset from the relation's first slot (0..nattrs-1) */
  int line, col;
} tr_netrule;

typedef struct tr_actiondecl {
  char *name;
  char *script;  /* resolved path (Lua action), NULL for built-ins */
  char cameo[8]; /* "" when none */
  double goldstein;
  int has_goldstein;
  int builtin; /* index into model_actions, or -1 for Lua */
  int line, col;
} tr_actiondecl;

/* A path names one number of the scenario (docs/scenario-format.md, "Paths"). */
enum { PATH_ACTOR_ATTR, PATH_REL_ATTR, PATH_PARAM, PATH_MODEL, PATH_TICKS, PATH_COUNT };
typedef struct tr_path {
  int kind;
  int actor;  /* PATH_ACTOR_ATTR, PATH_PARAM */
  int rel;    /* PATH_REL_ATTR */
  int attr;   /* index in the actor's/relation's attrs */
  int slot;   /* world slot of an attribute path, else -1 */
  char *key;  /* PATH_PARAM: the key after "params." (may hold dots) */
  int model;  /* PATH_MODEL: index in sc->model */
  int pop;    /* PATH_COUNT: index in sc->pops */
  char *text; /* as written */
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
  char *when; /* expression or NULL */
  int when_line, when_col;
  int when_quoted;    /* the YAML value was quoted (check.c places names) */
  tr_change *changes; /* set/add in file order (attribute paths only) */
  int nchanges;
  char *lua; /* snippet or NULL */
  int lua_line, lua_col;
  int once;
  char cameo[8];
  double goldstein;
  int has_goldstein;
  int line, col;
} tr_eventdecl;

typedef struct tr_exprdecl { /* a metric or an outcome */
  char *name, *expr;
  char *description; /* NULL when the scenario gives none */
  int line, col;     /* place of the expression */
  int quoted;        /* the YAML value was quoted (check.c places names) */
  int name_line, name_col;
  int by_name; /* metric: visible by name to expressions (check.c) */
  int summary; /* a calibration summary (calibrate:), checked like a metric */
} tr_exprdecl;

typedef struct tr_variantdecl {
  char *name, *description;
  int activation; /* ACT_*, or -1: the experiment's */
  tr_change *changes;
  int nchanges;
  int line, col;
} tr_variantdecl;

enum { SWEEP_NONE, SWEEP_GRID, SWEEP_SOBOL, SWEEP_LHS, SWEEP_RANDOM, SWEEP_FILE, SWEEP_SALTELLI };
typedef struct tr_sweepparam {
  tr_path path;
  int is_range; /* {min, max[, steps]} */
  double min, max;
  int steps;      /* grid range: number of values */
  double *values; /* explicit list, or the grid's values */
  int nvalues;
  int line, col;
} tr_sweepparam;

typedef struct tr_modelparam {
  const char *name; /* static storage (model.c's table) */
  double value;
  const char *range; /* "LO..HI", either side may be empty (unbounded);
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
  int dist;      /* PRIOR_* */
  double a, b;   /* uniform: min, max; normal: mean, sd; lognormal: zeta,
                             sigma; beta: a, b (on [lo, hi]) */
  double lo, hi; /* the support (beta: its interval, default [0, 1]) */
  int line, col;
} tr_prior;

enum { DIST_EUCLIDEAN_SCALED, DIST_EUCLIDEAN };
typedef struct tr_calibdecl {
  int present;
  int particles, generations;
  double tol_final; /* 0 when not given: run every generation unless reached */
  int has_tol_final;
  double alpha; /* quantile of the previous distances: the next tolerance */
  tr_prior *priors;
  int npriors;
  tr_exprdecl *summaries;
  int nsummaries;
  double *observed;    /* nsummaries values, in summary order */
  char *observed_file; /* when read from a CSV file (absolute or as resolved) */
  int distance;        /* DIST_* */
  int line, col;
} tr_calibdecl;

struct tr_scenario {
  char *path; /* as given on the command line */
  char *dir;  /* its folder, for script lookup */
  char *id, *title, *description;
  int ticks, runs;
  int has_ticks, has_runs, has_seed;
  uint64_t seed;
  char *tick_unit;
  long long instr_limit; /* limits.instructions, per Lua call (0: not counted) */
  long long cpu_ms;      /* limits.cpu_ms, CPU time per Lua call */
  long long memory_mb;   /* limits.memory_mb, per Lua state */
  double precision;      /* experiment.precision, 0 when absent */
  int batch;             /* experiment.batch, 0 when absent */

  tr_modelparam *model; /* every model parameter, defaults filled in */
  int nmodel;

  tr_actordecl *actors;
  int nactors;
  tr_reldecl *rels;
  int nrels; /* relations fixed for every run */
  tr_netrule *netrules;
  int nnetrules; /* random rules: relations drawn per run */
  char **kinds;
  int nkinds; /* declared under `kinds:` */
  tr_scriptdecl *scripts;
  int nscripts; /* parameter declarations, per script */
  tr_actiondecl *actions;
  int nactions; /* Lua actions then built-ins */
  tr_eventdecl *events;
  int nevents;
  tr_exprdecl *metrics;
  int nmetrics;
  tr_exprdecl *outcomes;
  int noutcomes;
  char *default_outcome; /* "horizon" unless given */
  tr_variantdecl *variants;
  int nvariants;

  int sweep_method; /* SWEEP_* */
  int sweep_points; /* sobol/lhs/random; file: the design's rows; saltelli: N, the base rows */
  tr_sweepparam *sweep;
  int nsweep;

  /* Layout of the world's value array: actor attrs, then relation attrs. */
  int nslots;
  int *rel_hash;           /* open addressing over (from,to) -> rel index */
  int rel_hash_size;       /* power of two; -1 marks an empty bucket */
  char sha256[65];         /* of the scenario file, hex; over every file when composed */
  tr_scenario_files files; /* what it was read from (files.n >= 1) */
  tr_calibdecl calib;      /* calibrate: (calib.present 0 when absent) */
  int counts_events;       /* an expression calls events_count: runs keep their events */
  char *sweep_file;        /* --sweep FILE, or NULL */
  char *variants_file;     /* --variants FILE, or NULL */

  /* Roles: the four built-in ones (ROLE_*), then any other role names in
  ** the order first used; an actor's role indexes this list. */
  char **roles;
  int nroles;
  tr_popdecl *pops;
  int npops;
  tr_distdecl *dists;
  int ndists;
  int activation; /* ACT_* */
  char *helpers;  /* resolved path of the helpers file, or NULL */
  int helpers_line, helpers_col;
};

/* experiment.activation (docs/scenario-format.md#activation-order). */
enum { ACT_SYNCHRONOUS, ACT_RANDOM_SEQUENTIAL, ACT_SEQUENTIAL };


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

/* What validating a scenario needs from the Lua layer above it (run/):
** reading the parameters each script declares (run/declare.c:
** params_collect, which records them into sc->scripts and returns the
** count of errors in declarations), and compiling the scripts of a
** scenario with errors so that their syntax errors come with the YAML's,
** all at once (script_syntax_check). The caller passes them down
** (app/api.c: script_checks); NULL checks nothing of the scripts. */
typedef struct tr_lua_checks {
  int (*collect_params)(tr_scenario *sc, tr_diag *d);
  void (*syntax_check)(const tr_scenario *sc, tr_diag *d);
} tr_lua_checks;

/* Parameter declarations (params.c): params_check_actors checks every
** actor's `params:` against its policy's declarations. */
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
/* A value against a declaration: 0, or -1 with err and *at (the offending
** value or list item); and freeing a value (run/declare.c uses both). */
int params_value_fits(const tr_scenario *sc, const tr_paramdecl *p, const tr_value *v,
                      const char *what, char *err, size_t size, const tr_value **at);
void params_value_free(tr_value *v);

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
int scen_path_parse(const tr_scenario *sc, const char *text, tr_path *out, char *err,
                    size_t errsize);
void scen_path_free(tr_path *p);
/* 1 when a and b name the same value (attribute slot, model key, param). */
int scen_path_same(const tr_path *a, const tr_path *b);
/* Slot of an actor's / a relation's attribute by name; -1 when absent. */
int scen_attr_slot(const tr_scenario *sc, int actor, const char *name);
int scen_rel_attr_slot(const tr_scenario *sc, int rel, const char *name);

#endif
