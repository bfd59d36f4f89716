/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint image writer (oci.h). The archive is indexed by arc_open()
 * and its members are streamed once into a tar (libarchive's writer, no
 * compression filter): the tar bytes are hashed for the config's diff_id and
 * fed to zlib (gzip) or to the seekable zstd writer of --recompress
 * (src/pack/pack.h: frames cut where members start, each declaring its size,
 * and a seek table, which src/arc/arc-seek.c reads at random), whose output is hashed
 * for the layer's digest as it is written to the layer blob. The config, manifest and
 * index.json are then small JSON documents (json-c). Both forms are made
 * by src/util/out.h's writers: a layout directory is built as
 * "<dest>.partial-XXXXXX" and renamed, an oci-archive in an unnamed file
 * next to <dest> that gets the name at the end. */
#include "oci.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "arc-oci.h"
#include "log.h"
#include "out.h"
#include "pack.h"
#include "spec.h"

#define OCI_CHUNK (1024 * 1024)
#define OCI_SPEC_MAX (16u << 20)

DEFINE_CLEANUP(oci_json_putp, json_object, json_object_put)

/* The layer being written: tar bytes in, compressed bytes out to @fd. */
struct oci_layer {
	int fd;
	enum oci_compress comp;
	struct arc_sha256 *diff_md;	/* of the tar */
	struct arc_sha256 *blob_md;	/* of the compressed blob */
	z_stream z;
	bool z_init;
	struct pack_zstd *zw;	/* zstd */
	uint8_t *out;
	size_t out_cap;
	uint64_t size;		/* compressed bytes written */
	int err;		/* first failure, -errno */
};

static int layer_emit(void *ctx, const void *p, size_t n)
{
	struct oci_layer *l = ctx;
	int rc;

	if (!n)
		return 0;
	rc = ck_pwrite_full(l->fd, p, n, (off_t) l->size);
	if (rc < 0)
		return rc;
	rc = arc_sha256_add(l->blob_md, p, n);
	if (rc < 0)
		return rc;
	l->size += n;
	return 0;
}

/* Compress @n bytes at @p (@end: the last call, flush everything). */
static int layer_feed(struct oci_layer *l, const void *p, size_t n, bool end)
{
	int rc;

	if (l->comp == OCI_GZIP) {
		l->z.next_in = (Bytef *) p;
		l->z.avail_in = (uInt) n;
		do {
			int zr;

			l->z.next_out = l->out;
			l->z.avail_out = OCI_CHUNK;
			zr = deflate(&l->z, end ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				return -EIO;
			rc = layer_emit(l, l->out, OCI_CHUNK - l->z.avail_out);
			if (rc < 0)
				return rc;
			if (end && zr == Z_STREAM_END)
				break;
		} while (l->z.avail_in || l->z.avail_out == 0 || end);
		return 0;
	}
	rc = n ? pack_zstd_write(l->zw, p, n) : 0;
	if (rc == 0 && end)
		rc = pack_zstd_finish(l->zw, NULL);
	return rc;
}

static la_ssize_t layer_write_cb(struct archive *ar, void *data, const void *buf, size_t n)
{
	struct oci_layer *l = data;
	int rc;

	rc = arc_sha256_add(l->diff_md, buf, n);
	rc = rc ?: layer_feed(l, buf, n, false);
	if (rc < 0) {
		l->err = rc;
		archive_set_error(ar, -rc, "%s", strerror(-rc));
		return -1;
	}
	return (la_ssize_t) n;
}

static void oci_entry_fill(struct archive_entry *ae, const struct arc_entry *e)
{
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_perm(ae, e->mode & 07777);
	archive_entry_set_mtime(ae, e->mtime, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	switch (e->type) {
	case ARC_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case ARC_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, e->link);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t) e->size);
	}
}

