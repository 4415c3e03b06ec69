/* api.h — app layer: what the public API's implementation (api.c) offers
** the other files of the app layer. */
#ifndef TR_APP_API_H
#define TR_APP_API_H

#include "base/common.h"
#include "scenario/options.h"

/* The resolved copy of opts for sc (out_buf holds the default folder);
** TR_OK or TR_EUSAGE with a message (an unknown --variant) in d. */
int opts_resolve(const tr_options *opts, const tr_scenario *sc, tr_options *out, char *out_buf,
                 size_t out_size, tr_diag *d);

#endif
