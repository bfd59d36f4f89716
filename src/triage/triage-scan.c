/* SPDX-License-Identifier: Apache-2.0 */
/* The one pass over a process's dumped memory. Each stretch of contiguous
 * dumped memory (runs that touch, whatever their pages image) is read
 * SCAN_CHUNK bytes at a time into one buffer, keeping SCAN_CARRY bytes of
 * look-ahead, so that a pattern or an ELF header cut by a read is seen
 * whole. Nothing else of the memory is kept.
 *
 * Finding the patterns is the cost: a vector filter looks at every position
 * for a pair of bytes that each pattern has at a fixed place (the "IA" of
 * AKIA/ASIA, the "-B" of "-----BEGIN ", the "Be" of "Bearer ", the "\x7fE"
 * of an ELF header) and the few positions it lets through are checked byte
 * by byte from the pattern's start. One filter for all four costs about what
 * one PCRE2 literal search costs (scripts/bench: --triage against --search
 * -F). */
#include <errno.h>
#include <string.h>

#include "triage-priv.h"

#define SCAN_CHUNK (4u << 20)
/* the longest match looked at: a PEM block with its END line */
#define SCAN_CARRY (16u << 10)

/* The vector width; the filter reads a pair, so one byte past it. */
#define VW 32
/* How far before its pair a pattern starts ("-----BEGIN": 4); the buffer
 * keeps as much before the bytes it owns. */
#define BACK 8

struct scan {
	struct triage_proc *tp;
	uint8_t *buf;
	uint64_t base;		/* address of buf[0] */
	size_t len;		/* bytes in buf */
	uint64_t seg_start;	/* where the stretch being read starts */
	uint64_t skip;		/* positions below this address belong to a match already taken */
};

void tr_watch_add(struct triage_proc *tp, uint64_t start, uint64_t end,
		  void (*bytes)(void *ctx, uint64_t addr, const uint8_t *p, size_t len, size_t avail), void *ctx)
{
	struct tr_watch *w = reallocarray(tp->w, tp->n_w + 1, sizeof(*w));

	if (!w) {
		tp->r->err = -ENOMEM;
		return;
	}
	tp->w = w;
	tp->w[tp->n_w++] = (struct tr_watch) { .start = start, .end = end, .bytes = bytes, .ctx = ctx };
}

/* Check for a pattern starting at buffer offset @i. */
static void check_at(struct scan *s, size_t i)
{
	const uint8_t *p = s->buf + i;
	size_t avail = s->len - i, took = 0;
	uint64_t addr = s->base + i;

	if (addr < s->skip || addr < s->seg_start)
		return;
	if (avail >= 4 && p[0] == 0x7f && !memcmp(p, "\x7f" "ELF", 4))
		took = tr_elf_mem(s->tp, tr_vma_at(s->tp->p, addr), addr, p, avail);
	else if (avail >= 7 && (p[0] == 'A' || p[0] == '-' || p[0] == 'B'))
		took = tr_secret_mem(s->tp, addr, p, avail);
	if (took)
		s->skip = addr + took;
}

/* The filter let the pair at buffer offset @j through: check the pattern
 * it belongs to from its start. */
static void check_pair(struct scan *s, size_t j)
{
	size_t back = s->buf[j] == 'I' ? 2 : s->buf[j] == '-' ? 4 : 0;

	if (j >= back)
		check_at(s, j - back);
}

