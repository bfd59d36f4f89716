/* SPDX-License-Identifier: Apache-2.0 */
/* FUSE glue: translates fuse_operations into tree_ calls on the tree,
 * passed as the fuse user_data. It implements only the reading operations:
 * the mount is ro (cli/main.c), so the kernel answers EROFS to every
 * writing one without asking, and default_permissions makes it check
 * access itself. */
#ifndef CK_FS_H
#define CK_FS_H

#include <fuse.h>

extern const struct fuse_operations fs_ops;

/* The largest read request: 1 MiB less four pages, so that a reply spliced
 * from one or two files fits a pipe of the default pipe-max-size (1 MiB);
 * libfuse copies larger replies through a buffer instead. The mount must
 * pass the same value as -o max_read= (cli/main.c). */
#define FS_MAX_READ (1024 * 1024 - 4 * 4096)

/* After mounting on @mountpoint, before the session loop: let the kernel
 * read ahead @kib KiB of a file through the mount (its read_ahead_kb in
 * sysfs, which FUSE caps at 128 KiB when it starts), so that sequential
 * reads arrive as requests of up to FS_MAX_READ. A thread of its own waits
 * until the loop has answered the kernel's first request (the value is
 * reset until then) and sets it; where that is not allowed (not root), the
 * kernel's value stays. Returns 0 or -errno of starting the thread. */
int fs_read_ahead_start(const char *mountpoint, unsigned kib);

#endif
