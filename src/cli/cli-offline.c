/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the tree without mounting it: ckptfs --ls, --cat, --readlink. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

/* Big enough to amortise the calls, small enough that `--cat 1/pages`
 * never holds more than this much of a large file. */
#define CLI_CHUNK (1024 * 1024)

static int cli_write_all(const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static int cli_ls_fill(void *ctx, const char *name, const struct stat *st)
{
	int *err = ctx;
	size_t len = strlen(name);
	char line[len + 1];

	memcpy(line, name, len);
	line[len] = '\n';
	*err = cli_write_all(line, len + 1);
	return *err < 0;
}

static int cli_cat(struct tree *t, const struct tree_node *n, const char *path, const char *prog)
{
	_cleanup_free_ char *buf = malloc(CLI_CHUNK);
	uint64_t off = 0;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = tree_open(t, n);
	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t got = tree_read(t, n, buf, CLI_CHUNK, off);

		if (got < 0)
			return (int) got;
		if (got == 0)
			return 0;
		rc = cli_write_all(buf, (size_t) got);
		if (rc < 0) {
			fprintf(stderr, "%s: writing standard output: %s\n", prog, strerror(-rc));
			return 1;	/* reported */
		}
		off += (uint64_t) got;
	}
}

enum offline { OFF_LS, OFF_CAT, OFF_READLINK };

static int offline_run(struct tree *t, enum offline mode, const char *path, const char *prog)
{
	const struct tree_node *n = tree_lookup(t, path);
	const char *why = NULL;
	struct stat st;
	int rc = 0;

	if (!n) {
		fprintf(stderr, "%s: '%s': No such file or directory\n", prog, path);
		return CLI_EXIT_NO_PATH;
	}
	tree_getattr(t, n, &st);
	if (mode == OFF_LS && !S_ISDIR(st.st_mode))
		why = "Not a directory";
	else if (mode == OFF_CAT && S_ISDIR(st.st_mode))
		why = "Is a directory";
	else if (mode == OFF_CAT && S_ISLNK(st.st_mode))
		why = "Is a symbolic link (use --readlink)";
	else if (mode == OFF_READLINK && !S_ISLNK(st.st_mode))
		why = "Not a symbolic link";
	if (why) {
		fprintf(stderr, "%s: '%s': %s\n", prog, path, why);
		return CLI_EXIT_NO_PATH;
	}

	switch (mode) {
	case OFF_LS: {
		int err = 0;

		rc = tree_readdir(t, n, cli_ls_fill, &err);
		if (rc == 0)
			rc = err;
		break;
	}
	case OFF_CAT:
		rc = cli_cat(t, n, path, prog);
		if (rc == 1)
			return CLI_EXIT_READ;
		break;
	case OFF_READLINK: {
		size_t size = (size_t) st.st_size + 2;
		_cleanup_free_ char *target = malloc(size);

		if (!target)
			return CLI_EXIT_READ;
		rc = tree_readlink(t, n, target, size);
		if (rc == 0) {
			size = strlen(target);
			target[size] = '\n';
			rc = cli_write_all(target, size + 1);
		}
		break;
	}
	default:
		rc = -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: '%s': %s\n", prog, path, strerror(-rc));
		return CLI_EXIT_READ;
	}
	return 0;
}

/* Open ARCHIVE, build its tree and answer for PATH. */
static int offline_main(struct cli_common *c, enum offline mode, int argc, char **argv, const struct cli_mode *m)
{
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	_cleanup_(tree_freep) struct tree *tree = NULL;
	int ret;

	if (argc < 1)
		return cli_usage_error(m, c->prog, "no archive given");
	if (argc > 2 || (mode != OFF_LS && argc < 2))
		return cli_usage_error(m, c->prog, argc > 2 ? "--%s takes ARCHIVE and one PATH" :
					      "--%s needs a PATH inside the tree", m->name);
	ret = cli_input_open(c, argv[0], 0, &in);
	if (ret == 0)
		ret = cli_tree_open(c, &in, false, &tree);
	if (ret)
		return ret;
	arc_read_ahead_enable(true);
	return offline_run(tree, mode, argc > 1 ? argv[1] : "/", c->prog);
}

static int ls_run(void *st, struct cli_common *c, int argc, char **argv)
{
	return offline_main(c, OFF_LS, argc, argv, &cli_mode_ls);
}

static int cat_run(void *st, struct cli_common *c, int argc, char **argv)
{
	return offline_main(c, OFF_CAT, argc, argv, &cli_mode_cat);
}

static int readlink_run(void *st, struct cli_common *c, int argc, char **argv)
{
	return offline_main(c, OFF_READLINK, argc, argv, &cli_mode_readlink);
}

#define OFFLINE_MODE(n, ops, sum, fn) {						\
	.name = n, .operands = ops, .summary = sum, .run = fn,			\
	.o_classes = CLI_O_INPUT | CLI_O_TREE, .usage_exit = CLI_EXIT_USAGE,	\
}
const struct cli_mode cli_mode_ls = OFFLINE_MODE("ls", "ARCHIVE [PATH]",
	"without mounting: list directory PATH (default /) of the\n"
	"tree, one name a line, in readdir order", ls_run);
const struct cli_mode cli_mode_cat = OFFLINE_MODE("cat", "ARCHIVE PATH",
	"without mounting: write regular file PATH to stdout", cat_run);
const struct cli_mode cli_mode_readlink = OFFLINE_MODE("readlink", "ARCHIVE PATH",
	"without mounting: print the target of symlink PATH", readlink_run);
