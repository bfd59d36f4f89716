/* SPDX-License-Identifier: Apache-2.0 */
/* bash-history: the commands of a bash process, from its heap. readline
 * keeps each history entry as { char *line; char *timestamp; void *data; }
 * and the timestamp as a string "#<seconds>" (bash 5.2 writes the '#'
 * whether HISTTIMEFORMAT is set or not; readline without bash puts a NUL
 * there); the_history is an array of pointers to the entries, in order. So, over the anonymous memory of the process
 * (the heap and anonymous mappings, which are small for a shell):
 *   1. find the timestamp strings;
 *   2. find the words that point at one: each is the timestamp field of an
 *      entry, whose line pointer is the word before;
 *   3. find the words that point at an entry: the longest run of them,
 *      one after the other, is the history array, and gives the order.
 * Entries that no array holds (freed ones) are left out; without an array
 * the entries are ordered by time, then address.
 *
 * dash has no history, but what it reads from its standard input (a
 * reverse shell's commands, a script piped into it) stays in its input
 * buffer, a static array in the program's own writable data, next to its
 * output buffer: the lines of text there that end in a newline are the
 * last it read (and wrote), without times. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "triage-priv.h"

#define HIST_CHUNK (64u << 10)
#define HIST_MAX 65536		/* timestamps and entries kept */
#define HIST_LINE_MAX 4096	/* longest command read */
#define TS_LEN 12		/* '#' or NUL, 10 digits, NUL */

struct hist_ts {
	uint64_t addr;
	int64_t time;
};

struct hist_entry {
	uint64_t addr;		/* of the entry */
	uint64_t line;		/* its line pointer */
	const struct hist_ts *ts;
	uint64_t slot;		/* where the history array points at it, or 0 */
};

struct hist {
	struct triage_proc *tp;
	uint8_t *buf;
	struct hist_ts *ts;
	size_t n_ts;
	struct hist_entry *e;
	size_t n_e;
	uint64_t prev;		/* the word before the current one (pass 2) */
	uint64_t prev_addr;
};

/* Call @fn for each chunk of the dumped anonymous writable memory. */
static void stream(struct hist *h, void (*fn)(struct hist *h, uint64_t addr, const uint8_t *p, size_t len))
{
	const struct ckpt_proc *p = h->tp->p;
	const struct mem_space *m = p->mem;

	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const struct img_vma *v = &p->mm->vmas[i];

		if (!tr_vma_anon(v) || !(v->prot & IMG_PROT_WRITE) || v == h->tp->stack)
			continue;
		for (size_t k = mem_run_after(m, v->start); k < mem_run_count(m); k++) {
			const struct mem_run *r = mem_run_at(m, k);
			uint64_t a = CK_MAX(r->vaddr, v->start), e = CK_MIN(r->vaddr + r->len, v->end);

			if (r->vaddr >= v->end)
				break;
			h->prev_addr = 0;
			for (; a < e; a += HIST_CHUNK) {
				size_t n = (size_t) CK_MIN((uint64_t) HIST_CHUNK, e - a);
				/* TS_LEN bytes more for a string cut by the chunk */
				ssize_t got = mem_read(m, a, h->buf, n + TS_LEN);

				if (got < (ssize_t) n)
					break;	/* unreadable: the pass reports it */
				memset(h->buf + got, 0, n + TS_LEN - (size_t) got);
				fn(h, a, h->buf, n);
			}
		}
	}
}

/* Pass 1: "#1796459827" (or with a NUL for the '#'), NUL-terminated. */
static void find_ts(struct hist *h, uint64_t addr, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && h->n_ts < HIST_MAX; i++) {
		int64_t t = 0;
		size_t d;

		if ((p[i] != '#' && p[i] != 0) || p[i + 1] < '1' || p[i + 1] > '9' || p[i + TS_LEN - 1])
			continue;
		for (d = 1; d < TS_LEN - 1 && p[i + d] >= '0' && p[i + d] <= '9'; d++)
			t = t * 10 + (p[i + d] - '0');
		if (d != TS_LEN - 1)
			continue;
		h->ts[h->n_ts++] = (struct hist_ts) { .addr = addr + i, .time = t };
		i += TS_LEN - 1;
	}
}

