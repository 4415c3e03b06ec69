/*
** model.c — the built-in model: C actions for mediators, patrons, proxies
** and states, and the model parameters (model.KEY) they read.
** Mechanics, equations and references: docs/model.md (the comments here
** name the equation each block implements; the prose lives there).
**
** Each action runs in the resolve step, inside the run's protected Lua call:
** it reads the live world (lx->w->val), writes only through world_write
** (which clamps to bounds and marks the slot for the Lua mirror), draws only
** from the run's GSL stream, and reports a missing attribute or a bad
** argument with luaL_error naming the action, the actor and what to fix.
** Invariant: every action draws the same number of random variates whatever
** the state (attack, talks and bargain one uniform each, the others none), so
** common random numbers keep variants paired as long as the same actions
** are queued.
*/
#include <math.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <gsl/gsl_rng.h>

#include "scenario/scenario.h"
#include "scenario/modeldecl.h"
#include "run/model.h"
#include "run/world.h"
#include "run/lua.h"

/* ------------------------------------------------------------- helpers */
typedef struct act_ctx {
  lua_State *L;
  tr_world *w;
  const tr_scenario *sc;
  const char *action;
  int actor, target, args;
} act_ctx;

static double mp(const act_ctx *c, int k) { return c->w->inst->model[k]; }
static const char *aid(const act_ctx *c, int a) { return c->sc->actors[a].id; }

static void ctx_init(act_ctx *c, tr_lua *lx, const char *action, int actor, int target, int args) {
  c->L = lx->L;
  c->w = lx->w;
  c->sc = lx->sc;
  c->action = action;
  c->actor = actor;
  c->target = target;
  c->args = args;
  if (target < 0)
    luaL_error(c->L, "%s by '%s' needs a target: me:act(\"%s\", TARGET_ID, args)", action,
               aid(c, actor), action);
}

/* Slot of an actor attribute the action cannot do without. */
static int need_attr(const act_ctx *c, int a, const char *name) {
  int s = scen_attr_slot(c->sc, a, name);
  if (s < 0)
    luaL_error(
        c->L,
        "%s by '%s': actor '%s' has no attribute '%s' (the action needs it; see docs/model.md)",
        c->action, aid(c, c->actor), aid(c, a), name);
  return s;
}

static double val_or(const act_ctx *c, int slot, double dflt) {
  return slot >= 0 ? c->w->val[slot] : dflt;
}

/* Every write of an action: refuses non-finite values (world_write does not). */
static void put(const act_ctx *c, int slot, double v) {
  if (slot < 0) return;
  if (!isfinite(v))
    luaL_error(c->L,
               "%s by '%s' produced a non-finite value (%f); check the scenario's model parameters",
               c->action, aid(c, c->actor), v);
  world_write(c->w, slot, v);
}
static void add(const act_ctx *c, int slot, double dv) {
  if (slot >= 0) put(c, slot, c->w->val[slot] + dv);
}

/* A numeric named argument in [lo, hi], or dflt when absent. */
static double arg_num(const act_ctx *c, const char *key, double dflt, double lo, double hi) {
  lua_State *L = c->L;
  int t = lua_getfield(L, c->args, key);
  double x = dflt;
  if (t != LUA_TNIL) {
    int isnum;
    x = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !isfinite(x) || x < lo || x > hi)
      luaL_error(L, "%s by '%s': argument '%s' must be a number in [%g, %g]", c->action,
                 aid(c, c->actor), key, lo, hi);
  }
  lua_pop(L, 1);
  return x;
}

/* A string argument naming an actor; -1 when absent and optional. */
static int arg_actor(const act_ctx *c, const char *key, int required) {
  lua_State *L = c->L;
  int t = lua_getfield(L, c->args, key);
  int a = -1;
  if (t == LUA_TNIL) {
    if (required)
      luaL_error(L, "%s by '%s': missing argument '%s' (an actor id, e.g. {%s = \"%s\"})",
                 c->action, aid(c, c->actor), key, key, aid(c, c->target));
  } else {
    if (t != LUA_TSTRING)
      luaL_error(L, "%s by '%s': argument '%s' must be an actor id", c->action, aid(c, c->actor),
                 key);
    a = scen_actor_find(c->sc, lua_tostring(L, -1));
    if (a < 0)
      luaL_error(L, "%s by '%s': argument '%s' names no actor ('%s')", c->action, aid(c, c->actor),
                 key, lua_tostring(L, -1));
  }
  lua_pop(L, 1);
  return a;
}

