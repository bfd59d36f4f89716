/* SPDX-License-Identifier: Apache-2.0 */
/* util: the one number and size parser of the command line, the search
 * for the extent holding an offset, and the writers' output files (created whole or not at all, never over what
 * exists unless forced, and then only over a regular file). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "out.h"
#include "triage.h"
#include "tap.h"
#include "util.h"

static void test_numbers(void)
{
	static const struct { const char *s; int rc; uint64_t v; } num[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "0x1000", 0, 4096 }, { "0XfF", 0, 255 },
		{ "010", 0, 10 }, { "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 }, { "", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "12a", -EINVAL, 0 }, { "0x", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "1K", -EINVAL, 0 },
	};
	static const struct { const char *s; int rc; uint64_t v; } size[] = {
		{ "4096", 0, 4096 }, { "4K", 0, 4096 }, { "4k", 0, 4096 }, { "4KiB", 0, 4096 },
		{ "4KB", 0, 4096 }, { "3M", 0, 3 << 20 }, { "4G", 0, 4ull << 30 }, { "2T", 0, 2ull << 40 },
		{ "0x10M", 0, 16 << 20 }, { "16777216T", -ERANGE, 0 }, { "K", -EINVAL, 0 }, { "4X", -EINVAL, 0 },
		{ "4 K", -EINVAL, 0 }, { "4B", -EINVAL, 0 }, { "-4K", -EINVAL, 0 }, { "", -EINVAL, 0 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		int rc = ck_parse_u64(num[i].s, &v);

		CHECK(rc == num[i].rc && (rc || v == num[i].v), "ck_parse_u64(\"%s\"): %d", num[i].s, rc);
	}
	for (size_t i = 0; i < sizeof(size) / sizeof(size[0]); i++) {
		int rc = ck_parse_size(size[i].s, &v);

		CHECK(rc == size[i].rc && (rc || v == size[i].v), "ck_parse_size(\"%s\"): %d", size[i].s, rc);
	}
}

/* Write @s through ck_out to @path; returns ck_out_open's or commit's rc. */
static int out_write(const char *path, bool force, const char *s)
{
	struct ck_out o;
	_cleanup_free_ char *err = NULL;
	int rc = ck_out_open(&o, path, force, &err);

	if (rc == 0 && write(o.fd, s, strlen(s)) != (ssize_t) strlen(s))
		rc = -EIO;
	if (rc == 0)
		rc = ck_out_commit(&o, &err);
	if (rc < 0 && !(err && strstr(err, path)))
		rc = -EPROTO;	/* every failure names the path */
	ck_out_done(&o);
	return rc;
}

static bool file_is(const char *path, const char *want)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n >= 0 && !strcmp(buf, want);
}

