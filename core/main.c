/*
** main.c — the command line (SPEC §2): run, check, replay, report.
** Parses options into tr_options, loads and checks the scenario, and maps
** every failure to its exit status. Nothing below main calls exit().
*/
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#ifdef TR_MPI
#include <mpi.h>
static int tr_main(int argc, char **argv);
#endif

#include "internal.h"

static const char usage_text[] =
  "usage: tightrope run SCENARIO.yaml [options]     run the experiment, write CSVs\n"
  "       tightrope check SCENARIO.yaml             validate the scenario and compile every script\n"
  "       tightrope replay OUTDIR --run R [--variant V] [--point P]\n"
  "       tightrope replay SCENARIO.yaml --run R [--variant V] [--point P] [run options]\n"
  "       tightrope report OUTDIR [--variants A,B] [--metrics M,..] [--outcomes O,..]\n"
  "                        [--format svg|png|pdf]   draw the charts of a finished experiment\n"
  "       tightrope new DIR                         start a scenario folder (a commented example)\n"
  "       tightrope --help | --version\n"
  "\n"
  "run options:\n"
  "  -n, --runs N           runs per variant and point (default: experiment.runs, else 100)\n"
  "  -t, --ticks T          horizon (default: experiment.ticks)\n"
  "  -s, --seed S           master seed, unsigned 64-bit (default: experiment.seed, else 1)\n"
  "  -j, --threads N        worker threads; results never depend on N (default: cores)\n"
  "  -o, --out DIR          output folder (default: results/<scenario id>)\n"
  "      --set PATH=VALUE   override a parameter of the baseline (repeatable)\n"
  "      --variant NAME     run only these variants besides the baseline (repeatable)\n"
  "      --series all|summary|none   per-run series, per-tick summary, or neither (default: summary)\n"
  "      --events           write the event log (events.csv)\n"
  "      --quiet            no progress display\n"
  "      --resume           finish an interrupted experiment in --out\n"
  "      --sweep FILE       take the sweep block from FILE (a YAML file with one key, sweep:)\n"
  "      --variants FILE    take the variants block from FILE (one key, variants:)\n"
  "\n"
  "exit status: 0 success, 1 invalid scenario, 2 usage, 3 run-time error,\n"
  "             4 output not written, 130/143 interrupted (resumable)\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "tightrope: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see 'tightrope --help')\n");
  return TR_EUSAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (!*s || *s == '-' || *s == '+') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = (uint64_t)v;
  return 0;
}

typedef struct cli {
  const char *cmd, *scenario;
  int has_runs, has_ticks, has_seed, has_out;
  long runs, ticks;
  uint64_t seed;
  char *out;
  long run_index, point_index;   /* replay */
  int has_sets_from_cli, owned_sets; /* replay: --set values read from a manifest */
  const char *replay_variant;
  char *sweep_file, *variants_file;  /* --sweep, --variants (or a manifest's) */
  char *owned_sweep, *owned_variants;
  tr_options opts;
} cli;

/* "unknown option '--seeds' (did you mean '--seed'?)" over the long options. */
static int unknown_option(const char *arg, const struct option *longopts) {
  char word[128];
  snprintf(word, sizeof word, "%s", arg);
  char *eq = strchr(word, '=');
  if (eq) *eq = '\0';
  const char *bare = word;
  while (*bare == '-') bare++;
  const char *names[64];
  int n = 0;
  for (int i = 0; longopts[i].name && n < 64; i++) names[n++] = longopts[i].name;
  const char *s = diag_suggest(bare, names, n);
  fprintf(stderr, "tightrope: error: unknown option '%s'", word);
  if (s) fprintf(stderr, " (did you mean '--%s'?)", s);
  fprintf(stderr, "\n(see 'tightrope --help')\n");
  return TR_EUSAGE;
}