static const struct hist_ts *ts_find(const struct hist *h, uint64_t addr)
{
	size_t lo = 0, hi = h->n_ts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->ts[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->n_ts && h->ts[lo].addr == addr ? &h->ts[lo] : NULL;
}

/* Pass 2: words that point at a timestamp; the word before is the line. */
static void find_entries(struct hist *h, uint64_t addr, const uint8_t *p, size_t len)
{
	uint64_t lo = h->ts[0].addr, hi = h->ts[h->n_ts - 1].addr;

	for (size_t i = 0; i + 8 <= len && h->n_e < HIST_MAX; i += 8) {
		uint64_t w;
		const struct hist_ts *ts;

		memcpy(&w, p + i, 8);
		if (w >= lo && w <= hi && h->prev_addr == addr + i - 8 && h->prev && (ts = ts_find(h, w)))
			h->e[h->n_e++] = (struct hist_entry) { .addr = addr + i - 8, .line = h->prev, .ts = ts };
		h->prev = w;
		h->prev_addr = addr + i;
	}
}

static int entry_by_addr(const void *a, const void *b)
{
	const struct hist_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Pass 3: words that point at an entry (entries sorted by address). */
static void find_slots(struct hist *h, uint64_t addr, const uint8_t *p, size_t len)
{
	uint64_t lo = h->e[0].addr, hi = h->e[h->n_e - 1].addr;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		struct hist_entry key, *e;
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w < lo || w > hi)
			continue;
		key.addr = w;
		e = bsearch(&key, h->e, h->n_e, sizeof(*h->e), entry_by_addr);
		if (e && !e->slot)
			e->slot = addr + i;
	}
}

static int by_slot(const void *a, const void *b)
{
	const struct hist_entry *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->ts->time != y->ts->time)
		return x->ts->time < y->ts->time ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Keep the entries of the longest run of consecutive slots (the history
 * array) in its order; without one, every entry by time. Returns the count. */
static size_t order(struct hist *h)
{
	size_t best = 0, best_len = 0;

	qsort(h->e, h->n_e, sizeof(*h->e), by_slot);
	for (size_t i = 0, len = 0; i < h->n_e; i++) {
		len = h->e[i].slot && i && h->e[i - 1].slot && h->e[i].slot == h->e[i - 1].slot + 8 ? len + 1 :
		      h->e[i].slot ? 1 : 0;
		if (len > best_len) {
			best_len = len;
			best = i + 1 - len;
		}
	}
	if (!best_len)
		return h->n_e;
	memmove(h->e, h->e + best, best_len * sizeof(*h->e));
	return best_len;
}

/* The command an entry's line points at, malloc'ed; NULL when it is not
 * a printable string. */
static char *read_line(const struct mem_space *m, uint64_t addr)
{
	char buf[HIST_LINE_MAX + 1];
	ssize_t n = mem_read(m, addr, buf, HIST_LINE_MAX);
	size_t len;

	if (n <= 0 || !mem_is_dumped(m, addr, 1))
		return NULL;
	buf[n] = '\0';
	len = strlen(buf);
	if (!len || len == (size_t) n)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((uint8_t) buf[i] < 0x20 && buf[i] != '\t' && buf[i] != '\n')
			return NULL;
	return strdup(buf);
}

static void report(struct hist *h, size_t n)
{
	struct triage_run *r = h->tp->r;
	struct triage_finding *f;
	size_t k = 0;

	f = tr_new(r, TRIAGE_BASH_HISTORY, TRIAGE_MEDIUM, h->tp);
	if (!f)
		return;
	if (!(f->commands = calloc(n, sizeof(*f->commands)))) {
		r->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *line = read_line(h->tp->p->mem, h->e[i].line);

		if (!line)
			continue;
		f->commands[k++] = (struct triage_cmd) { .command = line, .time = h->e[i].ts->time };
	}
	f->n_commands = k;
	tr_path(r, f, h->tp->exe);
	f->has_address = k > 0;
	f->address = n ? h->e[0].addr : 0;
	tr_summary(r, f, "%zu command%s typed into bash, with %s times, recovered from its heap", k,
		   k == 1 ? "" : "s", k == 1 ? "its" : "their");
	if (!k)
		f->severity = TRIAGE_INFO;
}

