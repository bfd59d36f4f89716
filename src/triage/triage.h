/* SPDX-License-Identifier: Apache-2.0 */
/* Triage: what in a checkpoint points at a compromise, with the evidence
 * (--triage). triage_checkpoint() runs every check on one checkpoint model
 * and returns the findings; the front end sorts and prints them. Each family
 * of checks has a file of its own: memory maps (triage-maps.c), the one
 * pass over the dumped memory (triage-scan.c), processes, descriptors and
 * sockets (triage-proc.c), the rootfs diff (triage-rootfs.c), bash history
 * (triage-history.c), secrets (triage-secret.c), ELF headers and symbols
 * (triage-elf.c). The vocabulary of kinds is fixed and documented in
 * man/ckptfs.1 (TRIAGE). */
#ifndef CK_TRIAGE_H
#define CK_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "arc.h"
#include "ckpt.h"
#include "util.h"

/* Whether the environment variable name @name (@len bytes) names a secret:
 * it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, API_KEY, APIKEY,
 * PRIVATE_KEY, CREDENTIAL or ACCESS_KEY, or ends in _KEY (any case). The
 * one rule for every report that masks values (triage, diff). */
bool triage_secret_name(const char *name, size_t len);

/* Append @value (@len bytes) as a report shows a secret: whole with @show,
 * else its first 4 characters, "...", and how long it is
 * ("AKIA... (20 bytes)"; values of 4 bytes or less show nothing). */
void triage_mask(struct ck_buf *b, const char *value, size_t len, bool show);

enum triage_severity {
	TRIAGE_INFO,
	TRIAGE_LOW,
	TRIAGE_MEDIUM,
	TRIAGE_HIGH,
};

/* The kinds, in the man page's order. */
enum triage_kind {
	TRIAGE_RWX_MEMORY,
	TRIAGE_ANON_EXEC,
	TRIAGE_ELF_IN_ANON,
	TRIAGE_MODIFIED_CODE,
	TRIAGE_DELETED_EXE,
	TRIAGE_MEMFD_EXE,
	TRIAGE_EXE_IN_TMP,
	TRIAGE_SHELL_ON_SOCKET,
	TRIAGE_BASH_HISTORY,
	TRIAGE_LD_PRELOAD,
	TRIAGE_ROOTFS_ADDED_EXEC,
	TRIAGE_ROOTFS_PERSISTENCE,
	TRIAGE_LOG_DELETED,
	TRIAGE_CONNECTION,
	TRIAGE_SECRET,
	TRIAGE_JIT_CODE,
	/* a check that could not be made (a damaged image, unreadable pages):
	 * not a finding about the checkpoint, always reported */
	TRIAGE_INCOMPLETE,
	TRIAGE_KIND_COUNT,
};

/* "rwx-memory", ...; "high", ... */
const char *triage_kind_name(enum triage_kind k);
const char *triage_severity_name(enum triage_severity s);
/* Parse a severity name; 0 or -EINVAL. */
int triage_severity_parse(const char *s, enum triage_severity *ret);

/* A kind-specific field of a finding. */
enum triage_value_type {
	TRIAGE_V_STR,		/* @s */
	TRIAGE_V_INT,		/* @i */
	TRIAGE_V_HEX,		/* @u, shown as "0x..." */
	TRIAGE_V_BOOL,		/* @i */
	TRIAGE_V_INTS,		/* @ints[@n] */
	TRIAGE_V_STRS,		/* @strs[@n] */
	TRIAGE_V_HEXES,		/* @us[@n], each shown as "0x..." */
};

struct triage_value {
	const char *key;	/* static */
	enum triage_value_type type;
	char *s;
	int64_t i;
	uint64_t u;
	int64_t *ints;
	uint64_t *us;
	char **strs;
	size_t n;
};

/* One command of a shell history; @time 0 when unknown. */
struct triage_cmd {
	char *command;
	int64_t time;
};

struct triage_finding {
	enum triage_kind kind;
	enum triage_severity severity;
	bool has_pid;
	uint32_t pid;
	char comm[64];
	bool has_address;
	uint64_t address;
	bool has_range;
	uint64_t start, end;
	char *path;		/* NULL when none */
	char *summary;		/* one line */
	char *maps;		/* the VMA's maps line, no newline; NULL when none */
	uint8_t *excerpt;	/* bytes of memory or of a file at @excerpt_addr */
	size_t excerpt_len;
	uint64_t excerpt_addr;
	struct triage_value *values;
	size_t n_values;
	struct triage_cmd *commands;	/* bash-history */
	size_t n_commands;
};

struct triage_report {
	struct triage_finding **v;
	size_t n;
};

void triage_report_done(struct triage_report *r);

struct triage_opts {
	bool show_secrets;		/* --show-secrets: secret values whole */
	int rootfs_fd;			/* --rootfs DIR as an O_PATH directory fd, or -1 */
	const char *rootfs_dir;		/* ... its name, for messages */
	/* rootfs-diff.tar of the container as an archive, or NULL (none);
	 * @rootfs_diff_err < 0 when it exists but cannot be read */
	const struct arc *rootfs_diff;
	int rootfs_diff_err;
	/* deleted.files, one path a line (spec_render_deleted()), or NULL */
	const char *deleted;
	int deleted_err;		/* < 0: it exists but cannot be read */
};

/* Run every check on @ck and append the findings (incomplete checks
 * included) to @out. Returns 0, or -ENOMEM (what was found stays in @out). */
int triage_checkpoint(const struct ckpt *ck, const struct triage_opts *o, struct triage_report *out);

#endif
