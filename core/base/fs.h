/* fs.h — base layer (docs/internals.md, "Layers"). */
#ifndef TR_BASE_FS_H
#define TR_BASE_FS_H

#include "base/common.h"

/* File-system helpers (fs.c): -1 or NULL with errno set on failure. */
/* dir/name, a string to free (NULL when out of memory). */
char *fs_join(const char *dir, const char *name);
/* mkdir -p: every missing folder of path; -1 (ENOTDIR) when path is a file. */
int fs_mkdirs(const char *path);
/* Removes dir and everything beneath it, never following a symbolic link;
** best effort (what cannot be removed stays). */
void fs_remove_tree(const char *dir);
/* The whole file at path, NUL-terminated (*len its length, without the NUL),
** or NULL: errno EFBIG when it is longer than max bytes, ENOMEM, EIO, or
** open(2)'s. With FS_REGULAR, never through a symbolic link and only a
** regular file (EINVAL otherwise: a FIFO would block, /dev/zero never ends). */
enum { FS_REGULAR = 1 };
char *fs_read_file(const char *path, size_t max, int flags, size_t *len);

#endif
