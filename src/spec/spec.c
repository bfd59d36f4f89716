/* SPDX-License-Identifier: Apache-2.0 */
/* config.dump, spec.dump, network.status and deleted.files (see spec.h).
 * json-c is used only here. Every string kept is strdup()ed out of the
 * parsed document, which is released before returning. Fields of the wrong
 * JSON type are treated as absent rather than failing the whole file: an
 * engine that adds or retypes a field must not hide the others. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arc-oci.h"

DEFINE_CLEANUP(spec_json_putp, json_object, json_object_put)

/* Parse all of @b as one JSON value. NULL for anything else. */
static json_object *spec_parse(const struct ck_blob *b)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	if (!b->len || b->len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *) b->data, (int) b->len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	end = o ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	for (; o && end < b->len; end++)
		if (!isspace(b->data[end])) {
			json_object_put(o);
			o = NULL;
		}
	return o;
}

/* The string member @key of object @o, or NULL. Borrowed from @o. */
static const char *spec_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Replace *@dst by a copy of @src (when @src is set). */
static int spec_set(char **dst, const char *src)
{
	char *p;

	if (!src)
		return 0;
	p = strdup(src);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

int spec_parse_config(const struct ck_blob *b, struct spec_info *info)
{
	_cleanup_(spec_json_putp) json_object *root = spec_parse(b);
	struct spec_info n = { 0 };
	int rc = 0;

	if (!root || !json_object_is_type(root, json_type_object))
		return -EBADMSG;
	rc = rc ?: spec_set(&n.id, spec_str(root, "id"));
	rc = rc ?: spec_set(&n.config_name, spec_str(root, "name"));
	rc = rc ?: spec_set(&n.image, spec_str(root, "rootfsImageName"));
	rc = rc ?: spec_set(&n.runtime, spec_str(root, "runtime"));
	rc = rc ?: spec_set(&n.created_time, spec_str(root, "createdTime"));
	rc = rc ?: spec_set(&n.checkpointed_time, spec_str(root, "checkpointedTime"));
	if (rc < 0) {
		spec_info_done(&n);
		return rc;
	}
#define SPEC_TAKE(f) do { if (n.f) { free(info->f); info->f = n.f; } } while (0)
	SPEC_TAKE(id);
	SPEC_TAKE(config_name);
	SPEC_TAKE(image);
	SPEC_TAKE(runtime);
	SPEC_TAKE(created_time);
	SPEC_TAKE(checkpointed_time);
#undef SPEC_TAKE
	return 0;
}

static void spec_kvs_free(struct spec_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static void spec_mounts_free(struct spec_mount *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].destination);
		free(v[i].type);
		free(v[i].source);
	}
	free(v);
}

static void spec_ifaces_free(struct spec_iface *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].network);
		free(v[i].name);
		free(v[i].ip);
		free(v[i].addrs);
		free(v[i].gateway);
		free(v[i].mac);
	}
	free(v);
}

