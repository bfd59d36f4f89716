/* SPDX-License-Identifier: Apache-2.0 */
/* Writers' output files: see out.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out.h"
#include "util.h"

/* What a name that may not be replaced is, for the message. */
static const char *out_kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a directory" :
	       S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISFIFO(m) ? "a FIFO" :
	       S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int ck_out_check(const char *path, bool force, char **ret_error)
{
	struct stat st;
	size_t len = strlen(path);

	if (!len || path[len - 1] == '/')
		return ck_err(ret_error, -EISDIR, "%s: names a directory, not a file to create", path);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ck_err(ret_error, -errno, "%s: %s", path, strerror(errno));
	if (!force)
		return ck_err(ret_error, -EEXIST, "%s: exists already; choose a new name%s", path,
			      S_ISREG(st.st_mode) ? " (or --force to replace this file)" : "");
	if (!S_ISREG(st.st_mode))
		return ck_err(ret_error, -EEXIST, "%s: is %s; only a regular file is ever replaced", path,
			      out_kind(st.st_mode));
	return 0;
}

/* The hidden name being written, or the partial directory, for the signal
 * handler (async-signal-safe: a fixed buffer and system calls only). */
static char out_sig_path[PATH_MAX];
static volatile sig_atomic_t out_sig_is_tree;

static void out_sig(int sig)
{
	if (out_sig_path[0] && out_sig_is_tree)
		ck_out_rm_tree(out_sig_path);
	else if (out_sig_path[0])
		unlink(out_sig_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void out_on_signal(const char *path, bool tree)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = path ? out_sig : SIG_DFL };

	if (path && strlen(path) >= sizeof(out_sig_path))
		return;
	out_sig_path[0] = '\0';
	if (path)
		memcpy(out_sig_path, path, strlen(path) + 1);
	out_sig_is_tree = tree;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void ck_out_on_signal(const char *path)
{
	out_on_signal(path, false);
}

void ck_out_on_signal_tree(const char *path)
{
	out_on_signal(path, true);
}

/* The directory @path is in ("." for a bare name), malloc'ed. */
static char *out_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t) (slash - path));
}

int ck_out_open(struct ck_out *o, const char *path, bool force, char **ret_error)
{
	_cleanup_free_ char *dir = NULL;
	const char *base = strrchr(path, '/');
	int rc;

	*o = (struct ck_out) { .fd = -1, .force = force };
	rc = ck_out_check(path, force, ret_error);
	if (rc < 0)
		return rc;
	dir = out_dir(path);
	o->path = strdup(path);
	if (!dir || !o->path)
		return ck_err(ret_error, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
	o->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (o->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return ck_err(ret_error, -errno, "%s: %s", path, strerror(errno));
	/* no O_TMPFILE here: a hidden name, removed on failure or signal */
	if (asprintf(&o->tmp, "%s/.ckptfs-%s-XXXXXX", dir, base ? base + 1 : path) < 0) {
		o->tmp = NULL;
		return ck_err(ret_error, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		rc = -errno;
		free(TAKE_PTR(o->tmp));
		return ck_err(ret_error, rc, "%s: %s", path, strerror(-rc));
	}
	ck_out_on_signal(o->tmp);
	return 0;
}

/* Give the unnamed file @o->fd the name @name; -EEXIST if it is taken. */
static int out_link(struct ck_out *o, const char *name)
{
	char proc[64];

	if (linkat(o->fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EPERM && errno != ENOENT)
		return -errno;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc's link does not */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

/* Name the file @o->path; with --force, over the regular file there. */
static int out_name(struct ck_out *o, char **ret_error)
{
	_cleanup_free_ char *dir = out_dir(o->path), *hidden = NULL;
	int rc = 0;

	if (!o->force) {
		rc = o->tmp ? (link(o->tmp, o->path) == 0 ? 0 : -errno) : out_link(o, o->path);
		if (rc == -EEXIST)
			return ck_out_check(o->path, false, ret_error);
		return rc < 0 ? ck_err(ret_error, rc, "%s: %s", o->path, strerror(-rc)) : 0;
	}
	if (!o->tmp) {
		/* a name first, then renamed over the old file */
		for (unsigned i = 0; i < 100 && (!hidden || rc == -EEXIST); i++) {
			free(hidden);
			if (!dir || asprintf(&hidden, "%s/.ckptfs-out-%ld-%u", dir, (long) getpid(), i) < 0)
				return ck_err(ret_error, -ENOMEM, "%s: %s", o->path, strerror(ENOMEM));
			rc = out_link(o, hidden);
		}
		if (rc < 0)
			return ck_err(ret_error, rc, "%s: %s", o->path, strerror(-rc));
		o->tmp = TAKE_PTR(hidden);
		ck_out_on_signal(o->tmp);
	}
	rc = ck_out_check(o->path, true, ret_error);	/* still a regular file, or gone */
	if (rc == 0 && rename(o->tmp, o->path) < 0)
		rc = ck_err(ret_error, -errno, "%s: %s", o->path, strerror(errno));
	if (rc == 0)
		free(TAKE_PTR(o->tmp));
	return rc;
}

int ck_out_commit(struct ck_out *o, char **ret_error)
{
	mode_t mask = umask(0);

	umask(mask);
	if (fchmod(o->fd, 0666 & ~mask) < 0 || fsync(o->fd) < 0)
		return ck_err(ret_error, -errno, "%s: %s", o->path, strerror(errno));
	return out_name(o, ret_error);
}

void ck_out_done(struct ck_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp) {
		unlink(o->tmp);
		ck_out_on_signal(NULL);
	}
	free(TAKE_PTR(o->tmp));
	free(TAKE_PTR(o->path));
}
