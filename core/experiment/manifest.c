/*
** manifest.c — reading an output folder's manifest.yaml back (docs/
** output-files.md, "manifest.yaml"): the one place that knows the file's
** name inside the folder and how a value is reached in it. output.c writes
** the file of an experiment, calibrate.c that of a calibration; replay,
** report, the calibration's report and --resume read them through here.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/fs.h"
#include "scenario/yamltree.h"
#include "experiment/manifest.h"

char *manifest_path(const char *outdir) { return fs_join(outdir, "manifest.yaml"); }

ynode *manifest_load(const char *outdir, tr_diag *d) {
  char *path = manifest_path(outdir);
  tr_diag *quiet = d ? NULL : tr_diag_new();
  ynode *m = path && (d || quiet) ? ynode_load_file(path, d ? d : quiet) : NULL;
  tr_diag_free(quiet);
  free(path);
  return m;
}

const ynode *manifest_get(const ynode *m, const char *section, const char *key) {
  const ynode *n = m ? ynode_get(m, section) : NULL;
  if (n && key) n = n->type == YN_MAP ? ynode_get(n, key) : NULL;
  return n;
}

const char *manifest_str(const ynode *m, const char *section, const char *key) {
  const ynode *n = manifest_get(m, section, key);
  return n && n->type == YN_SCALAR ? n->str : NULL;
}

int manifest_is_ours(const char *path) {
  char buf[4096];
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  return strncmp(buf, "tool: tightrope\n", 16) == 0 || strstr(buf, "\ntool: tightrope\n") != NULL;
}