static int rel_is(const tr_world *w, int r, const char *kind) {
  return r >= 0 && strcmp(world_rel_kind(w, r), kind) == 0;
}

/* Slot of attribute `name` of relation from->to, or -1 (no relation or no
** such attribute). */
static int rel_slot(const act_ctx *c, int from, int to, const char *name) {
  return world_rel_attr_slot(c->w, world_rel_find(c->w, from, to), name);
}

/* Add dv to the tolerance of every alliance relation POWER->mediator. */
static void tolerance_add(const act_ctx *c, int mediator, double dv) {
  const tr_world *w = c->w;
  for (int i = w->in_off[mediator]; i < w->in_off[mediator + 1]; i++) {
    int r = w->in_rel[i];
    if (!rel_is(c->w, r, "alliance")) continue;
    add(c, world_rel_attr_slot(c->w, r, "tolerance"), dv);
  }
}

/* ------------------------------------------------------------- attack */
/* Tullock (1980) contest: p = c_a^r / (c_a^r + c_t^r) (docs/model.md §attack).
** Success destroys attack_damage * i of the target's capability, failure
** costs the attacker attack_cost * i of its own; tension on relations
** between the two rises by attack_tension * i * (1 + success); an attack on
** a ceasefire violates it (CAMEO 196) and ends it; a hosted proxy's attack
** on a great power or its ally costs the host tolerance. value: 1 success,
** 0 failure. */
static double tullock_p(double ca, double ct, double r) {
  if (ca <= 0 && ct <= 0) return 0.5;
  if (ca <= 0) return 0.0;
  if (ct <= 0) return 1.0;
  /* ratio form, stable for large r: p = 1 / (1 + (c_t/c_a)^r) */
  return 1.0 / (1.0 + pow(ct / ca, r));
}

static int attack(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                  double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "attack", actor, target, args);
  if (target == actor)
    luaL_error(c.L, "attack by '%s': an actor cannot attack itself", aid(&c, actor));
  double intensity = arg_num(&c, "intensity", 1.0, 0.0, 1.0);
  int ca_s = need_attr(&c, actor, "capability"), ct_s = need_attr(&c, target, "capability");
  double ca = c.w->val[ca_s], ct = c.w->val[ct_s];
  double r = mp(&c, P_CONTEST_EXPONENT);
  double p = tullock_p(ca, ct, r);
  int success = gsl_rng_uniform(c.w->rng) < p;
  if (success) put(&c, ct_s, ct - mp(&c, P_ATTACK_DAMAGE) * intensity * ct);
  else put(&c, ca_s, ca - mp(&c, P_ATTACK_COST) * intensity * ca);

  int violation = 0;
  const int pair[2][2] = {{actor, target}, {target, actor}};
  for (int k = 0; k < 2; k++) {
    int from = pair[k][0], to = pair[k][1];
    add(&c, rel_slot(&c, from, to, "tension"),
        mp(&c, P_ATTACK_TENSION) * intensity * (1 + success));
    int cf = rel_slot(&c, from, to, "ceasefire");
    if (cf >= 0 && c.w->val[cf] >= 1) violation = 1;
  }
  /* Spillover: the target holds each patron P of the attacker responsible in
  ** proportion to P's support s: tension between target and P rises by
  ** spillover * min(1, s) * attack_tension * i * (1 + success). */
  const tr_world *w = c.w;
  double dt = mp(&c, P_ATTACK_TENSION) * intensity * (1 + success);
  for (int i = w->in_off[actor]; i < w->in_off[actor + 1]; i++) {
    int pr = w->in_rel[i];
    if (!rel_is(c.w, pr, "patronage")) continue;
    int patron = world_rel_from(c.w, pr);
    if (patron == target) continue;
    double s = fmin(1.0, fmax(0.0, val_or(&c, world_rel_attr_slot(c.w, pr, "support"), 0.0)));
    add(&c, rel_slot(&c, target, patron, "tension"), mp(&c, P_SPILLOVER) * s * dt);
    add(&c, rel_slot(&c, patron, target, "tension"), mp(&c, P_SPILLOVER) * s * dt);
  }

  if (violation) {
    for (int k = 0; k < 2; k++) {
      put(&c, rel_slot(&c, pair[k][0], pair[k][1], "ceasefire"), 0);
      put(&c, rel_slot(&c, pair[k][0], pair[k][1], "held"), 0);
    }
    *cameo = "196";
    *goldstein = -9.5;
  }

  /* Tolerance: for each mediator M that actively hosts the attacker, each
  ** power P with an alliance P->M loses tolerance when the target is P or
  ** an actor P is allied with (an alliance P->target). */
  for (int i = w->in_off[actor]; i < w->in_off[actor + 1]; i++) {
    int h = w->in_rel[i];
    if (!rel_is(c.w, h, "hosting")) continue;
    int act_s = world_rel_attr_slot(c.w, h, "active");
    if (act_s >= 0 && w->val[act_s] < 0.5) continue;
    int m = world_rel_from(c.w, h);
    for (int j = w->in_off[m]; j < w->in_off[m + 1]; j++) {
      int a = w->in_rel[j];
      if (!rel_is(c.w, a, "alliance")) continue;
      int power = world_rel_from(c.w, a);
      if (power != target && !rel_is(c.w, world_rel_find(c.w, power, target), "alliance")) continue;
      add(&c, world_rel_attr_slot(c.w, a, "tolerance"), -mp(&c, P_TOLERANCE_LOSS) * intensity);
    }
  }
  *value = success;
  return 0;
}

