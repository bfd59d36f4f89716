/* SPDX-License-Identifier: Apache-2.0 */
/* --search and --yara: which process holds some bytes, at what virtual
 * address, in which mapping, at which offset of /<pid>/pages, read from
 * the checkpoint model without mounting (src/search/search.h). Exit status
 * as grep's: 0 something found, 1 nothing found, 2 an error (an unreadable
 * archive, a bad pattern or rules file, or memory that could not be read:
 * the rest is still searched and reported). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli-search.h"

void search_opts_done(void *st)
{
	struct search_opts *o = st;

	for (size_t i = 0; i < o->n_pats; i++) {
		free(o->pats[i]);
		free(o->where ? o->where[i] : NULL);
	}
	free(o->pats);
	free(o->where);
	for (size_t i = 0; i < o->n_pids; i++)
		free(o->pids[i]);
	free(o->pids);
}

static int push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = reallocarray(*v, *n + 1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strndup(s, len)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* One more pattern; @where says where it comes from (NULL: the command line). */
static int push_pattern(struct search_opts *o, const char *s, size_t len, char *where)
{
	char **nv = reallocarray(o->where, o->n_pats + 1, sizeof(*nv));

	if (!nv) {
		free(where);
		return -ENOMEM;
	}
	o->where = nv;
	nv[o->n_pats] = where;
	if (push(&o->pats, &o->n_pats, s, len) < 0) {
		free(where);
		nv[o->n_pats] = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* -f FILE: one pattern a line (an empty line is refused later, as grep -f
 * with an empty line would match everywhere; so is a file without any). */
static int read_pattern_file(struct search_opts *o, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	const char *name = strcmp(path, "-") ? path : "(standard input)";
	char *line = NULL, *where;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			n--;
		if (memchr(line, '\0', (size_t) n)) {
			fprintf(stderr, "%s: %s line %zu: a pattern cannot hold a NUL byte\n", o->prog, name, lineno);
			rc = -1;
			break;
		}
		if (asprintf(&where, "%s line %zu", name, lineno) < 0 ||
		    push_pattern(o, line, (size_t) n, where) < 0) {
			fprintf(stderr, "%s: out of memory\n", o->prog);
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, name, strerror(errno));
		rc = -1;
	} else if (!rc && !lineno) {
		fprintf(stderr, "%s: %s: no pattern in it (an empty file)\n", o->prog, name);
		rc = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* --pid PID[,PID...]: each a number, or CONTAINER/NUMBER in a pod. */
static int add_pids(struct search_opts *o, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;
	uint64_t v;

	if (!copy)
		return CLI_EXIT_SEARCH_ERROR;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *slash = strrchr(t, '/');

		if (ck_parse_u64(slash ? slash + 1 : t, &v) < 0 || v > UINT32_MAX || slash == t) {
			fprintf(stderr, "%s: --pid takes PID or CONTAINER/PID, comma-separated, not '%s'\n",
				o->prog, t);
			return CLI_EXIT_SEARCH_ERROR;
		}
		if (push(&o->pids, &o->n_pids, t, strlen(t)) < 0)
			return CLI_EXIT_SEARCH_ERROR;
	}
	return 0;
}

int search_common_flag(struct search_opts *o, struct cli_common *c, int key, const char *arg)
{
	o->prog = c->prog;
	switch (key) {
	case 'F':
		o->flags |= SEARCH_FIXED;
		return 0;
	case 'i':
		o->flags |= SEARCH_ICASE;
		return 0;
	case 'e':
		o->have_e = true;
		return push_pattern(o, arg, strlen(arg), NULL) < 0 ? CLI_EXIT_SEARCH_ERROR : 0;
	case 'f':
		o->have_e = true;
		return read_pattern_file(o, arg) < 0 ? CLI_EXIT_SEARCH_ERROR : 0;
	case SEARCH_KEY_PID:
		return add_pids(o, arg);
	case 'C':
		if (cli_number(c->prog, "--context", arg, false, &o->context) < 0)
			return CLI_EXIT_SEARCH_ERROR;
		if (o->context > (1u << 20))
			return cli_usage_error(&cli_mode_search, c->prog, "--context is at most 1048576 bytes");
		return 0;
	case 'm':
		o->has_max = true;
		return cli_number(c->prog, "--max-count", arg, false, &o->max_count) < 0 ? CLI_EXIT_SEARCH_ERROR : 0;
	case SEARCH_KEY_MAX_MATCH:
		o->has_max_match = true;
		return cli_number(c->prog, "--max-match-bytes", arg, true, &o->max_match_bytes) < 0 ?
			CLI_EXIT_SEARCH_ERROR : 0;
	case SEARCH_KEY_JSON:
		o->json = true;
		return 0;
	case 0:		/* --yara RULES */
		o->yara = arg;
		return 0;
	default:
		return 0;
	}
}

static int search_flag(void *st, struct cli_common *c, int key, const char *arg)
{
	return search_common_flag(st, c, key, arg);
}

/* Is process @pid of @container selected by --pid? */
static bool selected(const struct search_opts *o, const char *container, uint32_t pid)
{
	char buf[32];

	if (!o->n_pids)
		return true;
	snprintf(buf, sizeof(buf), "%" PRIu32, pid);
	for (size_t i = 0; i < o->n_pids; i++) {
		const char *want = o->pids[i], *slash = strrchr(want, '/');

		if (slash && container && (size_t) (slash - want) == strlen(container) &&
		    !strncmp(want, container, (size_t) (slash - want)) && !strcmp(slash + 1, buf))
			return true;
		if (!slash && !strcmp(want, buf))
			return true;
	}
	return false;
}

/* How many patterns the note on PCRE2 names, one line each. */
#define NOTE_MAX 10

/* Name the patterns that PCRE2 runs alone (Vectorscan cannot): they cost
 * a pass of their own. */
static void note_pcre2(const struct search_opts *o, const struct search_pats *p)
{
	size_t n = search_pats_pcre2_count(p);

	if (!n || (o->flags & SEARCH_PCRE2))
		return;
	for (size_t k = 0; k < n && k < NOTE_MAX; k++) {
		const char *why;
		size_t i = search_pats_pcre2_at(p, k, &why);

		fprintf(stderr, "%s: note: pattern %zu '%s'%s%s%s runs with PCRE2 alone, slower: %s\n", o->prog,
			i + 1, o->pats[i], o->where[i] ? " (" : "", o->where[i] ? o->where[i] : "",
			o->where[i] ? ")" : "", why);
	}
	if (n > NOTE_MAX)
		fprintf(stderr, "%s: note: and %zu more patterns run with PCRE2 alone\n", o->prog, n - NOTE_MAX);
}

/* The matcher: compiled patterns, or YARA rules. */
struct matcher {
	struct search_pats *pats;
	struct search_yara *yara;
};

static int matcher_new(const struct search_opts *o, struct matcher *m)
{
	_cleanup_free_ char *err = NULL;
	int rc;

	if (o->yara)
		rc = search_yara_new(o->yara, &m->yara, &err);
	else
		rc = search_pats_new((const char *const *) o->pats, (const char *const *) o->where, o->n_pats,
				     o->flags, &m->pats, &err);
	if (rc == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", o->prog);
	else if (rc < 0 && (o->yara || rc == -E2BIG))
		fprintf(stderr, "%s: %s\n", o->prog, err ? err : strerror(-rc));
	else if (rc < 0)
		fprintf(stderr, "%s: bad %s: %s\n", o->prog, o->flags & SEARCH_FIXED ? "string" : "regex",
			err ? err : strerror(-rc));
	if (rc < 0)
		return CLI_EXIT_SEARCH_ERROR;
	if (m->pats)
		note_pcre2(o, m->pats);
	return 0;
}

static void matcher_done(struct matcher *m)
{
	search_pats_free(m->pats);
	search_yara_free(m->yara);
}

/* Search process @p of @s->ck. */
static void search_proc(struct search_run *s, const struct matcher *m, const struct ckpt_proc *p)
{
	const struct search_opts *o = s->o;
	const struct search_cb cb = { .hit = search_on_hit, .err = search_on_err, .limit = search_on_limit, .ctx = s };
	int rc;

	s->p = p;
	s->pid = p->pid;
	s->count = 0;
	cli_proc_name(s->ck, p, s->comm, sizeof(s->comm));
	if (!p->mem) {
		if (p->mem_err < 0) {
			fprintf(stderr, "%s: %s: %s%spid %" PRIu32 ": memory (pagemap-%" PRIu32
				".img and its pages image) cannot be read: %s; skipped\n",
				o->prog, s->archive, s->container ? s->container : "",
				s->container ? ": " : "", p->pid, p->pid, strerror(-p->mem_err));
			s->error = true;
		}
		return;
	}
	if (m->yara)
		rc = search_yara_space(m->yara, p->mem, &cb);
	else
		rc = search_space(m->pats, p->mem, &cb);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: pid %" PRIu32 ": %s\n", o->prog, s->archive, p->pid, strerror(-rc));
		s->error = true;
	}
}

/* The inputs of one run: what is over all of them. */
struct search_all {
	const struct search_opts *o;
	struct cli_common *c;
	const struct matcher *m;
	uint64_t total;		/* matches */
	bool matched_pid;	/* --pid named a process of some input */
};

/* Search the archive @archive (a struct cli_walk's one()). */
static int search_archive(void *ctx, const char *archive, bool several)
{
	struct search_all *all = ctx;
	const struct search_opts *o = all->o;
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	struct search_run s = { .o = o, .archive = archive, .several = several };

	if (cli_input_open(all->c, archive, CLI_INPUT_PODS, &in))
		return CLI_EXIT_SEARCH_ERROR;
	for (size_t k = 0; k < in.n; k++) {
		s.ck = in.cks[k];
		s.container = in.names ? in.names[k] : NULL;
		for (size_t i = 0; i < s.ck->n_procs; i++) {
			if (!selected(o, s.container, s.ck->procs[i].pid))
				continue;
			all->matched_pid = true;
			if (!o->has_max || o->max_count)	/* -m 0: nothing, as grep */
				search_proc(&s, all->m, &s.ck->procs[i]);
		}
	}
	ck_buf_done(&s.line);
	all->total += s.total;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", o->prog, strerror(errno));
		return CLI_EXIT_SEARCH_ERROR;
	}
	return s.error ? CLI_EXIT_SEARCH_ERROR : 0;
}

/* Every input, one after the other; the exit status over all of them. */
static int run_search(const struct search_opts *o, struct cli_common *c, int argc, char **argv)
{
	_cleanup_(matcher_done) struct matcher m = { 0 };
	struct search_all all = { .o = o, .c = c, .m = &m };
	const struct cli_walk w = { .one = search_archive, .ctx = &all };
	size_t failed;

	if (matcher_new(o, &m))
		return CLI_EXIT_SEARCH_ERROR;
	failed = cli_inputs_walk(c, argc, argv, &w);
	if (o->n_pids && !all.matched_pid && !failed) {
		fprintf(stderr, "%s: no process matches --pid\n", o->prog);
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (failed)
		return CLI_EXIT_SEARCH_ERROR;
	return all.total ? CLI_EXIT_OK : CLI_EXIT_NOT_FOUND;
}

static int search_run_mode(void *st, struct cli_common *c, int argc, char **argv)
{
	struct search_opts *o = st;
	const struct cli_mode *m = o->yara ? &cli_mode_yara : &cli_mode_search;

	o->prog = c->prog;
	if (!o->has_max_match)
		o->max_match_bytes = SEARCH_MAX_MATCH_BYTES;
	if (!o->yara && !o->have_e) {
		if (argc < 1)
			return cli_usage_error(m, c->prog, "--search needs a PATTERN");
		if (push_pattern(o, argv[0], strlen(argv[0]), NULL) < 0)
			return CLI_EXIT_SEARCH_ERROR;
		argc--;
		argv++;
	}
	if (!o->yara && !o->n_pats)
		return cli_usage_error(m, c->prog, "no pattern given");
	if (argc < 1)
		return cli_usage_error(m, c->prog, "no archive given");
	return run_search(o, c, argc, argv);
}

static const struct cli_flag pattern_flags[] = {
	{ "fixed-strings", 'F', NULL, "PATTERN is a string, not a regex" },
	{ "ignore-case", 'i', NULL, "ignore ASCII case" },
	{ "regexp", 'e', "PATTERN", "one more pattern (repeatable)" },
	{ "file", 'f', "FILE", "patterns, one a line" },
	{ NULL, 0, NULL, NULL },
};

static const struct cli_flag scan_flags[] = {
	{ "pid", SEARCH_KEY_PID, "PID[,PID]", "only these processes (CONTAINER/PID in a pod)" },
	{ "context", 'C', "N", "N bytes before and after each match (extra fields)" },
	{ "max-count", 'm', "N", "stop after N matches per process (0: none, as grep)" },
	{ "max-match-bytes", SEARCH_KEY_MAX_MATCH, "N", "print at most N bytes of a match, and its length\n"
	  "(default 256; 0: all)" },
	{ "json", SEARCH_KEY_JSON, NULL, "one JSON object per match" },
	{ NULL, 0, NULL, NULL },
};

/* What --search and --yara share: one front end, two flags tables. */
#define SEARCH_FAMILY .o_classes = CLI_O_INPUT, .usage_exit = CLI_EXIT_SEARCH_ERROR, .flag = search_flag, \
	.run = search_run_mode, .state_size = sizeof(struct search_opts), .done = search_opts_done

const struct cli_mode cli_mode_search = {
	.name = "search",
	.operands = "[-e PATTERN]... [-f FILE] [PATTERN] ARCHIVE|DIR...",
	.summary = "search the memory of every process for PCRE2 regexes (or\n"
		   "strings): pid, comm, address, offset in <pid>/pages, the VMA\n"
		   "as maps prints it, the match (tab-separated, \\xNN escapes)",
	.flags = { pattern_flags, scan_flags },
	SEARCH_FAMILY,
};

const struct cli_mode cli_mode_yara = {
	.name = "yara",
	.flag_arg = "RULES",
	.operands = "ARCHIVE|DIR...",
	.summary = "match the YARA rules of file RULES per process, memory\n"
		   "blocks at their virtual addresses (adds rule:$string)",
	.flags = { scan_flags },
	SEARCH_FAMILY,
};
