/*
** common.h — what every internal header starts from: the C library headers
** the declarations use, the public API (tightrope.h) and the engine's input
** limits. The internal headers, one per subsystem, live in the folder of
** their layer (docs/internals.md, "Layers"): base/ < scenario/ and run/ <
** experiment/ < app/; a file includes headers of its own layer or below.
*/
#ifndef TR_COMMON_H
#define TR_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <math.h>

#include "tightrope.h"

#define TR_MAX_FILE_BYTES (16u * 1024u * 1024u) /* docs/scenario-format.md, "Validation" */
#define TR_MAX_DEPTH 64                         /* docs/scenario-format.md, "Validation" */

#endif
