/* SPDX-License-Identifier: Apache-2.0 */
/* Printing events (diff.h). Text: a heading per process ("process 1
 * (nginx)"), then "sockets", "files", "container.json", each event on an
 * indented line: its kind, then its fields ("start-end" for an address
 * range, "FIELD: FROM -> TO" for a change, "key=value" otherwise), values
 * escaped as --search escapes them and quoted when they hold a space.
 * JSON: one object a line, "kind", "container" (pods), "pid", then the
 * fields; addresses as "0x..." strings, absent values as null. */
#include <errno.h>
#include <inttypes.h>
#include <json.h>
#include <string.h>

#include "diff.h"
#include "search.h"

DEFINE_CLEANUP(out_json_putp, json_object, json_object_put)

void diff_out_done(struct diff_out *o)
{
	free(o->container);
	o->container = NULL;
}

/* One value as text. */
static void put_value(struct ck_buf *b, const struct diff_field *f)
{
	size_t at = b->len;

	switch (f->type) {
	case DIFF_NUM:
		ck_buf_printf(b, "%" PRIu64, f->n);
		return;
	case DIFF_ADDR:
		ck_buf_printf(b, "%" PRIx64, f->n);
		return;
	case DIFF_NONE:
		ck_buf_puts(b, "(none)");
		return;
	case DIFF_STR:
		break;
	}
	search_escape(b, (const uint8_t *) f->s, f->len);
	if (b->oom || (b->len > at && !memchr(b->data + at, ' ', b->len - at) && !memchr(b->data + at, '"', b->len - at)))
		return;
	/* quoted: "" for an empty value, or one that holds spaces */
	if (ck_buf_putc(b, '"') < 0)
		return;
	memmove(b->data + at + 1, b->data + at, b->len - at - 1);
	b->data[at] = '"';
	ck_buf_putc(b, '"');
}

/* The heading of @ev's group, when it is not the last one's. */
static void heading(struct diff_out *o, const struct diff_event *ev, struct ck_buf *b)
{
	const char *c = ev->container;

	if (o->started && o->group == ev->group && o->pid == ev->pid &&
	    !strcmp(o->container ?: "", c ?: ""))
		return;
	o->started = true;
	o->group = ev->group;
	o->pid = ev->pid;
	free(o->container);
	o->container = c ? strdup(c) : NULL;
	if (c)
		ck_buf_printf(b, "container %s: ", c);
	switch (ev->group) {
	case DIFF_GROUP_PROC:
		ck_buf_printf(b, "process %u", ev->pid);
		if (ev->comm && *ev->comm) {
			ck_buf_puts(b, " (");
			search_escape(b, (const uint8_t *) ev->comm, strlen(ev->comm));
			ck_buf_putc(b, ')');
		}
		ck_buf_putc(b, '\n');
		break;
	case DIFF_GROUP_SOCKETS:
		ck_buf_puts(b, "sockets held by no process\n");
		break;
	case DIFF_GROUP_FILES:
		ck_buf_puts(b, "files\n");
		break;
	case DIFF_GROUP_CONTAINER:
		ck_buf_puts(b, "container.json\n");
		break;
	}
}

static bool key_is(const struct diff_field *f, const char *key)
{
	return !strcmp(f->key, key);
}

static bool same_value(const struct diff_field *a, const struct diff_field *b)
{
	return a->type == b->type && a->n == b->n && a->len == b->len && (!a->len || !memcmp(a->s, b->s, a->len));
}

/* "from_X" followed by "to_X". */
static bool is_pair(const struct diff_field *f, const struct diff_field *next)
{
	return next && !strncmp(f->key, "from_", 5) && !strncmp(next->key, "to_", 3) && !strcmp(f->key + 5, next->key + 3);
}

static void text_event(struct diff_out *o, const struct diff_event *ev, struct ck_buf *b)
{
	heading(o, ev, b);
	ck_buf_printf(b, "  %s", ev->kind);
	for (size_t i = 0; i < ev->n; i++) {
		const struct diff_field *f = &ev->f[i], *next = i + 1 < ev->n ? &ev->f[i + 1] : NULL;

		ck_buf_putc(b, ' ');
		if (key_is(f, "start") && next && key_is(next, "end")) {
			ck_buf_printf(b, "%" PRIx64 "-%" PRIx64, f->n, next->n);
			i++;
		} else if (key_is(f, "field") || key_is(f, "key")) {
			put_value(b, f);
			ck_buf_putc(b, ':');
		} else if (key_is(f, "from") || key_is(f, "to")) {
			ck_buf_puts(b, key_is(f, "to") ? "-> " : "");
			put_value(b, f);
		} else if (is_pair(f, next)) {
			ck_buf_printf(b, "%s=", f->key + 5);
			put_value(b, f);
			if (!same_value(f, next)) {
				ck_buf_puts(b, " -> ");
				put_value(b, next);
			}
			i++;
		} else {
			ck_buf_printf(b, "%s=", f->key);
			put_value(b, f);
		}
	}
	ck_buf_putc(b, '\n');
	if (ev->len) {
		ck_buf_hexdump(b, ev->from, ev->len, ev->at, "    - ");
		ck_buf_hexdump(b, ev->to, ev->len, ev->at, "    + ");
	}
}

static json_object *hex_string(const uint8_t *p, size_t len)
{
	char s[2 * DIFF_BYTES_MAX + 1];

	len = CK_MIN(len, (size_t) DIFF_BYTES_MAX);
	for (size_t i = 0; i < len; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * len] = '\0';
	return json_object_new_string(s);
}

static int json_event(const struct diff_event *ev, struct ck_buf *b)
{
	_cleanup_(out_json_putp) json_object *o = json_object_new_object();
	char addr[24];

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "kind", json_object_new_string(ev->kind));
	if (ev->container)
		json_object_object_add(o, "container", json_object_new_string(ev->container));
	if (ev->group == DIFF_GROUP_PROC)
		json_object_object_add(o, "pid", json_object_new_int64(ev->pid));
	for (size_t i = 0; i < ev->n; i++) {
		const struct diff_field *f = &ev->f[i];
		json_object *v = NULL;

		if (f->type == DIFF_STR)
			v = json_object_new_string_len(f->s, (int) CK_MIN(f->len, (size_t) INT32_MAX));
		else if (f->type == DIFF_NUM)
			v = json_object_new_uint64(f->n);
		else if (f->type == DIFF_ADDR && snprintf(addr, sizeof(addr), "0x%" PRIx64, f->n) > 0)
			v = json_object_new_string(addr);
		json_object_object_add(o, f->key, v);
	}
	if (ev->len) {
		snprintf(addr, sizeof(addr), "0x%" PRIx64, ev->at);
		json_object_object_add(o, "at", json_object_new_string(addr));
		json_object_object_add(o, "from", hex_string(ev->from, ev->len));
		json_object_object_add(o, "to", hex_string(ev->to, ev->len));
	}
	ck_buf_puts(b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return ck_buf_putc(b, '\n');
}

int diff_out_event(void *ctx, const struct diff_event *ev)
{
	struct diff_out *o = ctx;
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	if (o->json)
		json_event(ev, &b);
	else
		text_event(o, ev, &b);
	if (b.oom)
		return -ENOMEM;
	if (fwrite(b.data, 1, b.len, o->f) != b.len)
		return -EIO;
	return 0;
}
