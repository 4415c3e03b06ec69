/*
** fs.c — file-system helpers with one home: a path joined, a folder made
** with its parents (mkdir -p), a folder removed with what it holds, a whole
** file read into memory. Errors are returned as -1 or NULL with errno set;
** the caller words the message, since only it knows what the file is for.
*/
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"

char *fs_join(const char *dir, const char *name) {
  char *path;
  return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

int fs_mkdirs(const char *path) {
  char *copy = strdup(path);
  struct stat st;
  int rc = 0;
  if (!copy) return -1;
  if (!*copy) {
    free(copy);
    errno = ENOENT;
    return -1;
  }
  for (char *p = copy + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
        rc = -1;
        break;
      }
      *p = saved;
      if (saved == '\0') break;
    }
  }
  if (rc == 0 && stat(path, &st) != 0) rc = -1;
  else if (rc == 0 && !S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    rc = -1;
  }
  free(copy);
  return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path); /* best effort: what cannot go stays, and the walk goes on */
  return 0;
}

void fs_remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

char *fs_read_file(const char *path, size_t max, int flags, size_t *len) {
  int safe = flags & FS_REGULAR;
  int fd = open(path, O_RDONLY | O_CLOEXEC | (safe ? O_NOFOLLOW | O_NONBLOCK : 0));
  struct stat st;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int err = 0;
  if (fd < 0) return NULL;
  if (safe && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      /* one byte past max tells a file that is too large */
      size_t ncap = cap ? cap * 2 : 65536;
      if (ncap > max + 1) ncap = max + 1;
      if (ncap <= cap) {
        err = EFBIG;
        break;
      }
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        err = ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t k = read(fd, buf + n, cap - n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      err = EIO;
      break;
    }
    if (k == 0) break;
    n += (size_t)k;
  }
  close(fd);
  if (!err && n > max) err = EFBIG;
  if (err) {
    free(buf);
    errno = err;
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}
