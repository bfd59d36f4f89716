/* SPDX-License-Identifier: Apache-2.0 */
/* Container-level views: /container.json (what `checkpointctl inspect
 * --format json --all` reports, see spec.h), /stats-dump.json (CRIU's dump
 * statistics as crit decodes them) and /ps (the process tree as text). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "view-priv.h"
#include "render.h"
#include "spec.h"

/* Engine files are small; anything larger is not one. */
#define VIEW_SPEC_MAX (16u << 20)

/* Parse member @name of the container with @parse, if it exists. A damaged
 * file only leaves its fields out. */
static int load_spec(const struct tree *t, const char *name,
		     int (*parse)(const struct ck_blob *, struct spec_info *), struct spec_info *info)
{
	const struct arc_entry *e = view_container_member(t, name);
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	if (!e || e->type != ARC_REG)
		return 0;
	rc = arc_load(t->arc, e, VIEW_SPEC_MAX, &b, &owned);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	rc = parse(&b, info);
	return rc == -ENOMEM ? rc : 0;
}

/* stats-dump: at the top, where Podman and CRI-O copy it, else among the
 * images (containerd's criu.tar when CRIU's work directory was the images
 * directory). */
static const struct arc_entry *stats_member(const struct tree *t)
{
	const struct arc_entry *e = view_container_member(t, "stats-dump");
	char path[PATH_MAX];

	if (e || !*t->ck->img_dir ||
	    snprintf(path, sizeof(path), "%s/stats-dump", t->ck->img_dir) >= (int) sizeof(path))
		return e;
	return arc_find(t->arc, path);
}

static int load_stats(const struct tree *t, struct spec_stats *ret)
{
	const struct arc_entry *e = stats_member(t);
	_cleanup_free_ void *owned = NULL;
	struct ck_buf json = { 0 };
	struct ck_blob b;
	int rc;

	if (!e || e->type != ARC_REG)
		return -ENOENT;
	rc = arc_load(t->arc, e, VIEW_SPEC_MAX, &b, &owned);
	if (rc < 0)
		return rc;
	rc = img_render_json("stats-dump", &b, false, &json);
	if (rc == 0 && json.oom)
		rc = -ENOMEM;
	if (rc == 0)
		rc = spec_parse_stats(&(struct ck_blob) { (const uint8_t *) json.data, json.len }, ret);
	ck_buf_done(&json);
	return rc;
}

static void sum_sizes(const struct tree *t, struct spec_sizes *s)
{
	const char *dir = t->ck->img_dir;
	size_t dirlen = strlen(dir);
	const struct arc_entry *e;

	*s = (struct spec_sizes) { 0 };
	for (size_t i = 0; dirlen && i < arc_count(t->arc); i++) {
		e = arc_entry_at(t->arc, i);
		if (e->type != ARC_REG || strncmp(e->path, dir, dirlen) || e->path[dirlen] != '/')
			continue;
		s->total += e->size;
		if (!strncmp(e->path + dirlen + 1, "pages-", 6))
			s->pages += e->size;
	}
	e = view_container_member(t, "rootfs-diff.tar");
	if (e && e->type == ARC_REG)
		s->rootfs_diff = e->size;
}

static const char *proc_comm(const struct ckpt_proc *p)
{
	const char *name = ckpt_proc_name(p);

	return name ? name : "";
}

/* The arguments of @p joined by spaces (NULL if unreadable), in @buf. */
static const char *proc_args(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *buf)
{
	if (render_cmdline(ck, p, buf) < 0 || !buf->data)
		return NULL;
	while (buf->len && buf->data[buf->len - 1] == '\0')
		buf->len--;
	buf->data[buf->len] = '\0';
	for (size_t i = 0; i < buf->len; i++)
		if (buf->data[i] == '\0')
			buf->data[i] = ' ';
	return buf->data;
}

