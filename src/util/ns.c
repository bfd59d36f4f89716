/* SPDX-License-Identifier: Apache-2.0 */
/* ck_ns_*: see ns.h. The child made by clone3() is the init of a new pid
 * namespace, in new mount and network namespaces; it puts the tree on
 * /proc, then starts the command with clone3()'s set_tid at the pid asked
 * for (or as the init of a pid namespace below, when that pid is 1), waits
 * for it and lets the tree's server finish with its files. Both
 * are made as fork() makes a child (on a copy of the caller's stack), and
 * they only make system calls: the parent may have threads. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns.h"

/* The exit status of the child when it failed before the command ran. */
#define NS_FAILED 125

struct ns_report {
	int step, err;
};

struct ns_args {
	const struct ck_ns_cmd *cmd;
	int report;		/* the write end of the pipe */
};

static void ns_report(int fd, enum ck_ns_step step, int err)
{
	struct ns_report r = { step, err };

	(void) !write(fd, &r, sizeof(r));
}

/* The status of a child as a shell reports it. */
static int ns_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : NS_FAILED;
}

/* The tree on /proc of this mount namespace, made private first. */
static enum ck_ns_step ns_proc(const struct ck_ns_cmd *cmd)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return CK_NS_UNSHARE;
	if (cmd->proc_mount >= 0) {
		if (move_mount(cmd->proc_mount, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return CK_NS_PROC;
	} else if (mount(cmd->proc_dir, "/proc", NULL, MS_BIND | MS_REC, NULL) < 0 ||
		   mount(NULL, "/proc", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		return CK_NS_PROC;
	}
	if (cmd->proc_sub && mount(cmd->proc_sub, "/proc", NULL, MS_BIND, NULL) < 0)
		return CK_NS_SUB;
	return CK_NS_OK;
}

/* A child as fork() makes one, in new namespaces @flags, with pid @tid in
 * the innermost pid namespace (0: the next free one). */
static pid_t ns_clone(uint64_t flags, pid_t tid)
{
	struct clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };

	if (tid) {
		ca.set_tid = (uint64_t) (uintptr_t) &tid;
		ca.set_tid_size = 1;
	}
	return (pid_t) syscall(SYS_clone3, &ca, sizeof(ca));
}

/* Kill and reap whatever the command left in our pid namespace, then wait
 * until the tree's server has answered what the kernel queued for it as
 * their files closed (releases): a lookup of a name it does not have,
 * queued after them, more than once in case some waited behind others.
 * Else those requests die with the connection when we exit, and the files
 * they would release stay open in the server. */
static void ns_drain(void)
{
	struct stat st;

	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	for (int i = 0; i < 4; i++)
		(void) stat("/proc/.ckptfs-exec-done", &st);
}

static _Noreturn void ns_init(const struct ns_args *a)
{
	const struct ck_ns_cmd *cmd = a->cmd;
	enum ck_ns_step step;
	pid_t child, w;
	int st;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	step = ns_proc(cmd);
	if (step != CK_NS_OK) {
		ns_report(a->report, step, errno);
		_exit(NS_FAILED);
	}
	/* pid 1 is the init of a pid namespace of its own, below ours: when
	 * it ends, the kernel ends everything in it before we see it end */
	child = cmd->pid == 1 ? ns_clone(CLONE_NEWPID, 0) : ns_clone(0, cmd->pid);
	if (child == 0) {
		execve(cmd->path, cmd->argv, cmd->envp);
		ns_report(a->report, CK_NS_EXEC, errno);
		_exit(127);
	}
	if (child < 0) {
		ns_report(a->report, CK_NS_PID, errno);
		_exit(NS_FAILED);
	}
	close(a->report);
	/* reap whatever the command leaves behind, until it ends itself */
	do
		w = waitpid(-1, &st, 0);
	while (w != child && (w >= 0 || errno == EINTR));
	ns_drain();
	_exit(w == child ? ns_status(st) : NS_FAILED);
}

int ck_ns_start(const struct ck_ns_cmd *cmd, struct ck_ns_child *ret)
{
	struct ns_args a = { .cmd = cmd };
	int fds[2], rc = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	a.report = fds[1];
	pid = ns_clone(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET, 0);
	if (pid == 0) {
		close(fds[0]);
		ns_init(&a);
	}
	if (pid < 0)
		rc = -errno;
	close(fds[1]);
	if (rc < 0) {
		close(fds[0]);
		return rc;
	}
	*ret = (struct ck_ns_child) { .init = pid, .report_fd = fds[0] };
	return 0;
}

int ck_ns_started(struct ck_ns_child *ch, enum ck_ns_step *ret_step)
{
	struct ns_report r;
	ssize_t n;

	do
		n = read(ch->report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(ch->report_fd);
	ch->report_fd = -1;
	if (n != (ssize_t) sizeof(r)) {
		*ret_step = CK_NS_OK;
		return 0;
	}
	*ret_step = (enum ck_ns_step) r.step;
	return r.err > 0 ? -r.err : -EIO;
}

int ck_ns_wait(struct ck_ns_child *ch)
{
	int st;

	if (ch->report_fd >= 0) {
		close(ch->report_fd);
		ch->report_fd = -1;
	}
	while (waitpid(ch->init, &st, 0) < 0)
		if (errno != EINTR)
			return NS_FAILED;
	return ns_status(st);
}

const char *ck_ns_step_name(enum ck_ns_step s)
{
	switch (s) {
	case CK_NS_OK:
		break;
	case CK_NS_UNSHARE:
		return "make mount, pid and network namespaces";
	case CK_NS_PROC:
		return "put the tree on /proc";
	case CK_NS_SUB:
		return "put the container's tree on /proc";
	case CK_NS_PID:
		return "start the command with the pid of the checkpoint's init";
	case CK_NS_EXEC:
		return "execute the command";
	}
	return "run the command";
}
