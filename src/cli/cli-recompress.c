/* SPDX-License-Identifier: Apache-2.0 */
/* --recompress IN OUT: the same tar, rewritten as seekable zstd (pack.h) so
 * that ckptfs mounts it by reading the tar headers only. OUT is created as
 * out.h says: whole or not at all, never over an existing name (--force:
 * over a regular file only). The input is checked to its end as a tar
 * before OUT gets its name. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "arc-oci.h"
#include "cli.h"
#include "out.h"
#include "pack.h"

/* The input must be a regular file: a device or FIFO (/dev/zero) would
 * never end, and a directory is no archive. */
static int recompress_input(const char *in, const char *prog)
{
	struct stat st;

	if (stat(in, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, strerror(errno));
		return CLI_EXIT_ARCHIVE;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a regular file; --recompress reads an archive file\n", prog, in);
		return CLI_EXIT_ARCHIVE;
	}
	return CLI_EXIT_OK;
}

/* Copy the decoded tar of @s into @w; returns an exit code after a message. */
static int recompress_copy(struct arc_stream *s, struct pack_zstd *w, struct pack_stats *st,
			   const char *in, const char *out, const char *prog)
{
	_cleanup_free_ char *err = NULL;
	const void *buf;
	uint64_t at;
	ssize_t n;
	int rc = 0;

	while ((n = arc_stream_next(s, &buf, &err)) > 0) {
		rc = pack_zstd_write(w, buf, (size_t) n);
		if (rc < 0)
			break;
	}
	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, err ? err : strerror((int) -n));
		return n == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_ARCHIVE;
	}
	if (rc == 0)
		rc = pack_zstd_finish(w, st);
	if (rc == -EBADMSG) {
		const char *why = pack_zstd_tar_why(w, &at);

		fprintf(stderr, "%s: %s: %s at byte %llu of the tar; nothing written\n", prog, in,
			why ? why : "not a tar", (unsigned long long) at);
		return CLI_EXIT_ARCHIVE;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(-rc));
		return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_WRITE;
	}
	return CLI_EXIT_OK;
}

/* The flags of --recompress. */
struct recompress_opts {
	int level;		/* --level=N: zstd level; 0: zstd's default */
	unsigned threads;	/* --threads=N: compression threads; 0: one per CPU */
	bool force;		/* --force: OUT may replace a regular file */
};

static int recompress(const char *in, const char *out, const struct recompress_opts *po, const char *prog)
{
	_cleanup_(arc_stream_freep) struct arc_stream *s = NULL;
	_cleanup_(pack_zstd_freep) struct pack_zstd *w = NULL;
	_cleanup_(ck_out_done) struct ck_out o = { .fd = -1 };
	_cleanup_free_ char *err = NULL;
	struct pack_opts opts = { .level = po->level, .threads = po->threads, .tar = true, .hash = arc_sha256_of };
	struct pack_stats st = { 0 };
	int rc;

	rc = recompress_input(in, prog);
	if (rc)
		return rc;
	rc = ck_out_open(&o, out, po->force, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err ? err : strerror(-rc));
		return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_WRITE;
	}
	rc = arc_stream_open(in, &s, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, err ? err : strerror(-rc));
		return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_ARCHIVE;
	}
	rc = pack_zstd_new(&opts, pack_sink_fd, &o.fd, &w);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, rc == -EINVAL ? "bad --level" : strerror(-rc));
		return rc == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_NO_MEMORY;
	}
	rc = recompress_copy(s, w, &st, in, out, prog);
	if (rc)
		return rc;
	rc = ck_out_commit(&o, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err ? err : strerror(-rc));
		return CLI_EXIT_WRITE;
	}
	fprintf(stderr, "%s: %s: %llu bytes of tar (%s) in %llu zstd frames, %llu bytes with the seek table\n",
		prog, out, (unsigned long long) st.in_bytes, arc_stream_compression(s),
		(unsigned long long) st.frames, (unsigned long long) st.out_bytes);
	return CLI_EXIT_OK;
}

enum { KEY_LEVEL = 256, KEY_THREADS, KEY_FORCE };

static int recompress_flag(void *st, struct cli_common *c, int key, const char *arg)
{
	struct recompress_opts *o = st;
	uint64_t v;

	switch (key) {
	case KEY_LEVEL:
		/* zstd's levels go below 0 (fast levels): pack_zstd_new() checks the range */
		if (cli_number(c->prog, "--level", arg[0] == '-' ? arg + 1 : arg, false, &v) < 0 || v > 1000)
			return CLI_EXIT_USAGE;
		o->level = arg[0] == '-' ? -(int) v : (int) v;
		return 0;
	case KEY_THREADS:
		if (cli_number(c->prog, "--threads", arg, false, &v) < 0 || v > 1024)
			return CLI_EXIT_USAGE;
		o->threads = (unsigned) v;
		return 0;
	case KEY_FORCE:
		o->force = true;
		return 0;
	default:
		return 0;
	}
}

static int recompress_run(void *st, struct cli_common *c, int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(&cli_mode_recompress, c->prog, "--recompress needs IN and OUT");
	return recompress(argv[0], argv[1], st, c->prog);
}

static const struct cli_flag recompress_flags[] = {
	{ "level", KEY_LEVEL, "N", "zstd level (default 3)" },
	{ "threads", KEY_THREADS, "N", "compressing threads (default: one per CPU)" },
	{ "force", KEY_FORCE, NULL, "OUT may replace a regular file (never anything else)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_recompress = {
	.name = "recompress",
	.operands = "IN OUT",
	.summary = "write the tar of archive IN as seekable zstd to OUT, which\n"
		   "then mounts without a pass over it",
	.flags = { recompress_flags },
	.usage_exit = CLI_EXIT_USAGE,
	.flag = recompress_flag,
	.run = recompress_run,
	.state_size = sizeof(struct recompress_opts),
};
