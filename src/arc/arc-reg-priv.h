/* SPDX-License-Identifier: Apache-2.0 */
/* Images in a registry (docker://HOST[:PORT]/REPO[:TAG|@DIGEST]), shared by
 * arc-http.c (HTTP over libcurl: one connection, the credentials and the
 * token flow), arc-reg.c (the reference, the distribution API's manifests
 * and blobs, the image as an archive) and arc-reg-blob.c (a layer blob read
 * by ranges through a bounded cache). Not for other modules. */
#ifndef CK_ARC_REG_PRIV_H
#define CK_ARC_REG_PRIV_H

#include <json-c/json.h>

#include "arc-oci.h"
#include "arc-priv.h"

/* The scheme of references (as skopeo spells it). */
#define ARC_REG_SCHEME "docker://"

/* ---- arc-http.c ---- */

struct arc_http;

/* A client for registry @host ("host[:port]") and repository @repo: https
 * with the certificate checked, or, when @tls_verify is false, https
 * unchecked and then plain http. Credentials come from the auth files
 * (arc_http_auth_file()). Returns 0 or -errno with a message. */
int arc_http_new(const char *host, const char *repo, bool tls_verify, struct arc_http **ret, char **ret_error);
void arc_http_free(struct arc_http *h);
/* The repository @h was made for. */
const char *arc_http_repo(const struct arc_http *h);

struct arc_http_req {
	const char *path;	/* "/v2/..." on the registry */
	const char *accept;	/* an Accept header's value, or NULL */
	bool range;		/* ask for @len bytes at @off */
	uint64_t off, len;
	/* the body of a 2xx answer, in order; @status says which (200 to a
	 * ranged request: the whole blob). Returns 0 or -errno to stop. */
	int (*sink)(void *ctx, const void *buf, size_t len, long status);
	void *ctx;
	/* results */
	long status;		/* the final answer's HTTP status */
	char type[128];		/* its Content-Type, without parameters */
	char why[160];		/* a non-2xx answer: the registry's first error message */
};

/* Send @r (GET), answering authentication challenges (Basic, Bearer; a
 * token is renewed on 401) and following redirects (without the
 * Authorization header). Returns 0 with r->status set, or -errno with a
 * message when no answer came (connection, TLS) or @sink failed. */
int arc_http_get(struct arc_http *h, struct arc_http_req *r, char **ret_error);
/* Body bytes received so far and requests sent, over all clients. */
void arc_http_counts(uint64_t *ret_bytes, uint64_t *ret_requests);
/* "401 Unauthorized"-style text for an HTTP status. */
const char *arc_http_reason(long status);

/* ---- arc-reg-blob.c ---- */

struct arc_rblob;

/* Blob @digest (@size bytes) of @h's repository, read by ranges into a
 * cache file in @cache_dir (NULL: $TMPDIR or /tmp) that keeps at most
 * @cache_max bytes (0: 256 MiB). Returns 0 or -errno with a message. */
int arc_rblob_new(struct arc_http *h, const char *digest, uint64_t size, const char *cache_dir,
		  uint64_t cache_max, struct arc_rblob **ret, char **ret_error);
void arc_rblob_free(struct arc_rblob *b);
/* Read as ck_pread_full() does: the count (short only at the end) or -EIO. */
ssize_t arc_rblob_pread(void *ctx, void *buf, size_t len, uint64_t off);
/* The whole blob streamed into an unlinked file of @a's cache_dir, checked
 * against its digest, with progress reports to @a. Returns the file's fd or
 * -errno with a message. */
int arc_rblob_fetch_file(struct arc_http *h, const char *digest, uint64_t size, struct arc *a,
			 const struct arc_opts *opts, char **ret_error);

/* ---- arc-reg.c ---- */

/* The image in the registry: what arc-oci*.c's walk needs of it. */
struct arc_reg;
void arc_reg_free(struct arc_reg *r);
/* The blob descriptor @desc names (@digest, @size: checked by the caller)
 * in the registry image @outer, when @outer lacks it: a manifest, index or
 * config fetched whole and checked against its digest, or for a layer an
 * entry that stands for it, fetched later by arc_reg_layer(). Borrowed
 * until @outer is freed. Returns 0 or -errno with a message. */
int arc_reg_blob(struct arc *outer, json_object *desc, const char *digest, uint64_t size,
		 const struct arc_entry **ret, char **ret_error);
/* Index the layer @e (from arc_reg_blob()) of the registry image @outer as
 * a tar of its own: at random with its member index, or as zstd:chunked
 * through the table of contents at @chunked_pos (its checksum
 * @chunked_sum; NULL: not such a layer), else at random by its seek table,
 * else fetched whole into the spill. */
int arc_reg_layer(struct arc *outer, const struct arc_entry *e, const struct arc_opts *opts, const char *chunked_pos,
		  const char *chunked_sum, struct arc **ret, char **ret_error);

#endif
