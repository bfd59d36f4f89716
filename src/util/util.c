/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <errno.h>
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

char *ck_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

int ck_parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t) (*s - '0');
	}
	*ret = v;
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
