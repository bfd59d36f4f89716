/* SPDX-License-Identifier: Apache-2.0 */
/* --exec CHECKPOINT [--] COMMAND [ARG]...: run COMMAND with the checkpoint's
 * tree as its /proc, in new mount, pid and network namespaces, with the pid
 * of the checkpoint's init and PROC_ROOT=/proc (util/ns.h), so that ps,
 * pstree, top, lsof, ss and netstat show the checkpoint and nothing of this
 * host. CHECKPOINT is a mounted tree (or a copy of one; a pod's container
 * is its directory), or any input ckptfs takes (ARCHIVE:CONTAINER for a
 * container of a pod), then mounted for the command alone: a detached FUSE
 * mount (fsopen/fsmount) that no other process sees, served by this
 * process until the command ends. Exit status: the command's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fs.h"
#include "ns.h"

extern char **environ;

/* What runs, on what. */
struct exec_run {
	struct cli_common c;
	const char *target;	/* CHECKPOINT as given */
	char *archive;		/* the input to mount, or NULL for a tree */
	char *container;	/* a pod's container (ARCHIVE:CONTAINER), or NULL */
	char *sub;		/* "/proc/CONTAINER" */
	char *path;		/* the command, resolved in PATH */
	char **argv, **envp;
	struct ck_ns_cmd cmd;
};

static void exec_run_done(struct exec_run *x)
{
	free(x->archive);
	free(x->container);
	free(x->sub);
	free(x->path);
	free(x->envp);
	cli_common_done(&x->c);
}

/* @name as execve() will run it: as given when it holds a '/', else the
 * first executable regular file of that name in $PATH. 0, or an exit code
 * after a message. */
static int exec_resolve(struct exec_run *x, const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;
	struct stat st;

	if (strchr(name, '/'))
		return (x->path = strdup(name)) ? 0 : CLI_EXIT_NO_MEMORY;
	copy = strdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (!copy)
		return CLI_EXIT_NO_MEMORY;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;

		if (asprintf(&p, "%s/%s", *d ? d : ".", name) < 0)
			return CLI_EXIT_NO_MEMORY;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
			x->path = TAKE_PTR(p);
			return 0;
		}
	}
	fprintf(stderr, "%s: --exec: %s: command not found\n", x->c.prog, name);
	return CLI_EXIT_NO_COMMAND;
}

/* The environment with PROC_ROOT=/proc (ss and others read /proc/net
 * there instead of asking the kernel). */
static int exec_env(struct exec_run *x)
{
	size_t n = 0, k = 0;

	while (environ[n])
		n++;
	x->envp = calloc(n + 2, sizeof(*x->envp));
	if (!x->envp)
		return CLI_EXIT_NO_MEMORY;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PROC_ROOT=", 10))
			x->envp[k++] = environ[i];
	x->envp[k] = (char *) "PROC_ROOT=/proc";
	return 0;
}

/* Whether @dir is a tree of ckptfs (mounted, or a copy): it has the link
 * self and the file stat of a /proc. */
