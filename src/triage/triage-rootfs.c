/* SPDX-License-Identifier: Apache-2.0 */
/* The container's changes to its image: rootfs-added-exec and
 * rootfs-persistence over rootfs-diff.tar, ld-preload for an
 * /etc/ld.so.preload in it, log-deleted over deleted.files. A file in the
 * diff was added or changed; with --rootfs DIR, whether DIR has it tells
 * which. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "search.h"
#include "triage-priv.h"

/* The bytes of a file shown as its content. */
#define ROOTFS_SHOW 256
/* The most of /etc/passwd read. */
#define PASSWD_MAX (1u << 20)

int tr_rootfs_open(const struct triage_run *r, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	long fd;

	if (r->o->rootfs_fd < 0)
		return -ENOENT;
	fd = syscall(SYS_openat2, r->o->rootfs_fd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int) fd;
}

const struct arc_entry *tr_rootfs_find(const struct triage_run *r, const char *path)
{
	const struct arc_entry *e;

	if (!r->o->rootfs_diff || path[0] != '/')
		return NULL;
	e = arc_find(r->o->rootfs_diff, path + strspn(path, "/"));
	return e && e->type == ARC_REG ? e : NULL;
}

/* Persistence paths (inside the diff, without the leading '/'; fnmatch
 * with FNM_PATHNAME), what they are, and the severity of a change. */
static const struct {
	const char *glob;
	const char *what;
	enum triage_severity sev;
} persist[] = {
	{ "root/.ssh/authorized_keys*", "SSH authorized keys", TRIAGE_HIGH },
	{ "home/*/.ssh/authorized_keys*", "SSH authorized keys", TRIAGE_HIGH },
	{ "etc/passwd", "the user database", TRIAGE_LOW },	/* high with an extra uid 0 */
	{ "etc/shadow", "password hashes", TRIAGE_MEDIUM },
	{ "etc/gshadow", "group password hashes", TRIAGE_MEDIUM },
	{ "etc/sudoers", "sudo rules", TRIAGE_HIGH },
	{ "etc/sudoers.d/*", "sudo rules", TRIAGE_HIGH },
	{ "etc/crontab", "a cron table", TRIAGE_HIGH },
	{ "etc/cron.*/*", "a cron job", TRIAGE_HIGH },
	{ "var/spool/cron/*", "a cron table", TRIAGE_HIGH },
	{ "var/spool/cron/*/*", "a cron table", TRIAGE_HIGH },
	{ "etc/systemd/system/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "etc/systemd/system/*/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "etc/systemd/user/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "lib/systemd/system/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "usr/lib/systemd/system/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "root/.config/systemd/user/*", "a systemd unit", TRIAGE_MEDIUM },
	{ "etc/init.d/*", "an init script", TRIAGE_MEDIUM },
	{ "etc/rc.local", "an init script", TRIAGE_MEDIUM },
	{ "etc/ld.so.preload", "libraries preloaded into every program", TRIAGE_HIGH },
	{ "etc/ld.so.conf", "the library search path", TRIAGE_MEDIUM },
	{ "etc/ld.so.conf.d/*", "the library search path", TRIAGE_MEDIUM },
	{ "etc/pam.d/*", "a PAM configuration", TRIAGE_MEDIUM },
	{ "etc/profile", "a shell startup file", TRIAGE_MEDIUM },
	{ "etc/profile.d/*", "a shell startup file", TRIAGE_MEDIUM },
	{ "etc/bash.bashrc", "a shell startup file", TRIAGE_MEDIUM },
	{ "etc/environment", "a shell startup file", TRIAGE_MEDIUM },
	{ "etc/zsh/*", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.bashrc", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.bash_profile", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.bash_login", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.bash_logout", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.profile", "a shell startup file", TRIAGE_MEDIUM },
	{ "root/.zshrc", "a shell startup file", TRIAGE_MEDIUM },
	{ "home/*/.bashrc", "a shell startup file", TRIAGE_MEDIUM },
	{ "home/*/.bash_profile", "a shell startup file", TRIAGE_MEDIUM },
	{ "home/*/.profile", "a shell startup file", TRIAGE_MEDIUM },
	{ "home/*/.zshrc", "a shell startup file", TRIAGE_MEDIUM },
};

/* "added" or "changed" with --rootfs DIR, else "added or changed". */
static const char *change(const struct triage_run *r, const char *path)
{
	int fd = tr_rootfs_open(r, path);

	if (fd >= 0)
		close(fd);
	if (r->o->rootfs_fd < 0 || (fd < 0 && fd != -ENOENT))
		return "added or changed";
	return fd >= 0 ? "changed" : "added";
}

/* The start of member @e, escaped, as the "content" of @f. */
static void content(struct triage_run *r, struct triage_finding *f, const struct arc_entry *e, const uint8_t *head,
		    size_t n)
{
	struct ck_buf b = { 0 };

	search_escape(&b, head, n);
	if (b.oom)
		r->err = -ENOMEM;
	else
		tr_strn(r, f, "content", b.data ? b.data : "", b.len);
	if (e->size > n)
		tr_bool(r, f, "content_cut", true);
	ck_buf_done(&b);
}

/* The users of /etc/passwd @e with uid 0 other than root. */
static size_t extra_root(struct triage_run *r, const struct arc_entry *e, char *names, size_t size)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	size_t found = 0;

	names[0] = '\0';
	if (arc_load(r->o->rootfs_diff, e, PASSWD_MAX, &b, &owned) < 0)
		return 0;
	for (size_t i = 0; i < b.len;) {
		const char *line = (const char *) b.data + i, *end = memchr(line, '\n', b.len - i);
		size_t len = end ? (size_t) (end - line) : b.len - i;
		const char *c1 = memchr(line, ':', len), *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
		const char *c3 = c2 ? memchr(c2 + 1, ':', len - (size_t) (c2 + 1 - line)) : NULL;

		if (c3 && c3 - c2 == 2 && c2[1] == '0' && !(c1 - line == 4 && !memcmp(line, "root", 4))) {
			snprintf(names + strlen(names), size - strlen(names), "%s%.*s", found ? ", " : "",
				 (int) (c1 - line), line);
			found++;
		}
		i += len + 1;
	}
	return found;
}

