/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the triage module share: the run over one checkpoint,
 * the process being checked, findings under construction, and the entry
 * points of each family of checks. */
#ifndef CK_TRIAGE_PRIV_H
#define CK_TRIAGE_PRIV_H

#include "triage.h"

/* The most findings of one kind a checkpoint lists; past it they are
 * counted, and one more finding of that kind says how many were left out
 * (a hostile checkpoint of 10^6 RWX mappings stays a short report). */
#define TRIAGE_KIND_MAX 256

/* One checkpoint being checked. */
struct triage_run {
	const struct ckpt *ck;
	const struct triage_opts *o;
	struct triage_report *out;
	int err;			/* -ENOMEM once anything failed to allocate */
	size_t count[TRIAGE_KIND_COUNT];
	size_t left_out[TRIAGE_KIND_COUNT];
	enum triage_severity left_out_sev[TRIAGE_KIND_COUNT];
};

/* A secret seen in one process: its value once, every address it was seen at. */
struct tr_secret {
	char *value;
	size_t len;
	size_t copies;			/* times seen */
	struct triage_finding *f;	/* the finding that reports it */
};

/* One process being checked. */
struct triage_proc {
	struct triage_run *r;
	const struct ckpt *ck;
	const struct ckpt_proc *p;
	const char *comm;
	char *exe;			/* the exe link's text, or NULL when unknown */
	const struct img_vma *stack;	/* the VMA holding mm_start_stack, or NULL */
	const char *jit;		/* a mapped file that shows a JIT runtime, or NULL */
	bool bash;			/* the program is bash */
	bool dash;			/* ... dash */
	struct tr_secret *secrets;
	size_t n_secrets;
	size_t n_elf;			/* ELF headers reported */
	struct tr_watch *w;		/* what the pass hands bytes to (tr_watch_add()) */
	size_t n_w;
	/* memory not read: unreadable pages or pages of a missing parent */
	uint64_t bad_bytes;
	uint64_t bad_first;		/* the first unreadable address */
	int bad_err;
};

/* ---- findings (triage.c) ---- */

/* A new finding of @kind and @sev in @r's report, about process @tp (NULL:
 * about the checkpoint); NULL when out of memory (r->err is set) or past
 * TRIAGE_KIND_MAX of that kind (counted). Every tr_*() below accepts NULL. */
struct triage_finding *tr_new(struct triage_run *r, enum triage_kind kind, enum triage_severity sev,
			      const struct triage_proc *tp);
/* Set the summary (one line). */
void tr_summary(struct triage_run *r, struct triage_finding *f, const char *fmt, ...) _printf_(3, 4);
void tr_path(struct triage_run *r, struct triage_finding *f, const char *path);
/* Kind-specific values; @f may be NULL (then nothing happens). */
void tr_str(struct triage_run *r, struct triage_finding *f, const char *key, const char *fmt, ...) _printf_(4, 5);
void tr_strn(struct triage_run *r, struct triage_finding *f, const char *key, const char *s, size_t len);
void tr_int(struct triage_run *r, struct triage_finding *f, const char *key, int64_t v);
void tr_hex(struct triage_run *r, struct triage_finding *f, const char *key, uint64_t v);
void tr_bool(struct triage_run *r, struct triage_finding *f, const char *key, bool v);
void tr_ints(struct triage_run *r, struct triage_finding *f, const char *key, const int64_t *v, size_t n);
void tr_strs(struct triage_run *r, struct triage_finding *f, const char *key, const char *const *v, size_t n);
/* Append @v to the array value @key (created empty by the first call). */
void tr_hexes_add(struct triage_run *r, struct triage_finding *f, const char *key, uint64_t v);
/* The VMA @v of @tp: its maps line, and its range unless one is set. */
void tr_vma(struct triage_proc *tp, struct triage_finding *f, const struct img_vma *v);
/* Keep @len bytes at @addr as the excerpt. */
void tr_excerpt(struct triage_run *r, struct triage_finding *f, uint64_t addr, const uint8_t *p, size_t len);
/* A check that could not be made: for process @tp (or the checkpoint when
 * NULL), @check ("memory", "maps", ...), and why. */
void tr_incomplete(struct triage_run *r, const struct triage_proc *tp, const char *check, const char *fmt, ...)
	_printf_(4, 5);

