/*
** unit_number.c — out_format_number (core/output.c), the number format of
** every CSV file (docs/output-files.md, "Numbers"): the shortest decimal
** that reads back as the same double, in plain digits unless the exponent
** form is shorter (a tie goes to plain digits), "0" for -0, exponents with
** no '+' and no leading zeros. Checks every row of the docs' table, the
** edges (17-digit values, subnormals, the largest double, long plain
** forms), and for 200 000 random doubles that strtod reads the output back
** exactly and that one significant digit fewer would not.
*/
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "base/number.h"
#include "base/rng.h"
#include "unit.h"

static const char *fmt(double x)
{
  static char buf[OUT_NUMBER_SIZE];
  if (out_format_number(buf, sizeof buf, x) < 0)
    return "(too long)";
  return buf;
}

/* The number of significant digits in s (a formatted finite number). */
static int sig_digits(const char *s)
{
  int n = 0, started = 0;
  for (; *s && *s != 'e'; s++) {
    if (*s < '0' || *s > '9')
      continue;
    if (*s != '0')
      started = 1;
    if (started)
      n++;
  }
  return n;
}

/* x's output reads back as x, and is no longer than needed: "%.*e" with one
** significant digit fewer than the output's (not counting the zeros a plain
** integer needs) does not read back as x. */
static int shortest_roundtrip(double x, char *why, size_t size)
{
  char buf[OUT_NUMBER_SIZE], fewer[64];
  int len = out_format_number(buf, sizeof buf, x);
  if (len < 0 || (size_t)len != strlen(buf)) {
    snprintf(why, size, "%.17g: length %d", x, len);
    return 0;
  }
  if (strtod(buf, NULL) != x) {
    snprintf(why, size, "%.17g written \"%s\" reads back as %.17g", x, buf, strtod(buf, NULL));
    return 0;
  }
  if (strchr(buf, '+') || strstr(buf, "e0") || strstr(buf, "e-0")) {
    snprintf(why, size, "%.17g written \"%s\": exponent with '+' or a leading zero", x, buf);
    return 0;
  }
  int d = sig_digits(buf);
  /* Strip zeros that only place the point in an integer ("1500" -> 2). */
  if (!strchr(buf, '.') && !strchr(buf, 'e')) {
    const char *e = buf + strlen(buf);
    while (e > buf && e[-1] == '0') {
      e--;
      d--;
    }
  }
  if (d > 1) {
    snprintf(fewer, sizeof fewer, "%.*e", d - 2, x);
    if (strtod(fewer, NULL) == x) {
      snprintf(why, size, "%.17g written \"%s\" but \"%s\" reads back too", x, buf, fewer);
      return 0;
    }
  }
  return 1;
}

