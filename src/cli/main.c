/* SPDX-License-Identifier: Apache-2.0 */
/* ckptfs: mount a CRIU container checkpoint as a read-only /proc-like tree,
 * or answer questions about it without mounting. main() picks the mode from
 * the table in cli-args.c; each mode is a front end of its own. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "arc.h"
#include "cli.h"

int main(int argc, char *argv[])
{
	const char *prog = "ckptfs";
	const struct cli_mode *m;
	int rc;

	/* One malloc arena for all threads: the files of /<pid>/ directories are
	 * dropped and built again by whichever request thread needs them, and
	 * with an arena per thread the freed memory would not be reused by the
	 * next (twice the peak RSS with 10^5 threads in one process). */
	mallopt(M_ARENA_MAX, 1);
	/* Every copied read reply is a fresh malloc of up to 1 MiB that libfuse
	 * frees: served from the heap, and the heap kept, instead of a new
	 * mapping and its page faults each time (a page fault per two pages
	 * read from a seekable archive otherwise). */
	mallopt(M_MMAP_THRESHOLD, 2 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	m = cli_mode_find(argc, argv, prog, &rc);
	if (!m)
		return rc;
	if (m->name)
		arc_read_ahead_enable(true);	/* only mounting forks (to daemonize) */
	return cli_mode_run(m, argc, argv, prog);
}
