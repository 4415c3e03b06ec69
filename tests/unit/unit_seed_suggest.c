/*
** unit_seed_suggest.c — run seeds (rng_run_seed, core/rng.c) and name
** suggestions (diag_suggest, diag_did_you_mean, core/diag.c).
**
** Seeds: docs/output-files.md ("Reproducibility") gives the formula — the
** SplitMix64 finaliser of S + r * 0x9e3779b97f4a7c15 mod 2^64 — which the
** test recomputes on its own; the first outputs of SplitMix64 from state 0
** are the published reference values (Vigna's splitmix64.c); the map is
** inverted (the finaliser's steps are invertible) to prove it is a
** bijection on every value computed, and the first 10^6 runs of four
** master seeds have no two seeds alike.
*/
#include <stdint.h>
#include <stdlib.h>

#include "base/diag.h"
#include "base/rng.h"
#include "unit.h"

#define GAMMA 0x9e3779b97f4a7c15ULL
#define M1 0xbf58476d1ce4e5b9ULL
#define M2 0x94d049bb133111ebULL

/* The documented formula, written from docs/output-files.md. */
static uint64_t doc_seed(uint64_t master, uint64_t run)
{
  uint64_t z = master + run * GAMMA;
  z = (z ^ (z >> 30)) * M1;
  z = (z ^ (z >> 27)) * M2;
  return z ^ (z >> 31);
}

/* The inverse of a multiplication by an odd m modulo 2^64 (Newton). */
static uint64_t mul_inverse(uint64_t m)
{
  uint64_t x = m;               /* correct to 3 bits for odd m */
  for (int i = 0; i < 5; i++)
    x *= 2 - m * x;
  return x;
}

/* The inverse of z ^= z >> k. */
static uint64_t unxorshift(uint64_t y, int k)
{
  uint64_t z = y;
  for (int i = 0; i < 64 / k + 1; i++)
    z = y ^ (z >> k);
  return z;
}

/* The run index of seed s under master (the inverse of rng_run_seed). */
static uint64_t run_of(uint64_t master, uint64_t s)
{
  uint64_t z = unxorshift(s, 31);
  z *= mul_inverse(M2);
  z = unxorshift(z, 27);
  z *= mul_inverse(M1);
  z = unxorshift(z, 30);
  return (z - master) * mul_inverse(GAMMA);
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void seeds(void)
{
  static const uint64_t masters[] = {0, 1, 20261202, UINT64_MAX};
  enum { RUNS = 1000000 };
  uint64_t *s = malloc(RUNS * sizeof *s);

  /* SplitMix64 from state 0: its first four outputs, as published. */
  CHECK(rng_run_seed(0, 1) == 0xe220a8397b1dcdafULL);
  CHECK(rng_run_seed(0, 2) == 0x6e789e6aa1b965f4ULL);
  CHECK(rng_run_seed(0, 3) == 0x06c45d188009454fULL);
  CHECK(rng_run_seed(0, 4) == 0xf88bb8a8724c81ecULL);
  CHECK(mul_inverse(M1) * M1 == 1 && mul_inverse(GAMMA) * GAMMA == 1);

  for (size_t m = 0; m < sizeof masters / sizeof masters[0]; m++) {
    long formula_bad = 0, inverse_bad = 0, same = 0;
    for (uint64_t r = 1; r <= RUNS; r++) {
      s[r - 1] = rng_run_seed(masters[m], r);
      formula_bad += s[r - 1] != doc_seed(masters[m], r);
      inverse_bad += run_of(masters[m], s[r - 1]) != r;
    }
    /* Run indices far from 1 too (2^32 runs and beyond). */
    for (uint64_t r = (1ULL << 32) - 5; r < (1ULL << 32) + 5; r++) {
      formula_bad += rng_run_seed(masters[m], r) != doc_seed(masters[m], r);
      inverse_bad += run_of(masters[m], rng_run_seed(masters[m], r)) != r;
    }
    qsort(s, RUNS, sizeof *s, cmp_u64);
    for (long i = 1; i < RUNS; i++)
      same += s[i] == s[i - 1];
    printf("master %llu: %ld seeds off the documented formula, %ld not inverted, "
           "%ld collisions in %d runs\n", (unsigned long long)masters[m], formula_bad,
           inverse_bad, same, RUNS);
    CHECK(formula_bad == 0);
    CHECK(inverse_bad == 0);
    CHECK(same == 0);
  }
  /* Different masters give different streams for the same run. */
  CHECK(rng_run_seed(1, 1) != rng_run_seed(2, 1));
  free(s);
}

static void suggestions(void)
{
  static const char *const keys[] = {"actors", "ticks", "runs", "outcomes", "metrics",
                                     "grid", "hamas", "attrs"};
  const int n = (int)(sizeof keys / sizeof keys[0]);
  char buf[128];

  CHECK_STR(diag_suggest("actros", keys, n), "actors");   /* a transposition */
  CHECK_STR(diag_suggest("tiks", keys, n), "ticks");      /* a deletion */
  CHECK_STR(diag_suggest("outcome", keys, n), "outcomes");
  CHECK_STR(diag_suggest("METRICS", keys, n), "metrics"); /* case-insensitive */
  CHECK_STR(diag_suggest("gird", keys, n), "grid");
  CHECK_STR(diag_suggest("hamaz", keys, n), "hamas");
  CHECK_STR(diag_suggest("atrs", keys, n), "attrs");
  CHECK_STR(diag_suggest("population", keys, n), NULL);   /* far from every key */
  CHECK_STR(diag_suggest("xyz", keys, n), NULL);
  CHECK_STR(diag_suggest("", keys, n), NULL);
  CHECK_STR(diag_suggest(NULL, keys, n), NULL);
  CHECK_STR(diag_suggest("actros", keys, 0), NULL);
  {
    static const char *const one[] = {"a", "x"};
    CHECK_STR(diag_suggest("c", one, 2), NULL);          /* replacing everything is no typo */
    /* At most len/3 edits: 2 for a 6-letter word, not 3. */
    static const char *const six[] = {"abcxyz"};
    CHECK_STR(diag_suggest("abcdyz", six, 1), "abcxyz");
    CHECK_STR(diag_suggest("abcdez", six, 1), "abcxyz");
    CHECK_STR(diag_suggest("abcdef", six, 1), NULL);
    static const char *const tie[] = {"ac", "ad"};
    CHECK_STR(diag_suggest("ab", tie, 2), "ac");         /* the first of equals */
  }
  {
    char longw[200];
    memset(longw, 'a', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    CHECK_STR(diag_suggest(longw, keys, n), NULL);       /* longer than any typo */
  }

  snprintf(buf, sizeof buf, "unknown key 'actros'");
  diag_did_you_mean(buf, sizeof buf, "actros", keys, n);
  CHECK_STR(buf, "unknown key 'actros' (did you mean 'actors'?)");
  snprintf(buf, sizeof buf, "unknown key 'zzzzzz'");
  diag_did_you_mean(buf, sizeof buf, "zzzzzz", keys, n);
  CHECK_STR(buf, "unknown key 'zzzzzz'");
}

int main(void)
{
  seeds();
  suggestions();
  return unit_done("unit_seed_suggest");
}