static int spec_annotations(json_object *root, struct spec_kv **ret, size_t *ret_n)
{
	struct spec_kv *v = NULL;
	json_object *ann;
	size_t n = 0;

	if (!json_object_object_get_ex(root, "annotations", &ann) ||
	    !json_object_is_type(ann, json_type_object))
		return 0;
	v = calloc((size_t) json_object_object_length(ann) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	json_object_object_foreach(ann, key, val) {
		if (!json_object_is_type(val, json_type_string))
			continue;
		v[n].key = strdup(key);
		v[n].value = strdup(json_object_get_string(val));
		n++;
		if (!v[n - 1].key || !v[n - 1].value) {
			spec_kvs_free(v, n);
			return -ENOMEM;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int spec_mounts(json_object *root, struct spec_mount **ret, size_t *ret_n)
{
	struct spec_mount *v;
	json_object *arr;
	size_t len, n = 0;

	if (!json_object_object_get_ex(root, "mounts", &arr) || !json_object_is_type(arr, json_type_array))
		return 0;
	len = json_object_array_length(arr);
	v = calloc(len + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		json_object *m = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(m, json_type_object))
			continue;
		if (spec_set(&v[n].destination, spec_str(m, "destination") ?: "") < 0 ||
		    spec_set(&v[n].type, spec_str(m, "type") ?: "") < 0 ||
		    spec_set(&v[n].source, spec_str(m, "source") ?: "") < 0) {
			spec_mounts_free(v, n + 1);
			return -ENOMEM;
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int spec_parse_spec(const struct ck_blob *b, struct spec_info *info)
{
	_cleanup_(spec_json_putp) json_object *root = spec_parse(b);
	struct spec_kv *kv = NULL;
	struct spec_mount *m = NULL;
	size_t nkv = 0, nm = 0;
	json_object *lx;
	int rc;

	if (!root || !json_object_is_type(root, json_type_object))
		return -EBADMSG;
	rc = spec_annotations(root, &kv, &nkv);
	if (rc < 0)
		return rc;
	rc = spec_mounts(root, &m, &nm);
	if (rc < 0) {
		spec_kvs_free(kv, nkv);
		return rc;
	}
	if (json_object_object_get_ex(root, "linux", &lx) && json_object_is_type(lx, json_type_object) &&
	    spec_set(&info->cgroups_path, spec_str(lx, "cgroupsPath")) < 0) {
		spec_kvs_free(kv, nkv);
		spec_mounts_free(m, nm);
		return -ENOMEM;
	}
	spec_kvs_free(info->annotations, info->n_annotations);
	spec_mounts_free(info->mounts, info->n_mounts);
	info->annotations = kv;
	info->n_annotations = nkv;
	info->mounts = m;
	info->n_mounts = nm;
	return 0;
}

/* The annotation @key of image @img, or NULL. */
static const char *spec_image_annotation(const struct arc_image *img, const char *key)
{
	for (size_t i = 0; i < img->n_annotations; i++)
		if (!strcmp(img->annotations[i].key, key))
			return img->annotations[i].value;
	return NULL;
}

/* The container id in containerd's cgroupsPath @cg ("/NAMESPACE/ID" or
 * "SLICE:cri-containerd:ID"), or NULL; borrowed from @cg. */
static const char *spec_ctrd_id(const char *cg)
{
	static const char cri[] = ":cri-containerd:";
	const char *p;

	if (!cg)
		return NULL;
	p = strstr(cg, cri);
	if (p)
		p += sizeof(cri) - 1;
	else if (cg[0] == '/' && (p = strchr(cg + 1, '/')) && p > cg + 1)
		p++;
	else
		return NULL;
	return *p && !strpbrk(p, "/:") ? p : NULL;
}

int spec_parse_ctrd(struct spec_info *info)
{
	const struct arc_image *img = info->oci;
	int rc = 0;

	if (!img || !img->containerd)
		return 0;
	if (!info->image)
		rc = spec_set(&info->image, spec_image_annotation(img, ARC_ANN_REF));
	if (!info->runtime)
		rc = rc ?: spec_set(&info->runtime, spec_image_annotation(img, ARC_ANN_CTRD_RUNTIME));
	if (!info->id)
		rc = rc ?: spec_set(&info->id, spec_ctrd_id(info->cgroups_path));
	return rc;
}

/* One interface of network @net: its first subnet's address and gateway. */
static int spec_iface(const char *net, const char *name, json_object *o, struct spec_iface *ret)
{
	json_object *subnets, *s;
	struct ck_buf addrs = { 0 };
	int rc = 0;

	*ret = (struct spec_iface) { 0 };
	rc = rc ?: spec_set(&ret->network, net);
	rc = rc ?: spec_set(&ret->name, name);
	rc = rc ?: spec_set(&ret->mac, spec_str(o, "mac_address"));
	if (json_object_object_get_ex(o, "subnets", &subnets) && json_object_is_type(subnets, json_type_array)) {
		for (size_t i = 0; rc == 0 && i < json_object_array_length(subnets); i++) {
			const char *ipnet, *gw;

			s = json_object_array_get_idx(subnets, i);
			if (!json_object_is_type(s, json_type_object))
				continue;
			ipnet = spec_str(s, "ipnet");
			gw = spec_str(s, "gateway");
			if (ipnet && *ipnet) {
				free(ret->ip);
				ret->ip = NULL;
				rc = spec_set(&ret->ip, ipnet);
				if (strcspn(ipnet, "/"))
					ck_buf_printf(&addrs, "%s%.*s", addrs.len ? ", " : "",
						      (int) strcspn(ipnet, "/"), ipnet);
			}
			if (rc == 0 && gw && *gw) {
				free(ret->gateway);
				ret->gateway = NULL;
				rc = spec_set(&ret->gateway, gw);
			}
		}
	}
	if (addrs.oom)
		rc = -ENOMEM;
	if (rc == 0)
		ret->addrs = ck_buf_steal(&addrs, NULL);
	ck_buf_done(&addrs);
	return rc;
}

static int spec_iface_cmp(const void *a, const void *b)
{
	const struct spec_iface *x = a, *y = b;
	int c = strcmp(x->network ? x->network : "", y->network ? y->network : "");

	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

int spec_parse_network(const struct ck_blob *b, struct spec_info *info)
{
	_cleanup_(spec_json_putp) json_object *root = spec_parse(b);
	struct spec_iface *v = NULL, *nv;
	size_t n = 0;
	int rc;

	if (!root || !json_object_is_type(root, json_type_object))
		return -EBADMSG;
	json_object_object_foreach(root, net, val) {
		json_object *ifs;

		if (!json_object_is_type(val, json_type_object) ||
		    !json_object_object_get_ex(val, "interfaces", &ifs) ||
		    !json_object_is_type(ifs, json_type_object))
			continue;
		json_object_object_foreach(ifs, ifname, ifo) {
			if (!json_object_is_type(ifo, json_type_object))
				continue;
			nv = reallocarray(v, n + 1, sizeof(*v));
			if (!nv) {
				spec_ifaces_free(v, n);
				return -ENOMEM;
			}
			v = nv;
			rc = spec_iface(net, ifname, ifo, &v[n++]);
			if (rc < 0) {
				spec_ifaces_free(v, n);
				return rc;
			}
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), spec_iface_cmp);
	spec_ifaces_free(info->ifaces, info->n_ifaces);
	info->ifaces = v;
	info->n_ifaces = n;
	return 0;
}

void spec_info_done(struct spec_info *info)
{
	if (!info)
		return;
	free(info->id);
	free(info->config_name);
	free(info->image);
	free(info->runtime);
	free(info->created_time);
	free(info->checkpointed_time);
	free(info->cgroups_path);
	spec_kvs_free(info->annotations, info->n_annotations);
	spec_mounts_free(info->mounts, info->n_mounts);
	spec_ifaces_free(info->ifaces, info->n_ifaces);
	*info = (struct spec_info) { 0 };
}

const char *spec_annotation(const struct spec_info *info, const char *key)
{
	for (size_t i = 0; i < info->n_annotations; i++)
		if (!strcmp(info->annotations[i].key, key))
			return info->annotations[i].value;
	return NULL;
}

static const char *spec_manager(const struct spec_info *info)
{
	const char *m = spec_annotation(info, "io.container.manager");

	/* containerd's checkpoint index: containerd's, whatever the spec says */
	if (info->oci && info->oci->containerd)
		return "";
	return m ? m : "";
}

const char *spec_engine(const struct spec_info *info)
{
	if (!strcmp(spec_manager(info), "libpod"))
		return "Podman";
	if (!strcmp(spec_manager(info), "cri-o"))
		return "CRI-O";
	return "containerd";
}

int spec_container_name(const struct spec_info *info, char **ret)
{
	_cleanup_(spec_json_putp) json_object *meta = NULL;
	const char *s = NULL, *m;
	char *name = NULL;

	if (!strcmp(spec_manager(info), "libpod")) {
		s = info->config_name;
	} else if (!strcmp(spec_manager(info), "cri-o")) {
		/* the CRI metadata JSON names the container; the plain label is the fallback */
		m = spec_annotation(info, "io.kubernetes.cri-o.Metadata");
		if (m)
			meta = spec_parse(&(struct ck_blob) { (const uint8_t *) m, strlen(m) });
		if (meta && json_object_is_type(meta, json_type_object))
			s = spec_str(meta, "name");
		if (!s)
			s = spec_annotation(info, "io.kubernetes.container.name");
	} else {
		s = spec_annotation(info, "io.kubernetes.cri.container-name");
		if (!s && info->oci && info->oci->containerd)
			s = info->id;
	}
	if (s && !(name = strdup(s)))
		return -ENOMEM;
	*ret = name;
	return 0;
}

const char *spec_pod_name(const struct spec_info *info)
{
	if (!strcmp(spec_manager(info), "libpod"))
		return NULL;
	if (!strcmp(spec_manager(info), "cri-o"))
		return spec_annotation(info, "io.kubernetes.pod.name");
	return spec_annotation(info, "io.kubernetes.cri.sandbox-name");
}

const char *spec_namespace(const struct spec_info *info)
{
	if (!strcmp(spec_manager(info), "libpod"))
		return NULL;
	if (!strcmp(spec_manager(info), "cri-o"))
		return spec_annotation(info, "io.kubernetes.pod.namespace");
	return spec_annotation(info, "io.kubernetes.cri.sandbox-namespace");
}

const char *spec_created(const struct spec_info *info)
{
	if (!strcmp(spec_manager(info), "cri-o"))
		return spec_annotation(info, "io.kubernetes.cri-o.Created");
	return info->created_time;
}

static bool spec_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return true;
}

int spec_rfc3339(const char *ts, char *out, size_t size)
{
	const char *p;

	/* YYYY-MM-DDTHH:MM:SS */
	if (!ts || strlen(ts) < 20 || !spec_digits(ts, 4) || ts[4] != '-' || !spec_digits(ts + 5, 2) ||
	    ts[7] != '-' || !spec_digits(ts + 8, 2) || (ts[10] != 'T' && ts[10] != 't') ||
	    !spec_digits(ts + 11, 2) || ts[13] != ':' || !spec_digits(ts + 14, 2) || ts[16] != ':' ||
	    !spec_digits(ts + 17, 2))
		return -EINVAL;
	if (!strncmp(ts, "0001-01-01", 10))
		return -EINVAL;
	p = ts + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char) *p))
			return -EINVAL;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		p = "Z";
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && spec_digits(p + 1, 2) && p[3] == ':' &&
		   spec_digits(p + 4, 2)) {
		if (!strcmp(p + 1, "00:00"))
			p = "Z";
	} else {
		return -EINVAL;
	}
	if (snprintf(out, size, "%.10sT%.8s%s", ts, ts + 11, p) >= (int) size)
		return -EINVAL;
	return 0;
}

int spec_epoch(const char *ts, int64_t *ret)
{
	char norm[64];
	struct tm tm = { 0 };
	int64_t t;

	if (spec_rfc3339(ts, norm, sizeof(norm)) < 0)
		return -EINVAL;
	/* norm: YYYY-MM-DDTHH:MM:SS followed by Z or +hh:mm / -hh:mm */
	if (sscanf(norm, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (int64_t) timegm(&tm);
	if (norm[19] == '+' || norm[19] == '-') {
		int64_t off = ((norm[20] - '0') * 10 + (norm[21] - '0')) * 3600 +
			      ((norm[23] - '0') * 10 + (norm[24] - '0')) * 60;

		t += norm[19] == '+' ? -off : off;
	}
	*ret = t;
	return 0;
}

int64_t spec_checkpoint_time(const struct spec_info *info, bool *ret_engine)
{
	int64_t when;
	bool engine = info->checkpointed_time && spec_epoch(info->checkpointed_time, &when) == 0 && when > 0;

	if (ret_engine)
		*ret_engine = engine;
	if (engine)
		return when;
	if (info->oci && info->oci->containerd && info->oci->ctrd_time > 0)
		return info->oci->ctrd_time;
	return info->archive_time > 0 ? info->archive_time : 0;
}

int spec_render_deleted(const struct ck_blob *b, struct ck_buf *out)
{
	_cleanup_(spec_json_putp) json_object *root = spec_parse(b);
	size_t len;

	if (!root || !json_object_is_type(root, json_type_array))
		return -EBADMSG;
	len = json_object_array_length(root);
	for (size_t i = 0; i < len; i++) {
		json_object *v = json_object_array_get_idx(root, i);

		if (!json_object_is_type(v, json_type_string))
			return -EBADMSG;
		ck_buf_puts(out, json_object_get_string(v));
		ck_buf_putc(out, '\n');
	}
	return out->oom ? -ENOMEM : 0;
}