static bool exec_is_tree(int at, const char *dir)
{
	_cleanup_free_ char *self = NULL, *stat_ = NULL;
	struct stat st;

	return asprintf(&self, "%s/self", dir) >= 0 && asprintf(&stat_, "%s/stat", dir) >= 0 &&
	       fstatat(at, self, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
	       fstatat(at, stat_, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* The pid that @target ("self" as read) names: 0 when it is none. */
static pid_t exec_pid(const char *target)
{
	uint64_t v;

	return ck_parse_u64(target, &v) == 0 && v >= 1 && v < (1u << 22) ? (pid_t) v : 0;
}

/* A pod mounted at @dir (or a copy of one): its containers' directories
 * are trees. 0 when none is, else an exit code after a message naming them. */
static int exec_pod_trees(const struct exec_run *x, const char *dir)
{
	_cleanup_(ck_buf_done) struct ck_buf list = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && exec_is_tree(dirfd(d), e->d_name))
			ck_buf_printf(&list, "%s%s/%s", list.len ? ", " : "", dir, e->d_name);
	if (d)
		closedir(d);
	if (!list.len)
		return 0;
	fprintf(stderr, "%s: --exec: %s is a pod: give one of its containers: %s\n", x->c.prog, dir,
		list.oom ? "?" : list.data);
	return CLI_EXIT_USAGE;
}

/* Report the child's failure before the command ran, and its exit code. */
static int exec_failed(const struct exec_run *x, enum ck_ns_step step, int rc)
{
	fprintf(stderr, "%s: --exec: cannot %s%s%s: %s\n", x->c.prog, ck_ns_step_name(step),
		step == CK_NS_EXEC ? " " : "", step == CK_NS_EXEC ? x->path : "", strerror(-rc));
	if (step == CK_NS_EXEC)
		return rc == -ENOENT ? CLI_EXIT_NO_COMMAND : CLI_EXIT_CANNOT_EXEC;
	return CLI_EXIT_MOUNT;
}

static int exec_start(const struct exec_run *x, struct ck_ns_child *ch)
{
	int rc = ck_ns_start(&x->cmd, ch);

	if (rc < 0) {
		fprintf(stderr, "%s: --exec: cannot make mount, pid and network namespaces: %s%s\n", x->c.prog,
			strerror(-rc), rc == -EPERM ? " (needs root)" : "");
		return CLI_EXIT_MOUNT;
	}
	return 0;
}

/* The command on a tree that is there already. */
static int exec_on_tree(struct exec_run *x)
{
	_cleanup_free_ char *self = NULL;
	char target[32];
	struct ck_ns_child ch;
	enum ck_ns_step step;
	ssize_t n;
	int rc;

	if (asprintf(&self, "%s/self", x->target) < 0)
		return CLI_EXIT_NO_MEMORY;
	n = readlink(self, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	x->cmd = (struct ck_ns_cmd) { .proc_mount = -1, .proc_dir = x->target, .pid = exec_pid(target),
				      .path = x->path, .argv = x->argv, .envp = x->envp };
	if (!x->cmd.pid) {
		fprintf(stderr, "%s: --exec: %s: self names no process ('%s')\n", x->c.prog, self, target);
		return CLI_EXIT_NOT_CHECKPOINT;
	}
	rc = exec_start(x, &ch);
	if (rc)
		return rc;
	rc = ck_ns_started(&ch, &step);
	n = ck_ns_wait(&ch);
	return rc < 0 ? exec_failed(x, step, rc) : (int) n;
}

/* ---- an input mounted for the command alone ---- */

struct exec_list {
	struct tree *t;
	struct ck_buf names;
	const char *archive;
};

/* tree_readdir() of the root: the directories that hold a tree (a pod's containers). */
static int exec_list_fill(void *ctx, const char *name, const struct stat *st)
{
	struct exec_list *l = ctx;
	_cleanup_free_ char *self = NULL;

	if (S_ISDIR(st->st_mode) && asprintf(&self, "%s/self", name) >= 0 && tree_lookup(l->t, self))
		ck_buf_printf(&l->names, "%s%s:%s", l->names.len ? ", " : "", l->archive, name);
	return 0;
}

/* The pid that the tree's self (a container's, with ARCHIVE:CONTAINER)
 * names. 0, or an exit code after a message (a pod without a container). */
static int exec_tree_pid(struct exec_run *x, struct tree *t)
{
	_cleanup_free_ char *self = NULL;
	struct exec_list l = { .t = t, .archive = x->archive };
	const struct tree_node *n;
	char target[32];
	int rc;

	if (asprintf(&self, "%s%sself", x->container ? x->container : "", x->container ? "/" : "") < 0)
		return CLI_EXIT_NO_MEMORY;
	n = tree_lookup(t, self);
	rc = n ? tree_readlink(t, n, target, sizeof(target)) : -ENOENT;
	if (rc >= 0 && (x->cmd.pid = exec_pid(target)))
		return 0;
	tree_readdir(t, tree_lookup(t, "/"), exec_list_fill, &l);
	if (l.names.len)
		fprintf(stderr, "%s: --exec: %s is a pod%s%s: give one of its containers: %s\n", x->c.prog,
			x->archive, x->container ? " without the container " : "", x->container ? x->container : "",
			l.names.data);
	else
		fprintf(stderr, "%s: --exec: %s%s%s: no init process (self)\n", x->c.prog, x->archive,
			x->container ? ":" : "", x->container ? x->container : "");
	rc = l.names.len ? CLI_EXIT_USAGE : CLI_EXIT_NOT_CHECKPOINT;
	ck_buf_done(&l.names);
	return rc;
}

/* A FUSE mount of @fuse's tree attached nowhere, for the command's mount
 * namespace to put on /proc: its fd in *@ret_mnt. 0, or an exit code after
 * a message. */
static int exec_fuse_mount(const struct exec_run *x, struct fuse *fuse, int *ret_mnt)
{
	_cleanup_close_ int fs = -1;
	char fd_str[16], uid[16], gid[16], max_read[16], dev_path[32];
	const char *what = "open /dev/fuse";
	int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC), mnt = -1, rc = 0;

	if (dev < 0)
		goto fail;
	snprintf(fd_str, sizeof(fd_str), "%d", dev);
	snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
	snprintf(gid, sizeof(gid), "%u", (unsigned) getgid());
	snprintf(max_read, sizeof(max_read), "%u", (unsigned) FS_MAX_READ);
	what = "create a FUSE mount";
	fs = fsopen("fuse", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "fd", fd_str, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "rootmode", "40000", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "user_id", uid, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "group_id", gid, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_FLAG, "default_permissions", NULL, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "max_read", max_read, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "source", x->archive, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "subtype", "ckptfs", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				  MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		goto fail;
	/* libfuse serves an fd that is mounted already (and closes it) */
	snprintf(dev_path, sizeof(dev_path), "/dev/fd/%d", dev);
	if (fuse_mount(fuse, dev_path) != 0) {
		close(mnt);
		close(dev);
		fprintf(stderr, "%s: --exec: cannot serve the FUSE mount\n", x->c.prog);
		return CLI_EXIT_MOUNT;
	}
	*ret_mnt = mnt;
	return 0;
fail:
	rc = errno;
	if (dev >= 0)
		close(dev);
	fprintf(stderr, "%s: --exec: cannot %s: %s%s\n", x->c.prog, what, strerror(rc),
		rc == EPERM ? " (needs root)" : "");
	return CLI_EXIT_MOUNT;
}

/* The thread that waits for the command while the main thread serves. */
struct exec_watch {
	struct ck_ns_child ch;
	enum ck_ns_step step;
	int started, status;
	bool done;
};

static void *exec_watch(void *arg)
{
	struct exec_watch *w = arg;

	w->started = ck_ns_started(&w->ch, &w->step);
	w->status = ck_ns_wait(&w->ch);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	/* the loop ends by itself: the command's mount namespace, the last
	 * user of the mount, is gone with it, and the kernel ends the
	 * connection as an unmount does */
	return NULL;
}

/* Serve @fuse until the command started on mount @mnt ends. */
static int exec_serve(struct exec_run *x, struct fuse *fuse, int mnt)
{
	struct fuse_loop_config lcfg = { .clone_fd = 0, .max_idle_threads = 10 };
	struct exec_watch w = { 0 };
	pthread_t th;
	int rc;

	x->cmd.proc_mount = mnt;
	rc = exec_start(x, &w.ch);
	close(mnt);
	if (rc)
		return rc;
	/* as system() does: a ^C is for the command */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (pthread_create(&th, NULL, exec_watch, &w) != 0) {
		kill(w.ch.init, SIGKILL);
		ck_ns_wait(&w.ch);
		return CLI_EXIT_NO_MEMORY;
	}
	rc = fuse_loop_mt(fuse, &lcfg);
	if (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
		kill(w.ch.init, SIGKILL);	/* the loop failed: no /proc for it */
	pthread_join(th, NULL);
	if (w.started < 0)
		return exec_failed(x, w.step, w.started);
	if (rc < 0 && w.status == 128 + SIGKILL) {
		fprintf(stderr, "%s: --exec: serving the tree failed; the command was killed\n", x->c.prog);
		return CLI_EXIT_MOUNT;
	}
	return w.status;
}

static int exec_on_archive(struct exec_run *x)
{
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	_cleanup_(tree_freep) struct tree *tree = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *fuse = NULL;
	int rc, mnt = -1;

	rc = cli_input_open(&x->c, x->archive, 0, &in);
	if (rc == 0)
		rc = cli_tree_open(&x->c, &in, false, &tree);
	if (rc == 0)
		rc = exec_tree_pid(x, tree);
	if (rc)
		return rc;
	if (x->container && asprintf(&x->sub, "/proc/%s", x->container) < 0)
		return CLI_EXIT_NO_MEMORY;
	x->cmd = (struct ck_ns_cmd) { .proc_mount = -1, .proc_sub = x->sub, .pid = x->cmd.pid,
				      .path = x->path, .argv = x->argv, .envp = x->envp };
	if (fuse_opt_add_arg(&args, x->c.prog) != 0)
		return CLI_EXIT_NO_MEMORY;
	cli_fuse_args(&args, x->archive);
	fuse = fuse_new(&args, &fs_ops, sizeof(fs_ops), tree);
	fuse_opt_free_args(&args);
	if (!fuse)
		return CLI_EXIT_MOUNT;
	rc = exec_fuse_mount(x, fuse, &mnt);
	if (rc == 0)
		rc = exec_serve(x, fuse, mnt);
	fuse_unmount(fuse);
	fuse_destroy(fuse);
	return rc;
}

/* ---- the command line ---- */

/* CHECKPOINT: a tree, ARCHIVE, or ARCHIVE:CONTAINER when ARCHIVE exists and
 * the whole does not. 0, or an exit code after a message. */
static int exec_target(struct exec_run *x)
{
	const char *colon = strrchr(x->target, ':');
	struct stat st;
	int rc;

	if (stat(x->target, &st) == 0 && S_ISDIR(st.st_mode) && exec_is_tree(AT_FDCWD, x->target))
		return 0;
	if (stat(x->target, &st) < 0 && colon && colon[1]) {
		x->archive = strndup(x->target, (size_t) (colon - x->target));
		if (x->archive && stat(x->archive, &st) == 0)
			return (x->container = strdup(colon + 1)) ? 0 : CLI_EXIT_NO_MEMORY;
		free(TAKE_PTR(x->archive));
	}
	rc = cli_input_exists(&x->c, x->target);
	if (rc)
		return rc;
	x->archive = strdup(x->target);
	if (!x->archive)
		return CLI_EXIT_NO_MEMORY;
	/* a mounted pod (its root has no self) or a copy of one */
	return S_ISDIR(st.st_mode) ? exec_pod_trees(x, x->target) : 0;
}

/* -o LIST of --exec. 0, or an exit code after a message. */
static int exec_o(const struct cli_mode *m, struct exec_run *x, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return CLI_EXIT_NO_MEMORY;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int rc = cli_common_opt(&x->c, t, m->o_classes);

		if (rc < 0)
			return m->usage_exit;
		if (rc == 0 && strcmp(t, "debug"))
			return cli_usage_error(m, x->c.prog, "-o %s is not an option of --exec", t);
	}
	return 0;
}

/* Options up to CHECKPOINT, then [--] COMMAND [ARG]...: the index of the
 * command in *@ret_cmd. 0, -1 after --help, or an exit code. */
static int exec_parse(const struct cli_mode *m, struct exec_run *x, int argc, char **argv, int *ret_cmd)
{
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--exec"))
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_help(m, x->c.prog);
			return -1;
		}
		if (!strncmp(a, "-o", 2)) {
			if (!a[2] && i + 1 == argc)
				return cli_usage_error(m, x->c.prog, "option -o needs an argument");
			rc = exec_o(m, x, a[2] ? a + 2 : argv[++i]);
			if (rc)
				return rc;
			continue;
		}
		if (a[0] == '-' && a[1])
			return cli_usage_error(m, x->c.prog, "option %s is not an option of --exec", a);
		break;
	}
	if (i >= argc)
		return cli_usage_error(m, x->c.prog, "--exec takes CHECKPOINT [--] COMMAND [ARG]...");
	x->target = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		return cli_usage_error(m, x->c.prog, "--exec takes a COMMAND after %s", x->target);
	*ret_cmd = i;
	return 0;
}

static int exec_main(const struct cli_mode *m, int argc, char **argv)
{
	struct exec_run x = { .c = { .prog = "ckptfs" } };
	int rc, cmd = 0;

	rc = exec_parse(m, &x, argc, argv, &cmd);
	if (rc == 0) {
		x.argv = argv + cmd;
		rc = exec_resolve(&x, argv[cmd]);
	}
	if (rc == 0)
		rc = exec_env(&x);
	if (rc == 0)
		rc = exec_target(&x);
	if (rc == 0)
		rc = x.archive ? exec_on_archive(&x) : exec_on_tree(&x);
	exec_run_done(&x);
	return rc < 0 ? CLI_EXIT_OK : rc;
}

const struct cli_mode cli_mode_exec = {
	.name = "exec",
	.operands = "CHECKPOINT [--] COMMAND [ARG]...",
	.summary = "run COMMAND with the checkpoint as its /proc, in new mount, pid\n"
		   "and network namespaces with the pid of the checkpoint's init:\n"
		   "ps, pstree, top, lsof, ss and netstat show the checkpoint alone.\n"
		   "CHECKPOINT: a mounted tree (a pod's: MOUNT/CONTAINER), or an\n"
		   "input mounted for the command (a pod's: ARCHIVE:CONTAINER)",
	.o_classes = CLI_O_INPUT | CLI_O_TREE,
	.usage_exit = CLI_EXIT_USAGE,
	.main = exec_main,
};