/* Stream the members of @a into the layer @l. */
static int layer_write(const struct arc *a, struct oci_layer *l, char **ret_error)
{
	_cleanup_free_ uint8_t *buf = malloc(OCI_CHUNK);
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int rc = 0;

	if (!buf || !ar || !ae) {
		rc = -ENOMEM;
		goto out;
	}
	/* pax: long names, large sizes, exact symlink targets */
	archive_write_set_format_pax_restricted(ar);
	archive_write_set_bytes_in_last_block(ar, 1);
	if (archive_write_open2(ar, l, NULL, layer_write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = ck_err(ret_error, -EIO, "cannot start the layer: %s", archive_error_string(ar));
		goto out;
	}
	for (size_t i = 0; i < arc_count(a) && rc == 0; i++) {
		const struct arc_entry *e = arc_entry_at(a, i);

		if (e->type == ARC_OTHER)
			continue;	/* fifos and devices: their kind is not kept */
		archive_entry_clear(ae);
		oci_entry_fill(ae, e);
		if (archive_write_header(ar, ae) != ARCHIVE_OK) {
			rc = ck_err(ret_error, l->err ? l->err : -EIO, "cannot write the layer at '%s': %s", e->path,
				     archive_error_string(ar));
			break;
		}
		for (uint64_t off = 0; e->type == ARC_REG && off < e->size;) {
			ssize_t n = arc_pread(a, e, buf, OCI_CHUNK, off);

			if (n <= 0) {
				rc = ck_err(ret_error, n < 0 ? (int) n : -EIO, "cannot read member '%s': %s", e->path,
					     strerror(n < 0 ? (int) -n : EIO));
				break;
			}
			if (archive_write_data(ar, buf, (size_t) n) != n) {
				rc = ck_err(ret_error, l->err ? l->err : -EIO, "cannot write the layer at '%s': %s",
					     e->path, archive_error_string(ar));
				break;
			}
			off += (uint64_t) n;
		}
	}
	if (rc == 0 && archive_write_close(ar) != ARCHIVE_OK)
		rc = ck_err(ret_error, l->err ? l->err : -EIO, "cannot finish the layer: %s", archive_error_string(ar));
	if (rc == 0)
		rc = layer_feed(l, NULL, 0, true);
	if (rc < 0)
		ck_err(ret_error, rc, "cannot write the layer: %s", strerror(-rc));
out:
	archive_entry_free(ae);
	if (ar)
		archive_write_free(ar);
	return rc;
}

static int layer_init(struct oci_layer *l, int fd, enum oci_compress comp)
{
	*l = (struct oci_layer) { .fd = fd, .comp = comp };
	l->diff_md = arc_sha256_new();
	l->blob_md = arc_sha256_new();
	l->out_cap = OCI_CHUNK;
	l->out = malloc(l->out_cap);
	if (!l->diff_md || !l->blob_md || !l->out)
		return -ENOMEM;
	if (comp == OCI_GZIP) {
		/* 15 + 16: a gzip wrapper, with no name and no time in its header */
		if (deflateInit2(&l->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		l->z_init = true;
		return 0;
	}
	return pack_zstd_new(&(struct pack_opts) { .tar = true }, layer_emit, l, &l->zw);
}

static void layer_done(struct oci_layer *l)
{
	arc_sha256_free(l->diff_md);
	arc_sha256_free(l->blob_md);
	if (l->z_init)
		deflateEnd(&l->z);
	pack_zstd_free(l->zw);
	free(l->out);
}

/* What the archive's engine files say, for the annotations. */
struct oci_meta {
	struct spec_info info;
	char *name;		/* the container's name */
	char *image_id;		/* config.dump rootfsImageID */
	char *checkpointed;	/* config.dump checkpointedTime, RFC 3339 */
};

static void oci_meta_done(struct oci_meta *m)
{
	spec_info_done(&m->info);
	free(m->name);
	free(m->image_id);
	free(m->checkpointed);
}

static int oci_load_json(const struct arc *a, const char *name, struct ck_blob *b, void **owned)
{
	const struct arc_entry *e = arc_find(a, name);

	if (!e || e->type != ARC_REG)
		return -ENOENT;
	return arc_load(a, e, OCI_SPEC_MAX, b, owned);
}

static int oci_meta_read(const struct arc *a, const char *archive, struct oci_meta *m)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	if (oci_load_json(a, "config.dump", &b, &owned) == 0) {
		_cleanup_(oci_json_putp) json_object *j = NULL;
		json_object *v;

		rc = spec_parse_config(&b, &m->info);
		if (rc == -ENOMEM)
			return rc;
		{
			_cleanup_free_ char *s = strndup((const char *) b.data, b.len);

			j = s ? json_tokener_parse(s) : NULL;
		}
		if (j && json_object_object_get_ex(j, "rootfsImageID", &v) && json_object_is_type(v, json_type_string))
			m->image_id = strdup(json_object_get_string(v));
	}
	free(TAKE_PTR(owned));
	if (oci_load_json(a, "spec.dump", &b, &owned) == 0) {
		rc = spec_parse_spec(&b, &m->info);
		if (rc == -ENOMEM)
			return rc;
	}
	if (m->info.checkpointed_time) {
		char ts[64];

		if (spec_rfc3339(m->info.checkpointed_time, ts, sizeof(ts)) == 0)
			m->checkpointed = strdup(ts);
	}
	rc = spec_container_name(&m->info, &m->name);
	if (rc < 0)
		return rc;
	if (!m->name || !*m->name) {
		/* a bare CRIU directory: the archive's own name */
		const char *base = strrchr(archive, '/');
		char *dot;

		free(m->name);
		m->name = strdup(base && base[1] ? base + 1 : archive);
		if (m->name && (dot = strchr(m->name, '.')) && dot != m->name)
			*dot = '\0';
	}
	return m->name ? 0 : -ENOMEM;
}

static int put_s(json_object *o, const char *k, const char *v)
{
	json_object *s;

	if (!v)
		return 0;
	s = json_object_new_string(v);
	if (!s || json_object_object_add(o, k, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static json_object *oci_desc(const char *mt, const char *digest, uint64_t size)
{
	json_object *d = json_object_new_object();

	if (!d || put_s(d, "mediaType", mt) < 0 || put_s(d, "digest", digest) < 0 ||
	    json_object_object_add(d, "size", json_object_new_int64((int64_t) size)) < 0) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

/* The annotations both runtimes look for, then the user's. */
static int oci_annotations(const struct oci_meta *m, const struct oci_build_opts *opts, json_object *ann)
{
	const struct spec_info *i = &m->info;
	const char *engine = i->annotations || i->config_name ? spec_engine(i) : NULL;
	int rc = 0;

	rc = rc ?: put_s(ann, ARC_ANN_CRIO_NAME, m->name);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "container.name", m->name);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "pod.name", i->annotations ? spec_pod_name(i) : NULL);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "pod.namespace", i->annotations ? spec_namespace(i) : NULL);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "engine.name", engine);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "rootfsImageName", i->image);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "rootfsImageID", m->image_id);
	rc = rc ?: put_s(ann, ARC_ANN_CRIU "runtime.name", i->runtime);
	for (size_t k = 0; rc == 0 && k < opts->n_annotations; k++) {
		const char *kv = opts->annotations[k], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = eq ? strndup(kv, (size_t) (eq - kv)) : NULL;

		if (!eq || eq == kv)
			return -EINVAL;
		if (!key)
			return -ENOMEM;
		json_object_object_del(ann, key);
		rc = put_s(ann, key, eq + 1);
	}
	return rc;
}

