/* SPDX-License-Identifier: Apache-2.0 */
/* YARA rules over the dumped memory of a space, with libyara's memory block
 * iterator: one block per segment of contiguous dumped memory, based at its
 * virtual address, so that string offsets are addresses (what `yara -s`
 * prints when it scans a pid). Segments longer than SEARCH_YARA_BLOCK are
 * cut into blocks that overlap by SEARCH_YARA_OVERLAP bytes, so that a
 * string match (at most a few KiB in YARA) that crosses a cut is still seen
 * whole in one block; a match seen twice in an overlap is reported once.
 * Only one block is in memory at a time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yara.h>

#include "search.h"

struct search_yara {
	YR_RULES *rules;
};

static int yara_users;	/* yr_initialize() is reference counted by libyara too */

static int yara_init(void)
{
	if (yara_users++ == 0 && yr_initialize() != ERROR_SUCCESS) {
		yara_users = 0;
		return -ENOMEM;
	}
	/* matched bytes are read back from the space: keep none in libyara */
	yr_set_configuration_uint32(YR_CONFIG_MAX_MATCH_DATA, 1);
	return 0;
}

static void yara_done(void)
{
	if (yara_users > 0 && --yara_users == 0)
		yr_finalize();
}

void search_yara_free(struct search_yara *y)
{
	if (!y)
		return;
	if (y->rules)
		yr_rules_destroy(y->rules);
	free(y);
	yara_done();
}

struct compile_err {
	char *msg;	/* the first error */
	int count;
};

/* The number of the last line of file @path (0 when it cannot be read). */
static int last_line(const char *path)
{
	FILE *f = path ? fopen(path, "re") : NULL;
	int c, prev = '\n', n = 0;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF) {
		if (c == '\n')
			n++;
		prev = c;
	}
	fclose(f);
	return prev == '\n' ? n : n + 1;
}

static void on_compile(int level, const char *file, int line, const YR_RULE *rule, const char *message,
		       void *user)
{
	struct compile_err *ce = user;
	const char *eof = "";

	if (level != YARA_ERROR_LEVEL_ERROR || ce->count++)
		return;
	/* libyara says line 0 when the file ends before the rule does */
	if (line <= 0 && (line = last_line(file)) > 0)
		eof = " (the file ends before the rule does)";
	if (asprintf(&ce->msg, "%s:%d: %s%s", file ? file : "rules", line, message, eof) < 0)
		ce->msg = NULL;
}

int search_yara_new(const char *path, struct search_yara **ret, char **ret_error)
{
	_cleanup_(search_yara_freep) struct search_yara *y = NULL;
	struct compile_err ce = { 0 };
	YR_COMPILER *c = NULL;
	FILE *f;
	int rc;

	if (ret_error)
		*ret_error = NULL;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(-rc)) < 0)
			*ret_error = NULL;
		return rc;
	}
	if (yara_init() < 0) {
		fclose(f);
		return -ENOMEM;
	}
	y = calloc(1, sizeof(*y));
	if (!y) {
		yara_done();
		fclose(f);
		return -ENOMEM;
	}
	if (yr_compiler_create(&c) != ERROR_SUCCESS) {
		fclose(f);
		return -ENOMEM;
	}
	yr_compiler_set_callback(c, on_compile, &ce);
	if (yr_compiler_add_file(c, f, NULL, path) > 0 || ce.count) {
		fclose(f);
		yr_compiler_destroy(c);
		if (ret_error) {
			*ret_error = ce.msg;
			ce.msg = NULL;
		}
		free(ce.msg);
		return -EINVAL;
	}
	fclose(f);
	rc = yr_compiler_get_rules(c, &y->rules);
	yr_compiler_destroy(c);
	if (rc != ERROR_SUCCESS)
		return -ENOMEM;
	*ret = TAKE_PTR(y);
	return 0;
}

/* The block iterator: segment by segment, cut into overlapping blocks. */
struct blocks {
	const struct mem_space *m;
	size_t run;			/* the first run of the next segment */
	uint64_t seg_end;		/* end of the current segment */
	uint64_t next;			/* start of the next block in it */
	YR_MEMORY_BLOCK block;
	uint8_t *buf;
	search_err_fn err;
	void *ctx;
	bool skipped;
};

