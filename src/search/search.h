/* SPDX-License-Identifier: Apache-2.0 */
/* Search the dumped memory of a process: fixed strings and regexes
 * (search-pat.c compiles them, search.c runs a scan, search-vs.c is its
 * Vectorscan pass, search-merge.c its PCRE2 side and the output in order),
 * YARA rules (search-yara.c), and where a hit lies (search-loc.c: the VMA as
 * maps prints it, the offset in /<pid>/pages).
 *
 * A space is scanned as segments: maximal stretches of contiguous dumped
 * memory, whatever runs, pages images or checkpoints (parents, shared
 * objects) the bytes come from. Each segment is streamed through bounded
 * buffers, so a match that spans two runs is found, and none spans a hole.
 * Nothing is copied but the buffers: reads are mem_read()s (preads on the
 * archive or its spill file). */
#ifndef CK_SEARCH_H
#define CK_SEARCH_H

#include "ckpt.h"

/* Bytes read from the archive per step, and the longest match: a regex
 * match longer than SEARCH_CARRY_MAX is reported cut. */
#define SEARCH_CHUNK (4u << 20)
#define SEARCH_CARRY_MAX (1u << 20)
/* Regular expressions (patterns with a metacharacter, without -F) compiled
 * together at most: Vectorscan's compile time and memory grow with them
 * (about 1 s and 20 MiB a thousand here); strings have no such limit. */
#define SEARCH_REGEX_MAX 10000

enum search_flags {
	SEARCH_FIXED = 1 << 0,		/* patterns are strings, not regexes */
	SEARCH_ICASE = 1 << 1,		/* ASCII case is ignored */
	SEARCH_PCRE2 = 1 << 2,		/* every pattern with PCRE2, none with Vectorscan (tests) */
};

/* The limits of one PCRE2 search (pcre2_set_*_limit()): one that reaches
 * one is reported (search_cb.limit), never taken for "no match". */
#define SEARCH_MATCH_LIMIT 10000000u		/* backtracking steps at one start position */
#define SEARCH_DEPTH_LIMIT 1000000u		/* nested backtracking points (interpreter) */
#define SEARCH_HEAP_LIMIT_KIB (64u << 10)	/* its heap (interpreter) */
#define SEARCH_JIT_STACK_MAX (8u << 20)		/* the JIT's stack */
#define SEARCH_TIME_LIMIT_MS 1000u		/* one pcre2_match() over at most 256 KiB of starts */
/* Limit hits of one pattern in one space before it is given up there. */
#define SEARCH_LIMIT_HITS_MAX 4

/* One match: [addr, addr + len) of the space; @pattern is the index of the
 * pattern that matched; @rule and @ident are set for YARA matches only. */
struct search_hit {
	uint64_t addr;
	uint64_t len;
	size_t pattern;
	const char *rule;		/* YARA rule name */
	const char *ns;			/* its namespace ("default") */
	const char *ident;		/* YARA string identifier ("$env") */
};

/* Called for each match, in address order (pattern order for matches at
 * one address). Return 0 to go on, anything else to stop scanning this
 * space. */
typedef int (*search_hit_fn)(void *ctx, const struct search_hit *hit);
/* Called when [addr, addr + len) could not be read (a damaged or truncated
 * pages image): it is skipped as a hole, the scan goes on. */
typedef void (*search_err_fn)(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err);

/* A PCRE2 limit reached while pattern @pattern was searched for from
 * @addr: matches of it starting in [addr, end) were not looked for.
 * @what names the limit ("match limit"); @gave_up when the pattern is not
 * searched for in the rest of the space (SEARCH_LIMIT_HITS_MAX hits). */
struct search_limit {
	size_t pattern;
	uint64_t addr, end;
	const char *what;
	bool gave_up;
};

/* What a scan reports to, and its context. */
struct search_cb {
	search_hit_fn hit;
	search_err_fn err;		/* may be NULL */
	void (*limit)(void *ctx, const struct search_limit *l);	/* may be NULL */
	void *ctx;
};

/* ---- fixed strings and regexes (search-pat.c, search.c) ---- */

struct search_pats;