static int oci_json_text(json_object *o, char **ret, size_t *ret_len, char digest[ARC_DIGEST_SIZE])
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s)
		return -ENOMEM;
	*ret_len = strlen(s);
	*ret = strdup(s);
	if (!*ret)
		return -ENOMEM;
	return arc_sha256_of(s, *ret_len, digest);
}

/* The small documents of the image. */
struct oci_docs {
	char *config, *manifest, *index;
	size_t config_len, manifest_len, index_len;
	char config_digest[ARC_DIGEST_SIZE], manifest_digest[ARC_DIGEST_SIZE], layer_digest[ARC_DIGEST_SIZE];
	char index_digest[ARC_DIGEST_SIZE];
};

static void oci_docs_done(struct oci_docs *d)
{
	free(d->config);
	free(d->manifest);
	free(d->index);
}

/* index.json: the manifest's descriptor, with the image's name (--ref).
 * The checkpoint annotations are on the index and on that descriptor too,
 * not only in the manifest: containerd looks for them in the blob its image
 * record points at, which an import may make the index
 * (docs/formats.md, "Checkpoint images"). */
static int oci_index_doc(const struct oci_meta *m, const struct oci_build_opts *opts, struct oci_docs *d)
{
	_cleanup_(oci_json_putp) json_object *idx = json_object_new_object();
	json_object *mfs = json_object_new_array(), *mann = json_object_new_object();
	json_object *iann = json_object_new_object();
	json_object *mdesc = oci_desc(ARC_MT_OCI_MANIFEST, d->manifest_digest, d->manifest_len);
	int rc = 0;

	if (!idx || !mfs || !mann || !iann || !mdesc) {
		json_object_put(mfs), json_object_put(mann), json_object_put(iann), json_object_put(mdesc);
		return -ENOMEM;
	}
	json_object_object_add(mdesc, "annotations", mann);
	json_object_array_add(mfs, mdesc);
	json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
	rc = rc ?: put_s(idx, "mediaType", ARC_MT_OCI_INDEX);
	json_object_object_add(idx, "manifests", mfs);
	json_object_object_add(idx, "annotations", iann);
	rc = rc ?: oci_annotations(m, opts, iann);
	rc = rc ?: oci_annotations(m, opts, mann);
	if (rc == 0 && opts->ref)
		rc = put_s(mann, ARC_ANN_REF, opts->ref);
	return rc ?: oci_json_text(idx, &d->index, &d->index_len, d->index_digest);
}

