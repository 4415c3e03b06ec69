/*
** sqlite.c — reading results.sqlite back (docs/output-files.md#resultssqlite):
** a table exported as the CSV file it mirrors, byte for byte (for `report`
** on a folder that holds only results.sqlite), and one row of `runs` as
** runs.csv has it (for `replay`). output.c writes the database.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/diag.h"
#include "base/number.h"
#include "experiment/sqlite.h"

static sqlite3 *open_ro(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

/* A field as output.c formats it: NULL empty, integers in decimal, reals by
** out_format_number, text quoted (RFC 4180) only when it must be. */
static void put_field(FILE *f, sqlite3_stmt *st, int c) {
  char num[OUT_NUMBER_SIZE];
  switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL: return;
    case SQLITE_INTEGER: fprintf(f, "%lld", (long long)sqlite3_column_int64(st, c)); return;
    case SQLITE_FLOAT:
      out_format_number(num, sizeof num, sqlite3_column_double(st, c));
      fputs(num, f);
      return;
    default: {
      const char *t = (const char *)sqlite3_column_text(st, c);
      if (!t) return;
      if (!strpbrk(t, ",\"\r\n")) {
        fputs(t, f);
        return;
      }
      fputc('"', f);
      for (; *t; t++) {
        if (*t == '"') fputc('"', f);
        fputc(*t, f);
      }
      fputc('"', f);
    }
  }
}

static void put_name(FILE *f, const char *t) {
  if (!strpbrk(t, ",\"\r\n")) {
    fputs(t, f);
    return;
  }
  fputc('"', f);
  for (; *t; t++) {
    if (*t == '"') fputc('"', f);
    fputc(*t, f);
  }
  fputc('"', f);
}

int sqlite_export_csv(const char *db_path, const char *table, const char *csv_path, tr_diag *d) {
  sqlite3 *db = open_ro(db_path);
  if (!db) {
    diag_error(d, db_path, 0, 0, "cannot open the database");
    return -1;
  }
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", table);
  int rc = 1;
  if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto out; /* no such table */
  FILE *f = fopen(csv_path, "w");
  if (!f) {
    diag_error(d, NULL, 0, 0, "cannot write '%s': %s", csv_path, strerror(errno));
    rc = -1;
    goto out;
  }
  int n = sqlite3_column_count(st);
  for (int c = 0; c < n; c++) {
    if (c) fputc(',', f);
    put_name(f, sqlite3_column_name(st, c));
  }
  fputc('\n', f);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    for (int c = 0; c < n; c++) {
      if (c) fputc(',', f);
      put_field(f, st, c);
    }
    fputc('\n', f);
  }
  rc = 0;
  if (step != SQLITE_DONE) {
    diag_error(d, db_path, 0, 0, "cannot read table %s: %s", table, sqlite3_errmsg(db));
    rc = -1;
  }
  if (fclose(f) != 0 && rc == 0) {
    diag_error(d, NULL, 0, 0, "cannot write '%s': %s", csv_path, strerror(errno));
    rc = -1;
  }
out:
  sqlite3_finalize(st);
  sqlite3_free(sql);
  sqlite3_close(db);
  return rc;
}

int sqlite_tables(const char *db_path, char ***names) {
  sqlite3 *db = open_ro(db_path);
  sqlite3_stmt *st = NULL;
  int n = 0;
  *names = NULL;
  if (!db) return -1;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                         -1, &st, NULL)
      == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      char **grown = realloc(*names, (size_t)(n + 2) * sizeof *grown);
      if (!grown) break;
      *names = grown;
      if (!(grown[n] = strdup((const char *)sqlite3_column_text(st, 0)))) break;
      grown[++n] = NULL;
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

char *sqlite_run_row(const char *db_path, const char *variant, int point, int run) {
  sqlite3 *db = open_ro(db_path);
  if (!db) return NULL;
  sqlite3_stmt *st = NULL;
  char *row = NULL;
  size_t len = 0;
  if (sqlite3_prepare_v2(db, "SELECT * FROM runs WHERE variant = ? AND point = ? AND run = ?", -1,
                         &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text(st, 1, variant, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, point);
    sqlite3_bind_int(st, 3, run);
    if (sqlite3_step(st) == SQLITE_ROW) {
      FILE *f = open_memstream(&row, &len);
      for (int c = 0; f && c < sqlite3_column_count(st); c++) {
        if (c) fputc(',', f);
        put_field(f, st, c);
      }
      if (f) fclose(f);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return row;
}
