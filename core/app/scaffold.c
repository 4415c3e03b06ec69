/*
** scaffold.c — `tightrope new DIR`: a scenario folder to start from.
** Writes DIR/NAME.yaml (NAME from DIR's last component), one policy and one
** action, every line commented, so that `tightrope check --strict` passes
** and `tightrope run` runs (docs/cli.md, NEW). It never overwrites: DIR must
** not exist or be empty, and every file is created with O_EXCL.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "base/diag.h"
#include "app/scaffold.h"

static const char scenario_text[] =
    "# yaml-language-server: $schema=%s\n"
    "# %s — a scenario made by `tightrope new`; edit it to model your own case.\n"
    "# The format is in docs/scenario-format.md (man 5 tightrope-scenario);\n"
    "# check it with `tightrope check %s.yaml --strict`, run it with\n"
    "# `tightrope run %s.yaml`, then `tightrope report results/%s`.\n"
    "scenario: %s\n"
    "title: \"Two parties and a border\"\n"
    "description: >\n"
    "  Two states share a tense border. Each week either may concede a little,\n"
    "  which lowers the tension; incidents raise it. Does it settle, or break?\n"
    "\n"
    "experiment: {ticks: 52, runs: 200, seed: 1, tick_unit: week}\n"
    "\n"
    "actors:\n"
    "  north:\n"
    "    role: state\n"
    "    attrs:\n"
    "      resolve: {value: 0.6, min: 0, max: 1}   # how hard it holds out (0..1)\n"
    "    policy: policies/negotiator.lua\n"
    "    params: {rival: south, patience: 3}       # see policies/negotiator.lua\n"
    "  south:\n"
    "    role: state\n"
    "    attrs:\n"
    "      resolve: {value: 0.4, min: 0, max: 1}\n"
    "    policy: policies/negotiator.lua\n"
    "    params: {rival: north, patience: 2}\n"
    "\n"
    "relations:\n"
    "  # one relation carries the state of the border; its FROM actor may write it\n"
    "  - from: north\n"
    "    to: south\n"
    "    kind: hostility\n"
    "    attrs:\n"
    "      tension: {value: 0.5, min: 0, max: 1}\n"
    "\n"
    "actions:\n"
    "  # a concession: CAMEO 08 (yield), a cooperative Goldstein weight\n"
    "  concede: {script: actions/concede.lua, cameo: \"08\", goldstein: 5}\n"
    "\n"
    "events:\n"
    "  - name: incident           # a border incident, 10%% of weeks\n"
    "    prob: 0.1\n"
    "    add: {\"north:south.tension\": 0.1}\n"
    "    cameo: \"190\"\n"
    "    goldstein: -10\n"
    "\n"
    "metrics:\n"
    "  tension: \"rel('north', 'south').tension\"\n"
    "  resolve_gap: \"north.resolve - south.resolve\"\n"
    "\n"
    "outcomes:                     # checked every week, first true ends the run\n"
    "  settled: \"rel('north', 'south').tension <= 0.1\"\n"
    "  war: \"rel('north', 'south').tension >= 0.95\"\n"
    "default_outcome: stalemate     # what a run that reaches week 52 is\n"
    "\n"
    "variants:\n"
    "  hard_south:\n"
    "    description: the south's government hardens its stance\n"
    "    set: {south.resolve: 0.8}\n";

static const char policy_text[] =
    "-- negotiator.lua — the policy of both parties (docs/lua-api.md).\n"
    "-- Every `patience` weeks a party may concede, with a probability that falls\n"
    "-- with its resolve; a concession is the `concede` action on its rival.\n"
    "-- The params it reads are declared: `check` refuses any other key, and a\n"
    "-- value of the wrong type or out of range (docs/lua-api.md).\n"
    "\n"
    "declare {name = \"rival\", type = \"actor\", doc = \"the actor conceded to\"}\n"
    "declare {name = \"patience\", type = \"integer\", default = 4, min = 1,\n"
    "         doc = \"weeks between chances to concede\"}\n"
    "\n"
    "function decide(me, world)\n"
    "  if world.tick % me.params.patience ~= 0 then return end\n"
    "  if rng.bernoulli(1 - me.resolve) then\n"
    "    me:act(\"concede\", me.params.rival)\n"
    "  end\n"
    "end\n";

static const char action_text[] =
    "-- concede.lua — an action: the actor gives ground to its target\n"
    "-- (docs/lua-api.md, \"Action scripts\"). Lowers the border's tension by a\n"
    "-- random step and returns it, which events.csv shows as the value.\n"
    "\n"
    "function apply(world, actor, target, args)\n"
    "  local border = world:rel(\"north\", \"south\")\n"
    "  local step = rng.uniform(0.02, 0.08)\n"
    "  border.tension = border.tension - step\n"
    "  return step\n"
    "end\n";

/* The scenario id for a folder name: lower case, [a-z][a-z0-9_-]*. */
static char *scaffold_id(const char *dir) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  size_t start = n;
  while (start > 0 && dir[start - 1] != '/') start--;
  char *id = malloc(n - start + 2);
  if (!id) return NULL;
  size_t k = 0;
  for (size_t i = start; i < n; i++) {
    unsigned char c = (unsigned char)tolower((unsigned char)dir[i]);
    if (isalnum(c) || c == '_' || c == '-') id[k++] = (char)c;
    else if (c == ' ' || c == '.') id[k++] = '_';
  }
  id[k] = '\0';
  if (k == 0 || !islower((unsigned char)id[0])) {
    free(id);
    return NULL;
  }
  return id;
}

