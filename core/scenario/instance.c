/*
** instance.c — an instance is the scenario with one variant and one sweep
** point applied: the values every run of it starts from. The baseline
** instance is the scenario's own values; experiment.c applies variants,
** sweep points and --set to copies of it.
*/
#include <stdlib.h>

#include "scenario/scenario.h"
#include "scenario/instances.h"

/* The baseline instance: the scenario's values, horizon `ticks`. */
int instance_base(const tr_scenario *sc, int ticks, tr_instance *in) {
  in->init = calloc((size_t)sc->nslots + (size_t)sc->npops + 1, sizeof *in->init);
  in->model = calloc((size_t)sc->nmodel + 1, sizeof *in->model);
  if (!in->init || !in->model) return -1;
  for (int a = 0; a < sc->nactors; a++)
    for (int i = 0; i < sc->actors[a].nattrs; i++)
      in->init[sc->actors[a].attrs[i].slot] = sc->actors[a].attrs[i].value;
  for (int r = 0; r < sc->nrels; r++)
    for (int i = 0; i < sc->rels[r].nattrs; i++)
      in->init[sc->rels[r].attrs[i].slot] = sc->rels[r].attrs[i].value;
  for (int m = 0; m < sc->nmodel; m++) in->model[m] = sc->model[m].value;
  for (int p = 0; p < sc->npops; p++) in->init[sc->nslots + p] = sc->pops[p].count;
  in->ticks = ticks;
  in->activation = sc->activation;
  in->vdecl = -1;
  in->point = 1;
  return 0;
}
