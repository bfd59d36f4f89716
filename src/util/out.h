/* SPDX-License-Identifier: Apache-2.0 */
/* The one way ckptfs writers (--recompress, --build-oci) create the output
 * the user named: the bytes go to a file without a name in the same
 * directory (O_TMPFILE; where the file system has none, a hidden named file
 * removed again on failure and on SIGINT, SIGTERM and SIGHUP), and only a
 * complete file gets the name. An existing name is never replaced, unless
 * @force is given, and then only when it is a regular file: a device, FIFO,
 * socket, directory or symlink never is (nothing is followed). */
#ifndef CK_OUT_H
#define CK_OUT_H

#include <stdbool.h>

struct ck_out {
	int fd;			/* write here; -1 when closed */
	char *path;		/* the name the user gave */
	char *tmp;		/* the hidden name, when the file has one */
	bool force;		/* may replace a regular file */
};

/* Check @path (see above) and create the unnamed file. Returns 0, or -EEXIST
 * (the name exists and may not be replaced), another -errno, with a
 * one-line reason naming @path in *@ret_error. */
int ck_out_open(struct ck_out *o, const char *path, bool force, char **ret_error);
/* Sync the file and give it its name: it appears whole or not at all.
 * Returns 0 or -errno with a reason, as ck_out_open(). */
int ck_out_commit(struct ck_out *o, char **ret_error);
/* Close and drop whatever is left (after a failure, or after commit). */
void ck_out_done(struct ck_out *o);

/* Whether @path may be created (or, with @force, replaced) by a writer:
 * 0, or -EEXIST with a reason naming it. Also for directories a writer
 * creates whole (an OCI layout), which must not exist. */
int ck_out_check(const char *path, bool force, char **ret_error);

/* Remove @path (a name a writer gave a temporary file) when SIGINT, SIGTERM
 * or SIGHUP arrives, then die of that signal; NULL: stop. One such path at
 * a time. ck_out_on_signal_tree(): the same for a directory and all in it. */
void ck_out_on_signal(const char *path);
void ck_out_on_signal_tree(const char *path);

/* A directory a writer builds whole (an OCI layout), so that it appears
 * whole or not at all (out-dir.c): built as "<path>.partial-XXXXXX" next to
 * @path, locked and marked (a file .ckptfs-partial in it) while it is,
 * removed on failure and on those signals, renamed to @path at the end,
 * never over anything. Only SIGKILL or a crash leaves it; the next writer
 * of the same @path removes such leftovers (unlocked and marked: not one
 * another writer is still building), one warning line each. */
struct ck_out_dir {
	int fd;			/* the directory being built; -1 when closed */
	char *path;		/* the name the user gave, without trailing slashes */
	char *tmp;		/* the partial directory, while it exists */
};

/* Check @path (ck_out_check()), remove leftovers, create the partial
 * directory. Returns 0 or -errno with a one-line reason naming @path. */
int ck_out_dir_open(struct ck_out_dir *o, const char *path, char **ret_error);
/* Give the complete directory its name. Returns 0 or -errno, as above. */
int ck_out_dir_commit(struct ck_out_dir *o, char **ret_error);
/* Close and remove whatever is left (after a failure, or after commit). */
void ck_out_dir_done(struct ck_out_dir *o);
/* Remove @path and, if it is a directory, all in it (4 levels deep at
 * most), never following a link; async-signal-safe. */
void ck_out_rm_tree(const char *path);

#endif
