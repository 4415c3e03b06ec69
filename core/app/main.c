/*
** main.c — the command line (docs/cli.md): run, check, replay, report.
** Parses options into a tr_options, loads and checks the scenario, and maps
** every failure to its exit status. It uses the public API of tightrope.h
** only, as any program linked with libtightrope could (docs/c-api.md).
** Nothing below main calls exit().
*/
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef TR_MPI
#include <mpi.h>
static int tr_main(int argc, char **argv);
#endif

#include "tightrope.h"

static const char usage_text[] =
    "usage: tightrope run SCENARIO.yaml [options]     run the experiment, write its results\n"
    "       tightrope check SCENARIO.yaml             validate the scenario and compile every "
    "script\n"
    "       tightrope replay OUTDIR --run R [--variant V] [--point P]\n"
    "       tightrope replay SCENARIO.yaml --run R [--variant V] [--point P] [run options]\n"
    "       tightrope report OUTDIR [--variants A,B] [--metrics M,..] [--outcomes O,..]\n"
    "                        [--format svg|png|pdf]   draw the charts of a finished experiment\n"
    "       tightrope new DIR                         start a scenario folder (a commented "
    "example)\n"
    "       tightrope calibrate SCENARIO.yaml [-o OUT] [-s S] [-j N] [--resume]   fit the "
    "calibrate: block (ABC-SMC)\n"
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
    "      --series all|summary|none   per-run series, per-tick summary, or neither (default: "
    "summary)\n"
    "      --events           write the event log (events.csv)\n"
    "      --format csv|sqlite|both   CSV files, results.sqlite, or both (default: csv)\n"
    "      --sqlite           the same as --format sqlite\n"
    "      --quiet            no progress display\n"
    "      --resume           finish an interrupted experiment in --out\n"
    "      --keep-going       record a failing run (errors.csv) and finish the others; exit 3\n"
    "      --strict           treat warnings as errors (check and run)\n"
    "      --force            write into an existing folder that holds files with result names\n"
    "      --precision H      run batches until every outcome share's 95% interval has\n"
    "                         half-width <= H (0 < H <= 0.5); -n is the ceiling (default 10000)\n"
    "      --batch B          runs per batch with --precision (default: experiment.batch, else "
    "100)\n"
    "      --sweep FILE       take the sweep block from FILE (a YAML file with one key, sweep:)\n"
    "      --variants FILE    take the variants block from FILE (one key, variants:)\n"
    "      --posterior FILE   draw each run's parameters from a calibration's posterior.csv\n"
    "\n"
    "exit status: 0 success, 1 invalid scenario, 2 usage, 3 run-time error,\n"
    "             4 output not written, 130/143 interrupted (resumable)\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "tightrope: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see 'tightrope --help')\n");
  return TR_EUSAGE;
}

/* report OUTDIR [--variants A,B] [--metrics ...] [--outcomes ...]
** [--format svg|png|pdf] (docs/cli.md#report); NAME=VALUE or NAME VALUE. */
static int cmd_report(int argc, char **argv) {
  static const char *const names[] = {"--variants", "--metrics", "--outcomes", "--format"};
  const char *value[4] = {NULL, NULL, NULL, NULL}, *outdir = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    int which = -1;
    if (a[0] != '-') {
      if (outdir)
        return usage_error("%s", "report takes one folder: tightrope report OUTDIR [options]");
      outdir = a;
      continue;
    }
    for (int k = 0; k < 4; k++)
      if (strlen(names[k]) == klen && strncmp(a, names[k], klen) == 0) which = k;
    if (which < 0) {
      char word[128];
      snprintf(word, sizeof word, "%.*s", (int)(klen < 127 ? klen : 127), a);
      char hint[160] = "";
      tr_did_you_mean(hint, sizeof hint, word, names, 4);
      fprintf(stderr, "tightrope: error: report: unknown option '%s'%s\n(see 'tightrope --help')\n",
              word, hint);
      return TR_EUSAGE;
    }
    value[which] = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!value[which] || !*value[which])
      return usage_error("report: %s needs a value", names[which]);
  }
  if (!outdir)
    return usage_error("%s", "report takes one folder: tightrope report OUTDIR [options]");
  tr_diag *d = tr_diag_new();
  int status = tr_report_with(outdir, value[0], value[1], value[2], value[3], d);
  tr_diag_print(d, stderr);
  tr_diag_free(d);
  if (status == TR_EUSAGE) fprintf(stderr, "(see 'tightrope --help')\n");
  return status;
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
  int has_ticks, has_seed, has_sets; /* replay: refused with an output folder */
  long run_index, point_index;       /* replay */
  const char *replay_variant;
  int nvariants, quiet;
  tr_options *opts;
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
  const char *s = tr_suggest(bare, names, n);
  fprintf(stderr, "tightrope: error: unknown option '%s'", word);
  if (s) fprintf(stderr, " (did you mean '--%s'?)", s);
  fprintf(stderr, "\n(see 'tightrope --help')\n");
  return TR_EUSAGE;
}

