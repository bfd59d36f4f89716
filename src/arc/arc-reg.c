/* SPDX-License-Identifier: Apache-2.0 */
/* Images in a registry, named as skopeo names them:
 * docker://HOST[:PORT]/REPO[:TAG|@DIGEST]. The reference's manifest (an
 * image index or a manifest) is fetched and becomes an outer arc shaped
 * like an OCI image layout (oci-layout, an index.json naming it, the
 * manifest as its blob), so that the image reader (arc-oci*.c) walks it as
 * it walks a layout; the blobs it asks for and the outer arc lacks come
 * from here (arc_reg_blob()): nested indexes, manifests and configs are
 * fetched whole and checked against their digests, layers are read by
 * arc_reg_layer(): a seekable zstd layer with a member index (docs/formats.md)
 * at random, its frames checked against their sha256; one with a seek
 * table only, at random by its table; any other one fetched whole into the
 * spill and checked against its digest. */
#include "arc-oci-priv.h"
#include "arc-reg-priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc-midx.h"
#include "arc-seek.h"
#include "log.h"

#define REG_NAME_MAX 255
#define REG_TAG_MAX 128
#define REG_ACCEPT ARC_MT_OCI_INDEX ", " ARC_MT_OCI_MANIFEST ", " ARC_MT_DOCKER_LIST ", " ARC_MT_DOCKER_MANIFEST

/* A blob the walk asked for: a one-item arc that holds it (fetched) or
 * stands for it (a layer). */
struct reg_blob {
	struct arc *a;
	char digest[ARC_DIGEST_SIZE];
	char *index_digest;	/* a layer's member index, from its annotation */
};

struct arc_reg {
	struct arc_http *h;
	char *name;		/* host[:port]/repo[:tag], the image's name */
	char *repo;
	char *tag;		/* or NULL */
	char digest[ARC_DIGEST_SIZE];	/* the reference's, or "" */
	struct reg_blob *blobs;
	size_t nblobs;
};

/* With $CKPTFS_FETCH_LOG set (tests, scripts/bench): append what was
 * fetched from registries to that file when the image is closed. */
static void reg_fetch_log(void)
{
	const char *path = getenv("CKPTFS_FETCH_LOG");
	uint64_t bytes, requests;
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "ae")))
		return;
	arc_http_counts(&bytes, &requests);
	fprintf(f, "requests=%" PRIu64 " bytes=%" PRIu64 "\n", requests, bytes);
	fclose(f);
}

bool arc_is_ref(const char *path)
{
	return !strncmp(path, ARC_REG_SCHEME, strlen(ARC_REG_SCHEME));
}

void arc_reg_free(struct arc_reg *r)
{
	if (!r)
		return;
	reg_fetch_log();
	for (size_t i = 0; i < r->nblobs; i++) {
		arc_free(r->blobs[i].a);
		free(r->blobs[i].index_digest);
	}
	free(r->blobs);
	arc_http_free(r->h);
	free(r->name);
	free(r->repo);
	free(r->tag);
	free(r);
}

static bool name_ok(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') && !strchr(extra, *s))
			return false;
	return true;
}

