/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line helpers of main.c that need no FUSE session: the offline
 * readers (--ls, --cat, --readlink), --recompress, --search/--yara/--where
 * (cli-search.c) and the indexing progress bar. */
#ifndef CK_CLI_H
#define CK_CLI_H

#include <stdint.h>

#include "tree.h"

enum cli_offline {
	CLI_MOUNT = 0,		/* no offline mode: mount */
	CLI_LS,			/* --ls ARCHIVE [PATH] */
	CLI_CAT,		/* --cat ARCHIVE PATH */
	CLI_READLINK,		/* --readlink ARCHIVE PATH */
	CLI_RECOMPRESS,		/* --recompress IN OUT */
};

/* Every exit code of ckptfs (man/ckptfs.1, EXIT STATUS). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 1,
	CLI_EXIT_NO_PATH = 2,		/* offline: PATH missing, or the wrong kind for the mode */
	CLI_EXIT_READ = 3,		/* offline: reading PATH or writing stdout failed */
	/* --search, --yara, --where: as grep's (found is CLI_EXIT_OK) */
	CLI_EXIT_NOT_FOUND = 1,		/* nothing found */
	CLI_EXIT_SEARCH_ERROR = 2,	/* a bad pattern or rules file, an unreadable archive, memory skipped */
	CLI_EXIT_ARCHIVE = 10,		/* the archive cannot be read */
	CLI_EXIT_NOT_CHECKPOINT = 11,	/* it holds no CRIU images */
	CLI_EXIT_BAD_IMAGE = 12,	/* inventory.img or pstree.img is malformed */
	CLI_EXIT_NO_MEMORY = 13,	/* out of memory while indexing or building */
	CLI_EXIT_WRITE = 14,		/* --recompress: writing OUT failed */
	CLI_EXIT_MOUNT = 20,		/* mounting failed */
};

/* Print @path of @t to stdout as @mode says: names one per line, in the
 * order readdir gives them (--ls); the bytes of a regular file, streamed
 * (--cat); a symlink's target and a newline (--readlink). Nothing is
 * followed. Returns 0, CLI_EXIT_NO_PATH or CLI_EXIT_READ after a message
 * on stderr that starts with @prog. */
int cli_offline_run(struct tree *t, enum cli_offline mode, const char *path, const char *prog);

/* Options of the archive writers. */
struct cli_pack_opts {
	int level;		/* --level=N: zstd level; 0: zstd's default */
	unsigned threads;	/* --threads=N: compression threads; 0: one per CPU */
	int force;		/* --force: OUT may replace a regular file */
};

/* --recompress: rewrite archive @in as seekable zstd at @out (cli-recompress.c).
 * Returns an exit code after a message that starts with @prog. */
int cli_recompress_run(const char *in, const char *out, const struct cli_pack_opts *po, const char *prog);

/* The state of a progress bar drawn on stderr; zero-initialise. */
struct cli_progress {
	const char *label;	/* what is being read, shown before the bar */
	uint64_t start_ns;	/* CLOCK_MONOTONIC of the first call */
	uint64_t start_done;	/* bytes done then */
	bool drawn;		/* something is on the line and must be cleared */
};

/* An arc_opts.progress callback (@ctx is a struct cli_progress): redraws the
 * bar with bytes read, total and rate. Draw it only when stderr is a terminal. */
void cli_progress_draw(void *ctx, uint64_t done, uint64_t total);
/* Erase the bar, if one was drawn. */
void cli_progress_end(struct cli_progress *p);

/* --search, --yara, --where (cli-search.c): true when @argv asks for one of
 * them; then cli_search_main() parses the whole command line itself and
 * returns the exit status (0 found, 1 nothing found, 2 error). */
bool cli_search_wanted(int argc, char **argv);
int cli_search_main(int argc, char **argv);

/* True when @argv asks for --build-oci (cli-oci.c), which then parses the
 * whole command line and returns the exit status. */
bool cli_oci_wanted(int argc, char **argv);
int cli_oci_main(int argc, char **argv, const char *prog);

#endif
