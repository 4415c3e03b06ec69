/* sqlite.h — experiment layer (docs/internals.md, "Layers"). */
#ifndef TR_EXPERIMENT_SQLITE_H
#define TR_EXPERIMENT_SQLITE_H

#include "base/common.h"
#include "base/diag.h"

/* results.sqlite read back (sqlite.c). Table `table` written to csv_path as
** the CSV file it mirrors: 0, 1 when there is no such table, -1 on error
** (in d). */
int sqlite_export_csv(const char *db_path, const char *table, const char *csv_path, tr_diag *d);
/* The names of the database's tables (malloc'd, NULL-terminated); their
** number, or -1. */
int sqlite_tables(const char *db_path, char ***names);
/* Run (variant, point, run) of table runs as its runs.csv line (malloc'd,
** no newline), or NULL. */
char *sqlite_run_row(const char *db_path, const char *variant, int point, int run);

#endif
