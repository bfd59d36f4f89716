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

/* Remove @path (a name a writer gave a temporary file or directory) when
 * SIGINT, SIGTERM or SIGHUP arrives, then die of that signal; NULL: stop.
 * One such path at a time; a directory is removed only when it is empty
 * of anything but regular files. */
void ck_out_on_signal(const char *path);

#endif