static int ts_by_addr(const void *a, const void *b)
{
	const struct hist_ts *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void tr_history(struct triage_proc *tp)
{
	struct hist h = { .tp = tp };

	h.buf = malloc(HIST_CHUNK + TS_LEN);
	h.ts = calloc(HIST_MAX, sizeof(*h.ts));
	h.e = calloc(HIST_MAX, sizeof(*h.e));
	if (!h.buf || !h.ts || !h.e) {
		tp->r->err = -ENOMEM;
		goto out;
	}
	stream(&h, find_ts);
	if (!h.n_ts)
		goto out;
	qsort(h.ts, h.n_ts, sizeof(*h.ts), ts_by_addr);
	stream(&h, find_entries);
	if (!h.n_e)
		goto out;
	qsort(h.e, h.n_e, sizeof(*h.e), entry_by_addr);
	stream(&h, find_slots);
	report(&h, order(&h));
out:
	free(h.buf);
	free(h.ts);
	free(h.e);
}

/* The lines of @p (@len bytes) that are NUL-delimited printable text
 * ending in a newline, appended to @f's commands (tabs as spaces). */
static void input_lines(struct triage_run *r, struct triage_finding *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		struct triage_cmd *v;

		while (i + n < len && ((p[i + n] >= 0x20 && p[i + n] < 0x7f) || p[i + n] == '\t' || p[i + n] == '\n'))
			n++;
		if (n >= 3 && p[i + n - 1] == '\n' && (i == 0 || !p[i - 1]) && i + n < len && !p[i + n]) {
			for (size_t k = i, e; k < i + n; k = e + 1) {
				char *line;

				e = (size_t) ((const uint8_t *) memchr(p + k, '\n', i + n - k) - p);
				/* dash's own variables (IFS=, PS1=, ...) end in a newline too */
				if (e == k || (k == i && p[k + strspn((const char *) p + k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_")] == '=') ||
				    !(line = strndup((const char *) p + k, e - k)))
					continue;
				for (char *t = line; (t = strchr(t, '\t')); t++)
					*t = ' ';
				v = reallocarray(f->commands, f->n_commands + 1, sizeof(*v));
				if (!v) {
					free(line);
					r->err = -ENOMEM;
					return;
				}
				f->commands = v;
				f->commands[f->n_commands++] = (struct triage_cmd) { .command = line };
			}
		}
		i += n + 1;
	}
}

void tr_dash_input(struct triage_proc *tp)
{
	const struct img_mm *mm = tp->p->mm;
	struct triage_finding lines = { 0 }, *f;
	uint8_t *buf = NULL;

	/* the program's writable data and the anonymous memory after it (bss) */
	for (size_t i = 0; i < mm->n_vmas && !tp->r->err; i++) {
		const struct img_vma *v = &mm->vmas[i];
		bool data = (v->status & IMG_VMA_FILE_PRIVATE) && (v->prot & IMG_PROT_WRITE) &&
			    v->shmid == mm->exe_file_id;
		bool bss = i && tr_vma_anon(v) && v->start == mm->vmas[i - 1].end && mm->vmas[i - 1].shmid ==
			   mm->exe_file_id && (mm->vmas[i - 1].status & IMG_VMA_FILE_PRIVATE);
		size_t len = (size_t) (v->end - v->start);

		if ((!data && !bss) || (v->status & IMG_VMA_AREA_HEAP) || len > HIST_CHUNK * 16)
			continue;
		free(buf);
		if ((buf = malloc(len)) && mem_read(tp->p->mem, v->start, buf, len) == (ssize_t) len)
			input_lines(tp->r, &lines, buf, len);
	}
	free(buf);
	if (lines.n_commands && (f = tr_new(tp->r, TRIAGE_BASH_HISTORY, TRIAGE_LOW, tp))) {
		f->commands = TAKE_PTR(lines.commands);
		f->n_commands = lines.n_commands;
		tr_path(tp->r, f, tp->exe);
		tr_str(tp->r, f, "source", "dash's input and output buffers");
		tr_summary(tp->r, f, "%zu line%s of text in dash's buffers: what it read last from its standard "
			   "input (and wrote last), no times", f->n_commands, f->n_commands == 1 ? "" : "s");
	}
	for (size_t i = 0; lines.commands && i < lines.n_commands; i++)
		free(lines.commands[i].command);
	free(lines.commands);
}