/* Split "HOST[:PORT]/REPO[:TAG|@DIGEST]" (after the scheme) into @host and @r. */
static int reg_parse(const char *ref, char **ret_host, struct arc_reg *r, char **ret_error)
{
	const char *s = ref + strlen(ARC_REG_SCHEME), *slash = strchr(s, '/'), *at, *colon;
	_cleanup_free_ char *host = NULL, *repo = NULL;
	char safe[300];

	if (!slash || slash == s)
		return ck_err(ret_error, -EINVAL, "not a registry reference: docker://HOST[:PORT]/REPO[:TAG|@DIGEST]");
	host = strndup(s, (size_t) (slash - s));
	repo = strdup(slash + 1);
	if (!host || !repo)
		return -ENOMEM;
	for (const char *p = host; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *p))
			return ck_err(ret_error, -EINVAL, "'%s' is not a registry host",
				      arc_safe_name(host, safe, sizeof(safe)));
	at = strchr(repo, '@');
	if (at) {
		if (!arc_digest_ok(at + 1, strlen(at + 1)))
			return ck_err(ret_error, -EINVAL, "'%s' is not a sha256 digest (sha256:<64 hex digits>)",
				      arc_safe_name(at + 1, safe, sizeof(safe)));
		snprintf(r->digest, sizeof(r->digest), "%s", at + 1);
		repo[at - repo] = '\0';
	}
	colon = strrchr(repo, ':');
	if (colon && !strchr(colon, '/')) {
		r->tag = strdup(colon + 1);
		if (!r->tag)
			return -ENOMEM;
		repo[colon - repo] = '\0';
		if (!*r->tag || strlen(r->tag) > REG_TAG_MAX || !name_ok(r->tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") ||
		    strchr(".-", r->tag[0]))
			return ck_err(ret_error, -EINVAL, "'%s' is not a valid tag",
				      arc_safe_name(r->tag, safe, sizeof(safe)));
	}
	if (!*repo || strlen(repo) > REG_NAME_MAX || !name_ok(repo, "._-/") || strstr(repo, "//") ||
	    repo[0] == '/' || repo[strlen(repo) - 1] == '/' || strstr(repo, "/.") || repo[0] == '.')
		return ck_err(ret_error, -EINVAL, "'%s' is not a repository name (lowercase letters, digits, "
			      "'.', '_', '-' and '/')", arc_safe_name(repo, safe, sizeof(safe)));
	if (!r->tag && !r->digest[0] && !(r->tag = strdup("latest")))
		return -ENOMEM;
	r->repo = TAKE_PTR(repo);
	*ret_host = TAKE_PTR(host);
	return 0;
}

/* Collects a small document. */
static int buf_sink(void *ctx, const void *p, size_t len, long status)
{
	struct ck_buf *b = ctx;

	if (b->len + len > OCI_JSON_MAX)
		return -EFBIG;
	return ck_buf_add(b, p, len);
}

/* The -errno for an answer @status to a request for @what. */
static int status_err(const struct arc_http_req *q, const char *what, char **ret_error)
{
	int rc = q->status == 401 || q->status == 403 ? -EACCES : q->status == 404 ? -ENOENT : -EIO;

	return ck_err(ret_error, rc, "%s: HTTP %ld %s%s%s", what, q->status, arc_http_reason(q->status),
		      q->why[0] ? ": " : "", q->why);
}

/* GET @kind ("manifests" or "blobs") @name of the repository, whole, into
 * @out; its Content-Type into @type (may be NULL). */
static int reg_fetch(struct arc_reg *r, const char *kind, const char *name, const char *what, struct ck_buf *out,
		     char *type, size_t type_size, char **ret_error)
{
	char path[REG_NAME_MAX + REG_TAG_MAX + 128];
	struct arc_http_req q = { .path = path, .sink = buf_sink, .ctx = out };
	int rc;

	if (!strcmp(kind, "manifests"))
		q.accept = REG_ACCEPT;
	snprintf(path, sizeof(path), "/v2/%s/%s/%s", r->repo, kind, name);
	rc = arc_http_get(r->h, &q, ret_error);
	if (rc == -EFBIG)
		return ck_err(ret_error, -EBADMSG, "%s: larger than %u bytes", what, OCI_JSON_MAX);
	if (rc < 0)
		return rc;
	if (q.status != 200)
		return status_err(&q, what, ret_error);
	if (out->oom)
		return -ENOMEM;
	if (type)
		snprintf(type, type_size, "%s", q.type);
	return 0;
}

/* A one-item arc holding @len bytes of @data (taken over) as
 * blobs/sha256/<hex>, or with @data NULL standing for @len bytes. */