static int oci_make_docs(const struct oci_meta *m, const struct oci_build_opts *opts, const char *diff_id,
			 uint64_t layer_size, struct oci_docs *d)
{
	_cleanup_(oci_json_putp) json_object *cfg = json_object_new_object();
	_cleanup_(oci_json_putp) json_object *man = json_object_new_object();
	json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();
	json_object *hist = json_object_new_array(), *h = json_object_new_object();
	json_object *layers = json_object_new_array(), *ann = json_object_new_object();
	char now[64];
	time_t t = time(NULL);
	struct tm tm;
	int rc = 0;

	if (!cfg || !man || !rootfs || !ids || !hist || !h || !layers || !ann) {
		json_object_put(rootfs), json_object_put(ids), json_object_put(hist), json_object_put(h);
		json_object_put(layers), json_object_put(ann);
		return -ENOMEM;
	}
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	/* config: the checkpoint's time as the image's */
	rc = rc ?: put_s(cfg, "created", m->checkpointed ? m->checkpointed : now);
	rc = rc ?: put_s(cfg, "architecture", arc_oci_arch());
	rc = rc ?: put_s(cfg, "os", "linux");
	json_object_object_add(cfg, "config", json_object_new_object());
	json_object_array_add(ids, json_object_new_string(diff_id));
	put_s(rootfs, "type", "layers");
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(cfg, "rootfs", rootfs);
	put_s(h, "created", m->checkpointed ? m->checkpointed : now);
	put_s(h, "created_by", "ckptfs --build-oci");
	json_object_array_add(hist, h);
	json_object_object_add(cfg, "history", hist);
	rc = rc ?: oci_json_text(cfg, &d->config, &d->config_len, d->config_digest);
	/* manifest */
	json_object_object_add(man, "schemaVersion", json_object_new_int(2));
	rc = rc ?: put_s(man, "mediaType", ARC_MT_OCI_MANIFEST);
	json_object_object_add(man, "config", oci_desc(ARC_MT_OCI_CONFIG, d->config_digest, d->config_len));
	json_object_array_add(layers, oci_desc(opts->compress == OCI_ZSTD ? ARC_MT_OCI_LAYER_ZSTD : ARC_MT_OCI_LAYER_GZIP,
					       d->layer_digest, layer_size));
	json_object_object_add(man, "layers", layers);
	json_object_object_add(man, "annotations", ann);
	rc = rc ?: oci_annotations(m, opts, ann);
	rc = rc ?: oci_json_text(man, &d->manifest, &d->manifest_len, d->manifest_digest);
	return rc < 0 ? rc : oci_index_doc(m, opts, d);
}

