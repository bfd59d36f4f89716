/* SPDX-License-Identifier: Apache-2.0 */
/* --diff [--json] [--bytes] A B: what changed from checkpoint A to B
 * (src/diff/). Exit status as diff's: 0 the same, 1 different, 2 trouble.
 * When one input is a pre-dump child whose parent is not found (or is the
 * other input, on disk), the other input becomes its parent, so that pages
 * the child keeps in the parent are read from the same archive and equal
 * without a read; it is kept as the parent only when it holds every such
 * page. Containers of pods are paired by name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "diff.h"
#include "log.h"

enum { KEY_JSON = 256, KEY_BYTES };

struct diff_state {
	bool json, bytes;
};

static int diff_flag(void *st, struct cli_common *c, int key, const char *arg)
{
	struct diff_state *s = st;

	if (key == KEY_JSON)
		s->json = true;
	else if (key == KEY_BYTES)
		s->bytes = true;
	return 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether the pre-dump chain of @child's one model should start with
 * @parent: its first parent was not found, or is @parent's directory. */
static bool wants_parent(const struct cli_input *child, const struct cli_input *parent)
{
	const struct ckpt *c = child->cks[0], *p = parent->cks[0];

	if (child->n != 1 || parent->n != 1 || same_file(child->path, parent->path))
		return false;
	if (c->n_levels == 1)
		return c->chain_err != 0;
	return c->levels[1].real_dir && p->levels[0].real_dir && !strcmp(c->levels[1].real_dir, p->levels[0].real_dir);
}

/* Make @parent (with its own chain) the chain of @child when it should be. */
static int adopt(const struct cli_common *c, struct cli_input *child, const struct cli_input *parent)
{
	const struct ckpt *p = parent->cks[0];
	_cleanup_free_ struct ckpt_parent *chain = NULL;
	size_t n = 0;
	int rc;

	if (c->n_parents || !wants_parent(child, parent))
		return 0;
	chain = calloc(p->n_levels + 1, sizeof(*chain));
	if (!chain)
		return CLI_EXIT_NO_MEMORY;
	/* the levels that are archives of their own; the rest is found from there */
	for (size_t k = 0; k < p->n_levels && (!k || p->levels[k].arc != p->levels[k - 1].arc); k++)
		chain[n++] = (struct ckpt_parent) { .arc = p->levels[k].arc,
						    .path = k ? p->levels[k].disk_path : parent->path };
	rc = cli_input_reparent(c, child, chain, n);
	return rc == 1 ? 0 : rc;
}

/* The text of @path in @t into @out: 0, or -errno (-ENOENT: none). */
static int tree_text(struct tree *t, const char *path, struct ck_buf *out)
{
	const struct tree_node *n = tree_lookup(t, path);
	char buf[65536];
	ssize_t got;
	int rc;

	if (!n)
		return -ENOENT;
	rc = tree_open(t, n);
	for (uint64_t off = 0; rc == 0; off += (uint64_t) got) {
		got = tree_read(t, n, buf, sizeof(buf), off);
		if (got <= 0) {
			rc = (int) got;
			break;
		}
		rc = ck_buf_add(out, buf, (size_t) got);
	}
	if (rc == 0)
		tree_release(t, n);
	return rc;
}

/* The container.json of every container of @in, in @texts (one a model),
 * as the tree shows it; what the tree leaves out of its views is no
 * difference, so its warnings are not said. */
static int container_texts(struct cli_common *c, struct cli_input *in, struct ck_buf *texts)
{
	_cleanup_(tree_freep) struct tree *t = NULL;
	int rc;

	ck_log_set_level(CK_LOG_ERR);
	rc = cli_tree_open(c, in, false, &t);
	ck_log_set_level(CK_LOG_WARNING);	/* the default */

	for (size_t i = 0; rc == 0 && i < in->n; i++) {
		char path[4096];
		int r;

		snprintf(path, sizeof(path), "/%s%scontainer.json", in->names ? in->names[i] : "",
			 in->names ? "/" : "");
		r = tree_text(t, path, &texts[i]);
		if (r == -ENOMEM || texts[i].oom)
			rc = CLI_EXIT_NO_MEMORY;
		else if (r < 0 && r != -ENOENT)
			fprintf(stderr, "%s: %s: %s: %s\n", c->prog, in->path, path + 1, strerror(-r));
		if (r < 0)
			ck_buf_done(&texts[i]);
	}
	return rc;
}

static void warn(void *ctx, const char *msg)
{
	fprintf(stderr, "%s: %s\n", (const char *) ctx, msg);
}

struct diff_job {
	struct cli_common *c;
	struct diff_state *s;
	struct cli_input *in[2];
	struct ck_buf *texts[2];
	struct diff_out out;
	struct arc_opts aopts;
	bool trouble, differ;
};

/* Compare model @ia of A with @ib of B (either may be -1: none). */
static int compare(struct diff_job *j, ssize_t ia, ssize_t ib)
{
	struct diff_opts o = { .bytes = j->s->bytes, .arc_opts = &j->aopts, .emit = diff_out_event, .ctx = &j->out,
			       .warn = warn, .warn_ctx = (void *) j->c->prog };
	ssize_t idx[2] = { ia, ib };
	struct diff_side side[2];
	bool trouble = false;
	int rc;

	for (int k = 0; k < 2; k++) {
		struct cli_input *in = j->in[k];

		side[k] = (struct diff_side) { .path = in->path };
		if (idx[k] < 0)
			continue;
		side[k].ck = in->cks[idx[k]];
		side[k].container_json = j->texts[k][idx[k]].data;
		side[k].container_json_len = j->texts[k][idx[k]].len;
		if (in->names)
			o.container = in->names[idx[k]];
	}
	rc = diff_run(&side[0], &side[1], &o, &trouble);
	j->trouble |= trouble;
	j->differ |= rc > 0;
	return rc < 0 ? rc : 0;
}

