/*
** journal.c — finished runs kept on disk while an experiment is under way,
** so an interrupted experiment can be resumed (`run --resume`), and the
** byte encoding of a run's result that MPI ranks also send to rank 0.
**
** OUTDIR/.tightrope-partial/
**   experiment     what defines the results (scenario SHA-256, runs, ticks,
**                  seed, --set, variants, series, events); --resume refuses
**                  to continue an experiment whose text differs
**   runs.journal   one record per finished run, in job order; each record
**                  goes out in one write(2) (so it survives kill -9 once
**                  written) and the file is fdatasync'ed at least once a
**                  second; a torn record at the end is cut off on resume.
**
** Invariant: the journal holds a prefix of the jobs in output order, so
** resuming feeds it to the output first and then runs the remaining jobs:
** the final files are those of an uninterrupted run, byte for byte.
** The folder is locked (flock) while a process writes it: a second
** process writing the same output folder is refused.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/scenario.h"
#include "scenario/options.h"
#include "run/results.h"
#include "experiment/output.h"
#include "experiment/journal.h"

#define REC_MAGIC 0x43525254u /* "TRRC" */

typedef struct rec_header {
  uint32_t magic, length; /* length: the whole record, checksum included */
  int64_t job;
  int32_t variant, point, run, outcome, end_tick, nmetrics, nseries, nevents;
  uint64_t seed;
} rec_header;

typedef struct rec_event {
  int32_t tick, actor, target, namelen;
  double goldstein, value;
  char cameo[8];
} rec_event;