static const uint8_t *fetch(YR_MEMORY_BLOCK *b)
{
	struct blocks *it = b->context;
	ssize_t got = mem_read(it->m, b->base, it->buf, b->size);

	if (got < 0 || (size_t) got != b->size) {
		size_t r = mem_run_after(it->m, b->base);

		if (it->err)
			it->err(it->ctx, b->base, b->size, mem_run_at(it->m, r), got < 0 ? (int) got : -EIO);
		it->skipped = true;
		return NULL;	/* libyara skips the block */
	}
	return it->buf;
}

static YR_MEMORY_BLOCK *next_block(YR_MEMORY_BLOCK_ITERATOR *iter)
{
	struct blocks *it = iter->context;
	uint64_t start;

	iter->last_error = ERROR_SUCCESS;
	if (it->next >= it->seg_end) {
		size_t n = mem_run_count(it->m);
		const struct mem_run *r;

		if (it->run >= n)
			return NULL;
		r = mem_run_at(it->m, it->run);
		it->next = r->vaddr;
		it->seg_end = r->vaddr + r->len;
		for (it->run++; it->run < n && mem_run_at(it->m, it->run)->vaddr == it->seg_end; it->run++)
			it->seg_end = mem_run_at(it->m, it->run)->vaddr + mem_run_at(it->m, it->run)->len;
	}
	start = it->next;
	it->block.base = start;
	it->block.size = (size_t) CK_MIN((uint64_t) SEARCH_YARA_BLOCK, it->seg_end - start);
	it->block.context = it;
	it->block.fetch_data = fetch;
	if (start + it->block.size >= it->seg_end)
		it->next = it->seg_end;
	else
		it->next = start + it->block.size - SEARCH_YARA_OVERLAP;
	return &it->block;
}

static YR_MEMORY_BLOCK *first_block(YR_MEMORY_BLOCK_ITERATOR *iter)
{
	struct blocks *it = iter->context;

	it->run = 0;
	it->next = it->seg_end = 0;
	return next_block(iter);
}

struct scan {
	search_hit_fn hit;
	void *ctx;
	bool stopped;
};

static int on_scan(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
	struct scan *s = user;
	YR_RULE *rule = data;
	YR_STRING *str;
	bool any = false;

	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	yr_rule_strings_foreach(rule, str) {
		const YR_MATCH *mp = context->matches[str->idx].head;
		uint64_t last_addr = 0, last_len = 0;
		bool have_last = false;

		/* libyara 4.2 keeps its matches in a notebook without aligning
		 * them: copy each one out before reading its fields */
		while (mp) {
			YR_MATCH m;
			struct search_hit h;

			memcpy(&m, mp, sizeof(m));
			mp = m.next;
			if (m.is_private)
				continue;
			h = (struct search_hit) {
				.addr = (uint64_t) m.base + (uint64_t) m.offset,
				.len = (uint64_t) m.match_length,
				.rule = rule->identifier,
				.ns = rule->ns ? rule->ns->name : NULL,
				.ident = str->identifier,
			};
			/* the same match seen in two overlapping blocks */
			if (have_last && h.addr == last_addr && h.len == last_len)
				continue;
			have_last = true;
			last_addr = h.addr;
			last_len = h.len;
			any = true;
			if (s->hit(s->ctx, &h)) {
				s->stopped = true;
				return CALLBACK_ABORT;
			}
		}
	}
	if (!any) {
		/* a rule that matched on its condition alone */
		struct search_hit h = { .rule = rule->identifier, .ns = rule->ns ? rule->ns->name : NULL };

		if (s->hit(s->ctx, &h)) {
			s->stopped = true;
			return CALLBACK_ABORT;
		}
	}
	return CALLBACK_CONTINUE;
}

int search_yara_space(struct search_yara *y, const struct mem_space *m, const struct search_cb *cb)
{
	_cleanup_free_ uint8_t *buf = malloc(SEARCH_YARA_BLOCK);
	struct blocks it = { .m = m, .buf = buf, .err = cb->err, .ctx = cb->ctx };
	YR_MEMORY_BLOCK_ITERATOR iter = { .context = &it, .first = first_block, .next = next_block };
	struct scan s = { .hit = cb->hit, .ctx = cb->ctx };
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = yr_rules_scan_mem_blocks(y->rules, &iter, SCAN_FLAGS_PROCESS_MEMORY, on_scan, &s, 0);
	if (s.stopped)
		return 2;
	if (rc == ERROR_INSUFFICIENT_MEMORY)
		return -ENOMEM;
	if (rc != ERROR_SUCCESS && rc != ERROR_CALLBACK_ERROR)
		return -EIO;
	return it.skipped ? 1 : 0;
}