/* ------------------------------------------------------------ support */
/* Patron -> proxy transfer x = support * support_scale * amount, capped by
** the patron's resources. Military aid (072) buys capability, economic aid
** (071) resources. Autonomy (this project's formalisation of the
** principal-agent argument of Salehyan 2010 and Berman & Lake 2019, which
** give no formula) moves toward a* = 1 - d (1 - g), d = x / (x + own_means_rate * R)
** the patron's share of the proxy's means this tick, g = c / (c +
** autonomy_half) the shield of the proxy's own strength. value: x. */
static int support(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                   double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "support", actor, target, args);
  lua_State *L = c.L;
  int rel = world_rel_find(c.w, actor, target);
  int sup_s = rel >= 0 ? world_rel_attr_slot(c.w, rel, "support") : -1;
  if (rel < 0)
    luaL_error(L,
               "support: no relation %s:%s (declare {from: %s, to: %s, kind: patronage, attrs: "
               "{support: ...}})",
               aid(&c, actor), aid(&c, target), aid(&c, actor), aid(&c, target));
  if (sup_s < 0)
    luaL_error(L, "support: relation %s:%s has no attribute 'support'", aid(&c, actor),
               aid(&c, target));
  double amount = arg_num(&c, "amount", 1.0, 0.0, HUGE_VAL);
  int economic = 0;
  if (lua_getfield(L, args, "kind") != LUA_TNIL) {
    const char *k = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING || (strcmp(k, "military") && strcmp(k, "economic")))
      luaL_error(L, "support by '%s': argument 'kind' must be \"military\" or \"economic\"",
                 aid(&c, actor));
    economic = strcmp(k, "economic") == 0;
  }
  lua_pop(L, 1);

  double x = fmax(0.0, c.w->val[sup_s]) * mp(&c, P_SUPPORT_SCALE) * amount;
  int pres_s = scen_attr_slot(c.sc, actor, "resources");
  if (pres_s >= 0) {
    x = fmin(x, fmax(0.0, c.w->val[pres_s]));
    add(&c, pres_s, -x);
  }
  int tres_s = scen_attr_slot(c.sc, target, "resources");
  double own = val_or(&c, tres_s, 0.0);
  if (economic) {
    add(&c, need_attr(&c, target, "resources"), x);
    *cameo = "071";
    *goldstein = 7.4;
  } else {
    int cap_s = need_attr(&c, target, "capability");
    add(&c, cap_s, mp(&c, P_SUPPORT_EFFICIENCY) * x);
  }
  int aut_s = scen_attr_slot(c.sc, target, "autonomy");
  if (aut_s >= 0) {
    double means = x + mp(&c, P_OWN_MEANS_RATE) * fmax(0.0, own);
    double d = means > 0 ? x / means : 0.0;
    double cap = fmax(0.0, val_or(&c, scen_attr_slot(c.sc, target, "capability"), 0.0));
    double half = mp(&c, P_AUTONOMY_HALF);
    double g = cap + half > 0 ? cap / (cap + half) : 1.0;
    double goal = 1.0 - d * (1.0 - g);
    double a = c.w->val[aut_s];
    put(&c, aut_s, a + mp(&c, P_AUTONOMY_RATE) * (goal - a));
  }
  *value = x;
  return 0;
}

