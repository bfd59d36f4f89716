/* SPDX-License-Identifier: Apache-2.0 */
/* Container image metadata: index.json, nested indexes, manifests, configs,
 * containerd's checkpoint index and docker-archive's manifest.json. The
 * input is a list of members as in fuzz-tar.h ("\0@@member:NAME\n" then the
 * bytes), written as a plain tar that arc_open() reads as an oci-archive or
 * docker-archive. So that mutated JSON still reaches past the digest checks,
 * members may name each other: member k (k = 0..9, a..z in input order) is
 * referred to as "$dK" (its "sha256:<hex>"), "$hK" (the hex alone) and "$sK"
 * (its size in bytes), written in the text of any member before it and in
 * its own name ("blobs/sha256/$h3"). Members are finished from the last to
 * the first, so each sees the final bytes of those after it. A member named
 * "@image" is not written: its first line is -o image=. Then every
 * member of the result is listed and read, and the image description must
 * hold only strings. tests/fuzz/corpus/fuzz-oci/ holds seeds of every form. */
#include <archive.h>
#include <archive_entry.h>

#include "arc-oci.h"
#include "fuzz.h"
/* only its member splitting is used here */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "fuzz-tar.h"

#define FUZZ_OCI_MAX 36
static const char fuzz_keys[] = "0123456789abcdefghijklmnopqrstuvwxyz";

struct fuzz_member {
	char name[300];
	uint8_t *data;
	size_t len;
	char digest[ARC_DIGEST_SIZE];	/* "sha256:<hex>" */
};

/* The member @k refers to ('0'..'9', 'a'..'z'), or SIZE_MAX. */
static size_t fuzz_key(uint8_t k)
{
	const char *p = k ? memchr(fuzz_keys, k, sizeof(fuzz_keys) - 1) : NULL;

	return p ? (size_t) (p - fuzz_keys) : SIZE_MAX;
}

/* @src (@n bytes) with "$dK", "$hK", "$sK" replaced for the finished
 * members: those after @self, and @self itself when @own. */
static void fuzz_subst(const uint8_t *src, size_t n, const struct fuzz_member *m, size_t nm, size_t self, bool own,
		       struct ck_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = i + 2 < n && src[i] == '$' && strchr("dhs", src[i + 1]) && src[i + 1] ? fuzz_key(src[i + 2])
												    : SIZE_MAX;

		if (k >= nm || k < self || (k == self && !own)) {
			ck_buf_putc(out, (char) src[i]);
			continue;
		}
		if (src[i + 1] == 's')
			ck_buf_printf(out, "%zu", m[k].len);
		else
			ck_buf_puts(out, m[k].digest + (src[i + 1] == 'd' ? 0 : 7));
		i += 2;
	}
}

/* Split the input into members and finish them, last first. Returns the count. */
static size_t fuzz_members(const uint8_t *data, size_t size, struct fuzz_member *m)
{
	const uint8_t *end = data + size, *p = fuzz_tar_next(data, end);
	size_t nm = 0;

	while (p < end && nm < FUZZ_OCI_MAX) {
		const uint8_t *name = p + FUZZ_TAR_SEP_LEN, *nl = memchr(name, '\n', (size_t) (end - name)), *next;

		if (!nl)
			break;
		next = fuzz_tar_next(nl + 1, end);
		m[nm] = (struct fuzz_member) { .data = (uint8_t *) nl + 1, .len = (size_t) (next - nl - 1) };
		snprintf(m[nm].name, sizeof(m[nm].name), "%.*s", (int) CK_MIN((size_t) (nl - name), (size_t) 200),
			 (const char *) name);
		nm++;
		p = next;
	}
	for (size_t i = nm; i-- > 0;) {
		struct ck_buf b = { 0 };
		char name[sizeof(m[i].name)];

		fuzz_subst(m[i].data, m[i].len, m, nm, i, false, &b);
		if (b.oom)
			fuzz_fail("out of memory");
		m[i].data = (uint8_t *) ck_buf_steal(&b, &m[i].len);
		if (arc_sha256_of(m[i].data ? m[i].data : (const uint8_t *) "", m[i].len, m[i].digest) < 0)
			fuzz_fail("out of memory");
		fuzz_subst((const uint8_t *) m[i].name, strlen(m[i].name), m, nm, i, true, &b);
		snprintf(name, sizeof(name), "%s", b.data ? b.data : "");
		ck_buf_done(&b);
		memcpy(m[i].name, name, sizeof(name));
	}
	return nm;
}