static int count_entries(const char *dir)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void test_out(void)
{
	char dir[] = "/tmp/ckptfs-test-util-XXXXXX", path[256], link_path[256], fifo[256], dev[256];
	struct stat st;

	if (!mkdtemp(dir)) {
		SKIP("mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(out_write(path, false, "one") == 0 && file_is(path, "one"), "a new name is created");
	CHECK(out_write(path, false, "two") == -EEXIST && file_is(path, "one"), "an existing file is kept");
	CHECK(out_write(path, true, "three") == 0 && file_is(path, "three"), "--force replaces a regular file");
	CHECK(symlink("out", link_path) == 0 && out_write(link_path, true, "x") == -EEXIST &&
	      lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode) && file_is(path, "three"),
	      "a symlink is never replaced nor followed, even with force");
	CHECK(mkfifo(fifo, 0600) == 0 && out_write(fifo, true, "x") == -EEXIST && lstat(fifo, &st) == 0 &&
	      S_ISFIFO(st.st_mode), "a FIFO is never replaced");
	CHECK(out_write(dir, true, "x") == -EEXIST, "a directory is never replaced");
	/* a device node of our own (a copy of /dev/null's numbers), never the host's */
	snprintf(dev, sizeof(dev), "%s/null", dir);
	if (mknod(dev, S_IFCHR | 0600, makedev(1, 3)) == 0)
		CHECK(out_write(dev, true, "x") == -EEXIST && lstat(dev, &st) == 0 && S_ISCHR(st.st_mode),
		      "a device is never replaced");
	else
		SKIP("mknod: %s", strerror(errno));
	CHECK(count_entries(dir) == 3 + (lstat(dev, &st) == 0), "nothing else is left in the directory (%d entries)",
	      count_entries(dir));
	unlink(dev);
	unlink(path);
	unlink(link_path);
	unlink(fifo);
	rmdir(dir);
}

/* The one hex/ASCII excerpt, and the one rule for secrets (src/triage). */
static void test_report_helpers(void)
{
	struct ck_buf b = { 0 };
	const char *names[] = { "DB_PASSWORD", "github_token", "AWS_SECRET_ACCESS_KEY", "STRIPE_KEY", "apikey" };
	const char *plain[] = { "PATH", "HOME", "KEYBOARD", "LANG" };

	ck_buf_hexdump(&b, (const uint8_t *) "ELF\x7f\0abcdefghijklmnopq", 22, 0x7f00, "  ");
	CHECK(b.data && !strcmp(b.data, "  0000000000007f00  45 4c 46 7f 00 61 62 63  64 65 66 67 68 69 6a 6b  |ELF..abcdefghijk|\n"
				    "  0000000000007f10  6c 6d 6e 6f 70 71                                 |lmnopq|\n"),
	      "hexdump: two lines as hexdump -C, the second short");
	b.len = 0;
	triage_mask(&b, "AKIAIOSFODNN7EXAMPLE", 20, false);
	ck_buf_putc(&b, '\0');
	CHECK(!strcmp(b.data, "AKIA... (20 bytes)"), "mask: 4 characters and the length ('%s')", b.data);
	b.len = 0;
	triage_mask(&b, "abc", 3, false);
	ck_buf_putc(&b, '\0');
	CHECK(!strcmp(b.data, "... (3 bytes)"), "mask: nothing of a short value ('%s')", b.data);
	ck_buf_done(&b);
	for (size_t i = 0; i < 5; i++)
		CHECK(triage_secret_name(names[i], strlen(names[i])), "%s names a secret", names[i]);
	for (size_t i = 0; i < 4; i++)
		CHECK(!triage_secret_name(plain[i], strlen(plain[i])), "%s names no secret", plain[i]);
}

static uint64_t extent_end(const void *ctx, size_t i)
{
	const uint64_t (*x)[2] = ctx;

	return x[i][0] + x[i][1];
}

/* The one search for the extent that holds an offset, or the next one. */
static void test_extents(void)
{
	/* [10, 20) [20, 25) [40, 41) [100, 2^64 - 1) */
	static const uint64_t x[][2] = { { 10, 10 }, { 20, 5 }, { 40, 1 }, { 100, UINT64_MAX - 100 } };
	static const struct { uint64_t pos; size_t want; } q[] = {
		{ 0, 0 }, { 10, 0 }, { 19, 0 }, { 20, 1 }, { 24, 1 }, { 25, 2 }, { 39, 2 }, { 40, 2 },
		{ 41, 3 }, { 100, 3 }, { UINT64_MAX - 1, 3 }, { UINT64_MAX, 4 },
	};

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		size_t got = ck_first_ending_after(4, extent_end, x, q[i].pos);

		CHECK(got == q[i].want, "first extent ending after %llu: %zu (want %zu)",
		      (unsigned long long) q[i].pos, got, q[i].want);
	}
	CHECK(ck_first_ending_after(0, extent_end, x, 5) == 0, "no extents: 0");
	CHECK(ck_first_ending_after(3, extent_end, x, 41) == 3, "past the last of 3: 3");
}

int main(void)
{
	test_numbers();
	test_extents();
	test_report_helpers();
	test_out();
	return tap_done();
}
