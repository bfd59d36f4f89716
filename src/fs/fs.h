/* SPDX-License-Identifier: Apache-2.0 */
/* FUSE glue: translates fuse_operations into tree_ calls on the frozen tree,
 * passed as the fuse user_data. It implements only the reading operations:
 * the mount is ro (cli/main.c), so the kernel answers EROFS to every
 * writing one without asking, and default_permissions makes it check
 * access itself. */
#ifndef CK_FS_H
#define CK_FS_H

#include <fuse.h>

extern const struct fuse_operations fs_ops;

#endif
