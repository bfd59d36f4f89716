/* SPDX-License-Identifier: Apache-2.0 */
/* A command run in namespaces of its own, with a tree of its choosing on
 * /proc (ckptfs --exec): new mount, pid and network namespaces, the tree
 * on /proc, and the command started with a pid of our choosing in its pid
 * namespace, so that tools that look themselves up in /proc (procps)
 * find the process that /proc/self names. Everything that can fail in the
 * child is reported back through a pipe, so the caller can say it. */
#ifndef CK_NS_H
#define CK_NS_H

#include <sys/types.h>

/* What to run, and on what. */
struct ck_ns_cmd {
	int proc_mount;		/* a detached mount (fsmount()) to put on /proc, or -1 */
	const char *proc_dir;	/* with proc_mount -1: a directory bind-mounted on /proc */
	/* NULL, or a directory below /proc once the tree is there (a pod's
	 * container, "/proc/NAME") that is bind-mounted on /proc in its turn */
	const char *proc_sub;
	pid_t pid;		/* the command's pid in its pid namespace (>= 1) */
	const char *path;	/* the program, a path */
	char *const *argv, *const *envp;
};

/* The step at which the child failed. */
enum ck_ns_step {
	CK_NS_OK,
	CK_NS_UNSHARE,		/* making the namespaces */
	CK_NS_PROC,		/* putting the tree on /proc */
	CK_NS_SUB,		/* the container's directory on /proc */
	CK_NS_PID,		/* starting the command with its pid */
	CK_NS_EXEC,		/* executing it */
};

/* A started command: the init of the pid namespace it runs in (or above
 * it, when its pid is 1), and the read end of the pipe of its reports. */
struct ck_ns_child {
	pid_t init;
	int report_fd;
};

/* Start @cmd. The caller must not be in a pid namespace of its own making.
 * Returns 0, or -errno (nothing started). */
int ck_ns_start(const struct ck_ns_cmd *cmd, struct ck_ns_child *ret);
/* Wait until the command runs (its exec succeeded) or the child failed:
 * 0, or -errno of the step in *@ret_step. */
int ck_ns_started(struct ck_ns_child *ch, enum ck_ns_step *ret_step);
/* Wait for the command to end: its exit status, 128 + N after signal N. */
int ck_ns_wait(struct ck_ns_child *ch);
/* What step @s does, for a message ("cannot " + this). */
const char *ck_ns_step_name(enum ck_ns_step s);

#endif
