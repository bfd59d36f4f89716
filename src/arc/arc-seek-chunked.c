/* SPDX-License-Identifier: Apache-2.0 */
/* zstd:chunked layers (docs/formats.md): the blob is a zstd stream whose
 * frames each hold part of one member's data (tar headers lie in frames of
 * their own), followed by skippable frames: the table of contents (TOC, a
 * zstd-compressed JSON document listing every member with its metadata,
 * and the compressed offsets, sizes and sha256 of its frames), and a
 * footer. The layer descriptor's annotations place the TOC and give the
 * sha256 of its compressed bytes. Here the TOC is read (two reads: nothing
 * else of the blob), checked and turned into the layer's members, and the
 * frames into the unit table of an arc_seek (arc-seek.c), so that each
 * member reads at random, its frames decoded on demand through the cache of
 * decoded units and checked against their sha256. The members' data lie
 * back to back in the arc_seek's uncompressed space, in TOC order. */
#include "arc-seek-priv.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "arc-oci.h"
#include "arc-priv.h"
#include "log.h"

/* The largest TOC read (uncompressed); a larger one is -ENOTSUP: the blob
 * is then read as a stream. json-c takes about ten times this. */
#define TOC_MAX (16u << 20)
/* Runs of zeros ("chunkType": "zeros") longer than this are not read but
 * served as zeros, in units of this size, as containers/storage does. */
#define TOC_ZEROS_UNIT (1u << 20)
/* "manifestType" of a TOC in the CRFS-like JSON form, the only one. */
#define TOC_TYPE_CRFS 1

DEFINE_CLEANUP(toc_json_putp, json_object, json_object_put)
DEFINE_CLEANUP(toc_dctx_freep, ZSTD_DCtx, ZSTD_freeDCtx)

struct toc {
	struct arc *a;
	struct arc_seek *s;
	uint64_t base;		/* the blob's offset in the file */
	uint64_t size;		/* the blob's size */
	uint64_t data_end;	/* the frames lie before the TOC's skippable frame */
	uint64_t uoff;		/* uncompressed space used so far */
	size_t sha_cap;
	char **ret_error;
};

/* "OFFSET:LENGTH:UNCOMPRESSED:TYPE" into @v. */
static int toc_pos(const char *pos, uint64_t v[4])
{
	char buf[96], *save = NULL, *t = buf;
	int k = 0;

	if (!pos || strlen(pos) >= sizeof(buf))
		return -EBADMSG;
	strcpy(buf, pos);
	for (; k < 4 && (t = strtok_r(k ? NULL : buf, ":", &save)); k++)
		if (ck_parse_u64(t, &v[k]) < 0)
			return -EBADMSG;
	return k == 4 && !strtok_r(NULL, ":", &save) ? 0 : -EBADMSG;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "sha256:<64 lowercase hex>" into 32 bytes. */
static bool toc_sha(const char *d, uint8_t out[32])
{
	if (!d || !arc_digest_ok(d, strlen(d)))
		return false;
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t) (hexval(d[7 + 2 * i]) << 4 | hexval(d[8 + 2 * i]));
	return true;
}

bool arc_seek_sha_ok(const uint8_t want[32], const uint8_t *p, size_t len)
{
	char d[ARC_DIGEST_SIZE];
	uint8_t got[32];

	return arc_sha256_of(p, len, d) == 0 && toc_sha(d, got) && !memcmp(got, want, 32);
}

