/*
** modeldecl.c — the built-in model as data (docs/model.md): its parameters
** with their defaults and ranges, the relation kinds and attributes it
** reads, and its actions' names and event codes. The scenario is validated
** against these tables; the actions themselves run in run/model.c.
*/
#include "scenario/modeldecl.h"

/* Each row: name, default, range ("LO..HI", either side may be left open;
** a value outside is refused before any run, docs/model.md). Units:
** capability, resources are the scenario's own scale (the shipped
** scenarios use 0..1); tension, tolerance, credibility, leverage, bias,
** autonomy, hardline are in [0, 1] ([-1, 1] for bias); rates are per action
** at intensity 1. */
const tr_modelparam model_defaults[] = {
    {"contest_exponent", 1.0, "0.."},   /* r of the Tullock contest success function */
    {"attack_damage", 0.10, "0..1"},    /* share of the target's capability a success destroys */
    {"attack_cost", 0.05, "0..1"},      /* share of the attacker's capability a failure costs */
    {"attack_tension", 0.03, "0..1"},   /* tension added per attack (doubled on success) */
    {"support_scale", 0.02, "0.."},     /* resources moved per support action at support = 1 */
    {"support_efficiency", 1.0, "0.."}, /* capability bought per unit of military aid */
    {"own_means_rate", 0.02, "0..1"},   /* share of its own resources a proxy mobilises per tick */
    {"autonomy_rate", 0.10, "0..1"},    /* speed at which autonomy moves toward its target */
    {"autonomy_half", 0.50, "0.."}, /* capability at which own strength halves the patron's hold */
    {"talks_rate", 1.0, "0..1"},    /* success probability of a round with willing parties */
    {"talks_step", 0.25, "0.."},    /* progress a successful round adds */
    {"ceasefire_threshold", 1.0, "0.."}, /* progress at which a ceasefire is declared */
    {"talks_tension_drag", 0.50,
     "0..1"},                     /* how much tension lowers a round's success probability */
    {"talks_calm", 0.05, "0..1"}, /* tension removed by a successful round */
    {"expel_channel_loss", 0.50,
     "0..1"},                        /* credibility lost with a proxy whose office was expelled */
    {"tolerance_loss", 0.05, "0.."}, /* tolerance lost per attack by a hosted proxy */
    {"tolerance_gain", 0.02, "0.."}, /* tolerance gained per successful round of talks */
    {"tolerance_gain_ceasefire", 0.15,
     "0.."}, /* tolerance gained when the mediator's talks end in a ceasefire */
    {"sanction_rate", 0.10, "0..1"},    /* share of the target's resources a sanction removes */
    {"sanction_cost", 0.02, "0..1"},    /* share of its own resources a sanction costs the sender */
    {"pressure_leverage", 0.02, "0.."}, /* mediator leverage added by a great power's pressure */
    {"pressure_bias", 0.02, "0.."},     /* bias toward hosted proxies removed by pressure */
    {"expel_tolerance_gain", 0.20, "0.."}, /* tolerance regained by expelling a proxy's office */
    {"host_tolerance_loss", 0.10, "0.."},  /* tolerance lost by restoring a proxy's office */
    {"spillover", 0.5,
     "0.."}, /* share of a proxy attack's tension charged to its patrons, per unit support */
    {"direct_acceptance", 0.30,
     "0..1"}, /* chance a party with no hardline accepts in a round without help (direct bargaining) */
    {"trust_building", 0.0,
     "0..1"}, /* weight of the honest-broker trust channel (Kydd 2006); 0 = off */
};
const int model_ndefaults = (int)(sizeof model_defaults / sizeof model_defaults[0]);

/* Relation kinds the built-in model and the default policies read
** (docs/model.md); a scenario declares others under `kinds:`. */
const char *const model_kinds[] = {
    "alliance",      /* a great power and a mediator: tolerance */
    "contact",       /* a mediator and a party: bias, access (talks read them) */
    "hosting",       /* a mediator hosts a proxy's office: active */
    "hostility",     /* two adversaries: tension, ceasefire, held */
    "normalisation", /* a state's ties to another (default state policy) */
    "patronage",     /* a patron and its proxy: support */
};
const int model_nkinds = (int)(sizeof model_kinds / sizeof model_kinds[0]);

/* Attributes the built-in actions read or write (docs/model.md, section 1):
** `check` does not warn that they are never read, nor that nothing writes
** them. */
const char *const model_attrs[] = {
    "active",    "autonomy", "bias",       "capability", "ceasefire", "credibility",
    "hardline",  "held",     "imposed",    "leverage",   "progress",  "resolve",
    "resources", "support",  "talks_held", "tension",    "tolerance",
};
const int model_nattrs = (int)(sizeof model_attrs / sizeof model_attrs[0]);
_Static_assert(sizeof model_defaults / sizeof model_defaults[0] == P_COUNT,
               "model_defaults[] and the P_* indices must match");

/* Name, default CAMEO code and Goldstein weight (Goldstein 1992 scale as
** mapped to CAMEO codes) of each built-in action; run/model.c holds their
** resolvers in the same order. talks and attack override the code per
** event (0871 ceasefire declared, 196 ceasefire violated). */
const tr_modelactiondecl model_actions[] = {
    {"attack", "190", -10.0},  {"support", "072", 8.3},   {"talks", "045", 5.0},
    {"sanction", "163", -8.0}, {"pressure", "130", -4.4}, {"expel", "174", -5.0},
    {"host", "043", 2.8},      {"bargain", "046", 7.0},
};
const int model_nactions = MODEL_NACTIONS;
_Static_assert(sizeof model_actions / sizeof model_actions[0] == MODEL_NACTIONS,
               "MODEL_NACTIONS counts model_actions[]");
