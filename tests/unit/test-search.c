/* SPDX-License-Identifier: Apache-2.0 */
/* The search engine (src/search/) on a synthetic space whose segments are
 * longer than one read (SEARCH_CHUNK) and than one YARA block: markers
 * planted across read boundaries, across job boundaries, across the YARA
 * block overlap, across a hole, a regex match that spans a read boundary, a
 * lookbehind that starts in one read and ends in the next, dense matches.
 * Every result is compared with a plain search of each whole segment read
 * in one piece (memmem for strings, PCRE2 on the whole segment for
 * regexes), for each engine (Vectorscan with PCRE2, PCRE2 alone), with one
 * job and with many on two threads; several patterns at once give what each
 * gives alone. TAP output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "search.h"
#include "tap.h"

#define PAGE 4096u
#define A_PAGES 4500u		/* 17.6 MiB: more than 4 reads and one YARA block */
#define B_PAGES 500u
#define A_START 0x10000000ull
#define B_START (A_START + (A_PAGES + 1) * (uint64_t) PAGE)	/* one page of hole */
#define JOB (1u << 20)		/* the small jobs: 18 of them */
#define RUN_A (B_START + 100000)	/* 300 KB of 'a' in B */
#define RUN_A_LEN 300000u

static uint8_t *image;		/* the pages file: A then B */
static char dir[64];

/* Plant @s at address @addr (in A or B). */
static void plant(uint64_t addr, const char *s)
{
	uint64_t off = addr < B_START ? addr - A_START : A_PAGES * (uint64_t) PAGE + (addr - B_START);

	memcpy(image + off, s, strlen(s));
}

struct hit {
	uint64_t addr, len;
	size_t pat;
};

struct hits {
	struct hit *v;
	size_t n, cap;
	size_t stop_after;	/* 0: never */
	int limits;		/* limit reports */
	struct search_limit first_limit;
};

static int collect(void *ctx, const struct search_hit *h)
{
	struct hits *x = ctx;

	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 4096;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		if (!x->v)
			abort();
	}
	x->v[x->n++] = (struct hit) { .addr = h->addr, .len = h->len, .pat = h->pattern };
	return x->stop_after && x->n >= x->stop_after;
}

static int errors;
static void count_err(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err)
{
	errors++;
}

static void on_limit(void *ctx, const struct search_limit *l)
{
	struct hits *x = ctx;

	if (!x->limits++)
		x->first_limit = *l;
}

/* Scan @m with @p into @out (emptied first). */
static int scan(struct search_pats *p, const struct mem_space *m, struct hits *out, search_err_fn err)
{
	const struct search_cb cb = { .hit = collect, .err = err, .limit = on_limit, .ctx = out };

	out->n = 0;
	out->limits = 0;
	return search_space(p, m, &cb);
}

/* The oracle: every match of @pat in each whole segment, in address order,
 * appended to @out as pattern @pat_index. */
static void oracle(const struct mem_space *m, const char *pat, bool fixed, size_t pat_index, struct hits *out)
{
	const uint64_t seg[2][2] = { { A_START, A_PAGES * (uint64_t) PAGE }, { B_START, B_PAGES * (uint64_t) PAGE } };
	struct search_hit h = { .pattern = pat_index };

	for (int s = 0; s < 2; s++) {
		uint8_t *buf = malloc(seg[s][1]);
		size_t len = seg[s][1], at = 0;

		if (!buf || mem_read(m, seg[s][0], buf, len) != (ssize_t) len)
			abort();
		if (fixed) {
			const uint8_t *p;

			while ((p = memmem(buf + at, len - at, pat, strlen(pat)))) {
				h.addr = seg[s][0] + (uint64_t) (p - buf);
				h.len = strlen(pat);
				collect(out, &h);
				at = (size_t) (p - buf) + strlen(pat);
			}
		} else {
			int code;
			PCRE2_SIZE eo;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR) pat, PCRE2_ZERO_TERMINATED, 0, &code, &eo, NULL);
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);

			pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
			while (pcre2_match(re, buf, len, at, PCRE2_NOTEMPTY, md, NULL) >= 0) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

				h.addr = seg[s][0] + ov[0];
				h.len = ov[1] - ov[0];
				collect(out, &h);
				at = ov[1];
			}
			pcre2_match_data_free(md);
			pcre2_code_free(re);
		}
		free(buf);
	}
}

