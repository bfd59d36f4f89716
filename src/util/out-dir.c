/* SPDX-License-Identifier: Apache-2.0 */
/* Directories a writer builds whole (an OCI layout): see out.h. While it is
 * built, the directory is "<path>.partial-XXXXXX" next to <path>, holds the
 * mark file CK_OUT_MARK, and its writer holds an exclusive flock(2) on it.
 * A writer killed with SIGKILL (or a machine that lost power) leaves it:
 * unlocked and marked, which is how the next writer of the same <path>
 * tells it from one still being written, and removes it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "out.h"
#include "util.h"

#define CK_OUT_MARK ".ckptfs-partial"
#define CK_OUT_SUFFIX ".partial-"
/* how deep a writer's directory goes: DIR/blobs/sha256/FILE */
#define CK_OUT_DEPTH 4

DEFINE_CLEANUP(closedirp, DIR, closedir)

/* Remove @name in @dfd, a directory's contents first, never following a
 * link. Only system calls and a stack buffer: safe in a signal handler. */
static void rm_at(int dfd, const char *name, int depth)
{
	char buf[2048];
	ssize_t n;
	int fd, removed;

	if (unlinkat(dfd, name, 0) == 0 || errno != EISDIR || depth <= 0)
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* entries removed while listing may be skipped: list again until a
	 * pass removes nothing */
	do {
		removed = 0;
		lseek(fd, 0, SEEK_SET);
		while ((n = getdents64(fd, buf, sizeof(buf))) > 0)
			for (ssize_t off = 0; off < n;) {
				struct dirent64 *d = (struct dirent64 *) (buf + off);

				off += d->d_reclen;
				if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
					rm_at(fd, d->d_name, depth - 1);
					removed++;
				}
			}
	} while (removed && n == 0);
	close(fd);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void ck_out_rm_tree(const char *path)
{
	rm_at(AT_FDCWD, path, CK_OUT_DEPTH);
}

/* Remove the partial directories of @base in @dir that writers which died
 * left (unlocked, marked); one line each. */
static void sweep_stale(const char *dir, const char *base)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	size_t len = strlen(base);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *tail = e->d_name + len + strlen(CK_OUT_SUFFIX);
		struct stat st;
		int fd;

		if (strncmp(e->d_name, base, len) || strncmp(e->d_name + len, CK_OUT_SUFFIX, strlen(CK_OUT_SUFFIX)) ||
		    strlen(tail) != 6)
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstatat(fd, CK_OUT_MARK, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode)) {
			ck_log(CK_LOG_WARNING, "%s/%s: removed: a partial output a killed writer left", dir, e->d_name);
			rm_at(dirfd(d), e->d_name, CK_OUT_DEPTH);
		}
		close(fd);
	}
}

int ck_out_dir_open(struct ck_out_dir *o, const char *path, char **ret_error)
{
	const char *slash;
	size_t len = strlen(path);
	int rc, mfd;

	*o = (struct ck_out_dir) { .fd = -1 };
	while (len > 1 && path[len - 1] == '/')
		len--;
	rc = ck_out_check(path, false, ret_error);
	if (rc < 0)
		return rc;
	o->path = strndup(path, len);
	if (!o->path || asprintf(&o->tmp, "%s" CK_OUT_SUFFIX "XXXXXX", o->path) < 0) {
		o->tmp = NULL;
		return ck_err(ret_error, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
	}
	slash = strrchr(o->path, '/');
	{
		_cleanup_free_ char *dir = slash ? strndup(o->path, (size_t) (slash - o->path) + (slash == o->path)) :
					   strdup(".");

		if (dir)
			sweep_stale(dir, slash ? slash + 1 : o->path);
	}
	if (!mkdtemp(o->tmp)) {
		rc = -errno;
		free(TAKE_PTR(o->tmp));
		return ck_err(ret_error, rc, "%s: cannot create a directory next to it: %s", o->path, strerror(-rc));
	}
	ck_out_on_signal_tree(o->tmp);
	o->fd = open(o->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (o->fd < 0 || flock(o->fd, LOCK_EX) < 0)
		return ck_err(ret_error, -errno, "%s: %s: %s", o->path, o->tmp, strerror(errno));
	mfd = openat(o->fd, CK_OUT_MARK, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (mfd < 0)
		return ck_err(ret_error, -errno, "%s: %s: %s", o->path, o->tmp, strerror(errno));
	close(mfd);
	return 0;
}

int ck_out_dir_commit(struct ck_out_dir *o, char **ret_error)
{
	mode_t mask = umask(0);

	umask(mask);
	if (fchmod(o->fd, 0777 & ~mask) < 0 || unlinkat(o->fd, CK_OUT_MARK, 0) < 0 || fsync(o->fd) < 0)
		return ck_err(ret_error, -errno, "%s: %s", o->path, strerror(errno));
	if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return ck_out_check(o->path, false, ret_error);
		return ck_err(ret_error, -errno, "%s: %s", o->path, strerror(errno));
	}
	ck_out_on_signal(NULL);
	free(TAKE_PTR(o->tmp));
	return 0;
}

void ck_out_dir_done(struct ck_out_dir *o)
{
	if (o->tmp) {
		ck_out_rm_tree(o->tmp);
		ck_out_on_signal(NULL);
	}
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	free(TAKE_PTR(o->tmp));
	free(TAKE_PTR(o->path));
}
