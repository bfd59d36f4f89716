/* SPDX-License-Identifier: Apache-2.0 */
/* The search engine (src/search/) on a synthetic space whose segments are
 * longer than one read (SEARCH_CHUNK) and than one YARA block: markers
 * planted across read boundaries, across the YARA block overlap, across a
 * hole, a regex match that spans a read boundary, a lookbehind that starts
 * in one read and ends in the next. Every result is compared with a plain
 * search of each whole segment read in one piece (memmem for strings, PCRE2
 * on the whole segment for regexes). TAP output. */
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

static uint8_t *image;		/* the pages file: A then B */
static char dir[64];

/* Plant @s at address @addr (in A or B). */
static void plant(uint64_t addr, const char *s)
{
	uint64_t off = addr < B_START ? addr - A_START : A_PAGES * (uint64_t) PAGE + (addr - B_START);

	memcpy(image + off, s, strlen(s));
}

struct hits {
	uint64_t addr[4096], len[4096];
	size_t n;
	size_t stop_after;	/* 0: never */
};

static int collect(void *ctx, const struct search_hit *h)
{
	struct hits *x = ctx;

	if (x->n < 4096) {
		x->addr[x->n] = h->addr;
		x->len[x->n] = h->len;
	}
	x->n++;
	return x->stop_after && x->n >= x->stop_after;
}

static int errors;
static void count_err(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err)
{
	errors++;
}

/* The oracle: every match of @pat in each whole segment, in address order. */
static void oracle(const struct mem_space *m, const char *pat, bool fixed, struct hits *out)
{
	const uint64_t seg[2][2] = { { A_START, A_PAGES * (uint64_t) PAGE }, { B_START, B_PAGES * (uint64_t) PAGE } };

	out->n = 0;
	for (int s = 0; s < 2; s++) {
		uint8_t *buf = malloc(seg[s][1]);
		size_t len = seg[s][1], at = 0;

		if (!buf || mem_read(m, seg[s][0], buf, len) != (ssize_t) len)
			abort();
		if (fixed) {
			const uint8_t *p;

			while ((p = memmem(buf + at, len - at, pat, strlen(pat)))) {
				out->addr[out->n] = seg[s][0] + (uint64_t) (p - buf);
				out->len[out->n++] = strlen(pat);
				at = (size_t) (p - buf) + strlen(pat);
			}
		} else {
			int code;
			PCRE2_SIZE eo;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR) pat, PCRE2_ZERO_TERMINATED, 0, &code, &eo, NULL);
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);

			while (pcre2_match(re, buf, len, at, PCRE2_NOTEMPTY, md, NULL) >= 0) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

				out->addr[out->n] = seg[s][0] + ov[0];
				out->len[out->n++] = ov[1] - ov[0];
				at = ov[1];
			}
			pcre2_match_data_free(md);
			pcre2_code_free(re);
		}
		free(buf);
	}
}

static bool same(const struct hits *a, const struct hits *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->addr[i] != b->addr[i] || a->len[i] != b->len[i])
			return false;
	return true;
}

static bool has(const struct hits *h, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->addr[i] == addr && (!len || h->len[i] == len))
			return true;
	return false;
}