/* The options after a command's name into c (and its output folder into *out); 0, or a usage
** error. Long: one getopt_long loop with a case per option; each case is a line or two, and
** splitting the switch would scatter the table of options from their handling. */
static int parse_options(int argc, char **argv, cli *c, const char **out) {
  enum {
    O_SET = 256,
    O_VARIANT,
    O_SERIES,
    O_EVENTS,
    O_QUIET,
    O_RESUME,
    O_RUN,
    O_POINT,
    O_FORMAT,
    O_SQLITE,
    O_SWEEP,
    O_VARIANTS,
    O_KEEP_GOING,
    O_STRICT,
    O_FORCE,
    O_PRECISION,
    O_BATCH,
    O_POSTERIOR
  };
  static const struct option longopts[] = {{"runs", required_argument, 0, 'n'},
                                           {"ticks", required_argument, 0, 't'},
                                           {"seed", required_argument, 0, 's'},
                                           {"threads", required_argument, 0, 'j'},
                                           {"out", required_argument, 0, 'o'},
                                           {"set", required_argument, 0, O_SET},
                                           {"variant", required_argument, 0, O_VARIANT},
                                           {"series", required_argument, 0, O_SERIES},
                                           {"events", no_argument, 0, O_EVENTS},
                                           {"quiet", no_argument, 0, O_QUIET},
                                           {"resume", no_argument, 0, O_RESUME},
                                           {"run", required_argument, 0, O_RUN},
                                           {"point", required_argument, 0, O_POINT},
                                           {"format", required_argument, 0, O_FORMAT},
                                           {"sqlite", no_argument, 0, O_SQLITE},
                                           {"sweep", required_argument, 0, O_SWEEP},
                                           {"variants", required_argument, 0, O_VARIANTS},
                                           {"keep-going", no_argument, 0, O_KEEP_GOING},
                                           {"strict", no_argument, 0, O_STRICT},
                                           {"force", no_argument, 0, O_FORCE},
                                           {"precision", required_argument, 0, O_PRECISION},
                                           {"batch", required_argument, 0, O_BATCH},
                                           {"posterior", required_argument, 0, O_POSTERIOR},
                                           {0, 0, 0, 0}};
  tr_options *o = c->opts;
  opterr = 0;
  optind = 2;
  int ch;
  long v;
  uint64_t seed;
  while ((ch = getopt_long(argc, argv, ":n:t:s:j:o:", longopts, NULL)) != -1) {
    switch (ch) {
      case 'n':
        if (parse_int(optarg, 1, INT_MAX, &v))
          return usage_error("--runs takes a whole number >= 1, got '%s'", optarg);
        tr_options_set_runs(o, (int)v);
        break;
      case 't':
        if (parse_int(optarg, 0, 1000000000, &v))
          return usage_error("--ticks takes a whole number >= 0, got '%s'", optarg);
        tr_options_set_ticks(o, (int)v);
        c->has_ticks = 1;
        break;
      case 's':
        if (parse_u64(optarg, &seed))
          return usage_error("--seed takes an unsigned 64-bit integer, got '%s'", optarg);
        tr_options_set_seed(o, seed);
        c->has_seed = 1;
        break;
      case 'j':
        if (parse_int(optarg, 1, 4096, &v))
          return usage_error("--threads takes a whole number from 1 to 4096, got '%s'", optarg);
        tr_options_set_threads(o, (int)v);
        break;
      case 'o':
        *out = optarg;
        if (tr_options_set_out(o, optarg)) return usage_error("%s", "out of memory");
        break;
      case O_SET:
        if (!strchr(optarg, '=')) return usage_error("--set takes PATH=VALUE, got '%s'", optarg);
        if (tr_options_add_set(o, optarg)) return usage_error("%s", "out of memory");
        c->has_sets = 1;
        break;
      case O_VARIANT:
        if (tr_options_add_variant(o, optarg)) return usage_error("%s", "out of memory");
        if (c->nvariants++ == 0) c->replay_variant = optarg;
        break;
      case O_SERIES:
        if (strcmp(optarg, "all") == 0) tr_options_set_series(o, TR_SERIES_ALL);
        else if (strcmp(optarg, "summary") == 0) tr_options_set_series(o, TR_SERIES_SUMMARY);
        else if (strcmp(optarg, "none") == 0) tr_options_set_series(o, TR_SERIES_NONE);
        else return usage_error("--series takes all, summary or none, got '%s'", optarg);
        break;
      case O_FORMAT:
        if (strcmp(optarg, "csv") == 0) tr_options_set_format(o, TR_FORMAT_CSV);
        else if (strcmp(optarg, "sqlite") == 0) tr_options_set_format(o, TR_FORMAT_SQLITE);
        else if (strcmp(optarg, "both") == 0) tr_options_set_format(o, TR_FORMAT_BOTH);
        else return usage_error("--format takes csv, sqlite or both, got '%s'", optarg);
        break;
      case O_SQLITE: tr_options_set_format(o, TR_FORMAT_SQLITE); break;
      case O_EVENTS: tr_options_set_events(o, 1); break;
      case O_QUIET: c->quiet = 1; break;
      case O_RESUME: tr_options_set_resume(o, 1); break;
      case O_KEEP_GOING: tr_options_set_keep_going(o, 1); break;
      case O_STRICT: tr_options_set_strict(o, 1); break;
      case O_FORCE: tr_options_set_force(o, 1); break;
      case O_RUN:
        if (parse_int(optarg, 1, INT_MAX, &v))
          return usage_error("--run takes a run number >= 1, got '%s'", optarg);
        c->run_index = v;
        break;
      case O_POINT:
        if (parse_int(optarg, 1, INT_MAX, &v))
          return usage_error("--point takes a point number >= 1, got '%s'", optarg);
        c->point_index = v;
        break;
      case O_SWEEP:
        if (tr_options_set_sweep_file(o, optarg)) return usage_error("%s", "out of memory");
        break;
      case O_VARIANTS:
        if (tr_options_set_variants_file(o, optarg)) return usage_error("%s", "out of memory");
        break;
      case O_POSTERIOR:
        if (tr_options_set_posterior(o, optarg)) return usage_error("%s", "out of memory");
        break;
      case O_PRECISION: {
        char *end;
        errno = 0;
        double h = strtod(optarg, &end);
        if (errno || end == optarg || *end || tr_options_set_precision(o, h))
          return usage_error("--precision takes a half-width in (0, 0.5], e.g. 0.02, got '%s'",
                             optarg);
        break;
      }
      case O_BATCH:
        if (parse_int(optarg, 1, INT_MAX, &v) || tr_options_set_batch(o, (int)v))
          return usage_error("--batch takes a whole number >= 1, got '%s'", optarg);
        break;
      case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
      default: return unknown_option(argv[optind - 1], longopts);
    }
  }
  if (optind >= argc) return usage_error("%s needs a scenario file", c->cmd);
  c->scenario = argv[optind++];
  if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
  return 0;
}

