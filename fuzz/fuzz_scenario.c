/*
** fuzz_scenario.c — libFuzzer harness for the scenario loader: the input is
** a scenario file, read by yamltree.c and validated by scenario.c exactly as
** `tightrope check` does (file size cap, depth cap, aliases, duplicates,
** types, names, paths, bounds), then planned (variants, sweep, bounds of
** every instance). Scripts it names are looked up as usual; compiling them
** is fuzz_script.c's job.
**
** Invariant checked: any input ends in a scenario or in errors, never in a
** crash, a sanitizer report or a leak.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/yamltree.h"
#include "scenario/scenario.h"
#include "experiment/experiment.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  snprintf(path, sizeof path, "/tmp/tr-fuzz-scenario-%d.yaml", (int)getpid());
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The in-memory path first (no file system in the way)... */
  tr_diag *d = tr_diag_new();
  ynode *root = ynode_load_string((const char *)data, size, "fuzz.yaml", d);
  ynode_free(root);
  tr_diag_free(d);

  /* ...then the whole loader, from a file as the command line reads it. */
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  if (size) fwrite(data, 1, size, f);
  fclose(f);
  d = tr_diag_new();
  tr_scenario *sc = tr_scenario_load(path, d);
  if (sc) {
    tr_options opts;
    memset(&opts, 0, sizeof opts);
    opts.runs = 1;
    opts.ticks = sc->has_ticks ? sc->ticks : 10;
    opts.threads = 1;
    opts.out = "/nonexistent";
    tr_plan plan;
    memset(&plan, 0, sizeof plan);
    exp_plan(sc, &opts, &plan, d);   /* frees nothing on failure: */
    exp_plan_free(&plan);             /* the caller always does */
    tr_scenario_free(sc);
  }
  FILE *null = fopen("/dev/null", "w");
  if (null) { tr_diag_print(d, null); fclose(null); }  /* formatting of every message */
  tr_diag_free(d);
  return 0;
}
