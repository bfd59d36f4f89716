/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the diff*.c files: the state of one comparison and the helpers
 * that build and hand on events. */
#ifndef CK_DIFF_PRIV_H
#define CK_DIFF_PRIV_H

#include "diff.h"

struct diff_net;

struct diff_ctx {
	const struct diff_side *a, *b;
	const struct diff_opts *o;
	size_t n;			/* differences so far */
	bool trouble;
	/* the group events are made for */
	enum diff_group group;
	uint32_t pid;
	const char *comm;
	struct diff_net *net;		/* the sockets of both sides (diff-net.c) */
};

/* Start @ev as a @kind event of the current group. */
void diff_ev(struct diff_ctx *x, struct diff_event *ev, const char *kind);
/* Add a field to @ev (at most DIFF_FIELDS_MAX; more are dropped). */
void diff_str(struct diff_event *ev, const char *key, const char *s);
void diff_strn(struct diff_event *ev, const char *key, const char *s, size_t len);
void diff_num(struct diff_event *ev, const char *key, uint64_t n);
void diff_addr(struct diff_event *ev, const char *key, uint64_t a);
void diff_none(struct diff_event *ev, const char *key);
/* Hand @ev on. Returns 0 or what the callback returned (-errno). */
int diff_emit(struct diff_ctx *x, const struct diff_event *ev);
/* Say that something could not be compared; the result becomes trouble. */
void diff_warn(struct diff_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What could not be compared for one process, said in one line: "PATH:
 * pid N: cwd, environ, fd 3 not compared: REASON" (the first side and
 * reason found). */
struct diff_skip {
	struct ck_buf names;
	const char *path;
	int err;
};
/* Add @name, which side @pa / @pb (-errno or 0 each) could not give. */
void diff_skip_add(struct diff_ctx *x, struct diff_skip *s, const char *name, int ra, int rb);
/* Say it, if anything was added, and release @s. */
void diff_skip_say(struct diff_ctx *x, struct diff_skip *s, uint32_t pid);

/* A one-field change: @kind with the current group, @field, @from and @to
 * (NULL: DIFF_NONE), after the fields already in @ev. */
int diff_change(struct diff_ctx *x, struct diff_event *ev, const char *field, const char *from, const char *to);

/* diff-proc.c: every process of either side, in pid order. */
int diff_procs(struct diff_ctx *x);

/* diff-net.c: the sockets of both sides, matched by inode and addresses. */
int diff_net_new(struct diff_ctx *x);
void diff_net_free(struct diff_net *n);
/* Emit the sockets that the process @pid held in A and are gone in B, and
 * those it holds in B that A did not have. */
int diff_net_proc(struct diff_ctx *x, uint32_t pid);
/* ... and those no process holds. */
int diff_net_rest(struct diff_ctx *x);

/* diff-mem.c: memory areas and dumped pages of a process in both sides. */
int diff_mem(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb);

/* diff-files.c: rootfs-diff.tar and deleted.files; container.json. */
int diff_files(struct diff_ctx *x);
int diff_container(struct diff_ctx *x);

#endif