static bool pair(const uint8_t *b)
{
	return (b[0] == 'I' && b[1] == 'A') || (b[0] == '-' && b[1] == 'B') || (b[0] == 'B' && b[1] == 'e') ||
	       (b[0] == 0x7f && b[1] == 'E');
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SCAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCAN_CLONES
#endif

typedef uint8_t scan_vec __attribute__((vector_size(VW)));

/* The pairs at buffer offsets [from, to) (bytes up to s->len readable). */
SCAN_CLONES static void filter(struct scan *s, size_t from, size_t to)
{
	const uint8_t *b = s->buf;
	size_t i = from;

#define LD(o) ({ scan_vec v_; memcpy(&v_, b + i + (o), VW); v_; })
#define SPLAT(c) ((scan_vec) { 0 } + (uint8_t) (c))
	for (; i + VW <= to && i + VW + 1 <= s->len; i += VW) {
		scan_vec x0 = LD(0), x1 = LD(1);
		scan_vec m = ((x0 == SPLAT('I')) & (x1 == SPLAT('A'))) | ((x0 == SPLAT('-')) & (x1 == SPLAT('B'))) |
			     ((x0 == SPLAT('B')) & (x1 == SPLAT('e'))) | ((x0 == SPLAT(0x7f)) & (x1 == SPLAT('E')));
		uint64_t w[VW / 8], any = 0;

		memcpy(w, &m, sizeof(w));
		for (size_t k = 0; k < VW / 8; k++)
			any |= w[k];
		if (!any)
			continue;
		for (size_t k = 0; k < VW; k++)
			if (((const uint8_t *) &m)[k])
				check_pair(s, i + k);
	}
#undef LD
#undef SPLAT
	/* the tail, where a vector would read past the bytes */
	for (; i < to; i++)
		if (i + 1 < s->len && pair(b + i))
			check_pair(s, i);
}

/* Hand the bytes of [from, to) to the watches that cover them. */
static void feed_watches(struct scan *s, uint64_t from, uint64_t to)
{
	for (size_t k = 0; k < s->tp->n_w; k++) {
		const struct tr_watch *w = &s->tp->w[k];
		uint64_t a = CK_MAX(w->start, from), e = CK_MIN(w->end, to);

		if (a < e)
			w->bytes(w->ctx, a, s->buf + (a - s->base), (size_t) (e - a), s->len - (size_t) (a - s->base));
	}
}

/* Read [at, at + n) into @buf. Returns the bytes read; fewer than @n when
 * a run cannot be read, and then *@ret_bad_end is the end of that run and
 * *@ret_err the error. */
static size_t read_at(const struct mem_space *m, uint64_t at, uint8_t *buf, size_t n, uint64_t *ret_bad_end,
		      int *ret_err)
{
	ssize_t got = mem_read(m, at, buf, n);
	uint64_t pos = at;

	if (got == (ssize_t) n)
		return n;
	/* run by run: which one fails */
	for (size_t i = mem_run_after(m, at); i < mem_run_count(m) && pos < at + n; i++) {
		const struct mem_run *r = mem_run_at(m, i);
		size_t k = (size_t) CK_MIN(at + n - pos, r->vaddr + r->len - pos);

		got = mem_run_read(r, pos - r->vaddr, buf + (pos - at), k);
		if (got != (ssize_t) k) {
			*ret_bad_end = r->vaddr + r->len;
			*ret_err = got < 0 ? (int) got : -EIO;
			return (size_t) (pos - at);
		}
		pos += k;
	}
	return (size_t) (pos - at);
}

static void note_bad(struct triage_proc *tp, uint64_t from, uint64_t to, int err)
{
	if (!tp->bad_bytes) {
		tp->bad_first = from;
		tp->bad_err = err;
	}
	tp->bad_bytes += to - from;
}

/* Stream [start, end), contiguous dumped memory, through the checks. */
static void scan_stretch(struct scan *s, uint64_t start, uint64_t end)
{
	while (start < end) {
		uint64_t own = start, bad_end = end;
		int err = 0;

		s->base = s->seg_start = start;
		s->len = 0;
		for (;;) {
			uint64_t at = s->base + s->len, own_to, keep;
			size_t n = (size_t) CK_MIN((uint64_t) SCAN_CHUNK, end - at);
			size_t got = read_at(s->tp->p->mem, at, s->buf + s->len, n, &bad_end, &err);
			bool final;

			s->len += got;
			final = got < n || at + got == end;
			own_to = final ? s->base + s->len : CK_MAX(own, s->base + s->len - SCAN_CARRY);
			filter(s, (size_t) (own - s->base), (size_t) (own_to - s->base));
			feed_watches(s, own, own_to);
			own = own_to;
			if (got < n) {
				note_bad(s->tp, at + got, bad_end, err);
				start = bad_end;
				break;
			}
			if (final) {
				start = end;
				break;
			}
			/* keep what is not owned yet, and BACK bytes before it */
			keep = CK_MAX(s->base, own - BACK);
			memmove(s->buf, s->buf + (keep - s->base), (size_t) (s->base + s->len - keep));
			s->len = (size_t) (s->base + s->len - keep);
			s->base = keep;
		}
	}
}

static int watch_cmp(const void *a, const void *b)
{
	const struct tr_watch *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int tr_scan(struct triage_proc *tp)
{
	const struct mem_space *m = tp->p->mem;
	struct scan s = { .tp = tp };
	size_t n = mem_run_count(m), i = 0;

	if (tp->n_w)
		qsort(tp->w, tp->n_w, sizeof(*tp->w), watch_cmp);
	s.buf = malloc(SCAN_CHUNK + SCAN_CARRY + BACK);
	if (!s.buf)
		return -ENOMEM;
	while (i < n && !tp->r->err) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t start = r->vaddr, end = r->vaddr + r->len;

		for (i++; i < n && mem_run_at(m, i)->vaddr == end; i++)
			end = mem_run_at(m, i)->vaddr + mem_run_at(m, i)->len;
		scan_stretch(&s, start, end);
	}
	free(s.buf);
	return tp->r->err;
}
