/* modeldecl.h — scenario layer: the built-in model as data (modeldecl.c,
** docs/model.md). */
#ifndef TR_SCENARIO_MODELDECL_H
#define TR_SCENARIO_MODELDECL_H

#include "base/common.h"
#include "scenario/scenario.h"

/* Indices into model_defaults[] (and so into inst->model and sc->model). */
enum {
  P_CONTEST_EXPONENT,
  P_ATTACK_DAMAGE,
  P_ATTACK_COST,
  P_ATTACK_TENSION,
  P_SUPPORT_SCALE,
  P_SUPPORT_EFFICIENCY,
  P_OWN_MEANS_RATE,
  P_AUTONOMY_RATE,
  P_AUTONOMY_HALF,
  P_TALKS_RATE,
  P_TALKS_STEP,
  P_CEASEFIRE_THRESHOLD,
  P_TALKS_TENSION_DRAG,
  P_TALKS_CALM,
  P_EXPEL_CHANNEL_LOSS,
  P_TOLERANCE_LOSS,
  P_TOLERANCE_GAIN,
  P_TOLERANCE_GAIN_CEASEFIRE,
  P_SANCTION_RATE,
  P_SANCTION_COST,
  P_PRESSURE_LEVERAGE,
  P_PRESSURE_BIAS,
  P_EXPEL_TOLERANCE_GAIN,
  P_HOST_TOLERANCE_LOSS,
  P_SPILLOVER,
  P_DIRECT_ACCEPTANCE,
  P_TRUST_BUILDING,
  P_COUNT
};

/* A built-in action: name, default CAMEO code, Goldstein weight. */
typedef struct tr_modelactiondecl {
  const char *name, *cameo;
  double goldstein;
} tr_modelactiondecl;
#define MODEL_NACTIONS 8
extern const tr_modelactiondecl model_actions[];
extern const int model_nactions;
/* Defaults of every model parameter (model.KEY). */
extern const tr_modelparam model_defaults[];
extern const int model_ndefaults;
/* Relation kinds the model and the default policies read. */
extern const char *const model_kinds[];
extern const int model_nkinds;
/* Attributes the built-in actions read or write. */
extern const char *const model_attrs[];
extern const int model_nattrs;

#endif
