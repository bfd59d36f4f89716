/* SPDX-License-Identifier: Apache-2.0 */
/* FUSE glue: translates fuse_operations into tree_ calls on the frozen tree,
 * passed as the fuse user_data. Every writing operation fails with EROFS. */
#ifndef CK_FS_H
#define CK_FS_H

#include <fuse.h>

extern const struct fuse_operations fs_ops;

#endif