/* The VMA of @p holding @addr, or NULL. */
const struct img_vma *tr_vma_at(const struct ckpt_proc *p, uint64_t addr);
/* Whether @v is anonymous memory: private or shared anonymous, the heap,
 * the stack; not a file, memfd, SysV segment or the kernel's pages. */
bool tr_vma_anon(const struct img_vma *v);
/* The path a file mapping @v shows in maps, malloc'ed; NULL for others. */
char *tr_vma_path(const struct triage_proc *tp, const struct img_vma *v);
/* The last component of @path (after the last '/'). */
const char *tr_basename(const char *path);
/* Whether @path lies under a world-writable temporary directory
 * (/tmp, /var/tmp, /dev/shm). */
bool tr_tmp_path(const char *path);

/* ---- the families of checks ---- */

/* triage-maps.c: rwx-memory, anon-exec, jit-code; sets tp->jit first. */
void tr_jit_find(struct triage_proc *tp);
void tr_maps_check(struct triage_proc *tp);

/* triage-scan.c: the one pass over @tp's dumped memory: secrets, ELF
 * headers, and the watches, each of which gets the dumped bytes of
 * [start, end) in address order as they are read (@len of them at @addr;
 * @avail bytes from @p are readable: @len and a look-ahead). Returns 0 or
 * -ENOMEM; unreadable memory is counted in tp->bad_*. */
struct tr_watch {
	uint64_t start, end;
	void (*bytes)(void *ctx, uint64_t addr, const uint8_t *p, size_t len, size_t avail);
	void *ctx;
};
void tr_watch_add(struct triage_proc *tp, uint64_t start, uint64_t end,
		  void (*bytes)(void *ctx, uint64_t addr, const uint8_t *p, size_t len, size_t avail), void *ctx);
int tr_scan(struct triage_proc *tp);

/* triage-code.c: modified-code. Before the pass: watch the dumped pages of
 * executable file mappings (state in *@ret); after it: the findings. */
struct tr_code;
int tr_code_watch(struct triage_proc *tp, struct tr_code **ret);
void tr_code_report(struct triage_proc *tp, struct tr_code *c);
void tr_code_free(struct tr_code *c);

/* triage-secret.c: a secret at @p (the pass found one of its prefixes):
 * records it and returns its length, or 0 when it is none. */
size_t tr_secret_mem(struct triage_proc *tp, uint64_t addr, const uint8_t *p, size_t avail);
/* A secret named by environment variable @name of @tp. */
void tr_secret_env(struct triage_proc *tp, const char *name, size_t nlen, const char *value, size_t vlen,
		   uint64_t addr);
void tr_secrets_done(struct triage_proc *tp);

/* triage-elf.c: an ELF header at @p (@avail bytes): elf-in-anon when it is
 * one and @v is anonymous memory. Returns the bytes it took (0: none). */
size_t tr_elf_mem(struct triage_proc *tp, const struct img_vma *v, uint64_t addr, const uint8_t *p, size_t avail);
/* A file to read an original from. */
struct tr_file {
	ssize_t (*read)(const void *ctx, void *buf, size_t len, uint64_t off);
	const void *ctx;
};
/* The dynamic symbol of ELF file @f nearest below file offset @off (within
 * the executable segment that maps it): its name and the offset from it.
 * Returns 0, -ENOENT (none), -EBADMSG (not ELF), -EIO. */
int tr_elf_symbol(const struct tr_file *f, uint64_t off, char *name, size_t size, uint64_t *ret_delta);

/* triage-proc.c: the process's own checks (exe, environment, descriptors),
 * and the checkpoint's sockets. */
void tr_proc_check(struct triage_proc *tp);
void tr_connections(struct triage_run *r);

/* triage-history.c: bash-history of a bash process; the lines a dash
 * process read last from its standard input. */
void tr_history(struct triage_proc *tp);
void tr_dash_input(struct triage_proc *tp);

/* triage-rootfs.c: the rootfs diff and deleted.files. Also: whether @path
 * (absolute) is in the rootfs diff as a regular file. */
void tr_rootfs_check(struct triage_run *r);
const struct arc_entry *tr_rootfs_find(const struct triage_run *r, const char *path);
/* Open @path (absolute) for reading under --rootfs DIR, symlinks resolved
 * inside DIR: the fd, or -errno (-ENOENT also without --rootfs). */
int tr_rootfs_open(const struct triage_run *r, const char *path);

#endif
