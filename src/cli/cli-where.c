/* SPDX-License-Identifier: Apache-2.0 */
/* --where PID OFFSET ARCHIVE|MOUNTED-TREE: the address and mapping of byte
 * OFFSET of /<pid>/pages (OFFSET "-": offsets one a line on stdin, as
 * `grep -boa` prints them). On a mounted tree the answer comes from its own
 * pages.map and maps files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-search.h"

/* One answer: 0 found, CLI_EXIT_NOT_FOUND (said), CLI_EXIT_SEARCH_ERROR. */
typedef int (*where_fn)(struct search_run *s, const char *where, uint64_t off);

/* The line (malloc'ed, without its newline) of maps-like file @path whose
 * range covers address @key, or with @by_offset whose run of pages.map
 * covers offset @key; *@ret_addr is then the address. NULL when none. */
static char *map_line(const char *path, uint64_t key, bool by_offset, uint64_t *ret_addr)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long a, b, doff = 0;
		int n = sscanf(line, by_offset ? "%llx-%llx %*s %llx" : "%llx-%llx", &a, &b, &doff);

		if (n == (by_offset ? 3 : 2) && (by_offset ? doff <= key && key - doff < b - a : a <= key && key < b)) {
			*ret_addr = by_offset ? a + (key - doff) : key;
			line[strcspn(line, "\n")] = '\0';
			fclose(f);
			return line;
		}
	}
	free(line);
	fclose(f);
	return NULL;
}

/* --where on a mounted tree @mnt: from @mnt/PID/pages.map, maps and comm. */
static int where_mounted(struct search_run *s, const char *mnt, uint64_t off)
{
	_cleanup_free_ char *path = NULL, *run = NULL, *maps = NULL;
	const char *pid = s->pid_arg;
	struct search_loc loc = { .pages_off = off };
	uint64_t ignored;

	if (asprintf(&path, "%s/%s/pages.map", mnt, pid) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "%s: %s: %s\n", s->o->prog, path, strerror(errno));
		return CLI_EXIT_SEARCH_ERROR;
	}
	run = map_line(path, off, true, &loc.addr);
	if (!run) {
		fprintf(stderr, "%s: %s: offset %" PRIu64 " is past the end of %s/pages\n", s->o->prog, mnt, off, pid);
		return CLI_EXIT_NOT_FOUND;
	}
	free(path);
	if (asprintf(&path, "%s/%s/maps", mnt, pid) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	maps = map_line(path, loc.addr, false, &ignored);
	loc.maps = maps;
	search_emit(s, &loc, NULL, NULL, 0, 0, 0);
	return CLI_EXIT_OK;
}

static int where_model(struct search_run *s, const char *archive, uint64_t off)
{
	struct search_loc loc = { 0 };

	if (search_loc_pages(s->ck, s->p, off, &loc) < 0) {
		fprintf(stderr, "%s: %s: offset %" PRIu64 " is past the end of %" PRIu32 "/pages\n", s->o->prog,
			archive, off, s->pid);
		return CLI_EXIT_NOT_FOUND;
	}
	search_emit(s, &loc, NULL, NULL, 0, 0, 0);
	search_loc_done(&loc);
	return CLI_EXIT_OK;
}

/* Answer for @off_arg, or for each offset on stdin when it is "-". */
static int where_offsets(struct search_run *s, const char *off_arg, where_fn fn, const char *where)
{
	char *line = NULL;
	size_t cap = 0;
	uint64_t off;
	int ret = CLI_EXIT_NOT_FOUND;

	if (strcmp(off_arg, "-")) {
		if (cli_number(s->o->prog, "--where OFFSET", off_arg, false, &off) < 0)
			return CLI_EXIT_SEARCH_ERROR;
		return fn(s, where, off);
	}
	while (getline(&line, &cap, stdin) > 0) {
		int r;

		if (cli_number(s->o->prog, "--where OFFSET", strtok(line, ": \t\n") ?: "", false, &off) < 0) {
			ret = CLI_EXIT_SEARCH_ERROR;
			continue;
		}
		r = fn(s, where, off);
		if (r == CLI_EXIT_SEARCH_ERROR || (r == CLI_EXIT_OK && ret == CLI_EXIT_NOT_FOUND))
			ret = r;
	}
	free(line);
	return ret;
}