/* The scenario (shaped by the options: --sweep, --variants, --set), or
** NULL with its load and compile errors in d. */
static tr_scenario *load(const char *path, const tr_options *o, tr_diag *d) {
  tr_scenario *sc = tr_scenario_load_options(path, o, d);
  if (sc && tr_scenario_compile(sc, d)) {
    tr_scenario_free(sc);
    sc = NULL;
  }
  return sc;
}

static int cmd_check(cli *c) {
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = load(c->scenario, c->opts, d);
  int status = TR_EINVALID, npoints = 0;
  if (sc && (status = tr_experiment_check(sc, c->opts, &npoints, d)) == TR_OK) {
    char nets[64] = "";
    int nn = tr_scenario_count(sc, TR_NETWORKS);
    if (nn)
      snprintf(nets, sizeof nets, " (and %d network%s drawn in each run)", nn, nn == 1 ? "" : "s");
    printf("%s: ok: %d actors, %d relations%s, %d metrics, %d outcomes, %d variants, %d sweep "
           "points\n",
           c->scenario, tr_scenario_count(sc, TR_ACTORS), tr_scenario_count(sc, TR_RELATIONS), nets,
           tr_scenario_count(sc, TR_METRICS), tr_scenario_count(sc, TR_OUTCOMES),
           tr_scenario_count(sc, TR_VARIANTS), npoints);
  }
  tr_diag_print(d, stderr);
  if (status == TR_EINVALID && tr_diag_count(d))
    fprintf(stderr, "%s: %d error%s\n", c->scenario, tr_diag_count(d),
            tr_diag_count(d) == 1 ? "" : "s");
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

static int cmd_run(cli *c, const char *out) {
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = load(c->scenario, c->opts, d);
  int status = TR_EINVALID;
  if (sc) {
    /* check's warnings are shown before the runs, not after them */
    if (is_root()) tr_diag_print(d, stderr);
    tr_diag_free(d);
    d = tr_diag_new();
    status = tr_experiment_run(sc, c->opts, d);
  }
  if (is_root()) tr_diag_print(d, stderr);
  if (status == TR_OK && !c->quiet && isatty(STDERR_FILENO)) {
    if (out) fprintf(stderr, "tightrope: results in %s\n", out);
    else fprintf(stderr, "tightrope: results in results/%s\n", tr_scenario_id(sc));
  }
  tr_diag_free(d);
  tr_scenario_free(sc);
  return status;
}

static int cmd_replay(cli *c) {
  tr_diag *d = tr_diag_new();
  int status = TR_OK;
  char *scenario = NULL;
  const char *outdir = NULL;
  tr_scenario *sc = NULL;
  struct stat st;
  if (c->run_index < 1) {
    status = usage_error("%s", "replay needs --run R");
    goto out;
  }
  if (c->nvariants > 1) {
    status = usage_error("%s", "replay takes one --variant");
    goto out;
  }
  if (stat(c->scenario, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (c->has_sets || c->has_seed || c->has_ticks) {
      status = usage_error("replay %s: run options come from its manifest.yaml; give the "
                           "scenario file instead to change them",
                           c->scenario);
      goto out;
    }
    status = tr_options_load_manifest(c->opts, c->scenario, &scenario, d);
    if (status) goto out;
    outdir = c->scenario;
  } else if (stat(c->scenario, &st) != 0) {
    status = usage_error("replay %s: no such output folder or scenario file", c->scenario);
    goto out;
  } else {
    scenario = strdup(c->scenario);
  }
  sc = load(scenario, c->opts, d);
  if (!sc) {
    status = TR_EINVALID;
    goto out;
  }
  status = tr_replay(sc, c->opts, c->replay_variant, c->point_index ? (int)c->point_index : 1,
                     (int)c->run_index, outdir, d);
out:
  tr_diag_print(d, stderr);
  tr_diag_free(d);
  tr_scenario_free(sc);
  free(scenario);
  return status;
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
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    return TR_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("tightrope %s\n", tr_version());
    return TR_OK;
  }
  cli c;
  memset(&c, 0, sizeof c);
  c.cmd = cmd;
  c.opts = tr_options_new();
  /* getopt permutes argv: keep the command as typed for the manifest. */
  if (!c.opts || tr_options_set_command(c.opts, argc, (const char *const *)argv)) {
    tr_options_free(c.opts);
    return usage_error("%s", "out of memory");
  }
  tr_options_set_signals(c.opts, 1);
  int status;
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "replay") == 0
      || strcmp(cmd, "calibrate") == 0) {
    const char *out = NULL;
    status = parse_options(argc, argv, &c, &out);
    tr_options_set_progress(c.opts, !c.quiet);
    if (status == 0 && strcmp(cmd, "calibrate") == 0) {
      tr_diag *d = tr_diag_new();
      status = tr_calibrate(c.scenario, c.opts, d);
      if (is_root()) tr_diag_print(d, stderr);
      tr_diag_free(d);
    } else if (status == 0)
      status = strcmp(cmd, "run") == 0 ? cmd_run(&c, out)
          : strcmp(cmd, "check") == 0  ? cmd_check(&c)
                                       : cmd_replay(&c);
  } else if (strcmp(cmd, "report") == 0) {
    status = cmd_report(argc, argv);
  } else if (strcmp(cmd, "new") == 0) {
    if (argc != 3 || argv[2][0] == '-') {
      status = usage_error("%s", "new takes one argument: tightrope new DIR");
    } else {
      tr_diag *d = tr_diag_new();
      status = tr_new(argv[2], d);
      tr_diag_print(d, stderr);
      tr_diag_free(d);
    }
  } else {
    static const char *const cmds[] = {"run", "check", "replay", "report", "new", "calibrate"};
    char hint[160] = "";
    tr_did_you_mean(hint, sizeof hint, cmd, cmds, 6);
    fprintf(stderr, "tightrope: error: unknown command '%s'%s\n(see 'tightrope --help')\n", cmd,
            hint);
    status = TR_EUSAGE;
  }
  tr_options_free(c.opts);
  return status;
}
