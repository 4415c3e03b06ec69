/*
** api_test.c — drives libtightrope for tests/test_library.py.
**   api_test cancel SCENARIO OUTDIR RUNS SEED STOP_AFTER
**     runs the experiment in a worker thread; the per-run callback wakes a
**     third thread after STOP_AFTER runs and waits until that thread has
**     called tr_options_cancel; prints "cancel STATUS CALLBACKS"; then
**     resumes with the same options and prints "resume STATUS CALLBACKS".
**   api_test string NAME < YAML
**     loads the scenario from stdin with tr_scenario_load_string and prints
**     every diagnostic as "FILE|LINE|COL|TEXT", then "loaded" or "invalid".
**   api_test options
**     prints "ok" when every setter refuses its out-of-range values.
*/
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tightrope.h>

typedef struct ctl {
  tr_options *o;
  long calls, stop_after;
  sem_t reached, cancelled;
  const tr_scenario *sc;
  int status;
} ctl;

static int on_run(void *p, const tr_run_info *r) {
  ctl *c = p;
  (void)r;
  if (++c->calls == c->stop_after) {
    sem_post(&c->reached);
    sem_wait(&c->cancelled);   /* the cancel has certainly landed */
  }
  return 0;
}

static void *canceller(void *p) {
  ctl *c = p;
  sem_wait(&c->reached);
  tr_options_cancel(c->o);
  sem_post(&c->cancelled);
  return NULL;
}

static void *runner(void *p) {
  ctl *c = p;
  tr_diag *d = tr_diag_new();
  c->status = tr_experiment_run(c->sc, c->o, d);
  tr_diag_print(d, stderr);
  tr_diag_free(d);
  return NULL;
}

static int cancel_mode(char **argv) {
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = tr_scenario_load(argv[2], d);
  if (!sc || tr_scenario_compile(sc, d)) { tr_diag_print(d, stderr); return 1; }
  ctl c;
  memset(&c, 0, sizeof c);
  c.sc = sc;
  c.o = tr_options_new();
  c.stop_after = atol(argv[6]);
  sem_init(&c.reached, 0, 0);
  sem_init(&c.cancelled, 0, 0);
  tr_options_set_out(c.o, argv[3]);
  tr_options_set_runs(c.o, atoi(argv[4]));
  tr_options_set_seed(c.o, strtoull(argv[5], NULL, 10));
  tr_options_set_threads(c.o, 2);
  tr_options_set_callback(c.o, on_run, &c);
  pthread_t run, can;
  pthread_create(&can, NULL, canceller, &c);
  pthread_create(&run, NULL, runner, &c);
  pthread_join(run, NULL);
  pthread_join(can, NULL);
  printf("cancel %d %ld\n", c.status, c.calls);
  c.calls = 0;
  c.stop_after = -1;
  tr_options_set_resume(c.o, 1);
  runner(&c);
  printf("resume %d %ld\n", c.status, c.calls);
  tr_options_free(c.o);
  tr_scenario_free(sc);
  tr_diag_free(d);
  return 0;
}

static int string_mode(char **argv) {
  static char text[1 << 20];
  size_t len = fread(text, 1, sizeof text, stdin);
  tr_diag *d = tr_diag_new();
  tr_scenario *sc = tr_scenario_load_string(text, len, argv[2], d);
  if (sc) tr_scenario_compile(sc, d);
  for (int i = 0; i < tr_diag_count(d); i++) {
    tr_message m;
    if (tr_diag_get(d, i, &m) == 0)
      printf("%s|%d|%d|%s\n", m.file ? m.file : "", m.line, m.col, m.text);
  }
  printf("%s\n", sc && tr_diag_count(d) == 0 ? "loaded" : "invalid");
  if (sc) printf("id %s metrics %d\n", tr_scenario_id(sc), tr_scenario_count(sc, TR_METRICS));
  tr_scenario_free(sc);
  tr_diag_free(d);
  return 0;
}

static int options_mode(void) {
  tr_options *o = tr_options_new();
  int bad = tr_options_set_runs(o, 0) != -1 || tr_options_set_ticks(o, -1) != -1 ||
            tr_options_set_threads(o, 0) != -1 || tr_options_set_threads(o, 4097) != -1 ||
            tr_options_set_series(o, 7) != -1 || tr_options_set_format(o, 4) != -1 ||
            tr_options_add_set(o, "no-equals-sign") != -1 || tr_options_set_runs(o, 5) != 0 ||
            strcmp(tr_version(), TR_VERSION) != 0 || TR_VERSION_NUMBER < TR_MAKE_VERSION(0, 1, 0);
  tr_options_free(o);
  puts(bad ? "bad" : "ok");
  return bad;
}

int main(int argc, char **argv) {
  if (argc >= 7 && strcmp(argv[1], "cancel") == 0) return cancel_mode(argv);
  if (argc >= 3 && strcmp(argv[1], "string") == 0) return string_mode(argv);
  if (argc >= 2 && strcmp(argv[1], "options") == 0) return options_mode();
  fprintf(stderr, "usage: see api_test.c\n");
  return 2;
}