static void one(const struct mem_space *m, const char *pat, bool fixed, const char *what)
{
	static struct hits got, want;
	struct search_pats *p = NULL;
	char *err = NULL;
	const char *pats[] = { pat };
	int rc;

	rc = search_pats_new(pats, 1, fixed ? SEARCH_FIXED : 0, &p, &err);
	CHECK(rc == 0, "%s: compiles (%s)", what, err ? err : "ok");
	free(err);
	if (rc)
		return;
	got.n = 0;
	got.stop_after = 0;
	errors = 0;
	rc = search_space(p, m, collect, count_err, &got);
	oracle(m, pat, fixed, &want);
	CHECK(rc == 0 && errors == 0 && same(&got, &want) && want.n > 0,
	      "%s: %zu matches, the same as a search of each whole segment (%zu)", what, got.n, want.n);
	search_pats_free(p);
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

	one(m, "MARKER-XYZ", true, "-F over read boundaries");
	one(m, "MARKER-[XYZ]+", false, "regex over read boundaries");
	one(m, "LONG-[a-z]+-END", false, "regex match of 20000 bytes across a read boundary");
	one(m, "(?<=QQ)ZZZ", false, "lookbehind across a read boundary");
	one(m, "MARKER-XYZ|LONG", false, "alternation");
	{
		static struct hits got;
		struct search_pats *p = NULL;
		const char *pats[] = { "HOLEMARK" };

		search_pats_new(pats, 1, SEARCH_FIXED, &p, NULL);
		got.n = 0;
		CHECK(search_space(p, m, collect, NULL, &got) == 0 && got.n == 0, "nothing matches across a hole");
		search_pats_free(p);
	}
	{
		static struct hits got;
		struct search_pats *p = NULL;
		const char *pats[] = { "ZZZ", "MARKER-XYZ" };

		search_pats_new(pats, 2, SEARCH_FIXED, &p, NULL);
		got.n = 0;
		search_space(p, m, collect, NULL, &got);
		bool sorted = true;

		for (size_t i = 1; i < got.n; i++)
			sorted &= got.addr[i - 1] <= got.addr[i];
		CHECK(got.n == 7 && sorted, "two patterns: %zu matches in address order", got.n);
		search_pats_free(p);
	}
	{
		static struct hits got;
		struct search_pats *p = NULL;
		const char *pats[] = { "." };

		search_pats_new(pats, 1, 0, &p, NULL);
		got.n = 0;
		got.stop_after = 1000;
		CHECK(search_space(p, m, collect, NULL, &got) == 2 && got.n == 1000,
		      "'.' stops when the callback says so");
		search_pats_free(p);
	}
	{
		struct search_pats *p = NULL;
		const char *bad[] = { "a(" }, *empty[] = { "" };
		char *err = NULL;

		CHECK(search_pats_new(bad, 1, 0, &p, &err) == -EINVAL && err && strstr(err, "pattern 1 'a('"),
		      "a bad regex is refused with its reason: %s", err ? err : "(none)");
		free(err);
		err = NULL;
		CHECK(search_pats_new(empty, 1, SEARCH_FIXED, &p, &err) == -EINVAL && err,
		      "an empty pattern is refused: %s", err ? err : "(none)");
		free(err);
	}
	/* YARA: every planted marker once, at its address */
	{
		static struct hits got;
		struct search_yara *y = NULL;
		char *err = NULL;
		FILE *f;

		snprintf(path, sizeof(path), "%s/t.yar", dir);
		f = fopen(path, "w");
		fputs("rule t { strings: $m = \"MARKER-XYZ\" $l = /LONG-[a-z]{1,100}/ condition: any of them }\n", f);
		fclose(f);
		CHECK(search_yara_new(path, &y, &err) == 0, "YARA rules compile (%s)", err ? err : "ok");
		got.n = 0;
		got.stop_after = 0;
		CHECK(y && search_yara_space(y, m, collect, NULL, &got) == 0, "YARA scan");
		s = A_START + SEARCH_YARA_BLOCK;
		CHECK(has(&got, s - 6, 10) && has(&got, s - 4000, 10) && has(&got, A_START + SEARCH_CHUNK - 5, 10) &&
		      has(&got, B_START + 10, 10), "YARA: the markers across and inside the block overlap are found");
		{
			static struct hits want;
			size_t n = 0;

			oracle(m, "MARKER-XYZ", true, &want);
			for (size_t i = 0; i < got.n; i++)
				n += got.len[i] == 10;
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
	 * rest of A and all of B are reported, what comes before is searched. */
	{
		static struct hits got;
		struct search_pats *p = NULL;
		struct search_yara *y = NULL;
		const char *pats[] = { "MARKER-XYZ" };

		snprintf(path, sizeof(path), "%s/pages-1.img", dir);
		CHECK(truncate(path, 3 * (off_t) SEARCH_CHUNK) == 0, "cut the pages file at 12 MiB");
		search_pats_new(pats, 1, SEARCH_FIXED, &p, NULL);
		got.n = 0;
		got.stop_after = 0;
		errors = 0;
		CHECK(search_space(p, m, collect, count_err, &got) == 1 && errors == 2 &&
		      has(&got, A_START + 100, 10) && has(&got, A_START + SEARCH_CHUNK - 5, 10),
		      "damaged pages: %d ranges reported, the %zu matches before the cut found", errors, got.n);
		search_pats_free(p);
		snprintf(path, sizeof(path), "%s/t2.yar", dir);
		FILE *f = fopen(path, "w");

		fputs("rule t { strings: $m = \"MARKER-XYZ\" condition: $m }\n", f);
		fclose(f);
		errors = 0;
		got.n = 0;
		CHECK(search_yara_new(path, &y, NULL) == 0 && search_yara_space(y, m, collect, count_err, &got) == 1 &&
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
