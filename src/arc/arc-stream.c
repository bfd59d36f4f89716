/* SPDX-License-Identifier: Apache-2.0 */
/* An archive file's decoded bytes, for the caller to rewrite: the same
 * decoder thread (arc-pipe.c) and detection (arc-tar.c) as arc_open(), or
 * the file's own bytes when it is not compressed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arc-pipe.h"
#include "arc-priv.h"

#define STREAM_BUF (1024 * 1024)

static void set_err(char **ret_err, const char *what)
{
	free(*ret_err);
	*ret_err = strdup(what);
}

struct arc_stream {
	int fd;
	const char *comp;
	struct arc_pipe *pipe;
	uint8_t *buf;	/* read() buffer of an uncompressed file */
};

int arc_stream_open(const char *path, struct arc_stream **ret, char **ret_err)
{
	struct arc_stream *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		rc = -errno;
		set_err(ret_err, strerror(-rc));
		free(s);
		return rc;
	}
	s->comp = arc_compression(s->fd);
	if (s->comp)
		rc = arc_pipe_start(s->comp, s->fd, NULL, 0, &s->pipe);
	else
		rc = (s->buf = malloc(STREAM_BUF)) ? 0 : -ENOMEM;
	if (rc < 0) {
		if (rc == -EINVAL)
			set_err(ret_err, "this compression cannot be decoded here");
		arc_stream_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

ssize_t arc_stream_next(struct arc_stream *s, const void **ret_buf, char **ret_err)
{
	uint64_t in_done;
	ssize_t n;

	if (s->pipe) {
		n = arc_pipe_next(s->pipe, ret_buf, &in_done);
		if (n < 0)
			set_err(ret_err, arc_pipe_why(s->pipe));
		return n;
	}
	do
		n = read(s->fd, s->buf, STREAM_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		set_err(ret_err, strerror(errno));
		return n;
	}
	*ret_buf = s->buf;
	return n;
}

const char *arc_stream_compression(const struct arc_stream *s)
{
	return s->comp ? s->comp : "none";
}

void arc_stream_free(struct arc_stream *s)
{
	if (!s)
		return;
	arc_pipe_free(s->pipe);
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s);
}