static int reg_blob_arc(const char *digest, void *data, uint64_t len, struct arc **ret)
{
	_cleanup_(arc_freep) struct arc *a = arc_new(NULL);
	char path[96];
	struct arc_item *it;
	int rc;

	if (!a) {
		free(data);
		return -ENOMEM;
	}
	if (data && arc_blob_keep(a, data) < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	rc = arc_item_new(a, path, &it);
	if (rc <= 0)
		return rc < 0 ? rc : -EINVAL;
	it->e.type = ARC_REG;
	it->e.size = len;
	it->e.mode = 0444;
	it->src = data ? ARC_SRC_MEM : ARC_SRC_NONE;
	it->data = data;
	snprintf(a->kind, sizeof(a->kind), "registry blob");
	*ret = TAKE_PTR(a);
	return 0;
}

static int reg_keep(struct arc_reg *r, struct arc *a, const char *digest, const char *index_digest)
{
	struct reg_blob *v = reallocarray(r->blobs, r->nblobs + 1, sizeof(*v));

	if (!v) {
		arc_free(a);
		return -ENOMEM;
	}
	r->blobs = v;
	v[r->nblobs] = (struct reg_blob) { .a = a, .index_digest = ck_strdup0(index_digest) };
	snprintf(v[r->nblobs].digest, sizeof(v[r->nblobs].digest), "%s", digest);
	r->nblobs++;
	return index_digest && !v[r->nblobs - 1].index_digest ? -ENOMEM : 0;
}

int arc_reg_blob(struct arc *outer, json_object *desc, const char *digest, uint64_t size,
		 const struct arc_entry **ret, char **ret_error)
{
	struct arc_reg *r = outer->reg;
	const char *mt = NULL, *idx = NULL;
	json_object *v, *ann;
	char got[ARC_DIGEST_SIZE], what[160];
	struct ck_buf b = { 0 };
	struct arc *a = NULL;
	bool layer, doc;
	int rc;

	for (size_t i = 0; i < r->nblobs; i++)
		if (!strcmp(r->blobs[i].digest, digest)) {
			*ret = &r->blobs[i].a->items[0].e;
			return 0;
		}
	if (json_object_object_get_ex(desc, "mediaType", &v) && json_object_is_type(v, json_type_string))
		mt = json_object_get_string(v);
	if (json_object_object_get_ex(desc, "annotations", &ann) &&
	    json_object_object_get_ex(ann, ARC_ANN_MEMBER_INDEX, &v) && json_object_is_type(v, json_type_string))
		idx = json_object_get_string(v);
	layer = mt && arc_oci_is_layer_type(mt);
	doc = mt && (!strcmp(mt, ARC_MT_OCI_INDEX) || !strcmp(mt, ARC_MT_OCI_MANIFEST) ||
		     !strcmp(mt, ARC_MT_DOCKER_LIST) || !strcmp(mt, ARC_MT_DOCKER_MANIFEST));
	if (layer) {
		rc = reg_blob_arc(digest, NULL, size, &a);
		rc = rc ?: reg_keep(r, a, digest, idx && arc_digest_ok(idx, strlen(idx)) ? idx : NULL);
	} else {
		if (size > OCI_JSON_MAX)
			return ck_err(ret_error, -EBADMSG, "%s %s: larger than %u bytes", doc ? "manifest" : "blob",
				      digest, OCI_JSON_MAX);
		snprintf(what, sizeof(what), "%s %s", doc ? "manifest" : "blob", digest);
		rc = reg_fetch(r, doc ? "manifests" : "blobs", digest, what, &b, NULL, 0, ret_error);
		if (rc == 0 && b.len != size)
			rc = ck_err(ret_error, -EBADMSG, "%s has %zu bytes, its descriptor says %" PRIu64, what, b.len,
				    size);
		if (rc == 0)
			rc = arc_sha256_of(b.data, b.len, got);
		if (rc == 0 && strcmp(got, digest))
			rc = ck_err(ret_error, -EBADMSG, "%s does not match its digest (its sha256 is %s)", what,
				    got + 7);
		if (rc == 0)
			rc = reg_blob_arc(digest, ck_buf_steal(&b, NULL), size, &a);
		rc = rc ?: reg_keep(r, a, digest, NULL);
		ck_buf_done(&b);
	}
	if (rc < 0)
		return rc;
	*ret = &r->blobs[r->nblobs - 1].a->items[0].e;
	return 0;
}

/* Add member @name holding @len bytes of @data (taken over) to @a. */
static int reg_add_mem(struct arc *a, const char *name, char *data, size_t len)
{
	struct arc_item *it;
	int rc;

	if (!data || arc_blob_keep(a, data) < 0)
		return -ENOMEM;
	rc = arc_item_new(a, name, &it);
	if (rc <= 0)
		return rc < 0 ? rc : -EINVAL;
	it->e.type = ARC_REG;
	it->e.mode = 0444;
	it->e.size = len;
	it->src = ARC_SRC_MEM;
	it->data = (const uint8_t *) data;
	return 0;
}

/* The outer arc: oci-layout, index.json naming the manifest @man (of type
 * @type) under the reference's tag, and the manifest itself. */
static int reg_outer(struct arc *a, const struct arc_reg *r, struct ck_buf *man, const char *type)
{
	char digest[ARC_DIGEST_SIZE], path[96], *index = NULL, *layout = strdup("{\"imageLayoutVersion\":\"1.0.0\"}");
	size_t man_len = man->len;
	int rc, n;

	rc = arc_sha256_of(man->data, man->len, digest);
	if (rc < 0)
		return rc;
	n = asprintf(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu%s%s%s}]}",
		     type, digest, man->len, r->tag ? ",\"annotations\":{\"" ARC_ANN_REF "\":\"" : "", r->tag ? r->name : "",
		     r->tag ? "\"}" : "");
	if (n < 0)
		index = NULL;
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	rc = reg_add_mem(a, "oci-layout", layout, layout ? strlen(layout) : 0);
	rc = rc ?: reg_add_mem(a, "index.json", index, index ? (size_t) n : 0);
	if (rc < 0)
		return rc;
	return reg_add_mem(a, path, ck_buf_steal(man, NULL), man_len);
}