/* -------------------------------------------------------------- talks */
/* A round of negotiation between parties A and B (docs/model.md §talks),
** mediated by M (talks) or direct (bargain, M = -1). For each party X:
**   h_X  = hardline, else resolve (0 when neither);
**   k_X  = credibility * max(0, bias_X) * access_X        information (Kydd 2003)
**   t_X  = credibility * trust_building
**          * (1 - max(|bias_A|, |bias_B|)) * access_X     trust (Kydd 2006)
**   m_X  = 1 - (1 - direct_acceptance)(1 - k_X)(1 - t_X)(1 - L)
**   w_X  = (1 - h_X) * m_X                                willingness
** with k = t = L = 0 in a direct round, bias_X on any relation M->X (default
** 0), access_X = 1 - expel_channel_loss when M's office for X is closed.
** Round success: pi = talks_rate * w_A * w_B * (1 - talks_tension_drag * tension),
** one uniform. A success adds talks_step progress; at ceasefire_threshold a
** ceasefire is declared both ways (0871) and `imposed` records the leverage
** share phi = mean_X L (1 - direct_acceptance)(1 - k_X)(1 - t_X) / m_X
** (Beardsley 2008). A mediated success credits M with the share it added,
** a = 1 - pi_direct / pi (a mediator adds only what its channels add; with
** neither information nor leverage it adds nothing, Fey & Ramsay 2010):
** tolerance_gain * a per round,
** tolerance_gain_ceasefire * a per ceasefire. value: pi. */
enum { D_TENSION, D_CEASEFIRE, D_PROGRESS, D_IMPOSED, D_HELD, D_N };

