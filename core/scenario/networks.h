/* networks.h — scenario layer (docs/internals.md, "Layers"). */
#ifndef TR_SCENARIO_NETWORKS_H
#define TR_SCENARIO_NETWORKS_H

#include "base/common.h"

/* Relations by rule (networks.c): directed pairs of member numbers. */
typedef struct net_edges {
  int *e;
  size_t n, cap;
} net_edges; /* e: 2n ints */
/* The edges of rule NET_* over nf FROM and nt TO members (same: one
** population); the random rules draw from rng (a gsl_rng *). 0, or -1 out of
** memory. */
int net_make(net_edges *E, int rule, int nf, int nt, int same, int k, double p, int m, void *rng);
extern const char *const net_rule_names[5]; /* in NET_* order: "all", "ring", ... */
int net_all(net_edges *E, int nfrom, int nto, int same);
int net_ring(net_edges *E, int n, int k);
int net_k_random(net_edges *E, int nfrom, int nto, int k, int same, void *rng);
int net_erdos_renyi(net_edges *E, int n, double p, void *rng);
int net_barabasi_albert(net_edges *E, int n, int m, void *rng); /* gsl_rng * */

#endif