int arc_reg_open(const char *ref, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error)
{
	_cleanup_(arc_freep) struct arc *a = arc_new(opts);
	_cleanup_free_ char *host = NULL;
	char type[128] = "", got[ARC_DIGEST_SIZE], what[REG_TAG_MAX + 32];
	struct ck_buf man = { 0 };
	struct arc_reg *r;
	int rc;

	if (!a || !(a->reg = r = calloc(1, sizeof(*r))))
		return ck_err(ret_error, -ENOMEM, "out of memory");
	rc = reg_parse(ref, &host, r, ret_error);
	if (rc < 0)
		return rc;
	if (asprintf(&r->name, "%s/%s%s%s", host, r->repo, r->tag ? ":" : "", r->tag ?: "") < 0) {
		r->name = NULL;
		return ck_err(ret_error, -ENOMEM, "out of memory");
	}
	rc = arc_http_new(host, r->repo, !(opts && opts->tls_no_verify), &r->h, ret_error);
	if (rc < 0)
		return rc;
	snprintf(what, sizeof(what), "manifest %s", r->digest[0] ? r->digest : r->tag);
	rc = reg_fetch(r, "manifests", r->digest[0] ? r->digest : r->tag, what, &man, type, sizeof(type), ret_error);
	if (rc == 0 && r->digest[0] && (arc_sha256_of(man.data, man.len, got) < 0 || strcmp(got, r->digest)))
		rc = ck_err(ret_error, -EBADMSG, "%s does not match its digest (its sha256 is %s)", what, got + 7);
	if (rc == 0 && strcmp(type, ARC_MT_OCI_INDEX) && strcmp(type, ARC_MT_OCI_MANIFEST) &&
	    strcmp(type, ARC_MT_DOCKER_LIST) && strcmp(type, ARC_MT_DOCKER_MANIFEST))
		rc = ck_err(ret_error, -EMEDIUMTYPE, "%s: media type '%s' is not an image manifest or index", what,
			    type[0] ? type : "(none)");
	rc = rc ?: reg_outer(a, r, &man, type);
	ck_buf_done(&man);
	rc = rc ?: arc_finish(a);
	if (rc < 0)
		return rc == -ENOMEM ? ck_err(ret_error, rc, "out of memory") : rc;
	snprintf(a->kind, sizeof(a->kind), "registry");
	ck_log(CK_LOG_DEBUG, "registry: %s: %s %s", ref, type, what);
	*ret_arc = TAKE_PTR(a);
	return 0;
}