/* Read, check and parse the TOC that @pos places, vouched for by @checksum. */
static int toc_load(struct toc *t, const char *pos, const char *checksum, json_object **ret)
{
	_cleanup_(toc_dctx_freep) ZSTD_DCtx *dctx = NULL;
	_cleanup_free_ uint8_t *in = NULL;
	_cleanup_free_ char *out = NULL;
	char digest[ARC_DIGEST_SIZE];
	json_tokener *tok;
	uint64_t v[4];
	ssize_t n;
	size_t r;

	if (toc_pos(pos, v) < 0)
		return ck_err(t->ret_error, -EBADMSG, "its position '%.64s' is not OFFSET:LENGTH:SIZE:TYPE", pos);
	if (v[3] != TOC_TYPE_CRFS)
		return ck_err(t->ret_error, -ENOTSUP, "table of contents of type %" PRIu64, v[3]);
	if (!checksum || !arc_digest_ok(checksum, strlen(checksum)))
		return ck_err(t->ret_error, -EBADMSG, "no valid sha256 in its checksum annotation");
	if (v[0] < 8 || v[0] > t->size || v[1] > t->size - v[0] || v[1] == 0)
		return ck_err(t->ret_error, -EBADMSG, "%" PRIu64 " bytes at %" PRIu64 " lie past the blob's %" PRIu64,
			       v[1], v[0], t->size);
	if (v[1] > TOC_MAX || v[2] > TOC_MAX)
		return ck_err(t->ret_error, -ENOTSUP, "%" PRIu64 " bytes, over %u", CK_MAX(v[1], v[2]), TOC_MAX);
	t->data_end = v[0] - 8;
	in = malloc((size_t) v[1]);
	out = malloc((size_t) v[2] + 1);
	dctx = ZSTD_createDCtx();
	if (!in || !out || !dctx)
		return -ENOMEM;
	n = arc_seek_src_read(t->s, in, (size_t) v[1], t->base + v[0]);
	if (n < 0)
		return ck_err(t->ret_error, -EIO, "cannot read it: %s", strerror((int) -n));
	if ((uint64_t) n != v[1])
		return ck_err(t->ret_error, -EBADMSG, "truncated: the blob ends before it does");
	if (arc_sha256_of(in, (size_t) v[1], digest) < 0)
		return -ENOMEM;
	if (strcmp(digest, checksum))
		return ck_err(t->ret_error, -EBADMSG, "its sha256 is %s, the layer's annotation says %s", digest,
			       checksum);
	r = ZSTD_decompressDCtx(dctx, out, (size_t) v[2], in, (size_t) v[1]);
	if (ZSTD_isError(r) || r != v[2])
		return ck_err(t->ret_error, -EBADMSG, "it does not decompress to %" PRIu64 " bytes: %s", v[2],
			       ZSTD_isError(r) ? ZSTD_getErrorName(r) : "another size");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	*ret = json_tokener_parse_ex(tok, out, (int) v[2]);
	if (!*ret || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(*ret, json_type_object)) {
		json_tokener_free(tok);
		json_object_put(*ret);
		*ret = NULL;
		return ck_err(t->ret_error, -EBADMSG, "not a JSON object");
	}
	json_tokener_free(tok);
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

/* Integer member @key of @o (0 when absent, as the writer leaves out zeros);
 * -EBADMSG when it is not a number from 0 to 2^62. */
static int jnum(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;
	int64_t i;

	*ret = 0;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	i = json_object_get_int64(v);
	if (i < 0 || i > (INT64_C(1) << 62))
		return -EBADMSG;
	*ret = (uint64_t) i;
	return 0;
}

/* An RFC 3339 time as Go writes it ("2024-05-01T10:00:00.123Z",
 * "...+02:00") in seconds since the epoch; 0 when absent or not that. */
static int64_t toc_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	int64_t t;
	int oh, om;

	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	t = (int64_t) timegm(&tm);
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
		t -= (*p == '+' ? 1 : -1) * (int64_t) (oh * 3600 + om * 60);
	return t;
}

/* Add a unit: @usize bytes decoded from the frames at [@coff, @cend) of the
 * blob, or zeros not read (@zeros), with their sha256 @sha (NULL: none). */
