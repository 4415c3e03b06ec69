/*
** embed.c — run a scenario through libtightrope (docs/c-api.md).
**   cc embed.c $(pkg-config --cflags --libs tightrope) -o embed
**   ./embed scenarios/doha.yaml OUTDIR [RUNS [SEED]]
** writes OUTDIR as `tightrope run SCENARIO -o OUTDIR -n RUNS -s SEED` does,
** and prints how many runs of each variant ended in each outcome
** (VARIANT,OUTCOME,COUNT lines), counted by a per-run callback.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tightrope.h>

typedef struct tally { long counts[64][16]; } tally;

/* Called after each run, in output order, on this thread. */
static int count_run(void *ctx, const tr_run_info *run) {
  tally *t = ctx;
  if (run->variant_index < 64 && run->outcome_index < 16)
    t->counts[run->variant_index][run->outcome_index]++;
  return 0;                                   /* non-zero would stop the experiment */
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: embed SCENARIO.yaml OUTDIR [RUNS [SEED]]\n"); return 2; }
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = tr_scenario_load(argv[1], d);
  if (!sc || tr_scenario_compile(sc, d)) {
    for (int i = 0; i < tr_diag_count(d); i++) {   /* every error, with its place */
      tr_message m;
      tr_diag_get(d, i, &m);
      fprintf(stderr, "%s:%d:%d: error: %s\n", m.file ? m.file : "tightrope", m.line, m.col, m.text);
    }
    tr_diag_free(d);
    return 1;
  }
  static tally t;
  tr_options *o = tr_options_new();
  tr_options_set_out(o, argv[2]);
  if (argc > 3) tr_options_set_runs(o, atoi(argv[3]));
  if (argc > 4) tr_options_set_seed(o, strtoull(argv[4], NULL, 10));
  tr_options_set_callback(o, count_run, &t);
  int status = tr_experiment_run(sc, o, d);
  tr_diag_print(d, stderr);
  for (int v = 0; status == TR_OK && v <= tr_scenario_count(sc, TR_VARIANTS) && v < 64; v++)
    for (int k = 0; k <= tr_scenario_count(sc, TR_OUTCOMES) && k < 16; k++)   /* every variant ran */
      printf("%s,%s,%ld\n", v ? tr_scenario_name(sc, TR_VARIANTS, v - 1) : "baseline",
             tr_scenario_name(sc, TR_OUTCOMES, k), t.counts[v][k]);
  tr_options_free(o);
  tr_scenario_free(sc);
  tr_diag_free(d);
  printf("libtightrope %s: status %d\n", tr_version(), status);
  return status;
}