static const char oci_layout_text[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static int write_file_at(int dfd, const char *name, const void *p, size_t n)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	return ck_pwrite_full(fd, p, n, 0);
}

/* oci-archive: the layout as a plain tar on @fd. */
static int write_archive(int fd, int layer_fd, uint64_t layer_size, const struct oci_docs *d, char **ret_error)
{
	_cleanup_free_ uint8_t *buf = malloc(OCI_CHUNK);
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	const struct { const char *name; const char *data; size_t len; bool layer; } files[] = {
		{ "oci-layout", oci_layout_text, sizeof(oci_layout_text) - 1, false },
		{ d->config_digest, d->config, d->config_len, false },
		{ d->layer_digest, NULL, layer_size, true },
		{ d->manifest_digest, d->manifest, d->manifest_len, false },
		{ "index.json", d->index, d->index_len, false },
	};
	time_t now = time(NULL);
	int rc = 0;

	if (!buf || !ar || !ae) {
		rc = -ENOMEM;
		goto out;
	}
	archive_write_set_format_pax_restricted(ar);
	if (archive_write_open_fd(ar, fd) != ARCHIVE_OK) {
		rc = -EIO;
		goto out;
	}
	for (int i = 0; i < 2 && rc == 0; i++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, i ? "blobs/sha256" : "blobs");
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		archive_entry_set_mtime(ae, now, 0);
		if (archive_write_header(ar, ae) != ARCHIVE_OK)
			rc = -EIO;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files) && rc == 0; i++) {
		char name[160];

		if (!strncmp(files[i].name, "sha256:", 7))
			snprintf(name, sizeof(name), "blobs/sha256/%.64s", files[i].name + 7);
		else
			snprintf(name, sizeof(name), "%s", files[i].name);
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_mtime(ae, now, 0);
		archive_entry_set_size(ae, (la_int64_t) files[i].len);
		if (archive_write_header(ar, ae) != ARCHIVE_OK) {
			rc = -EIO;
			break;
		}
		if (!files[i].layer) {
			if (archive_write_data(ar, files[i].data, files[i].len) != (la_ssize_t) files[i].len)
				rc = -EIO;
			continue;
		}
		for (uint64_t off = 0; off < layer_size && rc == 0;) {
			ssize_t n = ck_pread_full(layer_fd, buf, (size_t) CK_MIN((uint64_t) OCI_CHUNK, layer_size - off),
						  (off_t) off);

			if (n <= 0)
				rc = n < 0 ? (int) n : -EIO;
			else if (archive_write_data(ar, buf, (size_t) n) != n)
				rc = -EIO;
			off += n > 0 ? (uint64_t) n : 0;
		}
	}
	if (rc == 0 && archive_write_close(ar) != ARCHIVE_OK)
		rc = -EIO;
	if (rc < 0)
		ck_err(ret_error, rc, "cannot write the oci-archive: %s",
			rc == -EIO && archive_errno(ar) ? strerror(archive_errno(ar)) : strerror(-rc));
