/* SPDX-License-Identifier: Apache-2.0 */
/* For fuzz-ckpt and fuzz-elf: turn the input into a plain tar in a memfd.
 * The input is a list of members, each introduced by the line
 * "\0@@member:NAME\n" and holding every byte up to the next such line, so
 * that libFuzzer's byte mutations change image contents and sizes without
 * breaking the container. NAME is the member path ("checkpoint/core-1.img").
 * scripts/fuzz writes the seeds from the fixtures. */
#ifndef CK_FUZZ_TAR_H
#define CK_FUZZ_TAR_H

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arc.h"
#include "fuzz.h"

#define FUZZ_TAR_SEP "\0@@member:"
#define FUZZ_TAR_SEP_LEN 10

static const uint8_t *fuzz_tar_next(const uint8_t *p, const uint8_t *end)
{
	while (p + FUZZ_TAR_SEP_LEN <= end) {
		const uint8_t *z = memchr(p, 0, (size_t) (end - p));

		if (!z || z + FUZZ_TAR_SEP_LEN > end)
			break;
		if (!memcmp(z, FUZZ_TAR_SEP, FUZZ_TAR_SEP_LEN))
			return z;
		p = z + 1;
	}
	return end;
}

/* Build the tar; returns a memfd or -1 (input without members). */
static int fuzz_tar_build(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size, *p = fuzz_tar_next(data, end);
	struct archive *w;
	int fd, members = 0;

	fd = fuzz_memfd("fuzz-tar", NULL, 0);
	w = archive_write_new();
	if (!w || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open_fd(w, fd) != ARCHIVE_OK)
		fuzz_fail("archive_write: %s", w ? archive_error_string(w) : "ENOMEM");
	while (p < end) {
		const uint8_t *name = p + FUZZ_TAR_SEP_LEN, *nl, *body, *next;
		char path[300];
		struct archive_entry *e;
		size_t nlen;

		nl = memchr(name, '\n', (size_t) (end - name));
		if (!nl)
			break;
		body = nl + 1;
		next = fuzz_tar_next(body, end);
		nlen = CK_MIN((size_t) (nl - name), (size_t) 200);
		if (nlen == 0 || memchr(name, '\0', nlen)) {
			p = next;
			continue;
		}
		snprintf(path, sizeof(path), "%.*s", (int) nlen, (const char *) name);
		e = archive_entry_new();
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t) (next - body));
		if (archive_write_header(w, e) == ARCHIVE_OK && next > body)
			archive_write_data(w, body, (size_t) (next - body));
		archive_entry_free(e);
		members++;
		p = next;
	}
	archive_write_close(w);
	archive_write_free(w);
	if (!members) {
		close(fd);
		return -1;
	}
	return fd;
}

/* arc_open() the tar built from the input; NULL when it does not open. */
static struct arc *fuzz_tar_open(const uint8_t *data, size_t size, int *ret_fd)
{
	struct arc_opts opts = { .cache_dir = "/tmp" };
	struct arc *a = NULL;
	char path[64], *err = NULL;
	int fd = fuzz_tar_build(data, size);

	if (fd < 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (arc_open(path, &opts, &a, &err) < 0) {
		free(err);
		close(fd);
		return NULL;
	}
	*ret_fd = fd;
	return a;
}

#endif
