/* SPDX-License-Identifier: Apache-2.0 */
/* The member index (docs/formats.md §9): a tar made by tar(1) in pax format
 * (long names, a long symlink target, a hard link, empty and large files)
 * is packed by pack/ into small frames with its index, then indexed from
 * the index alone (arc-midx.c, arc-tar.c) and compared member by member,
 * byte for byte, with arc_open() of the tar itself. Then the index's digest
 * is checked (a wrong one, a changed byte of the tail), and a changed byte
 * in a data frame fails the reads of that frame with EIO. TAP output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc.h"
#include "arc-oci.h"
#include "pack.h"
#include "../internal.h"
#include "tap.h"

static char tmp_root[] = "/tmp/ckptfs-midx.XXXXXX";

struct mem {
	uint8_t *p;
	size_t len;
};

static ssize_t mem_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;

	if (off >= m->len)
		return 0;
	len = len < m->len - off ? len : m->len - off;
	memcpy(buf, m->p + off, len);
	return (ssize_t) len;
}

static int sink(void *ctx, const void *buf, size_t len)
{
	struct mem *m = ctx;
	uint8_t *p = realloc(m->p, m->len + len);

	if (!p)
		return -ENOMEM;
	memcpy(p + m->len, buf, len);
	m->p = p;
	m->len += len;
	return 0;
}

/* The tar's bytes, written by tar(1) from a tree made here. */
static uint8_t *make_tar(size_t *ret_len)
{
	char cmd[2048], path[512];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p t/dir/%0120d && cd t && "
		 "printf small >dir/a && : >dir/empty && head -c 300000 /dev/urandom >dir/big && "
		 "seq 1 40000 >dir/%0120d/long-named-file && ln dir/a dir/hardlink && "
		 "ln -s dir/%0120d/long-named-file link && "
		 "tar --format=posix --sort=name -cf ../in.tar .", tmp_root, 7, 7, 7);
	if (system(cmd) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/in.tar", tmp_root);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n);
	if (buf && fread(buf, 1, (size_t) n, f) != (size_t) n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*ret_len = (size_t) n;
	return buf;
}

/* @packed indexed through its member index into @ret. */
static int open_indexed(struct mem *packed, const char *digest, struct arc **ret, char **err)
{
	struct arc_seek_src src = { mem_pread, packed };
	struct arc_seek_opts so = { .table_trusted = true };
	struct arc_midx *m = NULL;
	struct arc_seek *seek = NULL;
	struct arc *a;
	int rc;

	rc = arc_midx_read(&src, packed->len, digest, &m, err);
	if (rc < 0)
		return rc;
	rc = arc_seek_open_src(&src, packed->len, &so, &seek, err);
	if (rc == 0 && (rc = arc_seek_set_sha256(seek, m->sha256, m->n_frames)) < 0)
		arc_seek_free(seek);
	a = rc == 0 ? arc_new(NULL) : NULL;
	if (rc == 0 && !a) {
		arc_seek_free(seek);
		rc = -ENOMEM;
	}
	rc = rc ?: arc_tar_index_seek(a, seek, "zstd", m, err);
	rc = rc ?: arc_finish(a);
	arc_midx_free(m);
	if (rc < 0) {
		arc_free(a);
		return rc;
	}
	*ret = a;
	return 0;
}

/* Every member of @want is in @got, alike, with the same bytes. */
static bool same_members(const struct arc *want, const struct arc *got)
{
	bool ok = arc_count(want) == arc_count(got);

	for (size_t i = 0; ok && i < arc_count(want); i++) {
		const struct arc_entry *w = arc_entry_at(want, i), *g = arc_find(got, w->path);
		uint8_t *a, *b;

		if (!g || g->type != w->type || g->size != w->size || g->mode != w->mode ||
		    g->mtime != w->mtime || (w->link && (!g->link || strcmp(w->link, g->link)))) {
			printf("# differs: %s\n", w->path);
			return false;
		}
		if (w->type != ARC_REG || !w->size)
			continue;
		a = malloc(w->size);
		b = malloc(w->size);
		ok = a && b && arc_pread(want, w, a, w->size, 0) == (ssize_t) w->size &&
		     arc_pread(got, g, b, g->size, 0) == (ssize_t) g->size && !memcmp(a, b, w->size);
		if (!ok)
			printf("# bytes differ: %s\n", w->path);
		free(a);
		free(b);
	}
	return ok;
}

int main(void)
{
	struct pack_opts po = { .tar = true, .threads = 2, .frame_max = 16384, .hash = arc_sha256_of };
	struct mem packed = { 0 };
	struct pack_stats st;
	struct pack_zstd *w = NULL;
	struct arc *plain = NULL, *idx = NULL;
	char path[512], cmd[600], *err = NULL;
	size_t tar_len = 0, neio = 0, nother = 0;
	uint8_t *tar, buf[4096];
	int rc;

	if (!mkdtemp(tmp_root))
		return 1;
	tar = make_tar(&tar_len);
	CHECK(tar != NULL, "tar(1) writes a pax tar with long names and links");
	rc = tar ? pack_zstd_new(&po, sink, &packed, &w) : -EIO;
	rc = rc ?: pack_zstd_write(w, tar, tar_len);
	rc = rc ?: pack_zstd_finish(w, &st);
	pack_zstd_free(w);
	CHECK(rc == 0 && st.frames > 4 && arc_digest_ok(st.index_digest, strlen(st.index_digest)),
	      "packed into %llu frames with a member index", (unsigned long long) st.frames);
	snprintf(path, sizeof(path), "%s/in.tar", tmp_root);
	CHECK(arc_open(path, NULL, &plain, NULL) == 0, "arc_open() of the tar");

	rc = open_indexed(&packed, st.index_digest, &idx, &err);
	CHECK(rc == 0, "indexed from its member index: %s", err ? err : "ok");
	CHECK(rc == 0 && plain && same_members(plain, idx), "the same members, links and bytes as the tar's");
	arc_free(TAKE_PTR(idx));
	free(TAKE_PTR(err));

	rc = open_indexed(&packed, "sha256:0000000000000000000000000000000000000000000000000000000000000000", &idx,
			  &err);
	CHECK(rc == -EBADMSG && err && strstr(err, "do not match"), "a wrong digest is refused: %s", err ? err : "");
	free(TAKE_PTR(err));
	packed.p[packed.len - 20] ^= 1;	/* in the seek table */
	rc = open_indexed(&packed, st.index_digest, &idx, &err);
	CHECK(rc == -EBADMSG, "a changed byte of the seek table is refused: %s", err ? err : "");
	packed.p[packed.len - 20] ^= 1;
	free(TAKE_PTR(err));

	packed.p[packed.len / 2] ^= 0x40;	/* a byte of some data frame */
	rc = open_indexed(&packed, st.index_digest, &idx, &err);
	CHECK(rc == 0, "a changed data frame still indexes (the index is intact)");
	for (size_t i = 0; idx && i < arc_count(idx); i++) {
		const struct arc_entry *e = arc_entry_at(idx, i);

		for (uint64_t off = 0; e->type == ARC_REG && off < e->size; off += sizeof(buf)) {
			ssize_t n = arc_pread(idx, e, buf, sizeof(buf), off);

			neio += n == -EIO;
			nother += n < 0 && n != -EIO;
		}
	}
	CHECK(neio > 0 && nother == 0, "reads of the changed frame fail with EIO (%zu reads), no other error", neio);
	arc_free(idx);
	arc_free(plain);
	free(err);
	free(tar);
	free(packed.p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp_root);
	return tap_done();
}
