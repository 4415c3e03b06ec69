/*
** rng.c — random streams. Every draw of a run comes from one GSL generator
** seeded with that run's seed, so a run is a pure function of (scenario,
** instance, run seed).
**
** GSL's stock generators take 32-bit seeds: with 2^32 runs two runs would
** share a stream by the pigeonhole principle, and by the birthday bound far
** sooner. So the run stream is xoshiro256** (Blackman & Vigna 2018, period
** 2^256 - 1) registered as a gsl_rng_type whose `set` takes the full 64-bit
** unsigned long. Its 256-bit state is filled by SplitMix64 from the seed.
**
** Invariant: rng_run_seed(master, .) is a bijection on 64-bit integers for a
** fixed master (an odd-multiplier affine map followed by the SplitMix64
** finaliser, each invertible), so distinct run indices always get distinct
** seeds, and distinct seeds give distinct initial states.
*/
#include <gsl/gsl_rng.h>

#include "base/rng.h"

typedef struct {
  uint64_t s[4];
} xoshiro_state;

static uint64_t splitmix64_next(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Run r's seed: the SplitMix64 finaliser of master + r * golden gamma (the
** r-th output of SplitMix64 started at state master; docs/output-files.md,
** Reproducibility). splitmix64_next adds one gamma before mixing. */
uint64_t rng_run_seed(uint64_t master, uint64_t run) {
  uint64_t x = master + (run - 1) * 0x9e3779b97f4a7c15ULL;
  return splitmix64_next(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void xoshiro_set(void *vstate, unsigned long seed) {
  xoshiro_state *st = vstate;
  uint64_t x = (uint64_t)seed;
  for (int i = 0; i < 4; i++) st->s[i] = splitmix64_next(&x);
}

static inline uint64_t xoshiro_next(xoshiro_state *st) {
  uint64_t *s = st->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static unsigned long xoshiro_get(void *vstate) { return (unsigned long)xoshiro_next(vstate); }

/* Uniform on [0, 1) with 53 random bits. */
static double xoshiro_get_double(void *vstate) {
  return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53;
}

_Static_assert(sizeof(unsigned long) == 8, "tightrope needs a 64-bit unsigned long (LP64)");

static const gsl_rng_type xoshiro256ss_type = {"xoshiro256**",
                                               0xffffffffffffffffUL, /* max */
                                               0,                    /* min */
                                               sizeof(xoshiro_state),
                                               xoshiro_set,
                                               xoshiro_get,
                                               xoshiro_get_double};

const void *rng_type(void) { return &xoshiro256ss_type; }