static void persistence(struct triage_run *r, const struct arc_entry *e, const char *path, const uint8_t *head,
			size_t n)
{
	struct triage_finding *f;
	char names[256];

	for (size_t i = 0; i < ARRAY_SIZE(persist); i++) {
		enum triage_severity sev = persist[i].sev;
		size_t extra = 0;

		if (fnmatch(persist[i].glob, e->path, FNM_PATHNAME))
			continue;
		if (!strcmp(e->path, "etc/passwd") && (extra = extra_root(r, e, names, sizeof(names))))
			sev = TRIAGE_HIGH;
		f = tr_new(r, TRIAGE_ROOTFS_PERSISTENCE, sev, NULL);
		tr_path(r, f, path);
		tr_str(r, f, "what", "%s", persist[i].what);
		tr_str(r, f, "change", "%s", change(r, path));
		content(r, f, e, head, n);
		if (extra) {
			tr_str(r, f, "uid0_users", "%s", names);
			tr_summary(r, f, "%s %s: users with uid 0 besides root: %s", persist[i].what, change(r, path),
				   names);
		} else {
			tr_summary(r, f, "%s %s", persist[i].what, change(r, path));
		}
		if (!strcmp(e->path, "etc/ld.so.preload")) {
			f = tr_new(r, TRIAGE_LD_PRELOAD, TRIAGE_HIGH, NULL);
			tr_path(r, f, path);
			content(r, f, e, head, n);
			tr_summary(r, f, "/etc/ld.so.preload in the rootfs diff: libraries loaded into every program");
		}
		return;
	}
}

