/* SPDX-License-Identifier: Apache-2.0 */
/* What the parts of the pattern engine share (src/search/search*.c only).
 *
 * A space is cut into jobs of about SEARCH_JOB_BYTES dumped bytes. Worker
 * threads run the Vectorscan database over the jobs, each its own streams
 * (search-vs.c): a job owns the matches that END in it, and starts its
 * streams p->overlap bytes early, so that a match that began in the job
 * before is still seen whole. What a job yields is candidates: for a
 * pattern whose matches all have one length, the exact start of each match;
 * for the others, a range of addresses where a match may start. The
 * calling thread takes the jobs' results in address order (search-merge.c)
 * and turns candidates into matches as one left-to-right search per
 * pattern would: non-overlapping, leftmost first, PCRE2 deciding the
 * extent of a match where lengths vary, and searching the ranges of the
 * patterns Vectorscan cannot run (the whole job) on its own. Matches leave
 * in address order. */
#ifndef CK_SEARCH_INT_H
#define CK_SEARCH_INT_H

#include <stdatomic.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include "search.h"

enum search_pat_kind {
	PAT_EXACT,	/* Vectorscan alone: every match has the same length */
	PAT_RANGE,	/* Vectorscan says where, PCRE2 says what */
	PAT_PCRE2,	/* PCRE2 alone */
};

struct search_pat {
	char *text;
	size_t len;
	char *where;			/* "list.txt line 3", or NULL */
	enum search_pat_kind kind;
	uint32_t minw, maxw;		/* match lengths; maxw at most SEARCH_CARRY_MAX */
	uint32_t lookbehind;		/* bytes a PCRE2 match may look at before its start */
	pcre2_code *re;			/* PAT_RANGE, PAT_PCRE2 */
	bool jit_done;			/* JIT compiled (or tried) */
	char *why;			/* PAT_PCRE2: why not Vectorscan */
};

struct search_pats {
	struct search_pat *v;
	size_t n;
	unsigned flags;
	hs_database_t *db;		/* NULL when no pattern is for Vectorscan */
	hs_scratch_t *scratch;		/* cloned for each thread */
	size_t *pcre2;			/* the PAT_PCRE2 patterns */
	size_t n_pcre2;
	uint64_t overlap;		/* the longest match Vectorscan reports, >= 1 */
	uint64_t job_bytes;
	unsigned threads;
};

/* The one-line name of pattern @i for messages: "pattern 3 'a(' (f line 3)". */
char *search_pat_name(const struct search_pats *p, size_t i);
/* The PCRE2 code of pattern @i, JIT compiled on first use. */
const pcre2_code *search_pat_code(struct search_pats *p, size_t i);

/* Bytes a job's streams go on past its end, so that a match that ends in
 * the job and needs to see what follows (\b, $) is reported by it. */
#define SEARCH_LOOKAHEAD 4096u

/* A candidate: pattern @pat matches at @lo (PAT_EXACT, lo == hi), or may
 * start anywhere in [lo, hi]. */
struct search_cand {
	uint64_t lo, hi;
	size_t pat;
};

/* A stretch of memory that could not be read. */
struct search_hole {
	uint64_t addr, len;
	const struct mem_run *run;
	int err;
};

/* What the scan of one job yields. */
struct search_job {
	uint64_t a, b;			/* [a, b) of the space */
	uint64_t done;			/* b, or where the scan stopped: it owns what ends in (a, done] */
	struct search_cand *c;
	size_t n, cap;
	struct search_hole *h;
	size_t nh, caph;
	int err;			/* -ENOMEM */
};
void search_job_done(struct search_job *j);

/* One thread's Vectorscan state. */
struct search_vs {
	struct search_pats *p;
	const struct mem_space *m;
	atomic_bool *cancel;
	hs_scratch_t *scratch;
	hs_stream_t *stream;
	uint8_t *buf;
	struct search_cand *open;	/* per pattern: the range being grown (none: hi < lo) */
	size_t *dirty;			/* the patterns with one */
	size_t n_dirty;
	/* the stream being scanned */
	struct search_job *job;
	uint64_t base;			/* address of its first byte */
	uint64_t seg_start;		/* where its segment starts */
	uint64_t own_lo, own_hi;	/* it reports ends in (own_lo, own_hi] */
};

int search_vs_init(struct search_vs *s, struct search_pats *p, const struct mem_space *m, atomic_bool *cancel);
void search_vs_done(struct search_vs *s);
/* Scan [a, b) into @j. A job that yields too many candidates stops early:
 * j->done < b, and the rest is another job. */
void search_vs_job(struct search_vs *s, uint64_t a, uint64_t b, struct search_job *j);

/* Read [at, at + n) of @m into @buf. On a failed read, the pages before the
 * first unreadable one are still read: returns the bytes read (n when all
 * were), and for a shorter count the end of the unreadable stretch that
 * follows in @ret_bad_end and the error in @ret_err. */
size_t search_read_part(const struct mem_space *m, uint64_t at, uint8_t *buf, size_t n, uint64_t *ret_bad_end,
			int *ret_err);

/* The ordered side (search-merge.c). */
struct search_merge;
int search_merge_new(struct search_pats *p, const struct mem_space *m, const struct search_cb *cb,
		     struct search_merge **ret);
void search_merge_free(struct search_merge *g);
/* Take the next job in address order (@last: nothing follows it). Returns
 * 0, 2 when cb->hit said stop, or -ENOMEM. */
int search_merge_add(struct search_merge *g, struct search_job *j, bool last);
/* 1 when something was reported to cb->err or cb->limit, else 0. */
int search_merge_status(const struct search_merge *g);

#endif