static int render_container(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct ckpt *ck = t->ck;
	_cleanup_free_ struct spec_proc *procs = NULL;
	_cleanup_free_ struct ck_buf *args = NULL;
	struct spec_info info = { 0 };
	struct spec_sizes sizes;
	struct spec_stats stats;
	bool has_stats;
	int rc;

	info.archive_time = view_checkpoint_time(t);
	info.oci = arc_image(t->arc);
	rc = load_spec(t, "config.dump", spec_parse_config, &info);
	rc = rc ?: load_spec(t, "spec.dump", spec_parse_spec, &info);
	rc = rc ?: load_spec(t, "network.status", spec_parse_network, &info);
	rc = rc ?: spec_parse_ctrd(&info);
	if (rc < 0)
		goto out;
	sum_sizes(t, &sizes);
	has_stats = load_stats(t, &stats) == 0;
	procs = calloc(ck->n_procs + 1, sizeof(*procs));
	args = calloc(ck->n_procs + 1, sizeof(*args));
	rc = -ENOMEM;
	if (!procs || !args)
		goto out;
	for (size_t i = 0; i < ck->n_procs; i++) {
		const struct ckpt_proc *p = &ck->procs[i];

		procs[i] = (struct spec_proc) { .pid = p->pid, .ppid = p->ppid, .comm = proc_comm(p),
						.task_state = ckpt_task_state_name(ckpt_task_state(p)),
						.live = ckpt_is_live(p) };
		if (procs[i].live)
			procs[i].cmdline = proc_args(ck, p, &args[i]);
	}
	rc = spec_render_container(&info, &sizes, has_stats ? &stats : NULL, procs, ck->n_procs, out);
out:
	for (size_t i = 0; args && i < ck->n_procs; i++)
		ck_buf_done(&args[i]);
	spec_info_done(&info);
	return rc;
}

static int render_stats(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	rc = arc_load(t->arc, n->member, VIEW_SPEC_MAX, &b, &owned);
	if (rc < 0)
		return rc;
	return img_render_json("stats-dump", &b, !t->opts.json_plain, out);
}

/* Levels of /ps indented four spaces each; deeper lines say their depth. */
#define PS_INDENT_MAX 64

/* One line of /ps for @p at @depth. */
static void ps_line(const struct ckpt *ck, const struct ckpt_proc *p, size_t depth, struct ck_buf *out)
{
	struct ck_buf args = { 0 };
	const char *a = NULL;

	if (ckpt_is_live(p))
		a = proc_args(ck, p, &args);
	ck_buf_printf(out, "%*s", (int) CK_MIN(depth, (size_t) PS_INDENT_MAX) * 4, "");
	if (depth > PS_INDENT_MAX)
		ck_buf_printf(out, "(depth %zu) ", depth);
	ck_buf_printf(out, "[%u] %s", p->pid, proc_comm(p));
	if (a && *a)
		ck_buf_printf(out, "  %s", a);
	if (p->n_threads > 1)
		ck_buf_printf(out, "  (%zu threads)", p->n_threads);
	if (ckpt_is_zombie(p))
		ck_buf_puts(out, "  <zombie>");
	else if (ckpt_task_state(p) == IMG_TASK_STOPPED)
		ck_buf_puts(out, "  <stopped>");
	ck_buf_putc(out, '\n');
	ck_buf_done(&args);
}

struct ps_item {
	size_t i, depth;
};

/* The process tree, depth first, each process once: linear in the number
 * of processes, however deep or cyclic pstree.img is. */
