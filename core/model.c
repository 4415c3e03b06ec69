/*
** model.c — the built-in model: C actions for mediators, patrons, proxies
** and states, and the model parameters (model.KEY) they read.
** Mechanics, equations and references: docs/model.md.
*/
#include "internal.h"

const tr_modelparam model_defaults[] = {
  {"contest_exponent", 1.0},  /* Tullock contest exponent r */
};
const int model_ndefaults = (int)(sizeof model_defaults / sizeof model_defaults[0]);

const tr_modelaction model_actions[] = {
  {NULL, NULL, 0, NULL}
};
const int model_nactions = 0;
