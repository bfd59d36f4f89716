/* SPDX-License-Identifier: Apache-2.0 */
/* The comparison as a whole (see diff.h) and the helpers that build events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diff-priv.h"

void diff_ev(struct diff_ctx *x, struct diff_event *ev, const char *kind)
{
	*ev = (struct diff_event) { .kind = kind, .group = x->group, .container = x->o->container };
	if (x->group == DIFF_GROUP_PROC) {
		ev->pid = x->pid;
		ev->comm = x->comm;
	}
}

static struct diff_field *field(struct diff_event *ev, const char *key, enum diff_type type)
{
	struct diff_field *f;

	if (ev->n >= DIFF_FIELDS_MAX)
		return NULL;
	f = &ev->f[ev->n++];
	*f = (struct diff_field) { .key = key, .type = type };
	return f;
}

void diff_strn(struct diff_event *ev, const char *key, const char *s, size_t len)
{
	struct diff_field *f = field(ev, key, DIFF_STR);

	if (f) {
		f->s = s ? s : "";
		f->len = s ? len : 0;
	}
}

void diff_str(struct diff_event *ev, const char *key, const char *s)
{
	diff_strn(ev, key, s, s ? strlen(s) : 0);
}

void diff_num(struct diff_event *ev, const char *key, uint64_t n)
{
	struct diff_field *f = field(ev, key, DIFF_NUM);

	if (f)
		f->n = n;
}

void diff_addr(struct diff_event *ev, const char *key, uint64_t a)
{
	struct diff_field *f = field(ev, key, DIFF_ADDR);

	if (f)
		f->n = a;
}

void diff_none(struct diff_event *ev, const char *key)
{
	field(ev, key, DIFF_NONE);
}

int diff_emit(struct diff_ctx *x, const struct diff_event *ev)
{
	x->n++;
	return x->o->emit(x->o->ctx, ev);
}

int diff_change(struct diff_ctx *x, struct diff_event *ev, const char *name, const char *from, const char *to)
{
	diff_str(ev, "field", name);
	if (from)
		diff_str(ev, "from", from);
	else
		diff_none(ev, "from");
	if (to)
		diff_str(ev, "to", to);
	else
		diff_none(ev, "to");
	return diff_emit(x, ev);
}

void diff_warn(struct diff_ctx *x, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	x->trouble = true;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r >= 0 && x->o->warn)
		x->o->warn(x->o->warn_ctx, msg);
}

void diff_skip_add(struct diff_ctx *x, struct diff_skip *s, const char *name, int ra, int rb)
{
	if (!s->err) {
		s->err = ra < 0 ? ra : rb;
		s->path = ra < 0 ? x->a->path : x->b->path;
	}
	ck_buf_printf(&s->names, "%s%s", s->names.len ? ", " : "", name);
}

void diff_skip_say(struct diff_ctx *x, struct diff_skip *s, uint32_t pid)
{
	if (s->names.len)
		diff_warn(x, "%s: pid %u: %s not compared: %s", s->path, pid, s->names.data, strerror(-s->err));
	ck_buf_done(&s->names);
	*s = (struct diff_skip) { 0 };
}

int diff_run(const struct diff_side *a, const struct diff_side *b, const struct diff_opts *o, bool *ret_trouble)
{
	struct diff_ctx x = { .a = a, .b = b, .o = o };
	int rc;

	rc = diff_net_new(&x);
	rc = rc ?: diff_procs(&x);
	if (rc == 0) {
		x.group = DIFF_GROUP_SOCKETS;
		rc = diff_net_rest(&x);
	}
	if (rc == 0) {
		x.group = DIFF_GROUP_FILES;
		rc = diff_files(&x);
	}
	if (rc == 0) {
		x.group = DIFF_GROUP_CONTAINER;
		rc = diff_container(&x);
	}
	diff_net_free(x.net);
	if (ret_trouble)
		*ret_trouble = x.trouble;
	return rc < 0 ? rc : (int) CK_MIN(x.n, (size_t) INT32_MAX);
}
