/* SPDX-License-Identifier: Apache-2.0 */
/* The views: what the mount shows of a checkpoint, built into a tree
 * (tree.h) once at mount time. */
#ifndef CK_VIEW_H
#define CK_VIEW_H

#include "tree.h"

/* Build the tree for @ck (whose archive is @a): a pod checkpoint's tree has
 * one subtree per container. Returns 0, -ENOMEM. */
int view_tree_new(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts, struct tree **ret_tree);

#endif
