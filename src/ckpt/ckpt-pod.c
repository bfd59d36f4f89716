/* SPDX-License-Identifier: Apache-2.0 */
/* The layout of a pod checkpoint (ckpt.h, CKPT_IMG_DIR): which containers
 * it has and where each one's images are. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ckpt.h"

#define POD_INVENTORY "/" CKPT_IMG_DIR "/inventory.img"

void ckpt_pod_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

ssize_t ckpt_pod_containers(const struct arc *a, char ***ret_names)
{
	char **v = NULL;
	size_t n = 0;

	*ret_names = NULL;
	if (arc_find(a, POD_INVENTORY + 1))
		return 0;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *slash = strchr(e->path, '/');
		char **nv;

		if (e->type != ARC_REG || !slash || slash == e->path || strcmp(slash, POD_INVENTORY))
			continue;
		nv = reallocarray(v, n + 1, sizeof(*v));
		if (nv)
			v = nv;
		if (!nv || !(v[n] = strndup(e->path, (size_t) (slash - e->path)))) {
			ckpt_pod_free(v, n);
			return -ENOMEM;
		}
		n++;
	}
	if (n < 2) {
		ckpt_pod_free(v, n);
		return 0;
	}
	*ret_names = v;
	return (ssize_t) n;
}

char *ckpt_pod_img_dir(const char *name)
{
	char *dir;

	return asprintf(&dir, "%s/%s", name, CKPT_IMG_DIR) < 0 ? NULL : dir;
}
