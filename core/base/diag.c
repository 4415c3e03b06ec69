/*
** diag.c — diagnostics: errors as values that carry a place (FILE:LINE:COL).
** Messages are kept in the order they were found and printed sorted by file,
** line and column (a stable sort, so two errors at one place keep their
** order). Every function here tolerates allocation failure by dropping the
** message rather than aborting: a diagnostic must never crash the engine.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "base/diag.h"

tr_diag *tr_diag_new(void) { return calloc(1, sizeof(tr_diag)); }

void tr_diag_free(tr_diag *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    free(d->msgs[i].file);
    free(d->msgs[i].text);
  }
  free(d->msgs);
  free(d);
}

int tr_diag_count(const tr_diag *d) { return diag_count_level(d, DIAG_ERROR); }

int diag_count_level(const tr_diag *d, int level) {
  int n = 0;
  for (int i = 0; d && i < d->n; i++) n += d->msgs[i].level == level;
  return n;
}

void diag_warnings_to_errors(tr_diag *d) {
  for (int i = 0; d && i < d->n; i++)
    if (d->msgs[i].level == DIAG_WARNING) d->msgs[i].level = DIAG_ERROR;
}

/* The files a scenario is composed of (compose.c): a place in file k > 0
** travels as the line (k << DIAG_SOURCE_SHIFT) | line, so that every stage
** after loading reports it in the right file without knowing about
** composition. The registry only grows; one path has one index. */
#define DIAG_SOURCE_SHIFT 25 /* lines < 2^25: files are at most 16 MiB */
#define DIAG_SOURCE_MAX 63   /* (63 << 25) still fits an int */
static pthread_mutex_t diag_sources_lock = PTHREAD_MUTEX_INITIALIZER;
static char *diag_sources[DIAG_SOURCE_MAX + 1];

int diag_source(const char *path) {
  int k = 0;
  pthread_mutex_lock(&diag_sources_lock);
  for (int i = 1; i <= DIAG_SOURCE_MAX && !k; i++) {
    if (!diag_sources[i]) {
      if ((diag_sources[i] = strdup(path))) k = i;
      break;
    }
    if (strcmp(diag_sources[i], path) == 0) k = i;
  }
  pthread_mutex_unlock(&diag_sources_lock);
  return k; /* 0 when full: places then read as lines of the scenario file */
}

int diag_source_line(int source, int line) {
  if (source <= 0 || line <= 0 || line >= (1 << DIAG_SOURCE_SHIFT)) return line;
  return (source << DIAG_SOURCE_SHIFT) | line;
}

int diag_source_plain(int line) {
  return line >= (1 << DIAG_SOURCE_SHIFT) ? line & ((1 << DIAG_SOURCE_SHIFT) - 1) : line;
}

char *diag_source_file(int line) {
  if (line < (1 << DIAG_SOURCE_SHIFT)) return NULL;
  int k = line >> DIAG_SOURCE_SHIFT;
  char *r = NULL;
  pthread_mutex_lock(&diag_sources_lock);
  if (k <= DIAG_SOURCE_MAX && diag_sources[k]) r = strdup(diag_sources[k]);
  pthread_mutex_unlock(&diag_sources_lock);
  return r;
}

void diag_verror(tr_diag *d, const char *file, int line, int col, const char *fmt, va_list ap) {
  if (!d) return;
  if (line >= (1 << DIAG_SOURCE_SHIFT)) {
    int k = line >> DIAG_SOURCE_SHIFT;
    pthread_mutex_lock(&diag_sources_lock);
    if (k <= DIAG_SOURCE_MAX && diag_sources[k]) file = diag_sources[k];
    pthread_mutex_unlock(&diag_sources_lock);
    line &= (1 << DIAG_SOURCE_SHIFT) - 1;
  }
  if (d->n == d->cap) {
    int cap = d->cap ? 2 * d->cap : 8;
    tr_msg *m = realloc(d->msgs, (size_t)cap * sizeof *m);
    if (!m) return;
    d->msgs = m;
    d->cap = cap;
  }
  char *text = NULL;
  if (vasprintf(&text, fmt, ap) < 0) return;
  char *f = NULL;
  if (file && !(f = strdup(file))) {
    free(text);
    return;
  }
  tr_msg *m = &d->msgs[d->n++];
  d->sorted = 0;
  m->file = f;
  m->line = line > 0 ? line : 0;
  m->col = col > 0 ? col : 0;
  m->text = text;
  m->level = DIAG_ERROR;
}

void diag_error(tr_diag *d, const char *file, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, file, line, col, fmt, ap);
  va_end(ap);
}

void diag_warning(tr_diag *d, const char *file, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = d ? d->n : 0;
  diag_verror(d, file, line, col, fmt, ap);
  va_end(ap);
  if (d && d->n > n) d->msgs[n].level = DIAG_WARNING;
}

void diag_note(tr_diag *d, const char *file, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = d ? d->n : 0;
  diag_verror(d, file, line, col, fmt, ap);
  va_end(ap);
  if (d && d->n > n) d->msgs[n].level = DIAG_NOTE;
}

/* Messages without a file come first (they are about the whole command),
** then by file name, line and column; the index breaks ties so that the
** sort is stable although qsort is not. */
typedef struct {
  const tr_msg *m;
  int index;
} diag_ref;

