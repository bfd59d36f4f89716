/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the tree without mounting it (ckptfs --ls/--cat/--readlink), and
 * the progress bar shown while an archive is indexed. Both live outside
 * main.c so that the CLI proper stays about options and exit codes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
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

int cli_offline_run(struct tree *t, enum cli_offline mode, const char *path, const char *prog)
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
	if (mode == CLI_LS && !S_ISDIR(st.st_mode))
		why = "Not a directory";
	else if (mode == CLI_CAT && S_ISDIR(st.st_mode))
		why = "Is a directory";
	else if (mode == CLI_CAT && S_ISLNK(st.st_mode))
		why = "Is a symbolic link (use --readlink)";
	else if (mode == CLI_READLINK && !S_ISLNK(st.st_mode))
		why = "Not a symbolic link";
	if (why) {
		fprintf(stderr, "%s: '%s': %s\n", prog, path, why);
		return CLI_EXIT_NO_PATH;
	}

	switch (mode) {
	case CLI_LS: {
		int err = 0;

		rc = tree_readdir(t, n, cli_ls_fill, &err);
		if (rc == 0)
			rc = err;
		break;
	}
	case CLI_CAT:
		rc = cli_cat(t, n, path, prog);
		if (rc == 1)
			return CLI_EXIT_READ;
		break;
	case CLI_READLINK: {
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

static uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* "12.3 MiB": @v bytes in the largest unit that keeps it under 1024. */
static void cli_human(uint64_t v, char *out, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double) v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		d /= 1024;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

void cli_progress_draw(void *ctx, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;
	char sdone[32], stotal[32], srate[32] = "", line[512];
	struct winsize ws;
	uint64_t now = cli_now_ns(), elapsed;
	int cols = 80, barw, fill;

	if (!p->start_ns)
		p->start_ns = now;
	elapsed = now - p->start_ns;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = CK_MIN((int) ws.ws_col, (int) sizeof(line) - 1);
	cli_human(done, sdone, sizeof(sdone));
	cli_human(total, stotal, sizeof(stotal));
	/* the rate since the first report: the first one has none yet */
	if (elapsed > 50000000)
		cli_human((uint64_t) ((double) (done - p->start_done) * 1e9 / (double) elapsed), srate,
			  sizeof(srate));
	else
		p->start_done = done;
	/* "label [####    ]  12.3 MiB / 45.6 MiB  8.1 MiB/s" */
	snprintf(line, sizeof(line), " %s / %s%s%s%s", sdone, stotal, elapsed > 50000000 ? "  " : "",
		       elapsed > 50000000 ? srate : "", elapsed > 50000000 ? "/s" : "");
	/* a fixed width, so that the bar does not jump as the numbers grow */
	barw = cols - 1 - 38 - 3 - (int) strlen(p->label ? p->label : "");
	if (barw > 40)
		barw = 40;
	fill = total && barw > 0 ? (int) ((double) barw * (double) CK_MIN(done, total) / (double) total) : 0;
	fprintf(stderr, "\r%s", p->label ? p->label : "");
	if (barw >= 10)
		fprintf(stderr, " [%.*s%*s]", fill, "##################################################",
			barw - fill, "");
	fprintf(stderr, "%s\033[K", line);
	fflush(stderr);
	p->drawn = true;
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}