out:
	archive_entry_free(ae);
	if (ar)
		archive_write_free(ar);
	return rc;
}

/* Index @archive and read what its engine files say. */
static int oci_build_read(const char *archive, const struct oci_build_opts *opts, struct arc **ret,
			  struct oci_meta *meta, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int rc;

	rc = arc_open(archive, opts->arc_opts, ret, &err);
	if (rc < 0)
		return ck_err(ret_error, rc, "%s: %s", archive, err ? err : strerror(-rc));
	if (!arc_oci_has_images(*ret))
		return ck_err(ret_error, -ARC_ENOTCKPT, "%s: no CRIU images (inventory.img) found", archive);
	rc = oci_meta_read(*ret, archive, meta);
	return rc < 0 ? ck_err(ret_error, rc, "%s: %s", archive, strerror(-rc)) : 0;
}

/* Where the image is written: an oci-archive is the output file @tar
 * (src/util/out.h: unnamed until it is whole), its layer the unnamed @lfd;
 * a layout directory is the partial directory @dir, its layer a file in it. */
struct oci_dest {
	const char *path;
	bool is_tar;
	struct ck_out tar;
	struct ck_out_dir dir;
	int lfd;
};

static void oci_dest_done(struct oci_dest *d)
{
	if (d->lfd >= 0)
		close(d->lfd);
	d->lfd = -1;
	if (d->is_tar)
		ck_out_done(&d->tar);
	else
		ck_out_dir_done(&d->dir);
}

