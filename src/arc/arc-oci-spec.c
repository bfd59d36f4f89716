/* SPDX-License-Identifier: Apache-2.0 */
/* Media types, annotation keys and sha256 digests of container images
 * (arc-oci.h), for the image reader and the image writer alike. */
#include "arc-oci.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define ARC_HASH_CHUNK (1024 * 1024)

/* Layer media types, by the compression they announce. */
static const char *const layer_types[] = {
	ARC_MT_OCI_LAYER,
	ARC_MT_OCI_LAYER_GZIP,
	ARC_MT_OCI_LAYER_ZSTD,
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	ARC_MT_CTRD_RW,
};

bool arc_oci_is_layer_type(const char *mt)
{
	for (size_t i = 0; mt && i < ARRAY_SIZE(layer_types); i++)
		if (!strcmp(mt, layer_types[i]))
			return true;
	return false;
}

bool arc_oci_is_ckpt_key(const char *key)
{
	return !strncmp(key, ARC_ANN_CRIU, strlen(ARC_ANN_CRIU)) || !strcmp(key, ARC_ANN_CRIO_NAME) ||
	       !strncmp(key, ARC_ANN_PODMAN, strlen(ARC_ANN_PODMAN));
}

const char *arc_oci_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "";
#endif
}

bool arc_oci_has_images(const struct arc *a)
{
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *b = strrchr(e->path, '/');

		if (e->type == ARC_REG && !strcmp(b ? b + 1 : e->path, "inventory.img"))
			return true;
	}
	return false;
}

bool arc_digest_ok(const char *d, size_t len)
{
	if (!d || len != ARC_DIGEST_SIZE - 1 || strncmp(d, "sha256:", 7))
		return false;
	for (size_t i = 7; i < len; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

struct arc_sha256 {
	EVP_MD_CTX *md;
};

struct arc_sha256 *arc_sha256_new(void)
{
	struct arc_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->md = EVP_MD_CTX_new();
	if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		arc_sha256_free(h);
		return NULL;
	}
	return h;
}

int arc_sha256_add(struct arc_sha256 *h, const void *p, size_t len)
{
	return EVP_DigestUpdate(h->md, p, len) == 1 ? 0 : -ENOMEM;
}

void arc_sha256_end(struct arc_sha256 *h, char out[ARC_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->md, md, &n) != 1 || n != 32)
		memset(md, 0, sizeof(md));
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void arc_sha256_free(struct arc_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

int arc_sha256_of(const void *p, size_t len, char out[ARC_DIGEST_SIZE])
{
	_cleanup_(arc_sha256_freep) struct arc_sha256 *h = arc_sha256_new();

	if (!h || arc_sha256_add(h, p, len) < 0)
		return -ENOMEM;
	arc_sha256_end(h, out);
	return 0;
}

int arc_sha256_member(const struct arc *a, const struct arc_entry *e, char out[ARC_DIGEST_SIZE])
{
	_cleanup_(arc_sha256_freep) struct arc_sha256 *h = arc_sha256_new();
	_cleanup_free_ uint8_t *buf = malloc(ARC_HASH_CHUNK);
	ssize_t n = 0;

	if (!h || !buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < e->size; off += (uint64_t) n) {
		n = arc_pread(a, e, buf, ARC_HASH_CHUNK, off);
		if (n <= 0)
			return n < 0 ? (int) n : -EIO;
		if (arc_sha256_add(h, buf, (size_t) n) < 0)
			return -ENOMEM;
	}
	arc_sha256_end(h, out);
	return 0;
}
