/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ck_freep(void *p)
{
	free(*(void **) p);
}

void ck_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static int buf_reserve(struct ck_buf *b, size_t extra)
{
	size_t need, cap;
	char *n;

	if (b->oom)
		return -ENOMEM;
	if (extra > SIZE_MAX - b->len - 1)
		goto out_oom;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	n = realloc(b->data, cap);
	if (!n)
		goto out_oom;
	b->data = n;
	b->cap = cap;
	return 0;
out_oom:
	b->oom = true;
	return -ENOMEM;
}

int ck_buf_add(struct ck_buf *b, const void *p, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ck_buf_puts(struct ck_buf *b, const char *s)
{
	return ck_buf_add(b, s, strlen(s));
}

int ck_buf_putc(struct ck_buf *b, char c)
{
	return ck_buf_add(b, &c, 1);
}

int ck_buf_vprintf(struct ck_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, rc;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	rc = buf_reserve(b, (size_t) n);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	b->len += (size_t) n;
	return 0;
}

int ck_buf_printf(struct ck_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ck_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void ck_buf_drain_at(struct ck_buf *b, bool force)
{
	int rc;

	if (!b->sink || b->oom || !b->len || (!force && b->len < CK_BUF_DRAIN_MIN))
		return;
	rc = b->sink(b->sink_ctx, b->data, b->len);
	if (rc < 0) {
		b->sink_err = rc;
		b->oom = true;
		return;
	}
	b->sunk += b->len;
	b->len = 0;
	b->data[0] = '\0';
}

void ck_buf_done(struct ck_buf *b)
{
	if (!b)
		return;
	free(b->data);
	*b = (struct ck_buf) { 0 };
}

char *ck_buf_steal(struct ck_buf *b, size_t *ret_len)
{
	char *p = b->data;

	if (ret_len)
		*ret_len = b->len;
	*b = (struct ck_buf) { 0 };
	return p;
}

size_t ck_lower_bound(size_t n, bool (*before)(const void *ctx, size_t i), const void *ctx)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (before(ctx, mid))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ending_key {
	uint64_t (*end_of)(const void *ctx, size_t i);
	const void *ctx;
	uint64_t pos;
};

static bool ends_before(const void *ctx, size_t i)
{
	const struct ending_key *k = ctx;

	return k->end_of(k->ctx, i) <= k->pos;
}

size_t ck_first_ending_after(size_t n, uint64_t (*end_of)(const void *ctx, size_t i), const void *ctx,
			     uint64_t pos)
{
	struct ending_key k = { end_of, ctx, pos };

	return ck_lower_bound(n, ends_before, &k);
}

int ck_tmpfile(const char *dir, const char *prefix, const char **ret_dir)
{
	char *tmpl = NULL;
	int fd, e;

	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	if (ret_dir)
		*ret_dir = dir;
	/* An O_TMPFILE file has no name, so it can't be seen or left behind. */
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (asprintf(&tmpl, "%s/.%s-XXXXXX", dir, prefix) < 0)
		return -ENOMEM;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0 && unlink(tmpl) < 0) {
		e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	e = errno;
	free(tmpl);
	return fd >= 0 ? fd : -e;
}

int ck_err(char **ret_error, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error || *ret_error)
		return rc;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return rc;
}

char *ck_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

int ck_parse_u64(const char *s, uint64_t *ret)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
		base = 16;
		s += 2;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned) (*s - '0');
		else if (base == 16 && ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f'))
			d = (unsigned) ((*s | 0x20) - 'a' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*ret = v;
	return 0;
}

int ck_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	_cleanup_free_ char *num = NULL;
	const char *u;
	size_t len = s ? strlen(s) : 0;
	unsigned shift = 0;
	uint64_t v;
	int rc;

	/* NUMBER[K|M|G|T][iB|B]: the suffixes are powers of 1024 */
	if (len > 2 && !strcmp(s + len - 2, "iB"))
		len -= 2;
	else if (len > 1 && s[len - 1] == 'B' && len > 1 && strchr(units, s[len - 2]))
		len -= 1;
	if (len > 1 && (u = strchr(units, s[len - 1] & ~0x20)) && *u) {
		shift = 10 * (unsigned) (u - units + 1);
		len--;
	}
	num = strndup(s ? s : "", len);
	if (!num)
		return -ENOMEM;
	rc = ck_parse_u64(num, &v);
	if (rc < 0)
		return rc;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

int ck_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const char *) buf + n;
		len -= (size_t) n;
		off += (off_t) n;
	}
	return 0;
}

ssize_t ck_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *) buf + done, len - done, off + (off_t) done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t) n;
	}
	return (ssize_t) done;
}

struct forest_key {
	uint32_t pid;
	size_t i;
};

static int forest_key_cmp(const void *x, const void *y)
{
	const struct forest_key *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

struct forest_find {
	const struct forest_key *keys;
	uint32_t pid;
};

static bool forest_before(const void *ctx, size_t i)
{
	const struct forest_find *q = ctx;

	return q->keys[i].pid < q->pid;
}

static uint32_t forest_u32(const void *base, size_t i, size_t size, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *) base + i * size + off, sizeof(v));
	return v;
}