static int hit_cmp(const void *x, const void *y)
{
	const struct hit *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->pat < b->pat ? -1 : a->pat > b->pat;
}

static bool same(const struct hits *a, const struct hits *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].addr != b->v[i].addr || a->v[i].len != b->v[i].len || a->v[i].pat != b->v[i].pat) {
			printf("# first difference at %zu: 0x%llx+%llu #%zu vs 0x%llx+%llu #%zu\n", i,
			       (unsigned long long) a->v[i].addr, (unsigned long long) a->v[i].len, a->v[i].pat,
			       (unsigned long long) b->v[i].addr, (unsigned long long) b->v[i].len, b->v[i].pat);
			return false;
		}
	return true;
}

static bool has(const struct hits *h, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].addr == addr && (!len || h->v[i].len == len))
			return true;
	return false;
}

/* The engines a result must not depend on. */
static const struct engine {
	const char *name;
	unsigned flags;
	uint64_t job;
	unsigned threads;
} engines[] = {
	{ "Vectorscan", 0, 0, 1 },
	{ "Vectorscan, 1 MiB jobs on 2 threads", 0, JOB, 2 },
	{ "PCRE2 alone", SEARCH_PCRE2, 0, 1 },
	{ "PCRE2 alone, 1 MiB jobs", SEARCH_PCRE2, JOB, 2 },
};

static struct search_pats *compile(const char *const *pats, size_t n, unsigned flags, const struct engine *e)
{
	struct search_pats *p = NULL;
	char *err = NULL;

	if (search_pats_new(pats, NULL, n, flags | e->flags, &p, &err) < 0) {
		printf("# %s: %s\n", pats[0], err ? err : "?");
		free(err);
		return NULL;
	}
	search_pats_tune(p, e->job, e->threads);
	return p;
}

/* @n patterns at once, by every engine, give what each gives alone in the
 * oracle (sorted by address, then pattern). */
static void set(const struct mem_space *m, const char *const *pats, size_t n, bool fixed, const char *what)
{
	static struct hits got, want;

	want.n = 0;
	for (size_t i = 0; i < n; i++)
		oracle(m, pats[i], fixed, i, &want);
	qsort(want.v, want.n, sizeof(*want.v), hit_cmp);
	for (size_t k = 0; k < sizeof(engines) / sizeof(engines[0]); k++) {
		struct search_pats *p = compile(pats, n, fixed ? SEARCH_FIXED : 0, &engines[k]);
		int rc;

		errors = 0;
		rc = p ? scan(p, m, &got, count_err) : -1;
		CHECK(rc == 0 && errors == 0 && same(&got, &want) && want.n > 0,
		      "%s (%s): %zu matches, the same as a search of each whole segment (%zu)", what,
		      engines[k].name, got.n, want.n);
		search_pats_free(p);
	}
}

static void one(const struct mem_space *m, const char *pat, bool fixed, const char *what)
{
	set(m, &pat, 1, fixed, what);
}

