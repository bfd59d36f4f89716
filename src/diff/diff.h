/* SPDX-License-Identifier: Apache-2.0 */
/* What changed between two checkpoints (ckptfs --diff): processes, threads,
 * descriptors, sockets (diff-proc.c, diff-net.c), memory areas and the
 * dumped memory page by page (diff-mem.c), the container's files and
 * container.json (diff-files.c). Each difference is one event with a kind
 * and fields, handed to a callback in a fixed order: per process (by pid)
 * its own changes, threads, descriptors, sockets, then its memory areas
 * with their pages in address order; sockets no process holds; the files;
 * container.json. diff-out.c prints events as text or JSON lines.
 *
 * Memory is read from both checkpoints at once, a bounded chunk at a time,
 * and compared byte for byte; two runs that name the same bytes of the
 * same pages member (a pre-dump child and its parent) are equal unread. */
#ifndef CK_DIFF_H
#define CK_DIFF_H

#include <stdio.h>

#include "ckpt.h"

/* Where an event belongs in the text output. */
enum diff_group {
	DIFF_GROUP_PROC,	/* a process: @pid */
	DIFF_GROUP_SOCKETS,	/* sockets no descriptor holds */
	DIFF_GROUP_FILES,	/* rootfs-diff.tar and deleted.files */
	DIFF_GROUP_CONTAINER,	/* container.json */
};

enum diff_type {
	DIFF_STR,	/* @s, @len bytes */
	DIFF_NUM,	/* @n, decimal */
	DIFF_ADDR,	/* @n, an address: hex ("0x7f..." in JSON) */
	DIFF_NONE,	/* nothing (an environment variable that is not there): JSON null */
};

struct diff_field {
	const char *key;
	enum diff_type type;
	const char *s;
	size_t len;
	uint64_t n;
};

#define DIFF_FIELDS_MAX 14
/* Bytes of each side shown by --bytes for a memory-changed run. */
#define DIFF_BYTES_MAX 32

/* One difference; its strings are borrowed for the call only. */
struct diff_event {
	const char *kind;		/* "process-changed", "memory-changed", ... */
	enum diff_group group;
	const char *container;		/* the container of a pod, or NULL */
	uint32_t pid;			/* DIFF_GROUP_PROC */
	const char *comm;		/* that process's name, for the group's heading */
	struct diff_field f[DIFF_FIELDS_MAX];
	size_t n;
	/* memory-changed with --bytes: @len bytes at address @at, as A (@from)
	 * and B (@to) hold them, from the run's first differing byte's line */
	uint64_t at;
	const uint8_t *from, *to;
	size_t len;
};

typedef int (*diff_emit_fn)(void *ctx, const struct diff_event *ev);

/* One side: a checkpoint (one container of a pod), or nothing (a container
 * only the other side has; everything there is added or removed). */
struct diff_side {
	const char *path;		/* the input, for messages */
	const struct ckpt *ck;		/* NULL: nothing */
	const char *container_json;	/* its /container.json text, or NULL */
	size_t container_json_len;
};

struct diff_opts {
	bool bytes;			/* --bytes */
	const char *container;		/* the pod container compared, or NULL */
	const struct arc_opts *arc_opts;	/* for rootfs-diff.tar */
	diff_emit_fn emit;
	void *ctx;
	/* Something could not be compared: one line, without the program name. */
	void (*warn)(void *warn_ctx, const char *msg);
	void *warn_ctx;
};

/* Compare @a (before) with @b (after). Returns the number of differences
 * handed to @o->emit, or -errno (-ENOMEM, or what @emit returned); sets
 * *@ret_trouble when something could not be compared (@o->warn said what). */
int diff_run(const struct diff_side *a, const struct diff_side *b, const struct diff_opts *o, bool *ret_trouble);

/* ---- output (diff-out.c) ---- */

struct diff_out {
	FILE *f;
	bool json;
	/* the group of the last text line */
	bool started;
	enum diff_group group;
	uint32_t pid;
	char *container;
};

/* A diff_emit_fn for @ctx a struct diff_out: text grouped by process, then
 * files, then container.json; or one JSON object a line. Returns 0 or
 * -ENOMEM / -EIO (a write failed). */
int diff_out_event(void *ctx, const struct diff_event *ev);
void diff_out_done(struct diff_out *o);

#endif