static int write_new(const char *path, const char *text, tr_diag *d) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) {
    diag_error(d, NULL, 0, 0, "cannot create '%s': %s", path, strerror(errno));
    return TR_EOUTPUT;
  }
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      diag_error(d, NULL, 0, 0, "cannot write '%s': %s", path, strerror(errno));
      close(fd);
      unlink(path);
      return TR_EOUTPUT;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0) {
    diag_error(d, NULL, 0, 0, "cannot write '%s': %s", path, strerror(errno));
    unlink(path);
    return TR_EOUTPUT;
  }
  return TR_OK;
}

/* DIR may be missing (it is created) or an empty folder. */
static int prepare_dir(const char *dir, tr_diag *d) {
  struct stat st;
  if (lstat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0777) != 0) {
      diag_error(d, NULL, 0, 0, "cannot create folder '%s': %s", dir, strerror(errno));
      return TR_EOUTPUT;
    }
    return TR_OK;
  }
  if (!S_ISDIR(st.st_mode)) {
    diag_error(d, NULL, 0, 0, "'%s' exists and is not a folder", dir);
    return TR_EOUTPUT;
  }
  DIR *dh = opendir(dir);
  if (!dh) {
    diag_error(d, NULL, 0, 0, "cannot read folder '%s': %s", dir, strerror(errno));
    return TR_EOUTPUT;
  }
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(dh)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
  closedir(dh);
  if (!empty) {
    diag_error(d, NULL, 0, 0,
               "'%s' is not empty: tightrope new writes only into a new or empty folder", dir);
    return TR_EOUTPUT;
  }
  return TR_OK;
}

/* Where an editor finds the scenario schema: the installed copy when there
** is one, else the source tree's. */
static const char *schema_path(void) {
  static const char installed[] = TR_SHAREDIR "/scenario.schema.json";
  return access(installed, R_OK) == 0 ? installed : TR_SRCDIR "/share/schema/scenario.schema.json";
}

int scaffold_new(const char *dir, tr_diag *d) {
  char *id = scaffold_id(dir);
  if (!id) {
    diag_error(d, NULL, 0, 0,
               "cannot make a scenario id from '%s': the folder's name must start with a "
               "letter (a scenario id is [a-z][a-z0-9_-]*)",
               dir);
    return TR_EUSAGE;
  }
  int status = prepare_dir(dir, d);
  size_t cap = strlen(dir) + strlen(id) + 64;
  char *path = malloc(cap);
  size_t tcap = sizeof scenario_text + 6 * strlen(id) + strlen(schema_path()) + 1;
  char *text = malloc(tcap);
  if (!path || !text) {
    diag_error(d, NULL, 0, 0, "out of memory");
    status = TR_EOUTPUT;
  }
  if (status == TR_OK) {
    snprintf(text, tcap, scenario_text, schema_path(), id, id, id, id, id);
    snprintf(path, cap, "%s/%s.yaml", dir, id);
    status = write_new(path, text, d);
  }
  static const char *const subdirs[] = {"policies", "actions"};
  for (int i = 0; status == TR_OK && i < 2; i++) {
    snprintf(path, cap, "%s/%s", dir, subdirs[i]);
    if (mkdir(path, 0777) != 0) {
      diag_error(d, NULL, 0, 0, "cannot create folder '%s': %s", path, strerror(errno));
      status = TR_EOUTPUT;
    }
  }
  if (status == TR_OK) {
    snprintf(path, cap, "%s/policies/negotiator.lua", dir);
    status = write_new(path, policy_text, d);
  }
  if (status == TR_OK) {
    snprintf(path, cap, "%s/actions/concede.lua", dir);
    status = write_new(path, action_text, d);
  }
  if (status == TR_OK)
    printf("tightrope: new scenario in %s/%s.yaml\n"
           "  check it:  tightrope check %s/%s.yaml --strict\n"
           "  run it:    tightrope run %s/%s.yaml -o results/%s\n",
           dir, id, dir, id, dir, id, id);
  free(text);
  free(path);
  free(id);
  return status;
}