/* The layer @rb fetched whole into the spill, checked, then indexed. */
static int reg_layer_whole(struct arc *outer, const struct reg_blob *rb, const struct arc_opts *opts,
			   struct arc **ret, char **ret_error)
{
	const struct arc_entry *e = &rb->a->items[0].e;
	struct arc_opts lo = { 0 };
	int fd;

	if (opts)
		lo = *opts;
	lo.progress = NULL;
	arc_progress_begin(outer, opts, e->size);
	fd = arc_rblob_fetch_file(outer->reg->h, rb->digest, e->size, outer, opts, ret_error);
	arc_progress_end(outer, fd >= 0);
	if (fd < 0)
		return fd;
	return arc_open_fd(fd, &lo, outer->budget, ret, ret_error);
}

/* An empty layer arc reading through @b (taken over: freed with it, or
 * here when out of memory), drawing on @outer's budget. */
static struct arc *reg_layer_arc(struct arc *outer, struct arc_rblob *b, const struct arc_opts *opts)
{
	struct arc *la = arc_new(opts);

	if (!la) {
		arc_rblob_free(b);
		return NULL;
	}
	la->rblob = b;
	la->budget = outer->budget;
	return la;
}

/* The layer @rb read at random through @b (taken over) and its seek table.
 * Returns -ENOTSUP when it has none. */
static int reg_layer_seek(struct arc *outer, const struct reg_blob *rb, struct arc_rblob *b,
			  const struct arc_opts *opts, struct arc **ret, char **ret_error)
{
	_cleanup_(arc_freep) struct arc *la = reg_layer_arc(outer, b, opts);
	struct arc_seek_src src = { arc_rblob_pread, b };
	struct arc_seek *seek = NULL;
	_cleanup_free_ char *why = NULL;
	uint8_t head[6] = { 0 };
	int rc;

	if (!la)
		return -ENOMEM;
	if (arc_rblob_pread(b, head, sizeof(head), 0) < 0)
		return ck_err(ret_error, -EIO, "blob %s: cannot read", rb->digest);
	rc = arc_seek_open_src(&src, rb->a->items[0].e.size, NULL, &seek, &why);
	if (rc < 0) {
		ck_log(CK_LOG_DEBUG, "registry: %s: no random access: %s", rb->digest, why ?: strerror(-rc));
		return rc == -ENOMEM ? rc : -ENOTSUP;
	}
	rc = arc_tar_index_seek(la, seek, head[0] == 0xfd ? "xz" : "zstd", NULL, ret_error);
	rc = rc ?: arc_finish(la);
	if (rc == 0 && la->spill_fd >= 0)
		rc = arc_spill_extend(la, la->spill_len, ret_error);
	if (rc < 0)
		return rc;
	la->cache_dir = NULL;
	*ret = TAKE_PTR(la);
	return 0;
}

/* The layer @rb read at random through @b (taken over) with its member
 * index, whose digest its annotation gives: only the index is fetched
 * now, and each frame is checked against its sha256 when it is. */
