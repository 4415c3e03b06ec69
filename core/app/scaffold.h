/* scaffold.h — app layer (docs/internals.md, "Layers"). */
#ifndef TR_APP_SCAFFOLD_H
#define TR_APP_SCAFFOLD_H

#include "base/common.h"
#include "base/diag.h"

/* `tightrope new DIR`: writes a commented starter scenario, policy and
** action into DIR (missing or empty). A TR_* status; messages go to d. */
int scaffold_new(const char *dir, tr_diag *d);

#endif