/* Children grouped by parent, in array order (a counting sort). */
static void forest_kids(struct ck_forest *f, const size_t *parent, size_t *fill, size_t n)
{
	size_t i;

	memset(f->kid_start, 0, (n + 2) * sizeof(*f->kid_start));
	for (i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			f->kid_start[parent[i] + 1]++;
	for (i = 0; i < n; i++)
		f->kid_start[i + 1] += f->kid_start[i];
	for (i = 0; i < n; i++)
		fill[i] = f->kid_start[i];
	for (i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			f->kids[fill[parent[i]]++] = i;
}

void ck_forest_done(struct ck_forest *f)
{
	free(f->roots);
	free(f->kids);
	free(f->kid_start);
	*f = (struct ck_forest) { 0 };
}

int ck_forest_build(struct ck_forest *f, const void *base, size_t n, size_t size, size_t pid_off,
		    size_t ppid_off)
{
	_cleanup_free_ struct forest_key *keys = NULL;
	_cleanup_free_ size_t *parent = NULL, *fill = NULL, *stack = NULL;
	_cleanup_free_ bool *seen = NULL, *cut = NULL;
	const size_t none = SIZE_MAX;
	size_t i, top;

	*f = (struct ck_forest) { 0 };
	keys = calloc(n + 1, sizeof(*keys));
	parent = calloc(n + 1, sizeof(*parent));
	fill = calloc(n + 1, sizeof(*fill));
	stack = calloc(n + 1, sizeof(*stack));
	seen = calloc(n + 1, sizeof(*seen));
	cut = calloc(n + 1, sizeof(*cut));
	f->roots = calloc(n + 1, sizeof(*f->roots));
	f->kids = calloc(n + 1, sizeof(*f->kids));
	f->kid_start = calloc(n + 2, sizeof(*f->kid_start));
	if (!keys || !parent || !fill || !stack || !seen || !cut || !f->roots || !f->kids || !f->kid_start) {
		ck_forest_done(f);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		keys[i] = (struct forest_key) { forest_u32(base, i, size, pid_off), i };
	if (n > 1)
		qsort(keys, n, sizeof(*keys), forest_key_cmp);
	/* parent links, by binary search over the pids (the first of equal ones) */
	for (i = 0; i < n; i++) {
		uint32_t pid = forest_u32(base, i, size, pid_off), ppid = forest_u32(base, i, size, ppid_off);
		struct forest_find q = { keys, ppid };
		size_t lo;

		parent[i] = none;
		if (ppid == pid)
			continue;
		lo = ck_lower_bound(n, forest_before, &q);
		if (lo < n && keys[lo].pid == ppid)
			parent[i] = keys[lo].i;
	}
	forest_kids(f, parent, fill, n);
	/* roots, then whatever they do not reach (cycles) */
	for (i = 0; i < n; i++)
		if (parent[i] == none)
			f->roots[f->n_roots++] = i;
	for (size_t pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (pass == 0 ? parent[i] != none : seen[i])
				continue;
			if (pass == 1) {
				if (!f->n_cut)
					for (size_t j = 0; j < n; j++)
						f->n_unreached += !seen[j];
				f->roots[f->n_roots++] = i;
				f->n_cut++;
				cut[i] = true;
			}
			seen[i] = true;
			stack[0] = i;
			top = 1;
			while (top) {
				size_t p = stack[--top];

				for (size_t k = f->kid_start[p]; k < f->kid_start[p + 1]; k++)
					if (!seen[f->kids[k]]) {
						seen[f->kids[k]] = true;
						stack[top++] = f->kids[k];
					}
			}
		}
	}
	/* a cycle's new root is no longer its parent's child */
	if (f->n_cut) {
		for (i = 0; i < n; i++)
			if (cut[i])
				parent[i] = none;
		forest_kids(f, parent, fill, n);
	}
	return 0;
}

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;

		v |= (uint64_t) (c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

int ck_pb_next(const uint8_t **p, const uint8_t *end, struct ck_pb_field *f)
{
	uint64_t tag, n;

	f->start = *p;
	if (pb_varint(p, end, &tag) < 0)
		return -EBADMSG;
	f->id = tag >> 3;
	f->wt = tag & 7;
	f->data = NULL;
	f->len = 0;
	switch (f->wt) {
	case 0:
		if (pb_varint(p, end, &n) < 0)
			return -EBADMSG;
		break;
	case 1:
	case 5:
		n = f->wt == 1 ? 8 : 4;
		if ((uint64_t) (end - *p) < n)
			return -EBADMSG;
		f->data = *p;
		f->len = (size_t) n;
		*p += n;
		break;
	case 2:
		if (pb_varint(p, end, &n) < 0 || (uint64_t) (end - *p) < n)
			return -EBADMSG;
		f->data = *p;
		f->len = (size_t) n;
		*p += n;
		break;
	default:	/* groups: protobuf-c does not take them either */
		return -EBADMSG;
	}
	f->end = *p;
	return 0;
}

void ck_buf_hexdump(struct ck_buf *b, const uint8_t *p, size_t len, uint64_t addr, const char *indent)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = CK_MIN(len - off, (size_t) 16);

		ck_buf_printf(b, "%s%016" PRIx64 " ", indent ? indent : "", addr + off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				ck_buf_putc(b, ' ');
			if (i < n)
				ck_buf_printf(b, " %02x", p[off + i]);
			else
				ck_buf_puts(b, "   ");
		}
		ck_buf_puts(b, "  |");
		for (size_t i = 0; i < n; i++)
			ck_buf_putc(b, p[off + i] >= 0x20 && p[off + i] < 0x7f ? (char) p[off + i] : '.');
		ck_buf_puts(b, "|\n");
	}
}