/* Compile @n patterns into one matcher. Regexes use PCRE2 syntax. Every
 * pattern Vectorscan can compile is matched by one Vectorscan database in
 * one pass (fixed-length ones by it alone, the others with PCRE2 confirming
 * where it found a match); the others (back-references, lookaround, ...)
 * by PCRE2 alone. @where[i], when @where and it are not NULL, says where
 * pattern i comes from ("list.txt line 3") for messages. Refused: an empty
 * pattern, one that can match the empty string, a bad regex. On error
 * returns -EINVAL and a malloc'ed one-line reason in @ret_error
 * ("pattern 2 'a(' (list.txt line 2): missing closing parenthesis at
 * offset 2"). */
int search_pats_new(const char *const *pats, const char *const *where, size_t n, unsigned flags,
		    struct search_pats **ret, char **ret_error);
void search_pats_free(struct search_pats *p);
DEFINE_CLEANUP(search_pats_freep, struct search_pats, search_pats_free)

/* The patterns PCRE2 runs alone: their count, and for k < that count the
 * index of the k-th and why Vectorscan cannot run it (borrowed). */
size_t search_pats_pcre2_count(const struct search_pats *p);
size_t search_pats_pcre2_at(const struct search_pats *p, size_t k, const char **ret_why);

/* For tests: cut spaces into jobs of @job_bytes (0: the default) scanned by
 * @threads threads (0: one per CPU, at most SEARCH_THREADS_MAX). */
#define SEARCH_JOB_BYTES (32u << 20)
#define SEARCH_THREADS_MAX 8
void search_pats_tune(struct search_pats *p, uint64_t job_bytes, unsigned threads);

/* Scan every dumped byte of @m. Returns 0 when every segment was read and
 * searched, 1 when some were skipped (cb->err or cb->limit was called), 2
 * when cb->hit stopped the scan, or -ENOMEM. Not reentrant for one @p. */
int search_space(struct search_pats *p, const struct mem_space *m, const struct search_cb *cb);

/* ---- YARA (search-yara.c) ---- */

struct search_yara;

/* Compile the rules of file @path. On error returns -EINVAL (or -errno) and
 * a malloc'ed one-line reason naming the file and line ("rules.yar:3:
 * syntax error, unexpected ..."). */
int search_yara_new(const char *path, struct search_yara **ret, char **ret_error);
void search_yara_free(struct search_yara *y);
DEFINE_CLEANUP(search_yara_freep, struct search_yara, search_yara_free)

/* Match the rules against @m as YARA scans a live process: one memory block
 * per segment (cut into blocks of SEARCH_YARA_BLOCK bytes that overlap by
 * SEARCH_YARA_OVERLAP), based at its virtual address. @hit is called for
 * every string match of every matching rule (rules without strings: once,
 * with len 0 and no @ident). Same returns as search_space(); cb->limit is
 * not used. */
#define SEARCH_YARA_BLOCK (16u << 20)
#define SEARCH_YARA_OVERLAP (64u << 10)
int search_yara_space(struct search_yara *y, const struct mem_space *m, const struct search_cb *cb);

/* ---- where a hit lies (search-loc.c) ---- */

/* The end of the segment that holds @addr (the first hole after it), and
 * its start; both 0 when @addr is not dumped. */
void search_segment(const struct mem_space *m, uint64_t addr, uint64_t *ret_start, uint64_t *ret_end);

/* Where a byte of a process lies. */
struct search_loc {
	uint64_t addr;
	uint64_t pages_off;		/* offset in /<pid>/pages */
	const struct img_vma *vma;	/* the VMA holding it, or NULL */
	char *maps;			/* that VMA's maps line without the newline, malloc'ed; NULL without a VMA */
};

/* Fill @loc for virtual address @addr of @p (dumped: -ENOENT otherwise).
 * Returns 0, -ENOENT or -ENOMEM; a VMA whose name cannot be rendered gets
 * a line with "?" as name. */
int search_loc_addr(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t addr, struct search_loc *loc);
/* Fill @loc for byte @off of /<pid>/pages (-ENOENT past its end). */
int search_loc_pages(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t off, struct search_loc *loc);
void search_loc_done(struct search_loc *loc);

/* Append @len bytes as `strings`-minded people read them: printable ASCII as
 * is, backslash as "\\", \n \t \r as such, any other byte as "\xNN". */
void search_escape(struct ck_buf *out, const uint8_t *p, size_t len);


#endif
