/* SPDX-License-Identifier: Apache-2.0 */
/* The output of --search, --yara and --where: one tab-separated line, or
 * one JSON object, per location (pid, comm, address, offset in
 * /<pid>/pages, the VMA as maps prints it, the match). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli-search.h"
#include "render.h"

/* The path column of a maps line ("" for anonymous memory). */
static const char *maps_path(const char *maps)
{
	const char *s = maps;

	for (int f = 0; f < 5 && s; f++) {
		s = strchr(s, ' ');
		if (s)
			while (*s == ' ')
				s++;
	}
	return s ? s : "";
}

static json_object *vma_json(const struct search_loc *loc)
{
	json_object *v = json_object_new_object();
	char hex[32];
	const struct img_vma *vma = loc->vma;
	const char *maps = loc->maps;
	char perms[5] = "----";

	if (sscanf(maps, "%*s %4s", perms) != 1)
		snprintf(perms, sizeof(perms), "----");
	snprintf(hex, sizeof(hex), "0x%" PRIx64, vma->start);
	json_object_object_add(v, "start", json_object_new_string(hex));
	snprintf(hex, sizeof(hex), "0x%" PRIx64, vma->end);
	json_object_object_add(v, "end", json_object_new_string(hex));
	json_object_object_add(v, "perms", json_object_new_string(perms));
	json_object_object_add(v, "offset", json_object_new_int64((int64_t) vma->pgoff));
	json_object_object_add(v, "dev", json_object_new_string("00:00"));
	json_object_object_add(v, "inode", json_object_new_int(0));
	json_object_object_add(v, "path", json_object_new_string(maps_path(maps)));
	return v;
}

static void add_escaped(json_object *obj, const char *key, const uint8_t *p, size_t len)
{
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	search_escape(&b, p, len);
	json_object_object_add(obj, key, json_object_new_string_len(b.data ? b.data : "", (int) b.len));
}

static void put_field_sep(struct ck_buf *b)
{
	ck_buf_putc(b, '\t');
}

void search_emit(struct search_run *s, const struct search_loc *loc, const struct search_hit *h,
		 const uint8_t *bytes, size_t before, size_t len, size_t after)
{
	const struct search_opts *o = s->o;
	struct ck_buf *b = &s->line;

	b->len = 0;
	if (o->json) {
		json_object *j = json_object_new_object();
		char hex[32];

		if (s->archive)
			json_object_object_add(j, "archive", json_object_new_string(s->archive));
		if (s->container)
			json_object_object_add(j, "container", json_object_new_string(s->container));
		json_object_object_add(j, "pid", json_object_new_int64(s->pid));
		json_object_object_add(j, "comm", json_object_new_string(s->comm));
		if (h && h->rule) {
			json_object_object_add(j, "rule", json_object_new_string(h->rule));
			if (h->ns)
				json_object_object_add(j, "namespace", json_object_new_string(h->ns));
			if (h->ident)
				json_object_object_add(j, "string", json_object_new_string(h->ident));
		} else if (h && o->n_pats > 1) {
			json_object_object_add(j, "pattern", json_object_new_string(o->pats[h->pattern]));
			json_object_object_add(j, "pattern_index", json_object_new_int64((int64_t) h->pattern + 1));
		}
		if (loc) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, loc->addr);
			json_object_object_add(j, "address", json_object_new_string(hex));
			json_object_object_add(j, "pages_offset", json_object_new_int64((int64_t) loc->pages_off));
			json_object_object_add(j, "maps", loc->maps ? json_object_new_string(loc->maps) : NULL);
			json_object_object_add(j, "vma", loc->vma ? vma_json(loc) : NULL);
		}
		if (bytes) {
			_cleanup_(ck_buf_done) struct ck_buf hx = { 0 };

			json_object_object_add(j, "length", json_object_new_int64((int64_t) (h ? h->len : len)));
			if (h && h->len > len)
				json_object_object_add(j, "truncated", json_object_new_boolean(1));
			add_escaped(j, "match", bytes + before, len);
			for (size_t i = 0; i < len; i++)
				ck_buf_printf(&hx, "%02x", bytes[before + i]);
			json_object_object_add(j, "hex", json_object_new_string_len(hx.data ? hx.data : "",
										     (int) hx.len));
			if (o->context) {
				add_escaped(j, "before", bytes, before);
				add_escaped(j, "after", bytes + before + len, after);
			}
		}
		ck_buf_puts(b, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		if (s->several)	/* as grep names the file when it has several */
			ck_buf_printf(b, "%s\t", s->archive);
		if (s->container)
			ck_buf_printf(b, "%s/", s->container);
		ck_buf_printf(b, "%" PRIu32 "\t%s\t", s->pid, s->comm);
		if (loc)
			ck_buf_printf(b, "0x%" PRIx64 "\t0x%" PRIx64 "\t%s", loc->addr, loc->pages_off,
				      loc->maps ? loc->maps : "-");
		else
			ck_buf_puts(b, "-\t-\t-");
		if (h && h->rule) {
			put_field_sep(b);
			ck_buf_printf(b, "%s%s%s", h->rule, h->ident ? ":" : "", h->ident ? h->ident : "");
		}
		if (bytes) {
			if (o->context) {
				put_field_sep(b);
				search_escape(b, bytes, before);
			}
			put_field_sep(b);
			search_escape(b, bytes + before, len);
			if (h && h->len > len)	/* --max-match-bytes: what was left out */
				ck_buf_printf(b, "...[%" PRIu64 " bytes]", h->len);
			if (o->context) {
				put_field_sep(b);
				search_escape(b, bytes + before + len, after);
			}
		}
	}
	ck_buf_putc(b, '\n');
	if (!b->oom)
		fwrite(b->data, 1, b->len, stdout);
}