static int toc_unit(struct toc *t, const char *name, uint64_t coff, uint64_t cend, uint64_t usize, bool zeros,
		    const char *sha)
{
	struct arc_seek *s = t->s;
	char safe[128];
	int rc;

	if (coff >= cend || cend > t->data_end)
		return ck_err(t->ret_error, -EBADMSG, "'%s': frames at %" PRIu64 "-%" PRIu64 " lie outside the "
			       "blob's %" PRIu64 " bytes of data", arc_safe_name(name, safe, sizeof(safe)), coff, cend,
			       t->data_end);
	if (zeros && usize > TOC_ZEROS_UNIT) {
		for (uint64_t done = 0; done < usize; done += TOC_ZEROS_UNIT) {
			rc = arc_seek_add(s, t->base + coff, 0, CK_MIN((uint64_t) TOC_ZEROS_UNIT, usize - done),
					  t->ret_error);
			if (rc < 0)
				return rc;
			s->units[s->n - 1].zeros = true;
		}
		t->uoff += usize;
		return 0;
	}
	rc = arc_seek_add(s, t->base + coff, cend - coff, usize, t->ret_error);
	if (rc < 0)
		return rc;
	if (sha) {
		if (s->n > t->sha_cap) {
			size_t cap = CK_MAX(s->cap, (size_t) 64);
			uint8_t (*v)[32] = reallocarray(s->sha, cap, sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->sha = v;
			t->sha_cap = cap;
		}
		if (!toc_sha(sha, s->sha[s->n - 1]))
			return ck_err(t->ret_error, -EBADMSG, "'%s': a digest that is no sha256",
				       arc_safe_name(name, safe, sizeof(safe)));
		s->units[s->n - 1].has_sha = true;
	}
	t->uoff += usize;
	return 0;
}

/* The data of regular member @name, entry @i of @ents (its "chunk" entries
 * follow it), of @size bytes; *@next: the entry after its chunks. */
static int toc_data(struct toc *t, json_object *ents, size_t i, const char *name, uint64_t size, size_t *next)
{
	json_object *reg = json_object_array_get_idx(ents, i);
	size_t n = json_object_array_length(ents), j = i + 1;
	uint64_t end, done = 0, v[4];
	const char *type;
	char safe[128];
	int rc;

	if (jnum(reg, "endOffset", &end) < 0)
		return -EBADMSG;
	while (j < n && (type = jstr(json_object_array_get_idx(ents, j), "type")) && !strcmp(type, "chunk"))
		j++;
	*next = j;
	if (j == i + 1) {	/* one frame, the file's digest */
		if (jnum(reg, "offset", &v[0]) < 0)
			return -EBADMSG;
		return toc_unit(t, name, v[0], end, size, false, jstr(reg, "digest"));
	}
	for (size_t k = i; k < j; k++) {
		json_object *c = json_object_array_get_idx(ents, k);
		const char *cname = jstr(c, "name");

		type = jstr(c, "chunkType");
		if (jnum(c, "offset", &v[0]) < 0 || jnum(c, "chunkSize", &v[1]) < 0 || jnum(c, "chunkOffset", &v[2]) < 0 ||
		    (k + 1 < j && jnum(json_object_array_get_idx(ents, k + 1), "offset", &v[3]) < 0))
			return -EBADMSG;
		if (!cname || strcmp(cname, name) || v[2] != done || !v[1] || v[1] > size - done)
			return ck_err(t->ret_error, -EBADMSG, "'%s': its chunks do not add up to its %" PRIu64 " bytes",
				       arc_safe_name(name, safe, sizeof(safe)), size);
		rc = toc_unit(t, name, v[0], k + 1 < j ? v[3] : end, v[1], type && !strcmp(type, "zeros"),
			      jstr(c, "chunkDigest"));
		if (rc < 0)
			return rc;
		done += v[1];
	}
	if (done != size)
		return ck_err(t->ret_error, -EBADMSG, "'%s': its chunks do not add up to its %" PRIu64 " bytes",
			       arc_safe_name(name, safe, sizeof(safe)), size);
	return 0;
}

static const struct {
	const char *name;
	enum arc_type type;
} toc_types[] = {
	{ "reg", ARC_REG }, { "hardlink", ARC_REG }, { "dir", ARC_DIR }, { "symlink", ARC_SYMLINK },
	{ "char", ARC_OTHER }, { "block", ARC_OTHER }, { "fifo", ARC_OTHER },
};

/* Entry @i of @ents (not a "chunk") as a member; *@next: the entry after it. */
static int toc_entry(struct toc *t, json_object *ents, size_t i, size_t *next)
{
	json_object *e = json_object_array_get_idx(ents, i);
	const char *type = jstr(e, "type"), *name = jstr(e, "name"), *link = jstr(e, "linkName");
	char target[ARC_PATH_MAX], safe[128];
	struct arc_item *it;
	uint64_t mode, size;
	size_t k = 0;
	int rc;

	*next = i + 1;
	while (type && k < ARRAY_SIZE(toc_types) && strcmp(type, toc_types[k].name))
		k++;
	if (!name || k == ARRAY_SIZE(toc_types))
		return ck_err(t->ret_error, -EBADMSG, "entry %zu: %s", i,
			       name ? "a type that is no member's" : "no name");
	if (jnum(e, "mode", &mode) < 0 || jnum(e, "size", &size) < 0)
		return ck_err(t->ret_error, -EBADMSG, "'%s': a mode or size that is no number",
			       arc_safe_name(name, safe, sizeof(safe)));
	rc = arc_item_new(t->a, name, &it);
	if (rc <= 0)
		return rc;	/* an unsafe name is left out, as a tar's */
	it->e.type = toc_types[k].type;
	it->e.mode = (uint32_t) (mode & 07777);
	it->e.mtime = toc_time(jstr(e, "modtime"));
	if (!strcmp(type, "hardlink")) {
		/* resolved against the other members by arc_finish() */
		if (!link || arc_norm_path(link, target) <= 0) {
			it->drop = true;
			return 0;
		}
		it->hardlink = strdup(target);
		return it->hardlink ? 0 : -ENOMEM;
	}
	if (it->e.type == ARC_SYMLINK)
		return (it->e.link = strdup(link ? link : "")) ? 0 : -ENOMEM;
	if (it->e.type != ARC_REG || !size)
		return 0;
	it->e.size = size;
	it->src = ARC_SRC_SEEK;
	it->off = t->uoff;
	return toc_data(t, ents, i, name, size, next);
}

int arc_chunked_index(struct arc *a, int fd, uint64_t base, uint64_t size, const char *pos,
		      const char *checksum, char **ret_error)
{
	_cleanup_(arc_seek_freep) struct arc_seek *s = arc_seek_new(fd, base + size, NULL);
	_cleanup_(toc_json_putp) json_object *toc = NULL;
	struct toc t = { .a = a, .s = s, .base = base, .size = size, .ret_error = ret_error };
	json_object *ents, *ver;
	size_t n, next;
	int rc;

	if (!s)
		return -ENOMEM;
	s->fmt = SEEK_ZSTD_CHUNKED;
	rc = toc_load(&t, pos, checksum, &toc);
	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(toc, "version", &ver) || json_object_get_int(ver) != 1)
		return ck_err(ret_error, -ENOTSUP, "not of version 1");
	if (!json_object_object_get_ex(toc, "entries", &ents) || !json_object_is_type(ents, json_type_array))
		return ck_err(ret_error, -EBADMSG, "no \"entries\" list");
	n = json_object_array_length(ents);
	for (size_t i = 0; i < n; i = next) {
		const char *type = jstr(json_object_array_get_idx(ents, i), "type");

		if (type && !strcmp(type, "chunk"))
			return ck_err(ret_error, -EBADMSG, "entry %zu: a chunk without its file", i);
		rc = toc_entry(&t, ents, i, &next);
		if (rc < 0)
			return rc;
	}
	if (s->n) {
		rc = arc_seek_ready(s, NULL, ret_error);
		if (rc < 0)
			return rc;
		a->seek = TAKE_PTR(s);
	}
	snprintf(a->kind, sizeof(a->kind), "zstd:chunked layer (%zu frames)", a->seek ? a->seek->n : 0);
	ck_log(CK_LOG_DEBUG, "arc: zstd:chunked: %zu entries in the table of contents, %s", n, a->kind);
	return 0;
}
