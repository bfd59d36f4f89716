/* SPDX-License-Identifier: Apache-2.0 */
/* zstd:chunked layers (docs/formats.md §10): the blob is a zstd stream whose
 * frames each hold part of one member's data (tar headers lie in frames of
 * their own), followed by skippable frames: the table of contents (TOC, a
 * zstd-compressed JSON document listing every member with its metadata,
 * and the compressed offsets, sizes and sha256 of its frames), and a
 * footer. The layer descriptor's annotations place the TOC and give the
 * sha256 of its compressed bytes. Here the TOC is read (one read: nothing
 * else of the blob), checked and turned into the layer's members, and the
 * frames into the unit table of an arc_seek (arc-seek.c), so that each
 * member reads at random, its frames decoded on demand through the cache of
 * decoded units and checked against their sha256. The consecutive chunks
 * of a file make one unit up to TOC_UNIT bytes: fewer reads (of a remote
 * blob, fewer requests) and decodes. The members' data lie back to back in
 * the arc_seek's uncompressed space, in TOC order.
 *
 * The TOC's text is walked here element by element of its "entries" list
 * (toc_next()), each element parsed alone by json-c and freed: the memory
 * is the text and one entry, not a tree of the whole document (some ten
 * times the text). */
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
 * is then read as a stream. */
#define TOC_MAX (64u << 20)
/* More entries are -ENOTSUP (each is a member: some 100 bytes). */
#define TOC_ENTRIES_MAX (1u << 20)
/* Consecutive chunks of a file are one unit up to this many bytes. */
#define TOC_UNIT (256u << 10)
/* Runs of zeros ("chunkType": "zeros") longer than this are not read but
 * served as zeros, in units of this size, as containers/storage does. */
#define TOC_ZEROS_UNIT (1u << 20)
/* "manifestType" of a TOC in the CRFS-like JSON form, the only one. */
#define TOC_TYPE_CRFS 1

DEFINE_CLEANUP(toc_json_putp, json_object, json_object_put)
DEFINE_CLEANUP(toc_dctx_freep, ZSTD_DCtx, ZSTD_freeDCtx)
DEFINE_CLEANUP(toc_tok_freep, json_tokener, json_tokener_free)

/* A chunk of a file: its frames and what they decode to. */
struct toc_chunk {
	uint64_t coff, cend;	/* compressed, in the blob */
	uint64_t size;
	bool zeros;
	bool has_sha;
	uint8_t sha[32];
};