static int parse_options(int argc, char **argv, cli *c) {
  enum { O_SET = 256, O_VARIANT, O_SERIES, O_EVENTS, O_QUIET, O_RESUME, O_RUN, O_POINT,
         O_SWEEP, O_VARIANTS };
  static const struct option longopts[] = {
    {"runs", required_argument, 0, 'n'}, {"ticks", required_argument, 0, 't'},
    {"seed", required_argument, 0, 's'}, {"threads", required_argument, 0, 'j'},
    {"out", required_argument, 0, 'o'}, {"set", required_argument, 0, O_SET},
    {"variant", required_argument, 0, O_VARIANT}, {"series", required_argument, 0, O_SERIES},
    {"events", no_argument, 0, O_EVENTS}, {"quiet", no_argument, 0, O_QUIET},
    {"resume", no_argument, 0, O_RESUME}, {"run", required_argument, 0, O_RUN},
    {"point", required_argument, 0, O_POINT}, {"sweep", required_argument, 0, O_SWEEP},
    {"variants", required_argument, 0, O_VARIANTS}, {0, 0, 0, 0}};
  tr_options *o = &c->opts;
  o->sets = calloc((size_t)argc, sizeof *o->sets);
  o->variants = calloc((size_t)argc, sizeof *o->variants);
  if (!o->sets || !o->variants) return usage_error("%s", "out of memory");
  opterr = 0;
  optind = 2;
  int ch;
  long v;
  while ((ch = getopt_long(argc, argv, ":n:t:s:j:o:", longopts, NULL)) != -1) {
    switch (ch) {
      case 'n':
        if (parse_int(optarg, 1, INT_MAX, &v)) return usage_error("--runs takes a whole number >= 1, got '%s'", optarg);
        c->runs = v; c->has_runs = 1; break;
      case 't':
        if (parse_int(optarg, 0, 1000000000, &v)) return usage_error("--ticks takes a whole number >= 0, got '%s'", optarg);
        c->ticks = v; c->has_ticks = 1; break;
      case 's':
        if (parse_u64(optarg, &c->seed)) return usage_error("--seed takes an unsigned 64-bit integer, got '%s'", optarg);
        c->has_seed = 1; break;
      case 'j':
        if (parse_int(optarg, 1, 4096, &v)) return usage_error("--threads takes a whole number from 1 to 4096, got '%s'", optarg);
        o->threads = (int)v; break;
      case 'o': c->out = optarg; c->has_out = 1; break;
      case O_SET:
        if (!strchr(optarg, '=')) return usage_error("--set takes PATH=VALUE, got '%s'", optarg);
        o->sets[o->nsets++] = optarg; break;
      case O_VARIANT: o->variants[o->nvariants++] = optarg; break;
      case O_SERIES:
        if (strcmp(optarg, "all") == 0) o->series = SERIES_ALL;
        else if (strcmp(optarg, "summary") == 0) o->series = SERIES_SUMMARY;
        else if (strcmp(optarg, "none") == 0) o->series = SERIES_NONE;
        else return usage_error("--series takes all, summary or none, got '%s'", optarg);
        break;
      case O_EVENTS: o->events = 1; break;
      case O_QUIET: o->quiet = 1; break;
      case O_RESUME: o->resume = 1; break;
      case O_RUN:
        if (parse_int(optarg, 1, INT_MAX, &v)) return usage_error("--run takes a run number >= 1, got '%s'", optarg);
        c->run_index = v; break;
      case O_POINT:
        if (parse_int(optarg, 1, INT_MAX, &v)) return usage_error("--point takes a point number >= 1, got '%s'", optarg);
        c->point_index = v; break;
      case O_SWEEP: c->sweep_file = optarg; break;
      case O_VARIANTS: c->variants_file = optarg; break;
      case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
      default: return unknown_option(argv[optind - 1], longopts);
    }
  }
  if (optind >= argc) return usage_error("%s needs a scenario file", c->cmd);
  c->scenario = argv[optind++];
  if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
  return 0;
}

