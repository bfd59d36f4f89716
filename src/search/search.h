/* SPDX-License-Identifier: Apache-2.0 */
/* Search the dumped memory of a process: fixed strings and PCRE2 regexes
 * (search.c), YARA rules (search-yara.c), and where a hit lies (search-loc.c:
 * the VMA as maps prints it, the offset in /<pid>/pages).
 *
 * A space is scanned as segments: maximal stretches of contiguous dumped
 * memory, whatever runs, pages images or checkpoints (parents, shared
 * objects) the bytes come from. Each segment is streamed through a bounded
 * buffer, with the tail a match may still need carried over from one read to
 * the next, so a match that spans two runs is found, and none spans a hole.
 * Nothing is copied but the buffer: reads are mem_read()s (preads on the
 * archive or its spill file). */
#ifndef CK_SEARCH_H
#define CK_SEARCH_H

#include "ckpt.h"

/* Bytes read from the archive per step, and the most carried over. A match
 * longer than SEARCH_CARRY_MAX is reported cut at the end of a step. */
#define SEARCH_CHUNK (4u << 20)
#define SEARCH_CARRY_MAX (1u << 20)

enum search_flags {
	SEARCH_FIXED = 1 << 0,		/* patterns are strings, not regexes */
	SEARCH_ICASE = 1 << 1,		/* ASCII case is ignored */
};

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

/* Called for each match, in address order for a given pattern (and for the
 * regex engine, in address order over all patterns). Return 0 to go on,
 * anything else to stop scanning this space. */
typedef int (*search_hit_fn)(void *ctx, const struct search_hit *hit);
/* Called when [addr, addr + len) could not be read (a damaged or truncated
 * pages image): the rest of that segment is skipped, the scan goes on. */
typedef void (*search_err_fn)(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err);

/* ---- fixed strings and regexes (search.c) ---- */

struct search_pats;

/* Compile @n patterns. Regexes use PCRE2 syntax (JIT when available); a
 * fixed string is matched byte for byte. Empty patterns are refused. On
 * error returns -EINVAL and a malloc'ed one-line reason in @ret_error
 * ("pattern 2 'a(': missing closing parenthesis at offset 2"). */
int search_pats_new(const char *const *pats, size_t n, unsigned flags, struct search_pats **ret,
		    char **ret_error);
void search_pats_free(struct search_pats *p);
DEFINE_CLEANUP(search_pats_freep, struct search_pats, search_pats_free)

/* Scan every dumped byte of @m. Returns 0 when every segment was read, 1 when
 * some were skipped (@err was called), 2 when @hit stopped the scan, or
 * -ENOMEM. */
int search_space(const struct search_pats *p, const struct mem_space *m, search_hit_fn hit, search_err_fn err,
		 void *ctx);

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
 * with len 0 and no @ident). Same returns as search_space(). */
#define SEARCH_YARA_BLOCK (16u << 20)
#define SEARCH_YARA_OVERLAP (64u << 10)
int search_yara_space(struct search_yara *y, const struct mem_space *m, search_hit_fn hit, search_err_fn err,
		      void *ctx);

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