struct toc {
	struct arc *a;
	struct arc_seek *s;
	uint64_t base;		/* the blob's offset in the file */
	uint64_t size;		/* the blob's size */
	uint64_t data_end;	/* the frames lie before the TOC's skippable frame */
	uint64_t uoff;		/* uncompressed space used so far */
	/* the file whose chunks are being read */
	char name[128];		/* for messages */
	uint64_t file_size, file_end, file_done;
	bool in_file;
	struct toc_chunk last;	/* its chunk waiting for the next one's offset */
	bool have_last;
	/* the unit being gathered from its chunks */
	uint64_t unit_coff, unit_cend, unit_size;
	size_t unit_sha;	/* its first piece in s->shas */
	bool unit_open, unit_sha_any;
	size_t sha_first_cap;	/* of s->sha_first */
	/* the TOC's text being walked */
	const char *p, *end;
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

bool arc_seek_sha_ok(const struct arc_seek *s, size_t i, const uint8_t *out)
{
	const struct seek_sha *sh = &s->shas[s->sha_first[i]];
	char d[ARC_DIGEST_SIZE];
	uint8_t got[32];

	for (uint64_t at = 0; at < s->units[i].usize; at += sh->len, sh++)
		if (sh->set && (arc_sha256_of(out + at, sh->len, d) < 0 || !toc_sha(d, got) || memcmp(got, sh->sha, 32)))
			return false;
	return true;
}

/* Read, check and decompress the TOC that @pos places, vouched for by
 * @checksum, into @ret (malloc'ed, NUL-terminated, *@ret_len bytes). */
static int toc_load(struct toc *t, const char *pos, const char *checksum, char **ret, size_t *ret_len)
{
	_cleanup_(toc_dctx_freep) ZSTD_DCtx *dctx = NULL;
	_cleanup_free_ uint8_t *in = NULL;
	_cleanup_free_ char *out = NULL;
	char digest[ARC_DIGEST_SIZE];
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
	n = arc_seek_read(t->s, in, (size_t) v[1], t->base + v[0]);
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
	out[v[2]] = '\0';
	*ret = TAKE_PTR(out);
	*ret_len = (size_t) v[2];
	return 0;
}

/* The walk over the TOC's text: JSON's own grammar, only as far as telling
 * where a value ends; json-c parses each entry. */

static void scan_ws(struct toc *t)
{
	while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
		t->p++;
}

/* Past the string at t->p (its opening quote). */
static int scan_string(struct toc *t)
{
	for (t->p++; t->p < t->end; t->p++) {
		if (*t->p == '\\' && t->p + 1 < t->end)
			t->p++;
		else if (*t->p == '"')
			break;
	}
	if (t->p >= t->end)
		return -EBADMSG;
	t->p++;
	return 0;
}

/* Past the value at t->p, of any kind, nested to any depth. */
static int scan_value(struct toc *t)
{
	size_t depth = 0;

	do {
		scan_ws(t);
		if (t->p >= t->end)
			return -EBADMSG;
		if (*t->p == '"') {
			if (scan_string(t) < 0)
				return -EBADMSG;
		} else if (*t->p == '{' || *t->p == '[') {
			depth++;
			t->p++;
		} else if (*t->p == '}' || *t->p == ']') {
			if (!depth--)
				return -EBADMSG;
			t->p++;
		} else if (*t->p == ',' || *t->p == ':') {
			if (!depth)
				return -EBADMSG;
			t->p++;
		} else {
			const char *start = t->p;

			/* a number, true, false or null; a NUL byte is none */
			while (t->p < t->end && *t->p && !strchr(" \t\r\n,:]}", *t->p))
				t->p++;
			if (t->p == start)
				return -EBADMSG;
		}
	} while (depth);
	return 0;
}

/* Expect @c at t->p (after white space) and step past it. */
static bool scan_char(struct toc *t, char c)
{
	scan_ws(t);
	if (t->p >= t->end || *t->p != c)
		return false;
	t->p++;
	return true;
}

/* The TOC's top level: find its "entries" list and "version"; t->p is left
 * at the list's first element. */
static int scan_top(struct toc *t, const char **ret_entries, int64_t *ret_version)
{
	*ret_entries = NULL;
	*ret_version = -1;
	if (!scan_char(t, '{'))
		return -EBADMSG;
	if (scan_char(t, '}'))
		return 0;
	do {
		const char *key;
		size_t len;

		scan_ws(t);
		key = t->p;
		if (t->p >= t->end || *t->p != '"' || scan_string(t) < 0)
			return -EBADMSG;
		len = (size_t) (t->p - key);
		if (!scan_char(t, ':'))
			return -EBADMSG;
		scan_ws(t);
		if (len == 9 && !memcmp(key, "\"entries\"", 9) && t->p < t->end && *t->p == '[')
			*ret_entries = t->p + 1;
		else if (len == 9 && !memcmp(key, "\"version\"", 9))
			*ret_version = strtoll(t->p, NULL, 10);
		if (scan_value(t) < 0)
			return -EBADMSG;
	} while (scan_char(t, ','));
	if (!scan_char(t, '}'))
		return -EBADMSG;
	scan_ws(t);
	return t->p == t->end ? 0 : -EBADMSG;
}

/* The next element of the entries list (t->p at it or at the list's end),
 * parsed: 1 and the object in @ret; 0 at the end of the list. */
static int toc_next(struct toc *t, json_tokener *tok, size_t i, json_object **ret)
{
	const char *start;

	scan_ws(t);
	if (i > 0 && !scan_char(t, ','))
		return scan_char(t, ']') ? 0 : ck_err(t->ret_error, -EBADMSG, "entry %zu: not JSON", i);
	if (i == 0 && scan_char(t, ']'))
		return 0;
	scan_ws(t);
	start = t->p;
	if (scan_value(t) < 0)
		return ck_err(t->ret_error, -EBADMSG, "entry %zu: not JSON", i);
	json_tokener_reset(tok);
	*ret = json_tokener_parse_ex(tok, start, (int) (t->p - start));
	if (!*ret || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(*ret, json_type_object)) {
		json_object_put(*ret);
		*ret = NULL;
		return ck_err(t->ret_error, -EBADMSG, "entry %zu: not a JSON object", i);
	}
	return 1;
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

/* Add a sha256 piece; 0 or -ENOMEM. */
static int toc_piece(struct toc *t, const struct toc_chunk *c)
{
	struct arc_seek *s = t->s;

	if (s->nshas == s->shas_cap) {
		size_t cap = s->shas_cap ? s->shas_cap * 2 : 256;
		struct seek_sha *v = reallocarray(s->shas, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->shas = v;
		s->shas_cap = cap;
	}
	s->shas[s->nshas] = (struct seek_sha) { .len = (uint32_t) c->size, .set = c->has_sha };
	memcpy(s->shas[s->nshas++].sha, c->sha, 32);
	return 0;
}

/* Make the gathered chunks a unit. */
static int toc_flush(struct toc *t)
{
	struct arc_seek *s = t->s;
	int rc;

	if (!t->unit_open)
		return 0;
	t->unit_open = false;
	rc = arc_seek_add(s, t->base + t->unit_coff, t->unit_cend - t->unit_coff, t->unit_size, t->ret_error);
	if (rc < 0)
		return rc;
	if (t->unit_sha_any) {
		if (s->cap > t->sha_first_cap) {
			uint32_t *v = reallocarray(s->sha_first, s->cap, sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->sha_first = v;
			t->sha_first_cap = s->cap;
		}
		s->sha_first[s->n - 1] = (uint32_t) t->unit_sha;
		s->units[s->n - 1].has_sha = true;
	}
	t->uoff += t->unit_size;
	return 0;
}

/* A chunk of the current file, its frames at [coff, cend) of the blob. */
static int toc_add_chunk(struct toc *t, const struct toc_chunk *c)
{
	struct arc_seek *s = t->s;
	int rc;

	if (c->coff >= c->cend || c->cend > t->data_end)
		return ck_err(t->ret_error, -EBADMSG, "'%s': frames at %" PRIu64 "-%" PRIu64 " lie outside the "
			       "blob's %" PRIu64 " bytes of data", t->name, c->coff, c->cend, t->data_end);
	if (c->zeros && c->size > TOC_ZEROS_UNIT) {
		rc = toc_flush(t);
		for (uint64_t done = 0; rc == 0 && done < c->size; done += TOC_ZEROS_UNIT) {
			rc = arc_seek_add(s, t->base + c->coff, 0, CK_MIN((uint64_t) TOC_ZEROS_UNIT, c->size - done),
					  t->ret_error);
			if (rc == 0)
				s->units[s->n - 1].zeros = true;
		}
		t->uoff += c->size;
		return rc;
	}
	if (t->unit_open && (t->unit_size + c->size > TOC_UNIT || t->unit_cend != c->coff)) {
		rc = toc_flush(t);
		if (rc < 0)
			return rc;
	}
	if (!t->unit_open) {
		t->unit_open = true;
		t->unit_coff = c->coff;
		t->unit_size = 0;
		t->unit_sha = s->nshas;
		t->unit_sha_any = false;
	}
	t->unit_cend = c->cend;
	t->unit_size += c->size;
	t->unit_sha_any |= c->has_sha;
	return toc_piece(t, c);
}

/* The current file ends: its last chunk ends at its endOffset. */
static int toc_end_file(struct toc *t)
{
	int rc = 0;

	if (!t->in_file)
		return 0;
	t->in_file = false;
	if (t->have_last) {
		t->last.cend = t->file_end;
		rc = toc_add_chunk(t, &t->last);
		t->have_last = false;
	}
	if (rc == 0 && t->file_done != t->file_size)
		rc = ck_err(t->ret_error, -EBADMSG, "'%s': its chunks do not add up to its %" PRIu64 " bytes",
			    t->name, t->file_size);
	return rc ? rc : toc_flush(t);
}

/* Entry @e, the file's first (a "reg" entry with data) or a "chunk": its
 * chunk starts here; the previous one ends where this one starts. */
static int toc_chunk(struct toc *t, json_object *e, bool first)
{
	struct toc_chunk c = { 0 };
	const char *type = jstr(e, "chunkType"), *sha = jstr(e, "chunkDigest");
	uint64_t size, at;
	int rc;

	if (jnum(e, "offset", &c.coff) < 0 || jnum(e, "chunkSize", &size) < 0 || jnum(e, "chunkOffset", &at) < 0)
		return ck_err(t->ret_error, -EBADMSG, "'%s': an offset that is no number", t->name);
	/* a file of one chunk has no chunk fields: the file's digest is its */
	c.size = first && !size ? t->file_size : size;
	if (first && !size)
		sha = jstr(e, "digest");
	if (at != t->file_done || !c.size || c.size > t->file_size - t->file_done)
		return ck_err(t->ret_error, -EBADMSG, "'%s': its chunks do not add up to its %" PRIu64 " bytes",
			       t->name, t->file_size);
	c.zeros = type && !strcmp(type, "zeros");
	if (sha && !(c.has_sha = toc_sha(sha, c.sha)))
		return ck_err(t->ret_error, -EBADMSG, "'%s': a digest that is no sha256", t->name);
	if (t->have_last) {
		t->last.cend = c.coff;
		rc = toc_add_chunk(t, &t->last);
		if (rc < 0)
			return rc;
	}
	t->last = c;
	t->have_last = true;
	t->file_done += c.size;
	return 0;
}

static const struct {
	const char *name;
	enum arc_type type;
} toc_types[] = {
	{ "reg", ARC_REG }, { "hardlink", ARC_REG }, { "dir", ARC_DIR }, { "symlink", ARC_SYMLINK },
	{ "char", ARC_OTHER }, { "block", ARC_OTHER }, { "fifo", ARC_OTHER },
};

/* Entry @i, @e, a member: its item, and for a file with data its first chunk. */
static int toc_member(struct toc *t, json_object *e, size_t i)
{
	const char *type = jstr(e, "type"), *name = jstr(e, "name"), *link = jstr(e, "linkName");
	char target[ARC_PATH_MAX];
	struct arc_item *it;
	uint64_t mode, size, end;
	size_t k = 0;
	int rc;

	while (type && k < ARRAY_SIZE(toc_types) && strcmp(type, toc_types[k].name))
		k++;
	if (!name || k == ARRAY_SIZE(toc_types))
		return ck_err(t->ret_error, -EBADMSG, "entry %zu: %s", i,
			       name ? "a type that is no member's" : "no name");
	arc_safe_name(name, t->name, sizeof(t->name));
	if (jnum(e, "mode", &mode) < 0 || jnum(e, "size", &size) < 0 || jnum(e, "endOffset", &end) < 0)
		return ck_err(t->ret_error, -EBADMSG, "'%s': a mode, size or offset that is no number", t->name);
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
	t->in_file = true;
	t->file_size = size;
	t->file_end = end;
	t->file_done = 0;
	return toc_chunk(t, e, true);
}

/* Entry @i of the TOC. */
static int toc_entry(struct toc *t, json_object *e, size_t i)
{
	const char *type = jstr(e, "type"), *name = jstr(e, "name");
	char safe[128];
	int rc;

	if (type && !strcmp(type, "chunk")) {
		if (!t->in_file || !name || strcmp(arc_safe_name(name, safe, sizeof(safe)), t->name))
			return ck_err(t->ret_error, -EBADMSG, "entry %zu: a chunk without its file", i);
		return toc_chunk(t, e, false);
	}
	rc = toc_end_file(t);
	return rc ? rc : toc_member(t, e, i);
}

/* Every entry of the TOC text @text (@len bytes). */
static int toc_walk(struct toc *t, const char *text, size_t len)
{
	_cleanup_(toc_tok_freep) json_tokener *tok = json_tokener_new();
	const char *ents;
	int64_t version;
	size_t i = 0;
	int rc;

	if (!tok)
		return -ENOMEM;
	t->p = text;
	t->end = text + len;
	if (scan_top(t, &ents, &version) < 0)
		return ck_err(t->ret_error, -EBADMSG, "not a JSON object");
	if (version != 1)
		return ck_err(t->ret_error, -ENOTSUP, "not of version 1");
	if (!ents)
		return ck_err(t->ret_error, -EBADMSG, "no \"entries\" list");
	t->p = ents;
	for (;; i++) {
		_cleanup_(toc_json_putp) json_object *e = NULL;

		if (i >= TOC_ENTRIES_MAX)
			return ck_err(t->ret_error, -ENOTSUP, "over %u entries", TOC_ENTRIES_MAX);
		rc = toc_next(t, tok, i, &e);
		if (rc <= 0)
			break;
		rc = toc_entry(t, e, i);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	rc = toc_end_file(t);
	if (rc == 0)
		ck_log(CK_LOG_DEBUG, "arc: zstd:chunked: %zu entries in the table of contents", i);
	return rc;
}

int arc_chunked_index(struct arc *a, const struct arc_seek_src *src, uint64_t base, uint64_t size, const char *pos,
		      const char *checksum, char **ret_error)
{
	_cleanup_(arc_seek_freep) struct arc_seek *s = arc_seek_new(src, base + size, NULL);
	struct toc t = { .a = a, .s = s, .base = base, .size = size, .ret_error = ret_error };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc;

	if (!s)
		return -ENOMEM;
	s->fmt = SEEK_ZSTD_CHUNKED;
	rc = toc_load(&t, pos, checksum, &text, &len);
	if (rc < 0)
		return rc;
	rc = toc_walk(&t, text, len);
	if (rc < 0)
		return rc;
	if (s->n) {
		rc = arc_seek_ready(s, NULL, ret_error);
		if (rc < 0)
			return rc;
		a->seek = TAKE_PTR(s);
	}
	snprintf(a->kind, sizeof(a->kind), "zstd:chunked layer (%zu units)", a->seek ? a->seek->n : 0);
	return 0;
}
