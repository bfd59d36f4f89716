/* SPDX-License-Identifier: Apache-2.0 */
/* What --search, --yara (cli-search.c) and --where (cli-where.c) share:
 * their flags and the output of one location (cli-search-out.c). */
#ifndef CK_CLI_SEARCH_H
#define CK_CLI_SEARCH_H

#include "cli.h"
#include "search.h"
#include "util.h"

/* Bytes of a match printed by default (--max-match-bytes). */
#define SEARCH_MAX_MATCH_BYTES 256

/* The flags of the three modes. */
struct search_opts {
	const char *prog;
	const char *yara;		/* --yara FILE; NULL for --search and --where */
	char **pats;			/* -e, -f and the first operand */
	char **where;			/* per pattern: "FILE line N" for -f, else NULL */
	size_t n_pats;
	bool have_e;			/* -e or -f given: no PATTERN operand */
	unsigned flags;			/* SEARCH_FIXED, SEARCH_ICASE */
	char **pids;			/* --pid: "1", "ctr/1" */
	size_t n_pids;
	uint64_t context;
	uint64_t max_count;		/* --max-count N */
	bool has_max;
	uint64_t max_match_bytes;	/* --max-match-bytes N (0: all) */
	bool has_max_match;
	bool json;
};

/* One process being searched or located. */
struct search_run {
	const struct search_opts *o;
	const char *archive;
	bool several;			/* several inputs: text lines start with @archive */
	const struct ckpt *ck;
	const char *container;		/* NULL for a plain checkpoint */
	const struct ckpt_proc *p;	/* NULL for --where on a mounted tree */
	uint32_t pid;
	const char *pid_arg;		/* --where on a mounted tree: PID as given */
	char comm[64];
	uint64_t count;			/* matches of this process */
	uint64_t total;
	bool error;			/* something could not be read */
	struct ck_buf line;
};

/* Print one line (or JSON object) for a location @loc (NULL: a YARA rule
 * without strings) and hit @h (NULL for --where); @bytes holds
 * [addr - before, addr + len + after) when not NULL. */
void search_emit(struct search_run *s, const struct search_loc *loc, const struct search_hit *h,
		 const uint8_t *bytes, size_t before, size_t len, size_t after);
/* The callbacks of search_space() and search_yara_space() for @ctx, a
 * struct search_run. */
int search_on_hit(void *ctx, const struct search_hit *h);
void search_on_err(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err);
void search_on_limit(void *ctx, const struct search_limit *l);

/* Flags shared by the three modes, and their handler. */
enum {
	SEARCH_KEY_PID = 256, SEARCH_KEY_JSON, SEARCH_KEY_MODE_YARA, SEARCH_KEY_MAX_MATCH,
};
int search_common_flag(struct search_opts *o, struct cli_common *c, int key, const char *arg);
void search_opts_done(void *st);

#endif
