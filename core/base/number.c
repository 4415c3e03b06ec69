/*
** number.c — every number tightrope writes (CSV, manifest, replay, the
** report's tables) goes through out_format_number: the shortest string
** that reads back to the same double (docs/output-files.md, "Numbers").
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/number.h"

/* 1 when "%.*e" with `digits` significant digits reads back as x. */
static int out_roundtrips(char *buf, size_t size, double x, int digits) {
  snprintf(buf, size, "%.*e", digits - 1, x);
  return strtod(buf, NULL) == x;
}

/* Writes to sci ("%.*e" form) the fewest significant digits that read back
** as x. Round-tripping is monotone in the number of digits (the nearest
** (p+1)-digit decimal is at least as close to x as the nearest p-digit one)
** and 17 digits always round-trip, so a search finds the fewest. Computed
** values mostly need 16 or 17 digits: those are tried first. */
static void out_shortest(char *sci, size_t size, double x) {
  char trial[OUT_NUMBER_SIZE];
  int lo = 1, hi;

  if (!out_roundtrips(trial, sizeof trial, x, 16)) {
    snprintf(sci, size, "%.16e", x);
    return;
  }
  snprintf(sci, size, "%s", trial);
  if (!out_roundtrips(trial, sizeof trial, x, 15)) return;
  snprintf(sci, size, "%s", trial);
  hi = 15; /* sci holds hi digits */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (out_roundtrips(trial, sizeof trial, x, mid)) {
      snprintf(sci, size, "%s", trial);
      hi = mid;
    } else lo = mid + 1;
  }
}

int out_format_number(char *buf, size_t size, double x) {
  char sci[OUT_NUMBER_SIZE], digits[24], plain[OUT_NUMBER_SIZE], expo[OUT_NUMBER_SIZE];
  const char *chosen;
  int ndigits = 0, exponent, neg, len, i;
  char *p;

  if (isnan(x)) chosen = "nan";
  else if (isinf(x)) chosen = x > 0 ? "inf" : "-inf";
  else if (x == 0) chosen = "0"; /* -0 too */
  else chosen = NULL;
  if (chosen) {
    len = (int)strlen(chosen);
    if ((size_t)len >= size) return -1;
    memcpy(buf, chosen, (size_t)len + 1);
    return len;
  }

  out_shortest(sci, sizeof sci, x);

  /* sci is "[-]D[.DDD]e[+-]XX": split it into digits and exponent. */
  neg = sci[0] == '-';
  for (p = sci + neg; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') digits[ndigits++] = *p;
  exponent = (int)strtol(p + 1, NULL, 10);
  while (ndigits > 1 && digits[ndigits - 1] == '0') ndigits--;
  digits[ndigits] = '\0';

  /* Exponent form: D[.DDD]eX, no '+', no leading zeros in X. */
  snprintf(expo, sizeof expo, "%s%c%s%se%d", neg ? "-" : "", digits[0], ndigits > 1 ? "." : "",
           digits + 1, exponent);

  /* Plain form; skipped (left empty) when it could not fit. */
  plain[0] = '\0';
  if (exponent >= 0 && exponent + 2 < (int)sizeof plain - 2) {
    len = 0;
    if (neg) plain[len++] = '-';
    for (i = 0; i < ndigits || i <= exponent; i++) {
      if (i == exponent + 1) plain[len++] = '.';
      plain[len++] = i < ndigits ? digits[i] : '0';
    }
    plain[len] = '\0';
  } else if (exponent < 0 && ndigits - exponent + 2 < (int)sizeof plain) {
    len = 0;
    if (neg) plain[len++] = '-';
    plain[len++] = '0';
    plain[len++] = '.';
    for (i = -1; i > exponent; i--) plain[len++] = '0';
    memcpy(plain + len, digits, (size_t)ndigits);
    plain[len + ndigits] = '\0';
  }

  chosen = plain[0] && strlen(plain) <= strlen(expo) ? plain : expo;
  len = (int)strlen(chosen);
  if ((size_t)len >= size) return -1;
  memcpy(buf, chosen, (size_t)len + 1);
  return len;
}