/* Whether a component of @path starts with '.'. */
static bool hidden(const char *path)
{
	return path[0] == '.' || strstr(path, "/.");
}

static void added_exec(struct triage_run *r, const struct arc_entry *e, const char *path, const uint8_t *head,
		       size_t n)
{
	bool elf = n >= 4 && !memcmp(head, "\x7f" "ELF", 4), script = n >= 2 && head[0] == '#' && head[1] == '!';
	bool suid = e->mode & (S_ISUID | S_ISGID);
	struct triage_finding *f;

	if (!elf && !script && !suid)
		return;
	f = tr_new(r, TRIAGE_ROOTFS_ADDED_EXEC,
		   suid || tr_tmp_path(path) || hidden(e->path) ? TRIAGE_HIGH : TRIAGE_MEDIUM, NULL);
	tr_path(r, f, path);
	tr_str(r, f, "type", "%s", elf ? "ELF" : script ? "script" : "file");
	tr_str(r, f, "mode", "%04o", (unsigned) e->mode);
	tr_int(r, f, "size", (int64_t) e->size);
	tr_bool(r, f, "setuid", e->mode & S_ISUID);
	tr_bool(r, f, "setgid", e->mode & S_ISGID);
	tr_str(r, f, "change", "%s", change(r, path));
	if (script)
		tr_strn(r, f, "interpreter", (const char *) head, strcspn((const char *) head, "\n"));
	tr_excerpt(r, f, 0, head, CK_MIN(n, (size_t) 64));
	tr_summary(r, f, "%s%s %s%s", suid ? (e->mode & S_ISUID ? "a setuid " : "a setgid ") : "an ",
		   elf ? "ELF file" : script ? "executable script" : "file", change(r, path),
		   tr_tmp_path(path) ? " in a temporary directory" : hidden(e->path) ? " under a hidden name" : "");
}

static void check_diff(struct triage_run *r)
{
	const struct arc *a = r->o->rootfs_diff;
	uint8_t head[ROOTFS_SHOW + 1];
	char path[4100];

	for (size_t i = 0; i < arc_count(a) && !r->err; i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		ssize_t n;

		if (e->type != ARC_REG || snprintf(path, sizeof(path), "/%s", e->path) >= (int) sizeof(path))
			continue;
		n = arc_pread(a, e, head, ROOTFS_SHOW, 0);
		if (n < 0) {
			tr_incomplete(r, NULL, "rootfs-diff", "rootfs-diff.tar: %s cannot be read (%s)", path,
				      strerror((int) -n));
			continue;
		}
		head[n] = '\0';
		persistence(r, e, path, head, (size_t) n);
		added_exec(r, e, path, head, (size_t) n);
	}
}

static void check_deleted(struct triage_run *r)
{
	const char *s = r->o->deleted;

	while (s && *s) {
		size_t len = strcspn(s, "\n");

		if (len > 9 && !strncmp(s, "/var/log/", 9)) {
			struct triage_finding *f = tr_new(r, TRIAGE_LOG_DELETED, TRIAGE_MEDIUM, NULL);

			if (f && !(f->path = strndup(s, len)))
				r->err = -ENOMEM;
			tr_summary(r, f, "a log file the container deleted (deleted.files)");
		}
		s += len + (s[len] == '\n');
	}
}

void tr_rootfs_check(struct triage_run *r)
{
	if (r->o->rootfs_diff_err < 0)
		tr_incomplete(r, NULL, "rootfs-diff", "the rootfs diff: rootfs-diff.tar cannot be read (%s)",
			      strerror(-r->o->rootfs_diff_err));
	if (r->o->rootfs_diff)
		check_diff(r);
	if (r->o->deleted_err < 0)
		tr_incomplete(r, NULL, "deleted.files", "deleted.files cannot be read (%s)",
			      strerror(-r->o->deleted_err));
	check_deleted(r);
}
