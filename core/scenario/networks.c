/*
** networks.c — relations declared by rule between populations
** (docs/scenario-format.md#relations-by-rule): all-to-all, ring, each to K
** random others, Erdős–Rényi G(n, p) and Barabási–Albert preferential
** attachment. Each generator appends directed (from, to) pairs of member
** numbers (0-based) to an edge list; undirected rules append both
** directions. Draws come only from the gsl_rng given, so a network is a
** function of its seed: the random rules are drawn once per run from the
** run's stream (world_network, world.c), all and ring once at load
** (scenario.c), since they draw nothing.
*/
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "scenario/scenario.h"
#include "scenario/networks.h"

const char *const net_rule_names[5] = {"all", "ring", "k_random", "erdos_renyi", "barabasi_albert"};

static int push(net_edges *E, int from, int to) {
  if (E->n == E->cap) {
    size_t nc = E->cap ? E->cap * 2 : 1024;
    int *ne = realloc(E->e, nc * 2 * sizeof *ne);
    if (!ne) return -1;
    E->e = ne;
    E->cap = nc;
  }
  E->e[2 * E->n] = from;
  E->e[2 * E->n + 1] = to;
  E->n++;
  return 0;
}

static int push2(net_edges *E, int a, int b) { return push(E, a, b) || push(E, b, a) ? -1 : 0; }

int net_all(net_edges *E, int nfrom, int nto, int same) {
  for (int i = 0; i < nfrom; i++)
    for (int j = 0; j < nto; j++)
      if ((!same || i != j) && push(E, i, j)) return -1;
  return 0;
}

/* i -> i +- 1 .. k (mod n); the caller checks n > 2k. */
int net_ring(net_edges *E, int n, int k) {
  for (int i = 0; i < n; i++)
    for (int d = 1; d <= k; d++)
      if (push(E, i, (i + d) % n) || push(E, i, (i - d + n) % n)) return -1;
  return 0;
}

/* Each of nfrom members to k distinct members of nto (not itself when
** same), uniformly: rejection of repeats, k is small next to nto. */
int net_k_random(net_edges *E, int nfrom, int nto, int k, int same, void *rng) {
  gsl_rng *r = rng;
  int *got = malloc((size_t)(k ? k : 1) * sizeof *got);
  if (!got) return -1;
  for (int i = 0; i < nfrom; i++) {
    int n = 0;
    while (n < k) {
      int j = (int)gsl_rng_uniform_int(r, (unsigned long)nto);
      int dup = same && j == i;
      for (int q = 0; q < n && !dup; q++) dup = got[q] == j;
      if (!dup) got[n++] = j;
    }
    for (int q = 0; q < k; q++)
      if (push(E, i, got[q])) {
        free(got);
        return -1;
      }
  }
  free(got);
  return 0;
}

/* G(n, p), each unordered pair with probability p, by geometric skips
** (Batagelj & Brandes 2005): O(n + edges) draws. */
int net_erdos_renyi(net_edges *E, int n, double p, void *rng) {
  gsl_rng *r = rng;
  if (p <= 0) return 0;
  if (p >= 1) return net_all(E, n, n, 1);
  double lq = log(1 - p);
  long v = 1, w = -1;
  while (v < n) {
    double u = gsl_rng_uniform(r);
    w += 1 + (long)floor(log(1 - u) / lq);
    while (w >= v && v < n) {
      w -= v;
      v++;
    }
    if (v < n && push2(E, (int)v, (int)w)) return -1;
  }
  return 0;
}

/* Barabási–Albert: a clique of m + 1 members, then each new member links
** to m distinct earlier ones with probability proportional to degree
** (uniform over the list of edge ends). */
int net_barabasi_albert(net_edges *E, int n, int m, void *rng) {
  gsl_rng *r = rng;
  int m0 = m + 1 < n ? m + 1 : n;
  size_t cap = (size_t)2 * ((size_t)m0 * (size_t)m0 + (size_t)n * (size_t)m) + 1;
  int *ends = malloc(cap * sizeof *ends);
  int *got = malloc((size_t)(m ? m : 1) * sizeof *got);
  if (!ends || !got) {
    free(ends);
    free(got);
    return -1;
  }
  size_t ne = 0;
  for (int i = 0; i < m0; i++)
    for (int j = i + 1; j < m0; j++) {
      if (push2(E, i, j)) goto oom;
      ends[ne++] = i;
      ends[ne++] = j;
    }
  for (int v = m0; v < n; v++) {
    int k = 0;
    while (k < m) {
      int t = ends[gsl_rng_uniform_int(r, (unsigned long)ne)];
      int dup = 0;
      for (int q = 0; q < k && !dup; q++) dup = got[q] == t;
      if (!dup) got[k++] = t;
    }
    for (int q = 0; q < m; q++) {
      if (push2(E, v, got[q])) goto oom;
      ends[ne++] = v;
      ends[ne++] = got[q];
    }
  }
  free(ends);
  free(got);
  return 0;
oom:
  free(ends);
  free(got);
  return -1;
}

int net_make(net_edges *E, int rule, int nf, int nt, int same, int k, double p, int m, void *rng) {
  switch (rule) {
    case NET_ALL: return net_all(E, nf, nt, same);
    case NET_RING: return net_ring(E, nf, k);
    case NET_K_RANDOM: return net_k_random(E, nf, nt, k, same, rng);
    case NET_ERDOS_RENYI: return net_erdos_renyi(E, nf, p, rng);
    default: return net_barabasi_albert(E, nf, m, rng);
  }
}