/* One round of talks between a and b, mediated when mediator >= 0 (docs/model.md): on success
** the tension calms and progress toward a ceasefire builds; *value, *cameo and *goldstein
** describe the event. Long: the formula of docs/model.md computed term by term in its order;
** splitting it would separate the terms from the probability they make. */
static int negotiate(act_ctx *c, int mediator, int a, int b, double *value, const char **cameo,
                     double *goldstein) {
  lua_State *L = c->L;
  static const char *const names[D_N] = {"tension", "ceasefire", "progress", "imposed", "held"};
  int party[2] = {a, b};
  int s[2][D_N];
  int any_ceasefire = 0;
  for (int k = 0; k < 2; k++)
    for (int n = 0; n < D_N; n++) {
      s[k][n] = rel_slot(c, party[k], party[1 - k], names[n]);
      if (n == D_CEASEFIRE && s[k][n] >= 0) any_ceasefire = 1;
    }
  if (!any_ceasefire)
    luaL_error(L,
               "%s by '%s': neither %s:%s nor %s:%s has attribute 'ceasefire' (declare a hostility "
               "relation)",
               c->action, aid(c, c->actor), aid(c, a), aid(c, b), aid(c, b), aid(c, a));
  double cred = 0, lev = 0, bias[2] = {0, 0}, access[2] = {1, 1};
  if (mediator >= 0) {
    cred = fmin(1.0, fmax(0.0, c->w->val[need_attr(c, mediator, "credibility")]));
    lev = fmin(1.0, fmax(0.0, c->w->val[need_attr(c, mediator, "leverage")]));
    for (int k = 0; k < 2; k++) {
      int x = party[k];
      bias[k] = fmax(-1.0, fmin(1.0, val_or(c, rel_slot(c, mediator, x, "bias"), 0.0)));
      int host = world_rel_find(c->w, mediator, x);
      if (rel_is(c->w, host, "hosting")) {
        int as = world_rel_attr_slot(c->w, host, "active");
        if (as >= 0 && c->w->val[as] < 0.5) access[k] = 1.0 - mp(c, P_EXPEL_CHANNEL_LOSS);
      }
    }
  }
  double delta = fmin(1.0, fmax(0.0, mp(c, P_DIRECT_ACCEPTANCE)));
  double honest = 1.0 - fmax(fabs(bias[0]), fabs(bias[1]));
  double w[2], wd[2], phi = 0;
  for (int k = 0; k < 2; k++) {
    double kappa = fmin(1.0, fmax(0.0, cred * fmax(0.0, bias[k]) * access[k]));
    double trust = fmin(1.0, fmax(0.0, cred * mp(c, P_TRUST_BUILDING) * honest * access[k]));
    double moved = 1.0 - (1.0 - delta) * (1.0 - kappa) * (1.0 - trust) * (1.0 - lev);
    int h = scen_attr_slot(c->sc, party[k], "hardline");
    if (h < 0) h = scen_attr_slot(c->sc, party[k], "resolve");
    double open = 1.0 - fmin(1.0, fmax(0.0, val_or(c, h, 0.0)));
    w[k] = open * moved;
    wd[k] = open * delta;
    phi += moved > 0 ? lev * (1.0 - delta) * (1.0 - kappa) * (1.0 - trust) / moved : 0.0;
  }
  phi /= 2;
  double tension = 0;
  int nt = 0;
  for (int k = 0; k < 2; k++)
    if (s[k][D_TENSION] >= 0) {
      tension += c->w->val[s[k][D_TENSION]];
      nt++;
    }
  if (nt) tension /= nt;
  double drag = fmax(0.0, 1.0 - mp(c, P_TALKS_TENSION_DRAG) * fmax(0.0, tension));
  double rate = mp(c, P_TALKS_RATE);
  double pi = fmin(1.0, fmax(0.0, rate * w[0] * w[1] * drag));
  double pi_direct = fmin(1.0, fmax(0.0, rate * wd[0] * wd[1] * drag));
  double added = pi > 0 ? fmax(0.0, 1.0 - pi_direct / pi) : 0.0;
  int success = gsl_rng_uniform(c->w->rng) < pi;

  *value = pi;
  if (!success) return 0;

  for (int k = 0; k < 2; k++) add(c, s[k][D_TENSION], -mp(c, P_TALKS_CALM));
  if (mediator >= 0) tolerance_add(c, mediator, mp(c, P_TOLERANCE_GAIN) * added);
  int holds = 0;
  for (int k = 0; k < 2; k++)
    if (s[k][D_CEASEFIRE] >= 0 && c->w->val[s[k][D_CEASEFIRE]] >= 1) holds = 1;
  if (holds) return 0; /* a consolidation round */

  /* Progress lives on the hostility relations (the first that declares it
  ** is authoritative; both are kept equal). Without it a single successful
  ** round is enough. */
  double progress = mp(c, P_CEASEFIRE_THRESHOLD);
  for (int k = 0; k < 2; k++)
    if (s[k][D_PROGRESS] >= 0) {
      progress = c->w->val[s[k][D_PROGRESS]] + mp(c, P_TALKS_STEP);
      break;
    }
  if (progress < mp(c, P_CEASEFIRE_THRESHOLD)) {
    for (int k = 0; k < 2; k++) put(c, s[k][D_PROGRESS], progress);
    return 0;
  }
  for (int k = 0; k < 2; k++) {
    put(c, s[k][D_CEASEFIRE], 1);
    put(c, s[k][D_PROGRESS], 0);
    put(c, s[k][D_HELD], 0);
    put(c, s[k][D_IMPOSED], phi);
  }
  if (mediator >= 0) tolerance_add(c, mediator, mp(c, P_TOLERANCE_GAIN_CEASEFIRE) * added);
  *cameo = "0871";
  *goldstein = 9.0;
  return 0;
}

/* Mediator M hosts a round between target A and args.with B. */
static int talks(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                 double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "talks", actor, target, args);
  int other = arg_actor(&c, "with", 1);
  if (other == target || other == actor || target == actor)
    luaL_error(c.L,
               "talks by '%s': the two parties must differ from each other and from the mediator",
               aid(&c, actor));
  add(&c, scen_attr_slot(c.sc, actor, "talks_held"), 1);
  *cameo = "045";
  *goldstein = 5.0;
  return negotiate(&c, actor, target, other, value, cameo, goldstein);
}