static int reg_layer_indexed(struct arc *outer, const struct reg_blob *rb, struct arc_rblob *b,
			     const struct arc_opts *opts, struct arc **ret, char **ret_error)
{
	_cleanup_(arc_freep) struct arc *la = reg_layer_arc(outer, b, opts);
	_cleanup_(arc_midx_freep) struct arc_midx *m = NULL;
	struct arc_seek_src src = { arc_rblob_pread, b };
	struct arc_seek_opts so = { .table_trusted = true };
	struct arc_seek *seek = NULL;
	_cleanup_free_ char *why = NULL;
	int rc;

	if (!la)
		return -ENOMEM;
	rc = arc_midx_read(&src, rb->a->items[0].e.size, rb->index_digest, &m, &why);
	rc = rc ?: arc_seek_open_src(&src, rb->a->items[0].e.size, &so, &seek, &why);
	if (rc == 0 && (rc = arc_seek_set_sha256(seek, m->sha256, m->n_frames)) < 0) {
		arc_seek_free(seek);
		ck_err(&why, rc, "member index: %" PRIu32 " frames, the seek table lists others", m->n_frames);
	}
	if (rc < 0)
		return ck_err(ret_error, rc, "blob %s: %s", rb->digest, why ?: strerror(-rc));
	rc = arc_tar_index_seek(la, seek, "zstd", m, ret_error);
	rc = rc ?: arc_finish(la);
	if (rc < 0)
		return rc;
	snprintf(la->kind, sizeof(la->kind), "zstd-compressed tar (seekable, indexed)");
	la->cache_dir = NULL;
	*ret = TAKE_PTR(la);
	return 0;
}

/* The layer @rb read as zstd:chunked through @b (taken over) and its table
 * of contents at @pos, checked against @sum. -ENOTSUP when it cannot be
 * read that way. */
static int reg_layer_chunked(struct arc *outer, const struct reg_blob *rb, struct arc_rblob *b,
			     const struct arc_opts *opts, const char *pos, const char *sum, struct arc **ret,
			     char **ret_error)
{
	_cleanup_(arc_freep) struct arc *la = reg_layer_arc(outer, b, opts);
	struct arc_seek_src src = { arc_rblob_pread, b };
	_cleanup_free_ char *why = NULL;
	int rc;

	if (!la)
		return -ENOMEM;
	rc = arc_chunked_index(la, &src, 0, rb->a->items[0].e.size, pos, sum, &why);
	if (rc == -ENOTSUP) {
		ck_log(CK_LOG_DEBUG, "registry: %s: zstd:chunked, read otherwise: %s", rb->digest, why ?: "");
		return rc;
	}
	rc = rc ?: arc_finish(la);
	if (rc == 0 && la->spill_fd >= 0)
		rc = arc_spill_extend(la, la->spill_len, ret_error);
	if (rc < 0)
		return why ? ck_err(ret_error, rc, "blob %s: zstd:chunked table of contents: %s", rb->digest, why) : rc;
	la->cache_dir = NULL;
	*ret = TAKE_PTR(la);
	return 0;
}

int arc_reg_layer(struct arc *outer, const struct arc_entry *e, const struct arc_opts *opts, const char *chunked_pos,
		  const char *chunked_sum, struct arc **ret, char **ret_error)
{
	struct arc_reg *r = outer->reg;
	const struct reg_blob *rb = NULL;
	struct arc_rblob *b = NULL;
	int rc;

	for (size_t i = 0; !rb && i < r->nblobs; i++)
		if (&r->blobs[i].a->items[0].e == e)
			rb = &r->blobs[i];
	if (!rb)
		return -EINVAL;
	rc = arc_rblob_new(r->h, rb->digest, e->size, opts ? opts->cache_dir : NULL, opts ? opts->cache_size : 0, &b,
			   ret_error);
	if (rc < 0)
		return rc;
	if (rb->index_digest)
		return reg_layer_indexed(outer, rb, b, opts, ret, ret_error);
	if (chunked_pos) {
		rc = reg_layer_chunked(outer, rb, b, opts, chunked_pos, chunked_sum, ret, ret_error);
		if (rc != -ENOTSUP)
			return rc;
		rc = arc_rblob_new(r->h, rb->digest, e->size, opts ? opts->cache_dir : NULL,
				   opts ? opts->cache_size : 0, &b, ret_error);
		if (rc < 0)
			return rc;
	}
	rc = reg_layer_seek(outer, rb, b, opts, ret, ret_error);
	if (rc != -ENOTSUP)
		return rc;
	return reg_layer_whole(outer, rb, opts, ret, ret_error);
}