static uint32_t fnv1a(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int buf_put(tr_buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *nd = realloc(b->data, cap);
    if (!nd) return -1;
    b->data = nd;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int rec_encode(const tr_scenario *sc, const tr_runresult *r, long job, int with_series,
               tr_buf *out) {
  int nm = sc->nmetrics;
  rec_header h = {
      REC_MAGIC,  0,          job,         r->variant, r->point,
      r->run,     r->outcome, r->end_tick, nm,         with_series ? r->end_tick + 1 : 0,
      r->nevents, r->seed};
  out->len = 0;
  int bad = buf_put(out, &h, sizeof h);
  bad |= buf_put(out, r->finals, (size_t)nm * sizeof(double));
  if (with_series) bad |= buf_put(out, r->series, (size_t)h.nseries * (size_t)nm * sizeof(double));
  for (int i = 0; i < r->nevents; i++) {
    const tr_event *e = &r->events[i];
    rec_event re;
    memset(&re, 0, sizeof re);
    re.tick = e->tick;
    re.actor = e->actor;
    re.target = e->target;
    re.namelen = (int32_t)strlen(e->action);
    re.goldstein = e->goldstein;
    re.value = e->value;
    memcpy(re.cameo, e->cameo, strnlen(e->cameo, sizeof re.cameo)); /* re is zeroed */
    bad |= buf_put(out, &re, sizeof re);
    bad |= buf_put(out, e->action, (size_t)re.namelen);
  }
  uint32_t sum = 0;
  bad |= buf_put(out, &sum, sizeof sum);
  if (bad) return -1;
  h.length = (uint32_t)out->len;
  memcpy(out->data, &h, sizeof h);
  sum = fnv1a(out->data, out->len - sizeof sum);
  memcpy(out->data + out->len - sizeof sum, &sum, sizeof sum);
  return 0;
}

/* The scenario's own copy of an action or event name (events.csv rows
** point into the scenario). */
static const char *intern_name(const tr_scenario *sc, const char *name, size_t len) {
  for (int i = 0; i < sc->nactions; i++)
    if (strlen(sc->actions[i].name) == len && memcmp(sc->actions[i].name, name, len) == 0)
      return sc->actions[i].name;
  for (int i = 0; i < sc->nevents; i++)
    if (strlen(sc->events[i].name) == len && memcmp(sc->events[i].name, name, len) == 0)
      return sc->events[i].name;
  return NULL;
}

long rec_decode(const tr_scenario *sc, const unsigned char *p, size_t len, size_t *used,
                tr_runresult *r, int maxticks) {
  rec_header h;
  if (len < sizeof h) return -1;
  memcpy(&h, p, sizeof h);
  if (h.magic != REC_MAGIC || h.length > len || h.length < sizeof h + sizeof(uint32_t)) return -1;
  uint32_t sum;
  memcpy(&sum, p + h.length - sizeof sum, sizeof sum);
  if (sum != fnv1a(p, h.length - sizeof sum)) return -1;
  int nm = sc->nmetrics;
  if (h.nmetrics != nm || h.end_tick < 0 || h.end_tick > maxticks || h.nseries < 0
      || h.nseries > maxticks + 1 || h.nevents < 0 || h.outcome < 0 || h.outcome > sc->noutcomes)
    return -1;
  size_t off = sizeof h;
  size_t need = (size_t)nm * sizeof(double) * (1 + (size_t)h.nseries);
  if (off + need > h.length) return -1;
  memcpy(r->finals, p + off, (size_t)nm * sizeof(double));
  off += (size_t)nm * sizeof(double);
  memcpy(r->series, p + off, (size_t)h.nseries * (size_t)nm * sizeof(double));
  off += (size_t)h.nseries * (size_t)nm * sizeof(double);
  if (r->capevents < h.nevents) {
    tr_event *ne = realloc(r->events, (size_t)h.nevents * sizeof *ne);
    if (!ne) return -1;
    r->events = ne;
    r->capevents = h.nevents;
  }
  for (int i = 0; i < h.nevents; i++) {
    rec_event re;
    if (off + sizeof re > h.length) return -1;
    memcpy(&re, p + off, sizeof re);
    off += sizeof re;
    if (re.namelen < 0 || off + (size_t)re.namelen > h.length) return -1;
    const char *name = intern_name(sc, (const char *)p + off, (size_t)re.namelen);
    off += (size_t)re.namelen;
    if (!name || re.actor < -1 || re.actor >= sc->nactors || re.target < -1
        || re.target >= sc->nactors)
      return -1;
    tr_event *e = &r->events[i];
    e->tick = re.tick;
    e->actor = re.actor;
    e->target = re.target;
    e->action = name;
    e->goldstein = re.goldstein;
    e->value = re.value;
    memcpy(e->cameo, re.cameo, sizeof e->cameo);
    e->cameo[sizeof e->cameo - 1] = 0;
  }
  r->nevents = h.nevents;
  r->variant = h.variant;
  r->point = h.point;
  r->run = h.run;
  r->seed = h.seed;
  r->outcome = h.outcome;
  r->end_tick = h.end_tick;
  if (used) *used = h.length;
  return (long)h.job;
}

/* ---------------------------------------------------------------- files */
struct tr_journal {
  char *dir, *path;
  int fd, lockfd;
  int with_series;
  const tr_scenario *sc;
  tr_buf buf;
  time_t last_sync;
};

/* Removes the journal's own files and its folder; anything else in it
** keeps the folder. */
static int remove_journal_dir(const char *dir) {
  static const char *const names[] = {"experiment", "runs.journal", NULL};
  for (int i = 0; names[i]; i++) {
    char *p = fs_join(dir, names[i]);
    if (p) unlink(p);
    free(p);
  }
  return rmdir(dir);
}

static int write_all(int fd, const void *p, size_t n) {
  const unsigned char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static void journal_free(tr_journal *j) {
  if (!j) return;
  if (j->fd >= 0) close(j->fd);
  if (j->lockfd >= 0) close(j->lockfd);
  free(j->dir);
  free(j->path);
  free(j->buf.data);
  free(j);
}

/* Recover the journal's valid prefix; truncate a torn tail. */
static int recover(tr_journal *j, int maxticks, long *done,
                   int (*feed)(void *, const tr_runresult *), void *ctx, tr_diag *d) {
  const tr_scenario *sc = j->sc;
  int fd = open(j->path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    diag_error(d, j->path, 0, 0, "is not a regular file; remove it to start over");
    close(fd);
    return -1;
  }
  FILE *f = fd >= 0 ? fdopen(fd, "r+b") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    if (errno == ELOOP) {
      diag_error(d, j->path, 0, 0, "is a symbolic link; tightrope keeps its own file there");
      return -1;
    }
    *done = 0;
    return 0;
  }
  size_t nm = (size_t)sc->nmetrics;
  tr_runresult r;
  memset(&r, 0, sizeof r);
  r.finals = calloc(nm + 1, sizeof(double));
  r.series = calloc(((size_t)maxticks + 1) * nm + 1, sizeof(double));
  tr_buf b = {NULL, 0, 0};
  long n = 0;
  off_t good = 0;
  int rc = 0;
  if (!r.finals || !r.series) {
    rc = -1;
    goto out;
  }
  for (;;) {
    rec_header h;
    if (fread(&h, 1, sizeof h, f) != sizeof h) break;
    if (h.magic != REC_MAGIC || h.length < sizeof h || h.length > (1u << 31)) break;
    b.len = 0;
    if (buf_put(&b, &h, sizeof h)) {
      rc = -1;
      goto out;
    }
    size_t rest = h.length - sizeof h;
    if (b.cap < h.length) {
      unsigned char *nd = realloc(b.data, h.length);
      if (!nd) {
        rc = -1;
        goto out;
      }
      b.data = nd;
      b.cap = h.length;
    }
    if (fread(b.data + sizeof h, 1, rest, f) != rest) break;
    long job = rec_decode(sc, b.data, h.length, NULL, &r, maxticks);
    if (job != n) break;
    if (feed(ctx, &r)) {
      rc = -1;
      goto out;
    }
    n++;
    good += h.length;
  }
  if (ftruncate(fileno(f), good) != 0) {
    diag_error(d, NULL, 0, 0, "cannot repair %s: %s", j->path, strerror(errno));
    rc = -1;
  }
out:
  fclose(f);
  free(r.finals);
  free(r.series);
  free(r.events);
  free(b.data);
  *done = n;
  return rc;
}

/* The line of fingerprint text fp that starts with key, or NULL. */
static const char *fp_line(const char *fp, const char *key, size_t klen) {
  for (const char *l = fp; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
    if (strncmp(l, key, klen) == 0) return l;
  return NULL;
}

/* Whether two experiment fingerprints (experiment.c) differ in a compared
** line (lines starting with "# " only name files); what: the first
** difference, for the message. */
static int fingerprint_differs(const char *old, const char *now, char *what, size_t size) {
  const char *a = old, *b = now;
  for (;;) {
    while (strncmp(a, "# ", 2) == 0) a = strchr(a, '\n') ? strchr(a, '\n') + 1 : a + strlen(a);
    while (strncmp(b, "# ", 2) == 0) b = strchr(b, '\n') ? strchr(b, '\n') + 1 : b + strlen(b);
    size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
    if (!*a && !*b) return 0;
    if (la != lb || memcmp(a, b, la) != 0) break;
    a += la + (a[la] == '\n');
    b += lb + (b[lb] == '\n');
  }
  size_t kl = strcspn(b, ":");
  if (strncmp(b, "scenario-sha256:", 16) == 0) {
    snprintf(what, size, "scenario file (its SHA-256 differs)");
  } else if (strncmp(b, "tightrope:", 10) == 0) {
    snprintf(what, size, "version of tightrope (%.*s; this is %.*s)", (int)strcspn(a, "\n"), a,
             (int)strcspn(b, "\n"), b);
  } else if (strncmp(b, "policy-sha256:", 14) == 0 || strncmp(b, "action-sha256:", 14) == 0) {
    /* name the script: the "# script SHA PATH" line after this one */
    const char *hash = b + kl + 2 + strcspn(b + kl + 2, " ") + 1; /* after "key: name " */
    char key[80];
    snprintf(key, sizeof key, "# script %.64s ", hash);
    const char *l = fp_line(now, key, strlen(key));
    int plen = l ? (int)strcspn(l + strlen(key), "\n") : 0;
    snprintf(what, size, "%s script%s%.*s (its SHA-256 differs: it was edited since)",
             b[0] == 'p' ? "policy" : "action", l ? " " : "", plen, l ? l + strlen(key) : "");
  } else {
    snprintf(what, size,
             "set of options (runs, ticks, seed, --set, --variant, --series or --events)");
  }
  return 1;
}

/* Opens (or, under --resume, reopens) the journal of an experiment and takes its lock; NULL
** (reported) on error. Long: creating, locking and reading the journal share the paths and file
** descriptors that every failure must release. */
tr_journal *journal_open(const tr_scenario *sc, const tr_options *opts, const char *fingerprint,
                         tr_diag *d, int *status) {
  *status = TR_EOUTPUT;
  tr_journal *j = calloc(1, sizeof *j);
  if (!j) {
    diag_error(d, NULL, 0, 0, "out of memory");
    return NULL;
  }
  j->fd = j->lockfd = -1;
  j->sc = sc;
  j->with_series = opts->series != SERIES_NONE;
  j->dir = fs_join(opts->out, ".tightrope-partial");
  j->path = j->dir ? fs_join(j->dir, "runs.journal") : NULL;
  char *exp = j->dir ? fs_join(j->dir, "experiment") : NULL;
  if (!j->path || !exp) {
    diag_error(d, NULL, 0, 0, "out of memory");
    goto fail;
  }

  struct stat st;
  int exists = lstat(j->dir, &st) == 0 && S_ISDIR(st.st_mode);
  if (opts->resume && !exists) {
    diag_error(d, NULL, 0, 0, "--resume: %s holds no interrupted experiment (no %s)", opts->out,
               j->dir);
    *status = TR_EUSAGE;
    goto fail;
  }
  if (!exists && (fs_mkdirs(opts->out) != 0 || mkdir(j->dir, 0777) != 0)) {
    diag_error(d, NULL, 0, 0, "cannot create %s: %s", j->dir, strerror(errno));
    goto fail;
  }
  j->lockfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (j->lockfd < 0 || flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
    diag_error(d, NULL, 0, 0,
               "%s is being written by another tightrope process; "
               "use another --out folder or wait for it to finish",
               opts->out);
    goto fail;
  }
  if (opts->resume) {
    size_t len;
    char *old = fs_read_file(exp, (1u << 20) - 1, FS_REGULAR, &len);
    char what[1024];
    if (!old || fingerprint_differs(old, fingerprint, what, sizeof what)) {
      diag_error(d, NULL, 0, 0,
                 "--resume: the interrupted experiment in %s was made with a different %s; "
                 "run again with the same scenario, scripts and options (--precision and --batch "
                 "too), or without --resume to "
                 "start over",
                 opts->out, !old ? "version of tightrope (its record is missing)" : what);
      free(old);
      *status = TR_EUSAGE;
      goto fail;
    }
    free(old);
  } else {
    if (exists) {
      unlink(j->path);
      if (access(exp, F_OK) == 0)
        fprintf(stderr,
                "tightrope: note: discarding the unfinished experiment in %s "
                "(use --resume to finish one)\n",
                opts->out);
    }
    int fd = open(exp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 || write_all(fd, fingerprint, strlen(fingerprint)) || fsync(fd) || close(fd)) {
      diag_error(d, NULL, 0, 0, "cannot write %s: %s", exp, strerror(errno));
      if (fd >= 0) close(fd);
      goto fail;
    }
  }
  out_remove_stale_staging(opts->out);
  j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (j->fd < 0) {
    diag_error(d, NULL, 0, 0, "cannot write %s: %s", j->path, strerror(errno));
    goto fail;
  }
  j->last_sync = time(NULL);
  free(exp);
  *status = TR_OK;
  return j;
fail:
  free(exp);
  journal_free(j);
  return NULL;
}

int journal_recover(tr_journal *j, int maxticks, long *done,
                    int (*feed)(void *, const tr_runresult *), void *ctx, tr_diag *d) {
  return recover(j, maxticks, done, feed, ctx, d);
}

int journal_append(tr_journal *j, const tr_runresult *r, long job) {
  if (rec_encode(j->sc, r, job, j->with_series, &j->buf)) {
    errno = ENOMEM;
    return -1;
  }
  if (write_all(j->fd, j->buf.data, j->buf.len)) return -1;
  time_t now = time(NULL);
  if (now != j->last_sync) {
    j->last_sync = now;
    if (fdatasync(j->fd)) return -1;
  }
  return 0;
}

void journal_close(tr_journal *j, int remove) {
  if (!j) return;
  if (j->fd >= 0) {
    if (!remove) fdatasync(j->fd);
    close(j->fd);
    j->fd = -1;
  }
  if (remove) remove_journal_dir(j->dir);
  journal_free(j);
}

int journal_feed_ordered(tr_journal *j, int maxticks, long n, long (*order)(const void *, long),
                         const void *octx, int (*feed)(void *, const tr_runresult *), void *ctx,
                         tr_diag *d) {
  const tr_scenario *sc = j->sc;
  size_t nm = (size_t)sc->nmetrics;
  off_t *at = malloc(((size_t)n + 1) * sizeof *at);
  uint32_t *len = malloc(((size_t)n + 1) * sizeof *len);
  unsigned char *buf = NULL;
  size_t cap = 0;
  tr_runresult r;
  memset(&r, 0, sizeof r);
  r.finals = calloc(nm + 1, sizeof(double));
  r.series = calloc(((size_t)maxticks + 1) * nm + 1, sizeof(double));
  int fd = open(j->path, O_RDONLY | O_CLOEXEC), rc = -1;
  if (!at || !len || !r.finals || !r.series || fd < 0) goto out;
  /* Where each record starts: the records are in job order. */
  off_t pos = 0;
  for (long k = 0; k < n; k++) {
    rec_header h;
    if (pread(fd, &h, sizeof h, pos) != (ssize_t)sizeof h || h.magic != REC_MAGIC
        || h.length < sizeof h || h.length > (1u << 31))
      goto out;
    at[k] = pos;
    len[k] = h.length;
    pos += h.length;
  }
  for (long i = 0; i < n; i++) {
    long k = order(octx, i);
    if (k < 0 || k >= n) goto out;
    if (cap < len[k]) {
      unsigned char *nb = realloc(buf, len[k]);
      if (!nb) goto out;
      buf = nb;
      cap = len[k];
    }
    if (pread(fd, buf, len[k], at[k]) != (ssize_t)len[k]
        || rec_decode(sc, buf, len[k], NULL, &r, maxticks) != k)
      goto out;
    if (feed(ctx, &r)) {
      rc = -2;
      goto out;
    }
  }
  rc = 0;
out:
  if (rc == -1) diag_error(d, NULL, 0, 0, "cannot read back the runs journalled in %s", j->path);
  if (fd >= 0) close(fd);
  free(at);
  free(len);
  free(buf);
  free(r.finals);
  free(r.series);
  free(r.events);
  return rc ? -1 : 0;
}
