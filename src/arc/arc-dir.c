/* SPDX-License-Identifier: Apache-2.0 */
/* Index a directory: an extracted checkpoint or a bare CRIU images directory.
 * Symlinks are recorded, never followed; regular files are read in place,
 * each read opening the file relative to the kept directory fd. */
#include "arc-priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Each level holds a directory fd open while it is walked. */
#define DIR_DEPTH_MAX 128

DEFINE_CLEANUP(dir_closep, DIR, closedir)

static int dir_fail(char **ret_error, int rc, const char *what, const char *path)
{
	char name[256];

	if (rc == -ENOMEM)
		return ck_err(ret_error, rc, "out of memory");
	if (!*path)
		return ck_err(ret_error, rc, "cannot %s the directory: %s", what, strerror(-rc));
	return ck_err(ret_error, rc, "cannot %s '%s': %s", what,
		       arc_safe_name(path, name, sizeof(name)), strerror(-rc));
}

/* The target of the symlink @name in @dfd, malloc'ed (kept off the stack:
 * dir_walk() recurses). */
static int dir_readlink(int dfd, const char *name, char **ret_target)
{
	_cleanup_free_ char *buf = malloc(ARC_PATH_MAX);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = readlinkat(dfd, name, buf, ARC_PATH_MAX - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*ret_target = strdup(buf);
	return *ret_target ? 0 : -ENOMEM;
}

/* Walk the directory @dfd (taken over), whose path is the first @plen bytes of @path. */
static int dir_walk(struct arc *a, int dfd, char *path, size_t plen, unsigned depth,
		    char **ret_error)
{
	_cleanup_(dir_closep) DIR *d = NULL;
	struct arc_item *it;
	struct dirent *de;
	struct stat st;
	size_t len;
	int fd, rc;

	d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		close(dfd);
		return dir_fail(ret_error, rc, "read", path);
	}
	for (errno = 0; (de = readdir(d)); errno = 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		len = strlen(de->d_name);
		if (plen + 1 + len >= ARC_PATH_MAX) {
			ck_log(CK_LOG_DEBUG, "arc: skipping an over-long name");
			continue;
		}
		if (plen)
			path[plen] = '/';
		memcpy(path + plen + !!plen, de->d_name, len + 1);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;	/* removed while we looked */
			return dir_fail(ret_error, -errno, "stat", path);
		}
		rc = arc_item_new(a, path, &it);
		if (rc < 0)
			return dir_fail(ret_error, rc, "index", path);
		if (rc == 0)
			continue;
		it->e.mode = st.st_mode & 07777;
		it->e.mtime = st.st_mtim.tv_sec;
		switch (st.st_mode & S_IFMT) {
		case S_IFREG:
			it->e.type = ARC_REG;
			it->e.size = (uint64_t) st.st_size;
			it->src = st.st_size ? ARC_SRC_FILE : ARC_SRC_NONE;
			break;
		case S_IFLNK:
			it->e.type = ARC_SYMLINK;
			rc = dir_readlink(dirfd(d), de->d_name, (char **) &it->e.link);
			if (rc < 0)
				return dir_fail(ret_error, rc, "read the link", path);
			break;
		case S_IFDIR:
			it->e.type = ARC_DIR;
			if (depth >= DIR_DEPTH_MAX)
				return ck_err(ret_error, -ELOOP, "directory tree deeper than %d levels",
					       DIR_DEPTH_MAX);
			fd = openat(dirfd(d), de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return dir_fail(ret_error, -errno, "open", path);
			rc = dir_walk(a, fd, path, plen + !!plen + len, depth + 1, ret_error);
			if (rc < 0)
				return rc;
			break;
		default:
			it->e.type = ARC_OTHER;
		}
		path[plen] = '\0';
	}
	if (errno)
		return dir_fail(ret_error, -errno, "read", path);
	return 0;
}

int arc_dir_index(struct arc *a, int fd, char **ret_error)
{
	char path[ARC_PATH_MAX] = "";
	int dfd;

	a->fd = fd;
	snprintf(a->kind, sizeof(a->kind), "directory");
	/* No copies: every read is a pread() on the member's own file. */
	a->zero_copy = true;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return dir_fail(ret_error, -errno, "read", path);
	return dir_walk(a, dfd, path, 0, 0, ret_error);
}