int main(void)
{
	const size_t size = (A_PAGES + B_PAGES) * (size_t) PAGE;
	struct img_pagemap_entry e[2] = {
		{ .vaddr = A_START, .nr_pages = A_PAGES, .flags = 4 },
		{ .vaddr = B_START, .nr_pages = B_PAGES, .flags = 4 },
	};
	struct img_pagemap pm = { .pages_id = 1, .entries = e, .n_entries = 2 };
	struct arc *a = NULL;
	struct mem_space *m = NULL;
	char path[128];
	uint64_t s;
	int fd;

	/* lowercase filler, so that uppercase markers occur only where planted */
	image = malloc(size);
	srand(7);
	for (size_t i = 0; i < size; i++)
		image[i] = (uint8_t) ('a' + rand() % 26);
	/* across the first read boundary of A (the second holds a long regex
	 * match, the third a lookbehind, the fourth is the YARA block cut) */
	plant(A_START + SEARCH_CHUNK - 5, "MARKER-XYZ");
	plant(A_START + 100, "MARKER-XYZ");
	/* across the YARA block cut (and a read boundary), and wholly inside the overlap */
	plant(A_START + SEARCH_YARA_BLOCK - 6, "MARKER-XYZ");
	plant(A_START + SEARCH_YARA_BLOCK - 4000, "MARKER-XYZ");
	/* across the hole between A and B: not a match */
	plant(B_START - PAGE - 4, "HOLE");
	plant(B_START, "MARK");
	plant(B_START + 10, "MARKER-XYZ");
	/* a regex match of 20000 bytes over the second read boundary */
	plant(A_START + 2 * (uint64_t) SEARCH_CHUNK - 10000, "LONG-");
	plant(A_START + 2 * (uint64_t) SEARCH_CHUNK + 10000, "-END");
	/* a lookbehind that starts before the third boundary */
	plant(A_START + 3 * (uint64_t) SEARCH_CHUNK - 2, "QQZZZ");
	plant(A_START + 50000, "QQZZZ");
	/* across the boundaries of small jobs (JOB), one of them with a match
	 * that began a job earlier */
	plant(A_START + 5 * (uint64_t) JOB - 3, "MARKER-XYZ");
	plant(A_START + 6 * (uint64_t) JOB - 8, "AB1234-cdef");
	plant(A_START + 7 * (uint64_t) JOB - 300000, "LONG-");
	plant(A_START + 7 * (uint64_t) JOB + 5, "-END");
	plant(A_START + 9 * (uint64_t) JOB - 1, "QQZZZ");
	/* something to backtrack on for ever: 300 KB of 'a' */
	memset(image + A_PAGES * (size_t) PAGE + (RUN_A - B_START), 'a', RUN_A_LEN);

	snprintf(dir, sizeof(dir), "/tmp/ckptfs-test-search.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/pages-1.img", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, image, size) != (ssize_t) size)
		return 1;
	close(fd);
	if (arc_open(dir, NULL, &a, NULL) < 0 || mem_space_new(a, arc_find(a, "pages-1.img"), &pm, NULL, PAGE, &m) < 0)
		return 1;

	one(m, "MARKER-XYZ", true, "-F over read and job boundaries");
	one(m, "MARKER-[XYZ]+", false, "regex over read and job boundaries");
	one(m, "LONG-[a-z]+-END", false, "regex matches of 20000 and 300000 bytes across a read or job boundary");
	one(m, "(?<=QQ)ZZZ", false, "lookbehind across a read boundary");
	one(m, "MARKER-XYZ|LONG", false, "alternation");
	one(m, "[A-Z]{2}[0-9]{4}-[a-f]{4}", false, "fixed-length regex across a job boundary");
	{
		/* many patterns at once: fixed-length, variable, PCRE2 alone,
		 * overlapping each other, and dense ones */
		static const char *const pats[] = {
			"MARKER-XYZ", "MARKER-[XYZ]+", "LONG-[a-z]+-END", "(?<=QQ)ZZZ", "ZZZ", "[A-Z]{6}-[XYZ]{3}",
			"Q+Z", "\\bMARK", "(X|Y)\\1", "qz[a-z]", "[aeiou]{3,5}x", "-END$", "^[a-z]{3}",
		};
		static const char *const fixed[] = { "MARKER", "ZZZ", "ER-X", "HOLE", "qqq", "abc" };
		struct search_pats *p = NULL;

		set(m, pats, sizeof(pats) / sizeof(pats[0]), false, "13 regexes at once");
		set(m, fixed, sizeof(fixed) / sizeof(fixed[0]), true, "6 strings at once");
		search_pats_new(pats, NULL, sizeof(pats) / sizeof(pats[0]), 0, &p, NULL);
		CHECK(p && search_pats_pcre2_count(p) == 2 && search_pats_pcre2_at(p, 0, NULL) == 3 &&
		      search_pats_pcre2_at(p, 1, NULL) == 8, "the lookbehind and the back-reference run with PCRE2 alone");
		search_pats_free(p);
	}
	/* dense matches: more candidates than a job holds */
	one(m, "e", true, "a dense string");
	one(m, "[aeiou]{2}", false, "a dense fixed-length regex");
	one(m, "[aeiou]+", false, "a dense regex of varying length");
	{
		static struct hits got;
		struct search_pats *p = NULL;
		const char *pats[] = { "HOLEMARK" };

		search_pats_new(pats, NULL, 1, SEARCH_FIXED, &p, NULL);
		CHECK(scan(p, m, &got, NULL) == 0 && got.n == 0, "nothing matches across a hole");
		search_pats_free(p);
	}
	{
		static struct hits got;
		struct search_pats *p = NULL;
		const char *pats[] = { "." };

		search_pats_new(pats, NULL, 1, 0, &p, NULL);
		search_pats_tune(p, JOB, 2);
		got.stop_after = 1000;
		CHECK(scan(p, m, &got, NULL) == 2 && got.n == 1000, "'.' stops when the callback says so");
		got.stop_after = 0;
		search_pats_free(p);
	}
	{
		struct search_pats *p = NULL;
		const char *bad[] = { "a(" }, *empty[] = { "" }, *where[] = { "list.txt line 7" };
		/* (PCRE2's own lookaround is searched without empty matches) */
		const char *matches_empty[] = { "a*", "\\b", "x|", "(a)?\\1" };
		char *err = NULL;

		CHECK(search_pats_new(bad, where, 1, 0, &p, &err) == -EINVAL && err &&
		      strstr(err, "pattern 1 'a(' (list.txt line 7): missing closing parenthesis"),
		      "a bad regex is refused with its reason and line: %s", err ? err : "(none)");
		free(err);
		err = NULL;
		CHECK(search_pats_new(empty, NULL, 1, SEARCH_FIXED, &p, &err) == -EINVAL && err,
		      "an empty pattern is refused: %s", err ? err : "(none)");
		free(err);
		for (size_t i = 0; i < sizeof(matches_empty) / sizeof(matches_empty[0]); i++) {
			err = NULL;
			CHECK(search_pats_new(&matches_empty[i], NULL, 1, 0, &p, &err) == -EINVAL && err &&
			      strstr(err, "empty string"), "a regex that can match the empty string is refused: %s",
			      err ? err : "(none)");
			free(err);
		}
	}
	/* A regex that backtracks for ever: the PCRE2 limit is reported with
	 * the pattern and where; the other patterns are still searched. */
	{
		static struct hits got, want;
		struct search_pats *p = NULL;
		const char *pats[] = { "MARKER-XYZ", "(a+)\\1+c" };

		size_t n0 = 0;
		int rc;

		search_pats_new(pats, NULL, 2, 0, &p, NULL);
		oracle(m, "MARKER-XYZ", true, 0, &want);
		rc = scan(p, m, &got, NULL);
		/* "aac" in the filler matches the second pattern: keep the first's */
		for (size_t i = 0; i < got.n; i++)
			if (got.v[i].pat == 0)
				got.v[n0++] = got.v[i];
		got.n = n0;
		CHECK(rc == 1 && got.limits >= 1 && got.first_limit.pattern == 1 &&
		      got.first_limit.addr <= RUN_A + RUN_A_LEN && got.first_limit.end > RUN_A &&
		      strstr(got.first_limit.what, "limit") && same(&got, &want),
		      "catastrophic backtracking: %d limit reports (%s at 0x%llx-0x%llx, pattern %zu), the rest found",
		      got.limits, got.limits ? got.first_limit.what : "-", (unsigned long long) got.first_limit.addr,
		      (unsigned long long) got.first_limit.end, got.first_limit.pattern + 1);
		search_pats_free(p);
	}
	/* YARA: every planted marker once, at its address */
	{
		static struct hits got, want;
		const struct search_cb cb = { .hit = collect, .ctx = &got };
		struct search_yara *y = NULL;
		char *err = NULL;
		FILE *f;

		snprintf(path, sizeof(path), "%s/t.yar", dir);
		f = fopen(path, "w");
		fputs("rule t { strings: $m = \"MARKER-XYZ\" $l = /LONG-[a-z]{1,100}/ condition: any of them }\n", f);
		fclose(f);
		CHECK(search_yara_new(path, &y, &err) == 0, "YARA rules compile (%s)", err ? err : "ok");
		got.n = 0;
		CHECK(y && search_yara_space(y, m, &cb) == 0, "YARA scan");
		s = A_START + SEARCH_YARA_BLOCK;
		CHECK(has(&got, s - 6, 10) && has(&got, s - 4000, 10) && has(&got, A_START + SEARCH_CHUNK - 5, 10) &&
		      has(&got, B_START + 10, 10), "YARA: the markers across and inside the block overlap are found");
		{
			size_t n = 0;

			want.n = 0;
			oracle(m, "MARKER-XYZ", true, 0, &want);
			for (size_t i = 0; i < got.n; i++)
				n += got.v[i].len == 10;
			CHECK(n == want.n, "YARA: each marker once (%zu, want %zu)", n, want.n);
		}
		search_yara_free(y);
		unlink(path);
		f = fopen(path, "w");
		fputs("rule a { condition: true }\n\nrule b {\n  strings: $x = \"x\"\n  condition: $x or\n}\n", f);
		fclose(f);
		err = NULL;
		y = NULL;
		CHECK(search_yara_new(path, &y, &err) == -EINVAL && err && strstr(err, "t.yar:6:"),
		      "a bad rules file is refused with its line: %s", err ? err : "(none)");
		free(err);
		/* a rule cut short: libyara says line 0; the file's last line is meant */
		f = fopen(path, "w");
		fputs("rule a {\n  strings:\n    $x = \"x\"\n  condition:\n    $x and\n", f);
		fclose(f);
		err = NULL;
		CHECK(search_yara_new(path, &y, &err) == -EINVAL && err && strstr(err, "t.yar:5:"),
		      "a rules file that ends too early is refused with its last line: %s", err ? err : "(none)");
		free(err);
		unlink(path);
	}
	/* The same space from a plain tar (preads at the member's offset in
	 * the tar, which is not page aligned). */
	{
		struct arc *ta = NULL;
		struct mem_space *tm = NULL;
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "tar -cf %s/p.tar -C %s pages-1.img", dir, dir);
		snprintf(path, sizeof(path), "%s/p.tar", dir);
		if (system(cmd) == 0 && arc_open(path, NULL, &ta, NULL) == 0 &&
		    mem_space_new(ta, arc_find(ta, "pages-1.img"), &pm, NULL, PAGE, &tm) == 0) {
			one(tm, "MARKER-XYZ", true, "tar: -F over read boundaries");
			one(tm, "MARKER-[XYZ]+", false, "tar: regex partial match over a read boundary");
			one(tm, "LONG-[a-z]+-END", false, "tar: regex match of 20000 bytes");
			one(tm, "(?<=QQ)ZZZ", false, "tar: lookbehind");
			one(tm, "MARKER-XYZ|LONG", false, "tar: alternation");
		} else {
			CHECK(false, "tar the pages file and build a space on it");
		}
		mem_space_free(tm);
		arc_free(ta);
		unlink(path);
	}
	/* A pages file cut short after the space was built: the unreadable
	 * rest of A and all of B are reported (once, whatever the jobs), what
	 * comes before is searched. */
	{
		static struct hits got;
		const struct search_cb cb = { .hit = collect, .err = count_err, .ctx = &got };
		struct search_yara *y = NULL;
		const char *pats[] = { "MARKER-XYZ" };

		snprintf(path, sizeof(path), "%s/pages-1.img", dir);
		CHECK(truncate(path, 3 * (off_t) SEARCH_CHUNK) == 0, "cut the pages file at 12 MiB");
		for (size_t k = 0; k < sizeof(engines) / sizeof(engines[0]); k++) {
			struct search_pats *p = compile(pats, 1, SEARCH_FIXED, &engines[k]);

			errors = 0;
			CHECK(p && scan(p, m, &got, count_err) == 1 && errors == 2 && has(&got, A_START + 100, 10) &&
			      has(&got, A_START + SEARCH_CHUNK - 5, 10) && !has(&got, B_START + 10, 0),
			      "damaged pages (%s): %d ranges reported, the %zu matches before the cut found",
			      engines[k].name, errors, got.n);
			search_pats_free(p);
		}
		snprintf(path, sizeof(path), "%s/t2.yar", dir);
		FILE *f = fopen(path, "w");

		fputs("rule t { strings: $m = \"MARKER-XYZ\" condition: $m }\n", f);
		fclose(f);
		errors = 0;
		got.n = 0;
		CHECK(search_yara_new(path, &y, NULL) == 0 && search_yara_space(y, m, &cb) == 1 &&
		      errors >= 2, "damaged pages: YARA reports the unreadable blocks (%d)", errors);
		search_yara_free(y);
		unlink(path);
	}
	mem_space_free(m);
	arc_free(a);
	unlink(dir[0] ? (snprintf(path, sizeof(path), "%s/pages-1.img", dir), path) : path);
	rmdir(dir);
	free(image);
	return tap_done();
}