static int render_ps(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct ckpt *ck = t->ck;
	_cleanup_free_ struct ps_item *stack = NULL;
	struct ck_forest f;
	size_t top = 0;

	if (ck_forest_build(&f, ck->procs, ck->n_procs, sizeof(*ck->procs), offsetof(struct ckpt_proc, pid),
			    offsetof(struct ckpt_proc, ppid)) < 0)
		return -ENOMEM;
	stack = calloc(ck->n_procs + 1, sizeof(*stack));
	if (!stack) {
		ck_forest_done(&f);
		return -ENOMEM;
	}
	for (size_t r = 0; r < f.n_roots; r++) {
		if (r == f.n_roots - f.n_cut)
			ck_buf_printf(out, "# %zu processes below are not reachable from a root "
				      "(their ppids form a cycle): shown as roots\n", f.n_unreached);
		stack[top++] = (struct ps_item) { f.roots[r], 0 };
		while (top) {
			struct ps_item it = stack[--top];

			ps_line(ck, &ck->procs[it.i], it.depth, out);
			ck_buf_drain(out);
			for (size_t k = f.kid_start[it.i + 1]; k-- > f.kid_start[it.i];)
				stack[top++] = (struct ps_item) { f.kids[k], it.depth + 1 };
		}
	}
	ck_forest_done(&f);
	return out->oom ? -ENOMEM : 0;
}

/* One warning when /container.json's process_tree leaves processes out. */
static int warn_ps_tree(struct tree *t)
{
	const struct ckpt *ck = t->ck;
	_cleanup_free_ struct spec_proc *procs = calloc(ck->n_procs + 1, sizeof(*procs));
	_cleanup_(ck_buf_done) struct ck_buf why = { 0 };
	struct spec_ps_left_out lo;

	if (!procs)
		return -ENOMEM;
	for (size_t i = 0; i < ck->n_procs; i++)
		procs[i] = (struct spec_proc) { .pid = ck->procs[i].pid, .ppid = ck->procs[i].ppid,
						.live = ckpt_is_live(&ck->procs[i]) };
	if (spec_ps_tree_left_out(procs, ck->n_procs, &lo) < 0)
		return -ENOMEM;
	if (lo.deep)
		ck_buf_printf(&why, "%zu below its %d levels", lo.deep, SPEC_PS_LEVELS_MAX);
	if (lo.not_live)
		ck_buf_printf(&why, "%s%zu below processes not alive", why.len ? ", " : "", lo.not_live);
	if (lo.other_trees)
		ck_buf_printf(&why, "%s%zu outside the first root's tree", why.len ? ", " : "", lo.other_trees);
	if (why.oom)
		return -ENOMEM;
	if (why.len)
		tree_warn(t, "container.json: process_tree leaves out %zu processes (%s); /ps lists every process",
			  lo.deep + lo.not_live + lo.other_trees, why.data);
	return 0;
}

int view_add_container(struct tree *t)
{
	const struct arc_entry *e;
	struct tree_node *n;

	struct ck_forest f;

	if (!tree_text_add(t, t->root, "ps", S_IFREG | 0444, render_ps, NULL))
		return -ENOMEM;
	if (ck_forest_build(&f, t->ck->procs, t->ck->n_procs, sizeof(*t->ck->procs),
			    offsetof(struct ckpt_proc, pid), offsetof(struct ckpt_proc, ppid)) < 0)
		return -ENOMEM;
	if (f.n_cut)
		tree_warn(t, "pstree.img: %zu processes are not reachable from a root (their ppids form a cycle); "
			  "/ps shows them as roots", f.n_unreached);
	ck_forest_done(&f);
	/* An engine checkpoint has spec.dump (containerd's index: its index);
	 * a bare CRIU dump has no container. */
	if (view_container_member(t, "spec.dump") || view_container_member(t, "config.dump") ||
	    (arc_image(t->arc) && arc_image(t->arc)->containerd)) {
		if (!tree_text_add(t, t->root, "container.json", S_IFREG | 0444, render_container, NULL) ||
		    warn_ps_tree(t) < 0)
			return -ENOMEM;
	}
	e = stats_member(t);
	if (e && e->type == ARC_REG) {
		n = tree_text_add(t, t->root, "stats-dump.json", S_IFREG | 0444, render_stats, NULL);
		if (!n)
			return -ENOMEM;
		n->member = e;
	}
	return 0;
}