static int oci_dest_open_tar(struct oci_dest *d, const struct oci_build_opts *opts, char **ret_error)
{
	const char *slash = strrchr(d->path, '/');
	_cleanup_free_ char *dir = slash ? strndup(d->path, (size_t) (slash - d->path) + 1) : strdup(".");
	int rc;

	if (!dir)
		return -ENOMEM;
	rc = ck_out_open(&d->tar, d->path, false, ret_error);
	if (rc < 0)
		return rc;
	d->lfd = open(opts->arc_opts && opts->arc_opts->cache_dir ? opts->arc_opts->cache_dir : dir,
		      O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (d->lfd < 0)
		d->lfd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (d->lfd < 0)
		return ck_err(ret_error, -errno, "%s: cannot create a temporary file in '%s': %m", d->path, dir);
	return 0;
}

static int oci_dest_open_dir(struct oci_dest *d, char **ret_error)
{
	int rc = ck_out_dir_open(&d->dir, d->path, ret_error);

	if (rc < 0)
		return rc;
	if (mkdirat(d->dir.fd, "blobs", 0755) < 0 || mkdirat(d->dir.fd, "blobs/sha256", 0755) < 0)
		return ck_err(ret_error, -errno, "%s: cannot create '%s/blobs/sha256': %m", d->path, d->dir.tmp);
	d->lfd = openat(d->dir.fd, "blobs/sha256/.layer.partial", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (d->lfd < 0)
		return ck_err(ret_error, -errno, "%s: cannot create the layer: %m", d->path);
	return 0;
}

/* Start DEST: it must not exist. A name ending in ".tar" is an oci-archive. */
static int oci_dest_open(struct oci_dest *d, const char *dest, const struct oci_build_opts *opts, char **ret_error)
{
	size_t len = strlen(dest);

	*d = (struct oci_dest) { .path = dest, .lfd = -1, .tar.fd = -1, .dir.fd = -1 };
	while (len > 1 && dest[len - 1] == '/')
		len--;
	d->is_tar = len > 4 && !strncmp(dest + len - 4, ".tar", 4);
	return d->is_tar ? oci_dest_open_tar(d, opts, ret_error) : oci_dest_open_dir(d, ret_error);
}

/* Write the documents next to the layer and give DEST its name, never
 * over something that took the name meanwhile. */
static int oci_dest_commit(struct oci_dest *d, const struct oci_docs *docs, uint64_t layer_size, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	char name[160];
	int rc, dfd = d->dir.fd;

	if (d->is_tar) {
		rc = write_archive(d->tar.fd, d->lfd, layer_size, docs, &err);
		if (rc < 0)
			return ck_err(ret_error, rc, "%s: %s", d->path, err ? err : strerror(-rc));
		return ck_out_commit(&d->tar, ret_error);
	}
	snprintf(name, sizeof(name), "blobs/sha256/%.64s", docs->layer_digest + 7);
	rc = fsync(d->lfd) < 0 || renameat(dfd, "blobs/sha256/.layer.partial", dfd, name) < 0 ? -errno : 0;
	snprintf(name, sizeof(name), "blobs/sha256/%.64s", docs->config_digest + 7);
	rc = rc ?: write_file_at(dfd, name, docs->config, docs->config_len);
	snprintf(name, sizeof(name), "blobs/sha256/%.64s", docs->manifest_digest + 7);
	rc = rc ?: write_file_at(dfd, name, docs->manifest, docs->manifest_len);
	rc = rc ?: write_file_at(dfd, "oci-layout", oci_layout_text, sizeof(oci_layout_text) - 1);
	rc = rc ?: write_file_at(dfd, "index.json", docs->index, docs->index_len);
	if (rc < 0)
		return ck_err(ret_error, rc, "%s: cannot write the image: %s", d->path, strerror(-rc));
	return ck_out_dir_commit(&d->dir, ret_error);
}

/* The layer from @a and the documents that describe it. */
static int oci_build_layer(const struct arc *a, const struct oci_meta *meta, const struct oci_build_opts *opts,
			   const struct oci_dest *d, struct oci_docs *docs, uint64_t *ret_size, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	struct oci_layer layer;
	char diff_id[ARC_DIGEST_SIZE];
	int rc;

	rc = layer_init(&layer, d->lfd, opts->compress);
	rc = rc ?: layer_write(a, &layer, &err);
	if (rc < 0 && rc != -ENOMEM) {
		ck_err(ret_error, rc, "%s: %s", d->path, err ? err : strerror(-rc));
	} else if (rc == 0) {
		arc_sha256_end(layer.diff_md, diff_id);
		arc_sha256_end(layer.blob_md, docs->layer_digest);
		*ret_size = layer.size;
		rc = oci_make_docs(meta, opts, diff_id, layer.size, docs);
		if (rc == -EINVAL)
			ck_err(ret_error, rc, "--annotation takes KEY=VALUE");
	}
	layer_done(&layer);
	return rc;
}

int oci_build(const char *archive, const char *dest, const struct oci_build_opts *opts, char **ret_digest,
	      bool *ret_dest, char **ret_error)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	struct oci_meta meta = { 0 };
	struct oci_docs docs = { 0 };
	struct oci_dest d = { .lfd = -1, .tar.fd = -1, .dir.fd = -1 };
	uint64_t layer_size = 0;
	int rc;

	*ret_dest = false;
	rc = oci_build_read(archive, opts, &a, &meta, ret_error);
	if (rc == 0) {
		*ret_dest = true;
		rc = oci_dest_open(&d, dest, opts, ret_error);
		rc = rc ?: oci_build_layer(a, &meta, opts, &d, &docs, &layer_size, ret_error);
		rc = rc ?: oci_dest_commit(&d, &docs, layer_size, ret_error);
	}
	if (rc == 0 && ret_digest && !(*ret_digest = strdup(docs.manifest_digest)))
		rc = -ENOMEM;
	if (rc == 0)
		*ret_dest = false;
	else if (rc == -ENOMEM)
		ck_err(ret_error, rc, "out of memory");
	else
		ck_err(ret_error, rc, "%s: %s", dest, strerror(-rc));
	oci_dest_done(&d);
	oci_docs_done(&docs);
	oci_meta_done(&meta);
	return rc;
}
