/* SPDX-License-Identifier: Apache-2.0 */
/* /container.json (see spec.h): built as a json-c document, so that every
 * string read from the checkpoint is escaped by the library. Keys follow
 * checkpointctl's JSON output; empty values are left out where it leaves
 * them out. */
#include "spec.h"

#include <errno.h>
#include <stddef.h>
#include <json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

DEFINE_CLEANUP(spec_out_putp, json_object, json_object_put)

/* Add @val under @key of @o; -ENOMEM if @val could not be made. */
static int put(json_object *o, const char *key, json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int put_str(json_object *o, const char *key, const char *s)
{
	return put(o, key, json_object_new_string(s ? s : ""));
}

/* Go's omitempty: nothing for NULL or "". */
static int put_str_opt(json_object *o, const char *key, const char *s)
{
	return s && *s ? put_str(o, key, s) : 0;
}

static int put_u64_opt(json_object *o, const char *key, uint64_t v)
{
	return v ? put(o, key, json_object_new_uint64(v)) : 0;
}

int spec_parse_stats(const struct ck_blob *b, struct spec_stats *ret)
{
	_cleanup_(spec_out_putp) json_object *root = NULL;
	json_object *entries, *e, *dump, *v;
	struct spec_stats s = { 0 };
	_cleanup_free_ char *text = strndup((const char *) b->data, b->len);

	if (!text)
		return -ENOMEM;
	root = json_tokener_parse(text);
	if (!root || !json_object_object_get_ex(root, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array) || json_object_array_length(entries) < 1)
		return -EBADMSG;
	e = json_object_array_get_idx(entries, 0);
	if (!json_object_object_get_ex(e, "dump", &dump) || !json_object_is_type(dump, json_type_object))
		return -EBADMSG;
#define STAT(f) if (json_object_object_get_ex(dump, #f, &v) && json_object_is_type(v, json_type_int)) \
		s.f = (typeof(s.f)) json_object_get_uint64(v)
	STAT(freezing_time);
	STAT(frozen_time);
	STAT(memdump_time);
	STAT(memwrite_time);
	STAT(pages_scanned);
	STAT(pages_written);
#undef STAT
	*ret = s;
	return 0;
}

/* Count the processes below @i (not @i itself) with @stack, room for every
 * process: iterative, since a hostile chain is as deep as it is long. */
static size_t ps_descendants(const struct ck_forest *f, size_t i, size_t *stack)
{
	size_t top = 0, n = 0;

	stack[top++] = i;
	while (top) {
		size_t j = stack[--top];

		for (size_t k = f->kid_start[j]; k < f->kid_start[j + 1]; k++) {
			stack[top++] = f->kids[k];
			n++;
		}
	}
	return n;
}

/* The children of @p (at process level @depth, the root's being 0) go
 * into "process_tree": it is alive or stopped, and they are not below the
 * last level. */
static bool ps_shows_children(const struct spec_proc *p, unsigned depth)
{
	return p->live && depth + 1 < SPEC_PS_LEVELS_MAX;
}

static json_object *ps_node(const struct spec_proc *procs, const struct ck_forest *f, size_t i, unsigned depth,
			    size_t *stack)
{
	_cleanup_(spec_out_putp) json_object *o = json_object_new_object();
	const struct spec_proc *p = &procs[i];
	json_object *kids = NULL;

	if (!o)
		return NULL;
	if (put(o, "pid", json_object_new_int64(p->pid)) < 0 || put_str(o, "command", p->comm) < 0)
		return NULL;
	/* Only live and stopped tasks have memory to read arguments from. */
	if (p->live && put_str_opt(o, "cmdline", p->cmdline) < 0)
		return NULL;
	if (put_str(o, "task_state", p->task_state) < 0)
		return NULL;
	if (f->kid_start[i] == f->kid_start[i + 1])
		return TAKE_PTR(o);
	if (!ps_shows_children(p, depth)) {
		/* say what is not shown, and where it is */
		if (put(o, "descendants_left_out", json_object_new_uint64(ps_descendants(f, i, stack))) < 0 ||
		    put_str(o, "descendants_listed_in", "/ps") < 0)
			return NULL;
		return TAKE_PTR(o);
	}
	kids = json_object_new_array();
	if (put(o, "children", kids) < 0)
		return NULL;
	for (size_t k = f->kid_start[i]; k < f->kid_start[i + 1]; k++) {
		json_object *c = ps_node(procs, f, f->kids[k], depth + 1, stack);

		if (!c || json_object_array_add(kids, c) < 0) {
			json_object_put(c);
			return NULL;
		}
	}
	return TAKE_PTR(o);
}

/* What "process_tree" of @procs leaves out, into @ret; the tree it shows
 * is that of @f's first root. */
static void ps_left_out(const struct spec_proc *procs, size_t n, const struct ck_forest *f, size_t *stack,
			struct spec_ps_left_out *ret)
{
	size_t top = 0, shown = 0;

	*ret = (struct spec_ps_left_out) { 0 };
	if (!f->n_roots)
		return;
	/* (index, level) pairs: the levels are bounded, so two per process fit */
	stack[top++] = f->roots[0];
	stack[top++] = 0;
	while (top) {
		size_t depth = stack[--top], i = stack[--top];
		size_t below;

		shown++;
		if (ps_shows_children(&procs[i], (unsigned) depth)) {
			for (size_t k = f->kid_start[i]; k < f->kid_start[i + 1]; k++) {
				stack[top++] = f->kids[k];
				stack[top++] = depth + 1;
			}
			continue;
		}
		below = ps_descendants(f, i, stack + top);
		if (procs[i].live)
			ret->deep += below;
		else
			ret->not_live += below;
	}
	ret->other_trees = n - shown - ret->deep - ret->not_live;
}

/* The forest of @procs (@n > 0) and a stack to walk it (two entries a
 * process, as ps_left_out() needs). Returns 0 or -ENOMEM. */
static int ps_forest(const struct spec_proc *procs, size_t n, struct ck_forest *f, size_t **ret_stack)
{
	_cleanup_free_ size_t *stack = calloc(2 * n + 1, sizeof(*stack));

	if (!stack || ck_forest_build(f, procs, n, sizeof(*procs), offsetof(struct spec_proc, pid),
				      offsetof(struct spec_proc, ppid)) < 0)
		return -ENOMEM;
	*ret_stack = TAKE_PTR(stack);
	return 0;
}

int spec_ps_tree_left_out(const struct spec_proc *procs, size_t n, struct spec_ps_left_out *ret)
{
	_cleanup_free_ size_t *stack = NULL;
	struct ck_forest f;

	*ret = (struct spec_ps_left_out) { 0 };
	if (!n)
		return 0;
	if (ps_forest(procs, n, &f, &stack) < 0)
		return -ENOMEM;
	ps_left_out(procs, n, &f, stack, ret);
	ck_forest_done(&f);
	return 0;
}

/* checkpointctl shows one tree: that of the first root, or, when the ppids
 * form a cycle and there is no root, of the process where ck_forest_build()
 * cut the cycle. What it leaves out is counted in "process_tree_left_out". */
static int put_ps_tree(json_object *o, const struct spec_proc *procs, size_t n)
{
	_cleanup_free_ size_t *stack = NULL;
	struct spec_ps_left_out lo;
	struct ck_forest f;
	json_object *sum;
	size_t total;
	int rc = 0;

	if (!n)
		return 0;
	if (ps_forest(procs, n, &f, &stack) < 0)
		return -ENOMEM;
	if (!f.n_roots)
		goto out;
	rc = put(o, "process_tree", ps_node(procs, &f, f.roots[0], 0, stack));
	ps_left_out(procs, n, &f, stack, &lo);
	total = lo.deep + lo.not_live + lo.other_trees;
	if (rc == 0 && total) {
		sum = json_object_new_object();
		rc = put(o, "process_tree_left_out", sum);
		rc = rc ?: put(sum, "processes", json_object_new_uint64(total));
		rc = rc ?: put_u64_opt(sum, "below_level_limit", lo.deep);
		rc = rc ?: put_u64_opt(sum, "below_processes_not_alive", lo.not_live);
		rc = rc ?: put_u64_opt(sum, "outside_the_tree", lo.other_trees);
		if (lo.deep)
			rc = rc ?: put(sum, "level_limit", json_object_new_uint64(SPEC_PS_LEVELS_MAX));
		rc = rc ?: put_str(sum, "listed_in", "/ps");
	}
out:
	ck_forest_done(&f);
	return rc;
}

static int put_networks(json_object *o, const struct spec_info *info)
{
	json_object *nets, *net = NULL, *ifs = NULL, *ifo;
	const char *cur = NULL;

	if (!info->n_ifaces)
		return 0;
	nets = json_object_new_array();
	if (put(o, "networks", nets) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < info->n_ifaces; i++) {
		const struct spec_iface *f = &info->ifaces[i];

		if (!cur || strcmp(cur, f->network)) {
			cur = f->network;
			net = json_object_new_object();
			if (!net || json_object_array_add(nets, net) < 0) {
				json_object_put(net);
				return -ENOMEM;
			}
			ifs = json_object_new_object();
			if (put_str(net, "name", f->network) < 0 || put(net, "interfaces", ifs) < 0)
				return -ENOMEM;
		}
		ifo = json_object_new_object();
		if (put(ifs, f->name, ifo) < 0 || put_str_opt(ifo, "ip", f->ip) < 0 ||
		    put_str_opt(ifo, "mac", f->mac) < 0 || put_str_opt(ifo, "gateway", f->gateway) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int put_metadata(json_object *o, const struct spec_info *info)
{
	json_object *md = json_object_new_object(), *ann;

	if (put(o, "metadata", md) < 0 || put_str_opt(md, "pod_name", spec_pod_name(info)) < 0 ||
	    put_str_opt(md, "kubernetes_namespace", spec_namespace(info)) < 0)
		return -ENOMEM;
	if (!info->n_annotations)
		return 0;
	ann = json_object_new_object();
	if (put(md, "annotations", ann) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < info->n_annotations; i++)
		if (put_str(ann, info->annotations[i].key, info->annotations[i].value) < 0)
			return -ENOMEM;
	return 0;
}

static int put_mounts(json_object *o, const struct spec_info *info)
{
	json_object *arr, *m;

	if (!info->n_mounts)
		return 0;
	arr = json_object_new_array();
	if (put(o, "mounts", arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < info->n_mounts; i++) {
		m = json_object_new_object();
		if (!m || json_object_array_add(arr, m) < 0) {
			json_object_put(m);
			return -ENOMEM;
		}
		if (put_str(m, "destination", info->mounts[i].destination) < 0 ||
		    put_str(m, "type", info->mounts[i].type) < 0 ||
		    put_str(m, "source", info->mounts[i].source) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int put_stats(json_object *o, const struct spec_stats *s)
{
	json_object *st;

	if (!s)
		return 0;
	st = json_object_new_object();
	if (put(o, "statistics", st) < 0 || put_u64_opt(st, "freezing_time", s->freezing_time) < 0 ||
	    put_u64_opt(st, "frozen_time", s->frozen_time) < 0 ||
	    put_u64_opt(st, "memdump_time", s->memdump_time) < 0 ||
	    put_u64_opt(st, "memwrite_time", s->memwrite_time) < 0 ||
	    put_u64_opt(st, "pages_scanned", s->pages_scanned) < 0 ||
	    put_u64_opt(st, "pages_written", s->pages_written) < 0)
		return -ENOMEM;
	return 0;
}

/* "oci_image": the container image the checkpoint came in. */
static int put_oci_image(json_object *o, const struct arc_image *img)
{
	json_object *i, *ann;
	int rc;

	if (!img)
		return 0;
	i = json_object_new_object();
	rc = put(o, "oci_image", i);
	rc = rc ?: put_str(i, "format", img->format);
	rc = rc ?: put_str_opt(i, "reference", img->ref);
	rc = rc ?: put_str_opt(i, "manifest_digest", img->digest);
	rc = rc ?: put_str_opt(i, "media_type", img->media_type);
	rc = rc ?: put_str_opt(i, "created", img->created);
	rc = rc ?: put(i, "layers", json_object_new_uint64(img->n_layers));
	if (img->containerd)
		rc = rc ?: put(i, "containerd_checkpoint", json_object_new_boolean(1));
	if (rc < 0)
		return rc;
	ann = json_object_new_object();
	rc = put(i, "annotations", ann);
	for (size_t k = 0; rc == 0 && k < img->n_annotations; k++)
		rc = put_str(ann, img->annotations[k].key, img->annotations[k].value);
	return rc;
}

const char *const spec_dump_keys[] = {
	"checkpointed", "checkpoint_size", "statistics", "process_tree", "process_tree_left_out", NULL,
};

int spec_render_container(const struct spec_info *info, const struct spec_sizes *sizes,
			  const struct spec_stats *stats, const struct spec_proc *procs, size_t n_procs,
			  struct ck_buf *out)
{
	_cleanup_(spec_out_putp) json_object *o = json_object_new_object();
	_cleanup_free_ char *name = NULL;
	char created[64] = "", ckpt[64] = "";
	_cleanup_(ck_buf_done) struct ck_buf ips = { 0 }, macs = { 0 };
	json_object *sz;
	struct tm tm;
	time_t when;
	bool engine;
	int rc;

	if (!o)
		return -ENOMEM;
	rc = spec_container_name(info, &name);
	if (rc < 0)
		return rc;
	/* CRI-O's Created annotation is shown as written; createdTime as RFC 3339. */
	if (spec_created(info) && (!strcmp(spec_engine(info), "CRI-O") ||
				   spec_rfc3339(spec_created(info), created, sizeof(created)) < 0))
		snprintf(created, sizeof(created), "%s", spec_created(info));
	/* the checkpoint's time (spec_checkpoint_time()): checkpointedTime as
	 * checkpointctl prints it (CRI-O's as written, fraction kept), else
	 * the time the archive records */
	when = (time_t) spec_checkpoint_time(info, &engine);
	if (engine && !strcmp(spec_engine(info), "CRI-O"))
		snprintf(ckpt, sizeof(ckpt), "%s", info->checkpointed_time);
	else if (engine)
		spec_rfc3339(info->checkpointed_time, ckpt, sizeof(ckpt));
	else if (when > 0 && gmtime_r(&when, &tm))
		strftime(ckpt, sizeof(ckpt), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* every interface's addresses and MACs, joined as checkpointctl joins them */
	for (size_t i = 0; i < info->n_ifaces; i++) {
		if (info->ifaces[i].addrs)
			ck_buf_printf(&ips, "%s%s", ips.len ? ", " : "", info->ifaces[i].addrs);
		if (info->ifaces[i].mac && *info->ifaces[i].mac)
			ck_buf_printf(&macs, "%s%s", macs.len ? ", " : "", info->ifaces[i].mac);
	}
	if (ips.oom || macs.oom)
		return -ENOMEM;
	rc = put_str_opt(o, "container_name", name);
	rc = rc ?: put_str_opt(o, "image", info->image);
	rc = rc ?: put_str_opt(o, "id", info->id);
	rc = rc ?: put_str_opt(o, "runtime", info->runtime);
	rc = rc ?: put_str_opt(o, "created", created);
	rc = rc ?: put_str_opt(o, "checkpointed", ckpt);
	rc = rc ?: put_str_opt(o, "engine", spec_engine(info));
	if (!strcmp(spec_engine(info), "CRI-O")) {
		rc = rc ?: put_str_opt(o, "ip", spec_annotation(info, "io.kubernetes.cri-o.IP.0"));
	} else {
		rc = rc ?: put_str_opt(o, "ip", ips.data);
		rc = rc ?: put_str_opt(o, "mac", macs.data);
	}
	rc = rc ?: put_networks(o, info);
	if (rc < 0)
		return rc;
	sz = json_object_new_object();
	rc = put(o, "checkpoint_size", sz);
	rc = rc ?: put_u64_opt(sz, "total_size", sizes->total);
	rc = rc ?: put_u64_opt(sz, "memory_pages_size", sizes->pages);
	rc = rc ?: put_u64_opt(sz, "root_fs_diff_size", sizes->rootfs_diff);
	rc = rc ?: put_stats(o, stats);
	rc = rc ?: put_metadata(o, info);
	rc = rc ?: put_ps_tree(o, procs, n_procs);
	rc = rc ?: put_mounts(o, info);
	rc = rc ?: put_oci_image(o, info->oci);
	if (rc < 0)
		return rc;
	ck_buf_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
	ck_buf_putc(out, '\n');
	return out->oom ? -ENOMEM : 0;
}