/* The plain tar of @m, in a memfd. */
static int fuzz_write(const struct fuzz_member *m, size_t nm)
{
	struct archive *w = archive_write_new();
	int fd = fuzz_memfd("fuzz-oci", NULL, 0);

	if (!w || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_open_fd(w, fd) != ARCHIVE_OK)
		fuzz_fail("archive_write: %s", w ? archive_error_string(w) : "ENOMEM");
	for (size_t i = 0; i < nm; i++) {
		struct archive_entry *e = archive_entry_new();

		if (!m[i].name[0] || !e) {
			archive_entry_free(e);
			continue;
		}
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t) m[i].len);
		if (archive_write_header(w, e) == ARCHIVE_OK && m[i].len)
			archive_write_data(w, m[i].data, m[i].len);
		archive_entry_free(e);
	}
	archive_write_close(w);
	archive_write_free(w);
	return fd;
}

static void fuzz_check_image(const struct arc_image *img)
{
	if (!img)
		return;
	if (!img->format || !*img->format)
		fuzz_fail("image without a format");
	for (size_t i = 0; i < img->n_annotations; i++)
		if (!img->annotations[i].key || !img->annotations[i].value)
			fuzz_fail("annotation %zu without a key or value", i);
	/* every text must be a C string: strlen() reads each to its end */
	(void) (strlen(img->ref ? img->ref : "") + strlen(img->digest ? img->digest : "") +
		strlen(img->media_type ? img->media_type : "") + strlen(img->created ? img->created : ""));
	if (img->digest && strncmp(img->digest, "sha256:", 7))
		fuzz_fail("manifest digest '%s' is not sha256", img->digest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_member m[FUZZ_OCI_MAX];
	static uint8_t buf[65536];
	struct arc_opts opts = { .cache_dir = "/tmp" };
	struct arc *a = NULL;
	char path[64], want[128], *err = NULL;
	size_t nm = fuzz_members(data, size, m);
	int fd, rc;

	if (!nm)
		return 0;
	/* a member named "@image" is no file: it picks the image, as -o image= does */
	for (size_t i = 0; i < nm; i++)
		if (!strcmp(m[i].name, "@image")) {
			size_t len = m[i].data ? strnlen((const char *) m[i].data, CK_MIN(m[i].len, sizeof(want) - 1)) : 0;

			memcpy(want, m[i].data ? (const char *) m[i].data : "", len);
			want[len] = '\0';
			want[strcspn(want, "\n")] = '\0';
			opts.image_ref = want;
			m[i].name[0] = '\0';
		}
	fd = fuzz_write(m, nm);
	for (size_t i = 0; i < nm; i++)
		free(m[i].data);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = arc_open(path, &opts, &a, &err);
	if (rc < 0) {
		if (!err || strchr(err, '\n') || strlen(err) > 4096)
			fuzz_fail("error without one short line: %s", err ? err : "(none)");
#ifndef CKPTFS_LIBFUZZER
		fprintf(stderr, "  refused: %s\n", err);
#endif
		free(err);
		close(fd);
		return 0;
	}
	fuzz_check_image(arc_image(a));
#ifndef CKPTFS_LIBFUZZER
	fprintf(stderr, "  opened: %s, %zu members\n", arc_kind(a), arc_count(a));
#endif
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);

		if (!arc_find(a, e->path))
			fuzz_fail("arc_find('%s') misses a listed member", e->path);
		if (e->type == ARC_REG)
			for (uint64_t off = 0; off < (1u << 20);) {
				ssize_t got = arc_pread(a, e, buf, sizeof(buf), off);

				if (got <= 0)
					break;
				off += (uint64_t) got;
			}
	}
	arc_free(a);
	close(fd);
	return 0;
}