/* Resolve options against the scenario. 0, or an exit status. */
static int resolve(cli *c, const tr_scenario *sc) {
  tr_options *o = &c->opts;
  o->runs = c->has_runs ? (int)c->runs : sc->has_runs ? sc->runs : 100;
  o->ticks = c->has_ticks ? (int)c->ticks : sc->has_ticks ? sc->ticks : 100;
  o->seed = c->has_seed ? c->seed : sc->has_seed ? sc->seed : 1;
  if (o->threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = n > 0 ? (int)n : 1;
  }
  for (int i = 0; i < o->nvariants; i++) {
    int found = 0;
    const char *names[sc->nvariants + 1];
    for (int v = 0; v < sc->nvariants; v++) {
      names[v] = sc->variants[v].name;
      if (strcmp(names[v], o->variants[i]) == 0) found = 1;
    }
    if (!found) {
      const char *s = diag_suggest(o->variants[i], names, sc->nvariants);
      fprintf(stderr, "tightrope: error: --variant %s: no such variant in %s%s%s%s\n", o->variants[i],
              sc->path, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
      return TR_EUSAGE;
    }
  }
  static char outbuf[4096];
  if (c->has_out) o->out = c->out;
  else {
    snprintf(outbuf, sizeof outbuf, "results/%s", sc->id);
    o->out = outbuf;
  }
  return 0;
}

static int cmd_check(cli *c) {
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = scenario_load_with(c->scenario, c->sweep_file, c->variants_file,
                                       c->opts.sets, c->opts.nsets, d);
  int status = TR_OK;
  if (!sc || tr_scenario_compile(sc, d)) {
    status = TR_EINVALID;
  } else {
    int r = resolve(c, sc);
    if (r) status = r;
    else {
      tr_plan plan;
      if (exp_plan(sc, &c->opts, &plan, d)) status = TR_EINVALID;
      else
        printf("%s: ok: %d actors, %d relations, %d metrics, %d outcomes, %d variants, %d sweep points\n",
               c->scenario, sc->nactors, sc->nrels, sc->nmetrics, sc->noutcomes, sc->nvariants,
               plan.npoints);
      exp_plan_free(&plan);
    }
  }
  tr_diag_print(d, stderr);
  if (status == TR_EINVALID && tr_diag_count(d))
    fprintf(stderr, "%s: %d error%s\n", c->scenario, tr_diag_count(d), tr_diag_count(d) == 1 ? "" : "s");
  tr_diag_free(d);
  tr_scenario_free(sc);
  return status;
}

/* Under MPI every rank loads the scenario; only rank 0 speaks. */
static int is_root(void) {
#ifdef TR_MPI
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank == 0;
#else
  return 1;
#endif
}

static int cmd_run(cli *c) {
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = scenario_load_with(c->scenario, c->sweep_file, c->variants_file,
                                       c->opts.sets, c->opts.nsets, d);
  int status;
  if (!sc || tr_scenario_compile(sc, d)) {
    status = TR_EINVALID;
  } else if ((status = resolve(c, sc)) == 0) {
    status = tr_experiment_run(sc, &c->opts, d);
  }
  if (is_root()) tr_diag_print(d, stderr);
  if (status == TR_OK && !c->opts.quiet && isatty(STDERR_FILENO))
    fprintf(stderr, "tightrope: results in %s\n", c->opts.out);
  tr_diag_free(d);
  tr_scenario_free(sc);
  return status;
}

/* Settings of a finished experiment from OUTDIR/manifest.yaml. */
static int read_manifest(cli *c, const char *outdir, char **scenario, tr_diag *d) {
  char *path = NULL;
  if (asprintf(&path, "%s/manifest.yaml", outdir) < 0) return TR_EOUTPUT;
  ynode *m = ynode_load_file(path, d);
  int status = TR_OK;
  const ynode *scen = m ? ynode_get(m, "scenario") : NULL;
  const ynode *set = m ? ynode_get(m, "settings") : NULL;
  const ynode *file = scen ? ynode_get(scen, "abspath") : NULL;
  if (!file && scen) file = ynode_get(scen, "path");
  const ynode *seed = set ? ynode_get(set, "seed") : NULL;
  const ynode *ticks = set ? ynode_get(set, "ticks") : NULL;
  const ynode *sets = set ? ynode_get(set, "set") : NULL;
  const ynode *sweep = scen ? ynode_get(scen, "sweep_file") : NULL;
  const ynode *variants = scen ? ynode_get(scen, "variants_file") : NULL;
  if (!m || !file || file->type != YN_SCALAR || !seed || seed->type != YN_SCALAR ||
      parse_u64(seed->str, &c->seed) || !ticks || ticks->type != YN_SCALAR ||
      parse_int(ticks->str, 0, 1000000000, &c->ticks)) {
    if (m) diag_error(d, path, 0, 0, "not a tightrope manifest (scenario path, seed or ticks missing)");
    status = TR_EUSAGE;
  } else {
    c->has_seed = c->has_ticks = 1;
    *scenario = strdup(file->str);
    if (sweep && sweep->type == YN_SCALAR) c->sweep_file = c->owned_sweep = strdup(sweep->str);
    if (variants && variants->type == YN_SCALAR)
      c->variants_file = c->owned_variants = strdup(variants->str);
    int nset = sets && sets->type == YN_SEQ ? sets->n : 0;
    char **ns = realloc(c->opts.sets, (size_t)(c->opts.nsets + nset + 1) * sizeof *ns);
    if (!ns) nset = 0;
    else c->opts.sets = ns;
    for (int i = 0; i < nset; i++)
      if (sets->items[i]->type == YN_SCALAR && !c->has_sets_from_cli)
        c->opts.sets[c->opts.nsets++] = strdup(sets->items[i]->str);
    c->owned_sets = c->opts.nsets;
  }
  ynode_free(m);
  free(path);
  return status;
}

static int cmd_replay(cli *c) {
  tr_diag *d = tr_diag_new();
  int status = TR_OK;
  char *scenario = NULL, *runs_csv = NULL;
  tr_scenario *sc = NULL;
  struct stat st;
  if (c->run_index < 1) {
    status = usage_error("%s", "replay needs --run R");
    goto out;
  }
  if (c->opts.nvariants > 1) {
    status = usage_error("%s", "replay takes one --variant");
    goto out;
  }
  if (stat(c->scenario, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (c->opts.nsets || c->has_seed || c->has_ticks) {
      status = usage_error("replay %s: run options come from its manifest.yaml; give the "
                           "scenario file instead to change them", c->scenario);
      goto out;
    }
    status = read_manifest(c, c->scenario, &scenario, d);
    if (status) goto out;
    if (asprintf(&runs_csv, "%s/runs.csv", c->scenario) < 0) runs_csv = NULL;
  } else if (stat(c->scenario, &st) != 0) {
    status = usage_error("replay %s: no such output folder or scenario file", c->scenario);
    goto out;
  } else {
    scenario = strdup(c->scenario);
  }
  sc = scenario_load_with(scenario, c->sweep_file, c->variants_file,
                                       c->opts.sets, c->opts.nsets, d);
  if (!sc || tr_scenario_compile(sc, d)) { status = TR_EINVALID; goto out; }
  const char *variant = c->opts.nvariants ? c->opts.variants[0] : NULL;
  c->opts.nvariants = 0;   /* replay looks the variant up itself */
  if ((status = resolve(c, sc)) != 0) goto out;
  status = replay_run(sc, &c->opts, variant, c->point_index ? (int)c->point_index : 1,
                      (int)c->run_index, runs_csv, d);
out:
  tr_diag_print(d, stderr);
  tr_diag_free(d);
  tr_scenario_free(sc);
  free(scenario);
  free(runs_csv);
  return status;
}

int tr_scenario_compile(const tr_scenario *sc, tr_diag *d) {
  return script_compile_all(sc, d);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_text, stderr);
    return TR_EUSAGE;
  }
#ifdef TR_MPI
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int status = tr_main(argc, argv);
  MPI_Finalize();
  return status;
}

