/*
** fuzz_script.c — libFuzzer harness for Lua in the sandbox: compiling and
** running a metric expression, a policy script, an action script or an
** event snippet against a small fixed scenario, with tight limits
** (200,000 instructions per call, 16 MiB per state, 2 ticks).
**
** Input: the first byte picks what the rest is (byte % 4): 0 a metric
** expression, 1 the policy of actor `a`, 2 the action script `poke` that
** the default policy queues every tick, 3 the `lua` of an event that fires
** every tick. The rest is compiled (script_new, as `check` does) and, when
** it compiles, run once (tick_run, as `run` does).
**
** Invariant checked: any script ends in a result or a run-time error,
** never a crash, a sanitizer report, a leak or a hang (libFuzzer's
** -timeout catches a hang).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario/scenario.h"
#include "run/world.h"
#include "run/lua.h"
#include "experiment/experiment.h"

static const char scenario_text[] =
  "scenario: fuzz\n"
  "experiment: {ticks: 2, runs: 1, seed: 1}\n"
  "limits: {instructions: 200000, memory_mb: 16}\n"
  "actors:\n"
  "  a:\n"
  "    role: mediator\n"
  "    attrs: {x: 0, credibility: {value: 0.5, min: 0, max: 1}}\n"
  "    policy: policy.lua\n"
  "    params: {k: 1, s: text, l: [1, 2, {m: 3}]}\n"
  "  c: {role: proxy, attrs: {capability: 1, resources: 1}}\n"
  "relations:\n"
  "  - {from: a, to: c, kind: patronage, attrs: {support: 0.5}}\n"
  "actions:\n"
  "  poke: {script: action.lua}\n"
  "events:\n"
  "  - {name: e, every: 1, lua: \"c.resources = c.resources\"}\n"
  "metrics:\n"
  "  m: \"a.x + c.capability\"\n"
  "outcomes:\n"
  "  o: \"rel('a', 'c').support > 2\"\n";
static const char default_policy[] =
  "function decide(me, world) me.x = me.x + 1; me:act('poke', 'c', {n = 1}) end\n";
static const char default_action[] =
  "function apply(world, actor, target, args) target.capability = target.capability + 1 end\n";

static char dir[64], policy_path[96], action_path[96];
static tr_scenario *sc;
static tr_world *w;
static tr_runresult res;
static tr_instance inst;

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (n) fwrite(p, 1, n, f);
  fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  snprintf(dir, sizeof dir, "/tmp/tr-fuzz-script-%d", (int)getpid());
  mkdir(dir, 0700);
  char path[128];
  snprintf(path, sizeof path, "%s/fuzz.yaml", dir);
  write_file(path, scenario_text, sizeof scenario_text - 1);
  snprintf(policy_path, sizeof policy_path, "%s/policy.lua", dir);
  snprintf(action_path, sizeof action_path, "%s/action.lua", dir);
  write_file(policy_path, default_policy, sizeof default_policy - 1);
  write_file(action_path, default_action, sizeof default_action - 1);
  tr_diag *d = tr_diag_new();
  sc = tr_scenario_load(path, d);
  if (!sc) { tr_diag_print(d, stderr); abort(); }
  tr_diag_free(d);
  w = world_new(sc);
  inst.init = calloc((size_t)sc->nslots + 1, sizeof *inst.init);
  inst.model = calloc((size_t)sc->nmodel + 1, sizeof *inst.model);
  res.finals = calloc((size_t)sc->nmetrics + 1, sizeof(double));
  res.series = calloc(((size_t)sc->ticks + 1) * (size_t)sc->nmetrics + 1, sizeof(double));
  if (!w || !inst.init || !inst.model || !res.finals || !res.series) abort();
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      inst.init[sc->actors[a].attrs[i].slot] = sc->actors[a].attrs[i].value;
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++)
      inst.init[sc->rels[r].attrs[i].slot] = sc->rels[r].attrs[i].value;
  for (int m = 0; m < sc->nmodel; m++) inst.model[m] = sc->model[m].value;
  inst.ticks = sc->ticks;
  inst.point = 1;
  inst.vdecl = -1;
  w->res = &res;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int mode = data[0] & 3;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  char *saved = NULL, *copy = NULL;
  if (mode == 0 || mode == 3) {
    copy = malloc(len + 1);
    if (!copy) return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    char **slot = mode == 0 ? &sc->metrics[0].expr : &sc->events[0].lua;
    saved = *slot;
    *slot = copy;
  } else {
    write_file(mode == 1 ? policy_path : action_path, text, len);
  }

  tr_diag *d = tr_diag_new();
  tr_lua *lx = script_new(sc, w, d);
  if (lx) {
    tr_runerror err;
    memset(&err, 0, sizeof err);
    res.nevents = 0;
    res.outcome = sc->noutcomes;
    if (tick_run(lx, &inst, 1, 12345, &err) != 0) free(err.message);
    script_free(lx);
  }
  tr_diag_free(d);

  if (mode == 0) sc->metrics[0].expr = saved;
  else if (mode == 3) sc->events[0].lua = saved;
  else write_file(mode == 1 ? policy_path : action_path,
                  mode == 1 ? default_policy : default_action,
                  mode == 1 ? sizeof default_policy - 1 : sizeof default_action - 1);
  free(copy);
  return 0;
}