/* Read [from, from + n) into @buf: true when every byte was read. */
static bool read_all(const struct mem_space *m, uint64_t from, uint8_t *buf, uint64_t n)
{
	ssize_t got = n ? mem_read(m, from, buf, (size_t) n) : 0;

	return got >= 0 && (uint64_t) got == n;
}

int search_on_hit(void *ctx, const struct search_hit *h)
{
	struct search_run *s = ctx;
	const struct mem_space *m = s->p->mem;
	struct search_loc loc = { 0 };
	uint64_t seg_start, seg_end, before, shown, after, end = h->addr + h->len;
	_cleanup_free_ uint8_t *bytes = NULL;

	s->count++;
	s->total++;
	if (h->rule && !h->ident) {
		search_emit(s, NULL, h, NULL, 0, 0, 0);
		return s->o->has_max && s->count >= s->o->max_count;
	}
	search_segment(m, h->addr, &seg_start, &seg_end);
	before = CK_MIN(s->o->context, h->addr - seg_start);
	after = CK_MIN(s->o->context, seg_end > end ? seg_end - end : 0);
	/* the match itself only up to --max-match-bytes */
	shown = s->o->max_match_bytes ? CK_MIN(h->len, s->o->max_match_bytes) : h->len;
	bytes = malloc((size_t) (before + shown + after) + 1);
	if (bytes && !(read_all(m, h->addr - before, bytes, before + shown) &&
		       read_all(m, end, bytes + before + shown, after)))
		free(TAKE_PTR(bytes));
	if (search_loc_addr(s->ck, s->p, h->addr, &loc) < 0)
		loc = (struct search_loc) { .addr = h->addr };
	if (bytes)
		search_emit(s, &loc, h, bytes, (size_t) before, (size_t) shown, (size_t) after);
	else
		search_emit(s, &loc, h, NULL, 0, 0, 0);
	search_loc_done(&loc);
	return s->o->has_max && s->count >= s->o->max_count;
}

void search_on_err(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err)
{
	struct search_run *s = ctx;

	fflush(stdout);
	fprintf(stderr, "%s: %s: %s%spid %" PRIu32 ": memory 0x%" PRIx64 "-0x%" PRIx64 " (%s) cannot be read: %s; skipped\n",
		s->o->prog, s->archive, s->container ? s->container : "", s->container ? ": " : "", s->p->pid, addr,
		addr + len, run && run->pages ? run->pages->path : "no pages image", strerror(-err));
	s->error = true;
}


void search_on_limit(void *ctx, const struct search_limit *l)
{
	struct search_run *s = ctx;
	const struct search_opts *o = s->o;
	const char *where = o->where ? o->where[l->pattern] : NULL;

	fflush(stdout);
	fprintf(stderr, "%s: %s: %s%spid %" PRIu32 ": pattern %zu '%s'%s%s%s: %s reached at 0x%" PRIx64
		": matches starting in 0x%" PRIx64 "-0x%" PRIx64 " not searched for%s\n",
		o->prog, s->archive, s->container ? s->container : "", s->container ? ": " : "", s->p->pid,
		l->pattern + 1, o->pats[l->pattern], where ? " (" : "", where ? where : "", where ? ")" : "", l->what,
		l->addr, l->addr, l->end, l->gave_up ? "; given up for this process" : "");
	s->error = true;
}