static int tr_main(int argc, char **argv) {
#endif
  gsl_set_error_handler_off();   /* GSL reports through return values, never aborts */
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    return TR_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("tightrope %s\n", TR_VERSION);
    return TR_OK;
  }
  cli c;
  memset(&c, 0, sizeof c);
  c.cmd = cmd;
  /* getopt permutes argv: keep the command as typed for the manifest. */
  char **typed = calloc((size_t)argc + 1, sizeof *typed);
  for (int i = 0; typed && i < argc; i++) typed[i] = argv[i];
  c.opts.argc = argc;
  c.opts.argv = typed ? typed : argv;
  c.opts.series = SERIES_SUMMARY;
  int status;
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "replay") == 0) {
    status = parse_options(argc, argv, &c);
    if (status == 0)
      status = strcmp(cmd, "run") == 0 ? cmd_run(&c) : strcmp(cmd, "check") == 0 ? cmd_check(&c)
                                                                                : cmd_replay(&c);
  } else if (strcmp(cmd, "report") == 0) {
    /* report OUTDIR [options]: parsed in report.c */
    tr_diag *d = tr_diag_new();
    status = report_main(argc, argv, d);
    tr_diag_print(d, stderr);
    tr_diag_free(d);
    if (status == TR_EUSAGE)
      fprintf(stderr, "(see 'tightrope --help')\n");
  } else if (strcmp(cmd, "new") == 0) {
    if (argc != 3 || argv[2][0] == '-') {
      status = usage_error("%s", "new takes one argument: tightrope new DIR");
    } else {
      tr_diag *d = tr_diag_new();
      status = scaffold_new(argv[2], d);
      tr_diag_print(d, stderr);
      tr_diag_free(d);
    }
  } else {
    static const char *const cmds[] = {"run", "check", "replay", "report", "new"};
    const char *s = diag_suggest(cmd, cmds, 5);
    fprintf(stderr, "tightrope: error: unknown command '%s'%s%s%s\n(see 'tightrope --help')\n", cmd,
            s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    status = TR_EUSAGE;
  }
  for (int i = 0; i < c.owned_sets; i++) free(c.opts.sets[i]);
  free(c.opts.sets);
  free(c.opts.variants);
  free(c.owned_sweep);
  free(c.owned_variants);
  free(typed);
  return status;
}
