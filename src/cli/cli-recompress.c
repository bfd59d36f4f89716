/* SPDX-License-Identifier: Apache-2.0 */
/* --recompress IN OUT: the same tar, rewritten as seekable zstd (pack.h) so
 * that ckptfs mounts it by reading the tar headers only. OUT is written to
 * a temporary file beside it and renamed into place once complete, so a
 * failure leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "cli.h"
#include "pack.h"

int cli_recompress_run(const char *in, const char *out, const struct cli_pack_opts *po, const char *prog)
{
	_cleanup_(arc_stream_freep) struct arc_stream *s = NULL;
	_cleanup_(pack_zstd_freep) struct pack_zstd *w = NULL;
	_cleanup_free_ char *err = NULL, *tmp = NULL, *dir_copy = strdup(out);
	struct pack_opts opts = { .level = po->level, .threads = po->threads, .tar = true };
	struct pack_stats st = { 0 };
	_cleanup_close_ int fd = -1;
	const void *buf;
	ssize_t n;
	int rc;

	if (!dir_copy || asprintf(&tmp, "%s/.ckptfs-recompress-XXXXXX", dirname(dir_copy)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, strerror(ENOMEM));
		return CLI_EXIT_NO_MEMORY;
	}
	rc = arc_stream_open(in, &s, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, err ? err : strerror(-rc));
		return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_ARCHIVE;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(errno));
		return CLI_EXIT_WRITE;
	}
	rc = pack_zstd_new(&opts, pack_sink_fd, &fd, &w);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, rc == -EINVAL ? "bad --level" : strerror(-rc));
		unlink(tmp);
		return rc == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_NO_MEMORY;
	}
	while ((n = arc_stream_next(s, &buf, &err)) > 0) {
		rc = pack_zstd_write(w, buf, (size_t) n);
		if (rc < 0)
			break;
	}
	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, err ? err : strerror((int) -n));
		unlink(tmp);
		return n == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_ARCHIVE;
	}
	if (rc == 0)
		rc = pack_zstd_finish(w, &st);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, out) < 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(-rc));
		unlink(tmp);
		return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : CLI_EXIT_WRITE;
	}
	fprintf(stderr, "%s: %s: %llu bytes of tar (%s) in %llu zstd frames, %llu bytes with the seek table\n",
		prog, out, (unsigned long long) st.in_bytes, arc_stream_compression(s),
		(unsigned long long) st.frames, (unsigned long long) st.out_bytes);
	return CLI_EXIT_OK;
}
