/* number.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_NUMBER_H
#define TR_BASE_NUMBER_H

#include "base/common.h"

/* Shortest string that reads back to the same double (docs/output-files.md): plain
** digits unless they are longer than the exponent form ("1e-5", "1.5e21").
** Returns the length written, or -1 when size is too small
** (OUT_NUMBER_SIZE always suffices). */
#define OUT_NUMBER_SIZE 32
int out_format_number(char *buf, size_t size, double x);

#endif
