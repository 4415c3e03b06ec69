/* diag.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_DIAG_H
#define TR_BASE_DIAG_H

#include "base/common.h"

/* An error is a value with a place: FILE:LINE:COL (line/col 1-based, 0 when
** unknown). Printed in the compiler style "FILE:LINE:COL: error: MESSAGE".
** Errors are kept in the order they were found; tr_diag_print sorts them by
** file, line and column so a user reads them top to bottom. */
typedef struct tr_msg {
  char *file; /* may be NULL: the message has no place */
  int line, col;
  char *text;
  int level; /* DIAG_ERROR, DIAG_WARNING or DIAG_NOTE */
} tr_msg;
enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct tr_diag {
  tr_msg *msgs;
  int n, cap;
  int sorted; /* msgs are in print order (tr_diag_get sorts them) */
};

void diag_error(tr_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_verror(tr_diag *d, const char *file, int line, int col, const char *fmt, va_list ap);
/* Warnings ("FILE:LINE:COL: warning: ...") and notes: printed with the
** errors, never counted by tr_diag_count (docs/scenario-format.md,
** "Mistakes check finds"). */
void diag_warning(tr_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_note(tr_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int diag_count_level(const tr_diag *d, int level);
/* --strict: every warning becomes an error. */
void diag_warnings_to_errors(tr_diag *d);
/* The closest of names[0..n-1] to word (Levenshtein, case-insensitive), or
** NULL when none is close enough to be a plausible typo. */
const char *diag_suggest(const char *word, const char *const *names, int n);
/* The files a scenario is composed of: diag_source gives a file's index
** (1..63, 0 when the registry is full), diag_source_line the line number
** that carries that file with it; diag_verror decodes it (compose.c). */
int diag_source(const char *path);
int diag_source_line(int source, int line);
/* The file of an encoded line (a copy to free), or NULL for a plain line;
** and the line number within its file. */
char *diag_source_file(int line);
int diag_source_plain(int line);
/* Appends " (did you mean 'X'?)" to buf when a suggestion exists. Names
** longer than DIAG_MAXWORD are never suggested, so a buffer of
** DIAG_HINT_SIZE bytes, empty to start with, always holds the hint. */
#define DIAG_MAXWORD 128
#define DIAG_HINT_SIZE (DIAG_MAXWORD + 24)
void diag_did_you_mean(char *buf, size_t size, const char *word, const char *const *names, int n);
/* Writes s to f as one shell word (quoted when it needs it). */
void diag_shell_word(FILE *f, const char *s);
/* Writes s to f with terminal control characters escaped (\x1b...). */
void diag_put_text(FILE *f, const char *s);

#endif