int main(void)
{
  /* docs/output-files.md, the table under "Numbers". */
  CHECK_STR(fmt(0.25), "0.25");
  CHECK_STR(fmt(0.1 + 0.2), "0.30000000000000004");
  CHECK_STR(fmt(0.01), "0.01");
  CHECK_STR(fmt(0.001), "1e-3");
  CHECK_STR(fmt(0.0001), "1e-4");
  CHECK_STR(fmt(100), "100");
  CHECK_STR(fmt(1000), "1e3");
  CHECK_STR(fmt(1001), "1001");
  CHECK_STR(fmt(1.5e21), "1.5e21");
  CHECK_STR(fmt(-0.0), "0");

  /* Integers, signs, ties (same length: plain digits). */
  CHECK_STR(fmt(0), "0");
  CHECK_STR(fmt(1), "1");
  CHECK_STR(fmt(-1), "-1");
  CHECK_STR(fmt(10), "10");
  CHECK_STR(fmt(42), "42");
  CHECK_STR(fmt(-2.5), "-2.5");
  CHECK_STR(fmt(123456), "123456");
  CHECK_STR(fmt(1e5), "1e5");
  CHECK_STR(fmt(-1000), "-1e3");
  CHECK_STR(fmt(1500), "1500");           /* 4 characters either way */
  CHECK_STR(fmt(15000), "15000");         /* 5 characters either way */
  CHECK_STR(fmt(150000), "1.5e5");
  CHECK_STR(fmt(9007199254740992.0), "9007199254740992");   /* 2^53 */
  CHECK_STR(fmt(1e16), "1e16");
  CHECK_STR(fmt(1e21), "1e21");

  /* Fractions. */
  CHECK_STR(fmt(0.1), "0.1");
  CHECK_STR(fmt(-0.1), "-0.1");
  CHECK_STR(fmt(0.5), "0.5");
  CHECK_STR(fmt(1e-5), "1e-5");
  CHECK_STR(fmt(-0.001), "-1e-3");
  CHECK_STR(fmt(0.015), "0.015");         /* "1.5e-2" is longer */
  CHECK_STR(fmt(0.0015), "0.0015");       /* 6 characters either way */
  CHECK_STR(fmt(0.00015), "1.5e-4");
  CHECK_STR(fmt(1.0 / 3), "0.3333333333333333");
  CHECK_STR(fmt(2.0 / 3), "0.6666666666666666");
  CHECK_STR(fmt(1.1), "1.1");
  CHECK_STR(fmt(123.456), "123.456");

  /* 17 significant digits. */
  CHECK_STR(fmt(1.0 + DBL_EPSILON), "1.0000000000000002");
  CHECK_STR(fmt(1.0 - DBL_EPSILON / 2), "0.9999999999999999");
  CHECK_STR(fmt(9007199254740994.0), "9007199254740994");

  /* Exponent edges. */
  CHECK_STR(fmt(DBL_MAX), "1.7976931348623157e308");
  CHECK_STR(fmt(-DBL_MAX), "-1.7976931348623157e308");
  CHECK_STR(fmt(DBL_MIN), "2.2250738585072014e-308");
  CHECK_STR(fmt(5e-324), "5e-324");       /* the smallest subnormal */
  CHECK_STR(fmt(1e300), "1e300");
  CHECK_STR(fmt(1e-300), "1e-300");
  CHECK_STR(fmt(1.2345e-7), "1.2345e-7");
  CHECK_STR(fmt(6.02214076e23), "6.02214076e23");

  /* Not numbers: what the writer gets if it does not blank them first. */
  CHECK_STR(fmt(NAN), "nan");
  CHECK_STR(fmt(INFINITY), "inf");
  CHECK_STR(fmt(-INFINITY), "-inf");

  /* Buffers: OUT_NUMBER_SIZE always suffices; a short one gives -1. */
  {
    char small[4];
    CHECK(out_format_number(small, sizeof small, 0.25) == -1);
    CHECK(out_format_number(small, sizeof small, 100) == 3 && strcmp(small, "100") == 0);
    CHECK(out_format_number(small, 3, 100) == -1);
  }

  /* Round trip and shortness: every edge above, then random doubles —
  ** uniform bit patterns (every exponent) and uniform [0, 1) values (the
  ** shares and means of real output). */
  {
    static const double edges[] = {0.25, 0.1, 1e-5, 1.5e21, 1001, 1e300, 5e-324,
                                   DBL_MAX, DBL_MIN, 1.0 / 3, 0.1 + 0.2, 123456789.125,
                                   4.35, 2.675, 1e22, 1e23, 9.5e-7};
    char why[160];
    long bad = 0;
    gsl_rng *r = gsl_rng_alloc(rng_type());
    gsl_rng_set(r, 20261202);
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
      if (!shortest_roundtrip(edges[i], why, sizeof why) && bad++ < 5)
        printf("FAIL %s\n", why);
    for (long i = 0; i < 200000; i++) {
      double x;
      if (i % 2) {
        uint64_t bits = gsl_rng_get(r);
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x))
          continue;
      } else {
        x = gsl_rng_uniform(r) * (i % 3 ? 1.0 : 1000.0);
      }
      if (!shortest_roundtrip(x, why, sizeof why) && bad++ < 5)
        printf("FAIL %s\n", why);
    }
    gsl_rng_free(r);
    CHECK(bad == 0);
  }
  return unit_done("unit_number");
}