/* ------------------------------------------------------------ bargain */
/* Party A negotiates directly with target B, no mediator: the round of
** talks with k = t = L = 0 (docs/model.md §bargain). value: pi. */
static int bargain(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                   double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "bargain", actor, target, args);
  if (target == actor)
    luaL_error(c.L, "bargain by '%s': an actor cannot bargain with itself", aid(&c, actor));
  return negotiate(&c, -1, actor, target, value, cameo, goldstein);
}

/* ----------------------------------------------------------- sanction */
/* Sender S on target T: T loses sanction_rate * i of its resources, S
** sanction_cost * i of its own (when declared). value: resources removed. */
static int sanction(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                    double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "sanction", actor, target, args);
  double intensity = arg_num(&c, "intensity", 1.0, 0.0, 1.0);
  int tr_s = need_attr(&c, target, "resources");
  double loss = mp(&c, P_SANCTION_RATE) * intensity * fmax(0.0, c.w->val[tr_s]);
  add(&c, tr_s, -loss);
  int sr_s = scen_attr_slot(c.sc, actor, "resources");
  if (sr_s >= 0) add(&c, sr_s, -mp(&c, P_SANCTION_COST) * intensity * fmax(0.0, c.w->val[sr_s]));
  *value = loss;
  return 0;
}

/* ----------------------------------------------------------- pressure */
/* A great power P presses mediator M to lean on the proxies it hosts: M's
** leverage rises by pressure_leverage * i (more, but less durable, deals:
** Beardsley 2008) and M's bias toward each proxy it hosts falls by
** pressure_bias * i (with bias toward the proxy, credibility with it falls:
** Kydd 2003).
** value: leverage added. */
static int pressure(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                    double *goldstein) {
  act_ctx c;
  ctx_init(&c, lx, "pressure", actor, target, args);
  double intensity = arg_num(&c, "intensity", 1.0, 0.0, 1.0);
  int lev_s = need_attr(&c, target, "leverage");
  double before = c.w->val[lev_s];
  add(&c, lev_s, mp(&c, P_PRESSURE_LEVERAGE) * intensity);
  const tr_world *w = c.w;
  for (int i = w->out_off[target]; i < w->out_off[target + 1]; i++) {
    int h = w->out_rel[i];
    if (!rel_is(c.w, h, "hosting")) continue;
    add(&c, world_rel_attr_slot(c.w, h, "bias"), -mp(&c, P_PRESSURE_BIAS) * intensity);
  }
  *value = w->val[lev_s] - before;
  return 0;
}

/* ------------------------------------------------------ expel / host */
/* Mediator M closes (expel) or reopens (host) the office of proxy X:
** hosting M->X `active` := 0 / 1; every power allied with M regains
** expel_tolerance_gain / loses host_tolerance_loss. value: 1 when the
** office changed, else 0. */
static int office(tr_lua *lx, int actor, int target, int args, double *value, int open) {
  act_ctx c;
  const char *name = open ? "host" : "expel";
  ctx_init(&c, lx, name, actor, target, args);
  int rel = world_rel_find(c.w, actor, target);
  int act_s = rel_is(c.w, rel, "hosting") ? world_rel_attr_slot(c.w, rel, "active") : -1;
  if (act_s < 0)
    luaL_error(c.L, "%s: relation %s:%s must be of kind hosting with attribute 'active'", name,
               aid(&c, actor), aid(&c, target));
  int was_open = c.w->val[act_s] >= 0.5;
  *value = was_open != open;
  if (was_open == open) return 0;
  put(&c, act_s, open ? 1 : 0);
  tolerance_add(&c, actor, open ? -mp(&c, P_HOST_TOLERANCE_LOSS) : mp(&c, P_EXPEL_TOLERANCE_GAIN));
  return 0;
}
static int expel(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                 double *goldstein) {
  return office(lx, actor, target, args, value, 0);
}
static int host(tr_lua *lx, int actor, int target, int args, double *value, const char **cameo,
                double *goldstein) {
  return office(lx, actor, target, args, value, 1);
}

/* The resolver of each built-in action, in the order of model_actions[]
** (scenario/modeldecl.c), which holds their names and codes. */
const tr_resolve model_resolvers[] = {attack,   support, talks, sanction,
                                      pressure, expel,   host,  bargain};
_Static_assert(sizeof model_resolvers / sizeof model_resolvers[0] == MODEL_NACTIONS,
               "one resolver for each of model_actions[]");
