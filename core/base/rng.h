/* rng.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_RNG_H
#define TR_BASE_RNG_H

#include "base/common.h"

/* Each run's stream: a 64-bit-seeded generator registered as a
** gsl_rng_type, seeded with rng_run_seed(master, run). The map run -> seed
** is a bijection for a fixed master, so no two runs share a stream. */
uint64_t rng_run_seed(uint64_t master, uint64_t run);
const void *rng_type(void); /* the const gsl_rng_type * */

#endif