static int diag_cmp(const void *pa, const void *pb) {
  const diag_ref *a = pa, *b = pb;
  const char *fa = a->m->file, *fb = b->m->file;
  if (!fa != !fb) return fa ? 1 : -1;
  if (fa) {
    int c = strcmp(fa, fb);
    if (c) return c;
  }
  if (a->m->line != b->m->line) return a->m->line < b->m->line ? -1 : 1;
  if (a->m->col != b->m->col) return a->m->col < b->m->col ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static void diag_print_one(const tr_msg *m, FILE *to) {
  const char *kind = m->level == DIAG_WARNING ? "warning"
      : m->level == DIAG_NOTE                 ? "note"
                                              : "error";
  if (!m->file) {
    fputs("tightrope", to);
  } else {
    diag_put_text(to, m->file);
    if (m->line > 0) fprintf(to, ":%d:%d", m->line, m->col);
  }
  fprintf(to, ": %s: ", kind);
  diag_put_text(to, m->text); /* may quote a script's own words */
  fputc('\n', to);
}

void tr_diag_print(const tr_diag *d, FILE *to) {
  if (!d || d->n == 0) return;
  diag_ref *refs = malloc((size_t)d->n * sizeof *refs);
  if (!refs) { /* unsorted is better than nothing */
    for (int i = 0; i < d->n; i++) diag_print_one(&d->msgs[i], to);
    return;
  }
  for (int i = 0; i < d->n; i++) {
    refs[i].m = &d->msgs[i];
    refs[i].index = i;
  }
  qsort(refs, (size_t)d->n, sizeof *refs, diag_cmp);
  for (int i = 0; i < d->n; i++) diag_print_one(refs[i].m, to);
  free(refs);
}

/* Sorts the messages in place into print order, then hands out one. */
int tr_diag_get(tr_diag *d, int i, tr_message *out) {
  if (!d || i < 0 || i >= d->n || !out) return -1;
  if (!d->sorted) {
    diag_ref *refs = malloc((size_t)d->n * sizeof *refs);
    tr_msg *msgs = malloc((size_t)d->n * sizeof *msgs);
    if (refs && msgs) {
      for (int k = 0; k < d->n; k++) {
        refs[k].m = &d->msgs[k];
        refs[k].index = k;
      }
      qsort(refs, (size_t)d->n, sizeof *refs, diag_cmp);
      for (int k = 0; k < d->n; k++) msgs[k] = *refs[k].m;
      memcpy(d->msgs, msgs, (size_t)d->n * sizeof *msgs);
      d->sorted = 1;
    }
    free(refs);
    free(msgs);
  }
  const tr_msg *m = &d->msgs[i];
  out->file = m->file;
  out->line = m->line;
  out->col = m->col;
  out->text = m->text;
  return 0;
}

/* Edit distance (Levenshtein with adjacent transpositions, the "optimal
** string alignment" variant, so 'gird' is one edit from 'grid'), ASCII
** case-insensitive, with three rolling rows. Words longer than DIAG_MAXWORD
** are never suggested for (no typo is that long and the cost is quadratic). */

static int diag_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  int rows[3][DIAG_MAXWORD + 1];
  int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (int)i;
    int ca = tolower((unsigned char)a[i - 1]);
    for (size_t j = 1; j <= lb; j++) {
      int cb = tolower((unsigned char)b[j - 1]);
      int best = prev[j - 1] + (ca != cb);
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2])
          && tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
    }
    int *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[lb];
}

/* A candidate is plausible when at most max(1, len/3) edits away, len being
** the length of the word typed: 'atrs' -> 'attrs', 'hamaz' -> 'hamas', but
** 'xyz' is not a typo of 'x'. Replacing every character is no typo either
** ('c' is not 'a'). The first of equally close names wins. */
const char *diag_suggest(const char *word, const char *const *names, int n) {
  if (!word || !names) return NULL;
  size_t lw = strlen(word);
  if (lw == 0 || lw > DIAG_MAXWORD) return NULL;
  int limit = (int)lw / 3;
  if (limit < 1) limit = 1;
  const char *best = NULL;
  int bestd = limit + 1;
  for (int i = 0; i < n; i++) {
    if (!names[i] || strlen(names[i]) > DIAG_MAXWORD) continue;
    int dist = diag_distance(word, names[i]);
    size_t ln = strlen(names[i]);
    if ((size_t)dist >= (ln > lw ? ln : lw)) continue;
    if (dist < bestd) {
      bestd = dist;
      best = names[i];
    }
  }
  return best;
}

void diag_did_you_mean(char *buf, size_t size, const char *word, const char *const *names, int n) {
  const char *s = diag_suggest(word, names, n);
  if (!s || !buf || size == 0) return;
  size_t used = strnlen(buf, size);
  if (used < size) snprintf(buf + used, size - used, " (did you mean '%s'?)", s);
}

/* Writes s to f as one shell word that a POSIX shell (bash, zsh) reads
** back unchanged: bare when it holds only safe characters, else in single
** quotes ('\'' for a quote), or in $'...' when it holds control bytes, so a
** printed command can be pasted back and never moves the terminal's cursor
** (docs/cli.md). */
void diag_shell_word(FILE *f, const char *s) {
  int safe = *s != 0, ctl = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f) ctl = 1;
    if (!(isalnum(*p) || strchr("_./=:,+@%-", *p))) safe = 0;
  }
  if (safe) {
    fputs(s, f);
    return;
  }
  if (!ctl) {
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
      if (*p == '\'') fputs("'\\''", f);
      else fputc(*p, f);
    }
    fputc('\'', f);
    return;
  }
  fputs("$'", f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\'' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
    else fputc(*p, f);
  }
  fputc('\'', f);
}

/* Writes s to f with every control character a terminal would act on
** written as an escape instead: C0 controls other than newline and tab,
** DEL, and the C1 controls U+0080..U+009F, as \xNN (\u00NN for C1). Text a
** script chose (its print, its error messages) goes through here, so it
** cannot retitle the window or clear the screen (docs/security.md). */
void diag_put_text(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) fprintf(f, "\\x%02x", *p);
    else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
      fprintf(f, "\\u%04x", p[1]);
      p++;
    } else fputc(*p, f);
  }
}