/* Parse "PID" or "CONTAINER/PID". */
static int split_pid(const char *arg, char **ret_container, uint32_t *ret_pid)
{
	const char *slash = strrchr(arg, '/');
	uint64_t v;

	*ret_container = slash ? strndup(arg, (size_t) (slash - arg)) : NULL;
	if (ck_parse_u64(slash ? slash + 1 : arg, &v) < 0 || v > UINT32_MAX)
		return -1;
	*ret_pid = (uint32_t) v;
	return 0;
}

/* Whether @path is a mounted tree (or a copy of one) holding @pid_arg. */
static bool is_tree(const char *path, const char *pid_arg)
{
	_cleanup_free_ char *map = NULL;
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       asprintf(&map, "%s/%s/pages.map", path, pid_arg) >= 0 && access(map, R_OK) == 0;
}

/* Find process @pid (of @container, or the first container that has it). */
static int where_find(struct search_run *s, struct cli_input *in, const char *container, uint32_t pid,
		      const char *pid_arg)
{
	for (size_t c = 0; c < in->n && !s->p; c++) {
		const char *name = in->names ? in->names[c] : NULL;

		if (container && (!name || strcmp(container, name)))
			continue;
		s->ck = in->cks[c];
		s->container = name;
		s->p = ckpt_proc_find(s->ck, pid);
	}
	if (!s->p) {
		fprintf(stderr, "%s: %s: no process %s\n", s->o->prog, in->path, pid_arg);
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (!s->p->mem) {
		fprintf(stderr, "%s: %s: pid %" PRIu32 " has no dumped memory%s%s\n", s->o->prog, in->path, pid,
			s->p->mem_err < 0 ? ": " : "", s->p->mem_err < 0 ? strerror(-s->p->mem_err) : "");
		return CLI_EXIT_SEARCH_ERROR;
	}
	return 0;
}

static int where_run(void *st, struct cli_common *c, int argc, char **argv)
{
	struct search_opts *o = st;
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	_cleanup_free_ char *container = NULL;
	struct search_run s = { .o = o };
	int ret;

	o->prog = c->prog;
	if (argc != 3)
		return cli_usage_error(&cli_mode_where, c->prog,
				       "--where takes PID OFFSET ARCHIVE (or a mounted tree; OFFSET - reads offsets from stdin)");
	if (split_pid(argv[0], &container, &s.pid) < 0) {
		fprintf(stderr, "%s: --where takes PID or CONTAINER/PID, not '%s'\n", c->prog, argv[0]);
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (is_tree(argv[2], argv[0])) {
		_cleanup_free_ char *comm_path = NULL;
		FILE *f;

		s.archive = argv[2];
		s.pid_arg = argv[0];
		s.container = container;
		snprintf(s.comm, sizeof(s.comm), "?");
		if (asprintf(&comm_path, "%s/%s/comm", argv[2], argv[0]) >= 0 && (f = fopen(comm_path, "re"))) {
			if (fgets(s.comm, sizeof(s.comm), f))
				s.comm[strcspn(s.comm, "\n")] = '\0';
			fclose(f);
		}
		ret = where_offsets(&s, argv[1], where_mounted, argv[2]);
	} else {
		ret = cli_input_open(c, argv[2], CLI_INPUT_PODS, &in);
		if (ret)
			return CLI_EXIT_SEARCH_ERROR;
		s.archive = argv[2];
		ret = where_find(&s, &in, container, s.pid, argv[0]);
		if (ret == 0) {
			cli_proc_name(s.ck, s.p, s.comm, sizeof(s.comm));
			ret = where_offsets(&s, argv[1], where_model, argv[2]);
		}
	}
	ck_buf_done(&s.line);
	return ret;
}

static int where_flag(void *st, struct cli_common *c, int key, const char *arg)
{
	return search_common_flag(st, c, key, arg);
}

static const struct cli_flag where_flags[] = {
	{ "json", SEARCH_KEY_JSON, NULL, "one JSON object per answer" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_where = {
	.name = "where",
	.operands = "PID OFFSET ARCHIVE|MOUNTED-TREE",
	.summary = "the address and VMA of byte OFFSET of <pid>/pages (OFFSET -\n"
		   "reads offsets from stdin, as grep -boa prints them)",
	.flags = { where_flags },
	.o_classes = CLI_O_INPUT,
	.usage_exit = CLI_EXIT_SEARCH_ERROR,
	.flag = where_flag,
	.run = where_run,
	.state_size = sizeof(struct search_opts),
	.done = search_opts_done,
};