/* Every container of A and B, paired by name (a single checkpoint is one
 * container without a name). */
static int compare_all(struct diff_job *j)
{
	struct cli_input *a = j->in[0], *b = j->in[1];
	size_t i = 0, k = 0;
	int rc = 0;

	if (!a->names != !b->names) {
		fprintf(stderr, "%s: %s is a pod checkpoint, %s is not: compare one container with --diff "
			"on its own\n", j->c->prog, a->names ? a->path : b->path, a->names ? b->path : a->path);
		return -EINVAL;
	}
	if (!a->names)
		return compare(j, 0, 0);
	while (rc == 0 && (i < a->n || k < b->n)) {
		int c = i == a->n ? 1 : k == b->n ? -1 : strcmp(a->names[i], b->names[k]);

		rc = compare(j, c <= 0 ? (ssize_t) i : -1, c >= 0 ? (ssize_t) k : -1);
		i += c <= 0;
		k += c >= 0;
	}
	return rc;
}

/* Open both inputs, each other's parent where one is a pre-dump child of
 * the other, and their container.json texts. */
/* Whether a model of @in wants a parent that was not found. */
static bool chain_broken(const struct cli_input *in)
{
	for (size_t i = 0; i < in->n; i++)
		if (in->cks[i]->chain_err && in->cks[i]->n_levels == 1)
			return true;
	return false;
}

/* Open input @k: -o parent= is for an input that wants a parent (a child
 * whose own link leads nowhere), not for the others (the parent itself). */
static int open_one(struct diff_job *j, int k, const char *path)
{
	const unsigned flags = CLI_INPUT_PODS | CLI_INPUT_CHAIN_LATER;
	struct cli_common plain = *j->c;
	int rc;

	plain.parents = NULL;
	plain.n_parents = 0;
	rc = cli_input_open(&plain, path, flags, j->in[k]);
	if (rc || !j->c->n_parents || !chain_broken(j->in[k]))
		return rc;
	cli_input_done(j->in[k]);
	return cli_input_open(j->c, path, flags, j->in[k]);
}

static int open_inputs(struct diff_job *j, char **argv)
{
	int rc = 0;

	for (int k = 0; rc == 0 && k < 2; k++)
		rc = open_one(j, k, argv[k]);
	rc = rc ?: adopt(j->c, j->in[1], j->in[0]);
	rc = rc ?: adopt(j->c, j->in[0], j->in[1]);
	for (int k = 0; rc == 0 && k < 2; k++) {
		cli_input_chain_warn(j->in[k]);
		j->texts[k] = calloc(j->in[k]->n + 1, sizeof(*j->texts[k]));
		rc = j->texts[k] ? container_texts(j->c, j->in[k], j->texts[k]) : CLI_EXIT_NO_MEMORY;
	}
	return rc;
}

static int diff_main(void *st, struct cli_common *c, int argc, char **argv)
{
	_cleanup_(cli_input_done) struct cli_input a = { 0 }, b = { 0 };
	struct diff_state *s = st;
	struct diff_job j = { .c = c, .s = s, .in = { &a, &b }, .out = { .f = stdout, .json = s->json } };
	int rc;

	if (argc != 2)
		return cli_usage_error(&cli_mode_diff, c->prog, "--diff takes two checkpoints, A and B");
	cli_arc_opts(c, &j.aopts);
	rc = open_inputs(&j, argv);
	if (rc == 0) {
		arc_read_ahead_enable(true);
		rc = compare_all(&j);
		if (rc < 0 && rc != -EINVAL)
			fprintf(stderr, "%s: %s\n", c->prog, rc == -EIO ? "writing standard output failed" : strerror(-rc));
	}
	if (rc == 0 && fflush(stdout) != 0) {
		fprintf(stderr, "%s: writing standard output: %s\n", c->prog, strerror(errno));
		rc = -EIO;
	}
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; j.texts[k] && i < j.in[k]->n; i++)
			ck_buf_done(&j.texts[k][i]);
	free(j.texts[0]);
	free(j.texts[1]);
	diff_out_done(&j.out);
	if (rc)
		return CLI_EXIT_TROUBLE;
	return j.trouble ? CLI_EXIT_TROUBLE : j.differ ? CLI_EXIT_DIFFERENT : CLI_EXIT_OK;
}

static const struct cli_flag diff_flags[] = {
	{ "json", KEY_JSON, NULL, "one JSON object per difference, with its kind and fields" },
	{ "bytes", KEY_BYTES, NULL, "with each run of changed memory, its first differing\n"
				    "bytes in both checkpoints as hex and ASCII" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_diff = {
	.name = "diff",
	.operands = "A B",
	.summary = "what changed from checkpoint A to B: processes, threads,\n"
		   "descriptors, sockets, memory areas, memory page by page,\n"
		   "rootfs-diff files, container.json (exit 0 same, 1 different,\n"
		   "2 trouble)",
	.flags = { diff_flags },
	.o_classes = CLI_O_INPUT,
	.usage_exit = CLI_EXIT_TROUBLE,
	.flag = diff_flag,
	.run = diff_main,
	.state_size = sizeof(struct diff_state),
};
