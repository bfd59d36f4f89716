/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/net/, /<pid>/ns/, /<pid>/mountinfo, mounts and cgroup: the views of
 * a process's namespaces (render-net.c, render-ns.c). A file appears when
 * the images hold what it needs, or held it and it is damaged (then reading
 * it fails with EIO). Zombies get none of them. */
#include <errno.h>

#include "view-priv.h"
#include "render.h"

struct net_file {
	const char *name;
	int family, proto;	/* proto 0: unix */
};

static const struct net_file net_files[] = {
	{ "tcp", 2, 6 }, { "tcp6", 10, 6 }, { "udp", 2, 17 }, { "udp6", 10, 17 }, { "unix", 0, 0 },
};

static const char *const ns_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts",
};

static int r_net(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct net_file *nf = n->arg;

	if (!nf->proto)
		return render_net_unix(t->ck, n->proc, out);
	return render_net_inet(t->ck, n->proc, nf->family, nf->proto, out);
}

static int r_ns(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_ns_link(t->ck, n->proc, n->arg, out);
}

static int r_mountinfo(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_mountinfo(t->ck, n->proc, out);
}

static int r_mounts(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_mounts(t->ck, n->proc, out);
}

static int r_cgroup(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_cgroup(t->ck, n->proc, out);
}

/* ids-<pid>.img is loaded for every live task; without it there is no
 * namespace to show, unless it is there but damaged. */
static bool has_ids(const struct ckpt_proc *p)
{
	return p->has_ids || (p->ids_err < 0 && p->ids_err != -ENOENT);
}

int view_add_pid_ns_net(struct tree *t, struct tree_node *d, const struct ckpt_proc *p)
{
	struct tree_node *net, *ns;

	if (!has_ids(p))
		return 0;
	net = tree_node_add(t, d, "net", TREE_DIR, S_IFDIR | 0555);
	if (!net)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(net_files); i++)
		if (!tree_text_add(t, net, net_files[i].name, S_IFREG | 0444, r_net, &net_files[i]))
			return -ENOMEM;
	ns = tree_node_add(t, d, "ns", TREE_DIR, S_IFDIR | 0511);
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (render_has_ns_link(p, ns_names[i]) &&
		    !tree_text_add(t, ns, ns_names[i], S_IFLNK | 0777, r_ns, ns_names[i]))
			return -ENOMEM;
	if (render_has_mountinfo(t->ck, p) &&
	    (!tree_text_add(t, d, "mountinfo", S_IFREG | 0444, r_mountinfo, NULL) ||
	     !tree_text_add(t, d, "mounts", S_IFREG | 0444, r_mounts, NULL)))
		return -ENOMEM;
	if (render_has_cgroup(t->ck, p) && !tree_text_add(t, d, "cgroup", S_IFREG | 0444, r_cgroup, NULL))
		return -ENOMEM;
	return 0;
}
