/* SPDX-License-Identifier: Apache-2.0 */
/* The front end of every mode: the table of modes, the -o options they
 * share, the getopt loop each mode's flags go through, and --help, which is
 * printed from these tables (tests/e2e/man.sh checks the man page against
 * it). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

const struct cli_mode *const cli_modes[] = {
	&cli_mode_mount, &cli_mode_ls, &cli_mode_cat, &cli_mode_readlink,
	&cli_mode_search, &cli_mode_yara, &cli_mode_where, &cli_mode_triage, &cli_mode_diff,
	&cli_mode_recompress, &cli_mode_build_oci,
	&cli_mode_exec, NULL,
};

/* ---- the shared -o options ---- */

enum o_kind { O_STR, O_SIZE, O_PAGE_SIZE, O_KIB, O_FLAG, O_PARENTS, O_JSON, O_NOT_BOOL };

static const struct cli_o {
	const char *name;
	enum o_kind kind;
	unsigned cls;
	size_t off;		/* in struct cli_common */
	const char *arg, *help;
} cli_os[] = {
	{ "json", O_JSON, CLI_O_TREE, offsetof(struct cli_common, json_plain), "pretty|plain",
	  "images/*.json as `crit decode --pretty` (default) or `crit decode`" },
	{ "cache_dir", O_STR, CLI_O_INPUT, offsetof(struct cli_common, cache_dir), "DIR",
	  "where large members of compressed archives are spilled\n"
	  "(an unlinked temporary file; default $TMPDIR or /tmp)" },
	{ "spill_limit", O_SIZE, CLI_O_INPUT, offsetof(struct cli_common, spill_limit), "SIZE",
	  "the most that file may store (blocks of zeros are holes\n"
	  "and do not count); more fails (exit 10) as a\n"
	  "decompression bomb (default: 200 times the archive, at\n"
	  "least 1 GiB, at most 90% of the free space)" },
	{ "parent", O_PARENTS, CLI_O_INPUT, 0, "PATH[:PATH]",
	  "parent checkpoints of an incremental dump, the immediate\n"
	  "parent first (repeatable; default: follow `parent` links)" },
	{ "page_size", O_PAGE_SIZE, CLI_O_INPUT, offsetof(struct cli_common, page_size), "SIZE",
	  "page size of the dumping kernel (default: inferred)" },
	{ "image", O_STR, CLI_O_INPUT, offsetof(struct cli_common, image), "REF",
	  "the image of an OCI index that holds several (its\n"
	  "org.opencontainers.image.ref.name or manifest digest)" },
	{ "tls_verify", O_NOT_BOOL, CLI_O_INPUT, offsetof(struct cli_common, no_tls_verify), "true|false",
	  "check the TLS certificate of a docker:// reference's\n"
	  "registry (default true); false also tries plain http" },
	{ "cache_size", O_SIZE, CLI_O_INPUT, offsetof(struct cli_common, cache_size), "SIZE",
	  "the most a docker:// reference's layer keeps of its\n"
	  "fetched ranges in cache_dir (default 256M)" },
	{ "raw_symlinks", O_FLAG, CLI_O_TREE, offsetof(struct cli_common, raw_symlinks), NULL,
	  "symlinks inside the archive show their stored targets,\n"
	  "which resolve on this host (default: rewritten to stay\n"
	  "inside the mount, \"/\" being the archive's own root)" },
	{ "contain_links", O_FLAG, CLI_O_TREE, offsetof(struct cli_common, contain_links), NULL,
	  "cwd, root, exe and fd/N links whose /proc text is an\n"
	  "absolute path point into rootfs-diff/ instead (dangling\n"
	  "inside the mount when the file is not there), for\n"
	  "scanners that follow links (see ckptfs(1))" },
	{ "read_ahead", O_KIB, CLI_O_MOUNT, offsetof(struct cli_common, read_ahead_kb), "KiB",
	  "how far the kernel reads ahead in a file (a number of\n"
	  "KiB, or a size such as 4M; default 4096; 0 keeps FUSE's\n"
	  "128; needs root)" },
};

void cli_common_done(struct cli_common *c)
{
	free(c->cache_dir);
	free(c->image);
	for (size_t i = 0; i < c->n_parents; i++)
		free(c->parents[i]);
	free(c->parents);
}

/* Append each colon-separated path of @list to @c->parents. */
static int add_parents(struct cli_common *c, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -1;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char **v = reallocarray(c->parents, c->n_parents + 1, sizeof(*v));

		if (!v)
			return -1;
		c->parents = v;
		if (!(v[c->n_parents] = strdup(p)))
			return -1;
		c->n_parents++;
	}
	return 0;
}

int cli_number(const char *prog, const char *what, const char *s, bool size, uint64_t *ret)
{
	int rc = size ? ck_parse_size(s, ret) : ck_parse_u64(s, ret);

	if (rc == 0)
		return 0;
	fprintf(stderr, "%s: %s takes %s, not '%s'%s\n", prog, what,
		size ? "a size (bytes, or with K, M, G or T)" : "a number", s,
		rc == -ERANGE ? " (too large)" : "");
	return -1;
}

/* Apply @val to option @o; 0, or -1 after a message. */
static int o_apply(struct cli_common *c, const struct cli_o *o, const char *opt, const char *val)
{
	void *field = (char *) c + o->off;
	uint64_t v;

	switch (o->kind) {
	case O_FLAG:
		*(bool *) field = true;
		return 0;
	case O_PARENTS:
		return add_parents(c, val);
	case O_STR:
		free(*(char **) field);
		return (*(char **) field = strdup(val)) ? 0 : -1;
	case O_NOT_BOOL:
		if (strcmp(val, "true") && strcmp(val, "false")) {
			fprintf(stderr, "%s: %s takes 'true' or 'false', not '%s'\n", c->prog, opt, val);
			return -1;
		}
		*(bool *) field = !strcmp(val, "false");
		return 0;
	case O_JSON:
		if (strcmp(val, "pretty") && strcmp(val, "plain")) {
			fprintf(stderr, "%s: -o json= takes 'pretty' or 'plain', not '%s'\n", c->prog, val);
			return -1;
		}
		*(bool *) field = !strcmp(val, "plain");
		return 0;
	default:
		break;
	}
	if (cli_number(c->prog, opt, val, true, &v) < 0)
		return -1;
	if (o->kind == O_SIZE && !v) {
		fprintf(stderr, "%s: %s takes a positive size, not '%s'\n", c->prog, opt, val);
		return -1;
	}
	if (o->kind == O_PAGE_SIZE && (v < 4096 || v > (1u << 20) || (v & (v - 1)))) {
		fprintf(stderr, "%s: %s takes a power of two from 4096 to 1048576 (4K to 1M), not '%s'\n",
			c->prog, opt, val);
		return -1;
	}
	/* a plain number of read_ahead is KiB; with a suffix, bytes */
	if (o->kind == O_KIB && val[strspn(val, "0123456789")])
		v /= 1024;
	if (o->kind == O_KIB && v > UINT32_MAX) {
		fprintf(stderr, "%s: %s is too large: '%s'\n", c->prog, opt, val);
		return -1;
	}
	*(uint64_t *) field = v;
	return 0;
}

int cli_common_opt(struct cli_common *c, const char *opt, unsigned classes)
{
	const char *eq = strchr(opt, '=');
	size_t len = eq ? (size_t) (eq - opt) : strlen(opt);
	char what[64];

	if (!strcmp(opt, "debug")) {
		c->debug = true;
		return 0;	/* FUSE sees it too */
	}
	for (size_t i = 0; i < ARRAY_SIZE(cli_os); i++) {
		const struct cli_o *o = &cli_os[i];

		if (strlen(o->name) != len || strncmp(opt, o->name, len) || !(o->cls & classes))
			continue;
		snprintf(what, sizeof(what), "-o %s=", o->name);
		if (!o->arg != !eq) {
			fprintf(stderr, "%s: -o %s %s\n", c->prog, o->name,
				o->arg ? "needs a value (NAME=VALUE)" : "takes no value");
			return -1;
		}
		return o_apply(c, o, what, eq ? eq + 1 : NULL) < 0 ? -1 : 1;
	}
	return 0;
}

/* -o LIST of a getopt mode: each option must be one of @m's. */
static int o_list(const struct cli_mode *m, struct cli_common *c, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int rc = cli_common_opt(c, t, m->o_classes);

		if (rc < 0)
			return -1;
		if (rc == 0 && strcmp(t, "debug")) {
			cli_usage_error(m, c->prog, "-o %s is not an option of --%s", t, m->name);
			return -1;
		}
	}
	return 0;
}

/* ---- modes ---- */

/* The mode named by @arg ("--search", "--yara=R"), or NULL. */
static const struct cli_mode *mode_of(const char *arg)
{
	if (strncmp(arg, "--", 2))
		return NULL;
	for (size_t i = 1; cli_modes[i]; i++) {
		size_t len = strlen(cli_modes[i]->name);

		if (!strncmp(arg + 2, cli_modes[i]->name, len) && (!arg[len + 2] || arg[len + 2] == '='))
			return cli_modes[i];
	}
	return NULL;
}

const struct cli_mode *cli_mode_find(int argc, char **argv, const char *prog, int *ret_exit)
{
	const struct cli_mode *found = NULL;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const struct cli_mode *m = mode_of(argv[i]);

		if (!m || m == found)
			continue;
		if (found) {
			*ret_exit = cli_usage_error(found, prog, "--%s and --%s cannot be combined", found->name,
						    m->name);
			return NULL;
		}
		found = m;
	}
	return found ? found : cli_modes[0];
}

int cli_usage_error(const struct cli_mode *m, const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	return m->usage_exit;
}

enum { KEY_HELP = 'h', KEY_O = 'o', KEY_MODE = 0 };

/* getopt_long's tables for @m: its flags, -o, --help and the mode flag. */
static int getopt_tables(const struct cli_mode *m, struct option **ret_long, char **ret_short)
{
	size_t n = 3, k = 0;
	struct ck_buf s = { 0 };
	struct option *lo;

	for (size_t t = 0; m->flags[t]; t++)
		for (const struct cli_flag *f = m->flags[t]; f->name || f->key; f++)
			n++;
	lo = calloc(n + 1, sizeof(*lo));
	if (!lo)
		return -ENOMEM;
	lo[k++] = (struct option) { m->name, m->flag_arg ? required_argument : no_argument, NULL, KEY_MODE };
	lo[k++] = (struct option) { "help", no_argument, NULL, KEY_HELP };
	ck_buf_puts(&s, "ho:");
	for (size_t t = 0; m->flags[t]; t++)
		for (const struct cli_flag *f = m->flags[t]; f->name || f->key; f++) {
			if (f->name)
				lo[k++] = (struct option) { f->name, f->arg ? required_argument : no_argument, NULL,
							    f->key };
			if (f->key < 256)
				ck_buf_printf(&s, "%c%s", f->key, f->arg ? ":" : "");
		}
	if (s.oom) {
		free(lo);
		ck_buf_done(&s);
		return -ENOMEM;
	}
	*ret_long = lo;
	*ret_short = s.data;
	return 0;
}

/* The message for getopt's '?' at @argv[optind - 1]. */
static int unknown_flag(const struct cli_mode *m, const char *prog, char **argv, const char *shorts)
{
	const char *p;

	if (optopt && optopt < 256 && (p = strchr(shorts, optopt)) && p[1] == ':')
		return cli_usage_error(m, prog, "option -%c needs an argument", optopt);
	if (optopt && optopt < 256)
		return cli_usage_error(m, prog, "option -%c is not an option of --%s", optopt, m->name);
	return cli_usage_error(m, prog, "option %s is not an option of --%s (or needs an argument)",
			       argv[optind - 1], m->name);
}

/* Parse @argv for @m into @st and @c; the operands end up at
 * @argv[*ret_first...]. Returns 0, -1 for --help (printed), or an exit code. */
static int parse(const struct cli_mode *m, void *st, struct cli_common *c, int argc, char **argv, int *ret_first)
{
	_cleanup_free_ struct option *lo = NULL;
	_cleanup_free_ char *shorts = NULL;
	int key, rc;

	if (getopt_tables(m, &lo, &shorts) < 0)
		return CLI_EXIT_NO_MEMORY;
	/* GNU getopt permutes: operands and flags may come in any order */
	opterr = 0;
	optind = 1;
	while ((key = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (key == '?' || key == ':')
			return unknown_flag(m, c->prog, argv, shorts);
		if (key == KEY_HELP) {
			cli_help(m, c->prog);
			return -1;
		}
		if (key == KEY_O) {
			if (o_list(m, c, optarg) < 0)
				return m->usage_exit;
			continue;
		}
		rc = m->flag ? m->flag(st, c, key, optarg) : 0;
		if (rc)
			return rc;
	}
	*ret_first = optind;
	return 0;
}

int cli_mode_run(const struct cli_mode *m, int argc, char **argv, const char *prog)
{
	struct cli_common c = { .prog = prog };
	_cleanup_free_ void *st = m->state_size ? calloc(1, m->state_size) : NULL;
	int first = 0, rc;

	if (m->main)
		return m->main(m, argc, argv);
	if (m->state_size && !st)
		return CLI_EXIT_NO_MEMORY;
	/* --help wins wherever it is, even after a flag that takes an argument */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help")) {
			cli_help(m, prog);
			return CLI_EXIT_OK;
		}
	rc = parse(m, st, &c, argc, argv, &first);
	if (rc == 0)
		rc = m->run(st, &c, argc - first, argv + first);
	else if (rc < 0)
		rc = CLI_EXIT_OK;	/* --help */
	if (m->done)
		m->done(st);
	cli_common_done(&c);
	return rc;
}

/* ---- --help ---- */

#define HELP_COL 27	/* where the text of a --help line starts */
#define HELP_WIDTH 79

/* "    NAME ARG" then @help from column HELP_COL (the next line when NAME
 * is longer), filled to HELP_WIDTH columns by words. */
static void help_line(const char *lhs, const char *help)
{
	int col = printf("    %s", lhs);
	const char *w = help ? help : "";

	if (col > HELP_COL - 2) {
		putchar('\n');
		col = 0;
	}
	printf("%*s", HELP_COL - col, "");
	col = HELP_COL;
	while (*w) {
		size_t n;

		w += strspn(w, " \n");
		n = strcspn(w, " \n");
		if (!n)
			break;
		if (col > HELP_COL && col + 1 + (int) n > HELP_WIDTH) {
			printf("\n%*s", HELP_COL, "");
			col = HELP_COL;
		}
		col += printf("%s%.*s", col > HELP_COL ? " " : "", (int) n, w);
		w += n;
	}
	putchar('\n');
}

static void help_flags(const struct cli_mode *m)
{
	char lhs[96];

	for (size_t t = 0; m->flags[t]; t++)
		for (const struct cli_flag *f = m->flags[t]; f->name || f->key; f++) {
			int n = f->key < 256 ? snprintf(lhs, sizeof(lhs), "-%c%s", f->key, f->name ? ", " : "") : 0;

			if (f->name)
				snprintf(lhs + n, sizeof(lhs) - (size_t) n, "--%s", f->name);
			if (f->arg)
				snprintf(lhs + strlen(lhs), sizeof(lhs) - strlen(lhs), " %s", f->arg);
			help_line(lhs, f->help);
		}
}

static void help_os(unsigned classes)
{
	char lhs[96];

	for (size_t i = 0; i < ARRAY_SIZE(cli_os); i++) {
		if (!(cli_os[i].cls & classes))
			continue;
		snprintf(lhs, sizeof(lhs), "-o %s%s%s", cli_os[i].name, cli_os[i].arg ? "=" : "",
			 cli_os[i].arg ? cli_os[i].arg : "");
		help_line(lhs, cli_os[i].help);
	}
}

static void help_synopsis(const struct cli_mode *m, const char *prog, bool first)
{
	printf("%s %s", first ? "usage:" : "      ", prog);
	if (m->name)
		printf(" --%s%s%s", m->name, m->flag_arg ? " " : "", m->flag_arg ? m->flag_arg : "");
	printf(" [options] %s\n", m->operands);
}

void cli_help(const struct cli_mode *m, const char *prog)
{
	bool all = !m->name;

	for (size_t i = 0; cli_modes[i]; i++)
		if (all || cli_modes[i] == m)
			help_synopsis(cli_modes[i], prog, i == 0 || !all);
	printf("\nMount a CRIU container checkpoint (a tar in any compression, an extracted\n"
	       "checkpoint directory, a bare CRIU images directory, or a checkpoint image:\n"
	       "OCI layout, oci-archive, docker-archive) read-only as a /proc-like tree,\n"
	       "or answer questions about it without mounting. See ckptfs(1).\n\n");
	if (all) {
		printf("Modes:\n");
		for (size_t i = 0; cli_modes[i]; i++) {
			char lhs[96];

			snprintf(lhs, sizeof(lhs), "%s%s", cli_modes[i]->name ? "--" : "(none)",
				 cli_modes[i]->name ? cli_modes[i]->name : "");
			help_line(lhs, cli_modes[i]->summary);
		}
		printf("\n");
	}
	for (size_t i = 0; cli_modes[i]; i++) {
		const struct cli_mode *k = cli_modes[i];

		if ((!all && k != m) || !k->flags[0])
			continue;
		printf("Options of %s%s:\n", k->name ? "--" : "", k->name ? k->name : "mounting");
		help_flags(k);
		printf("\n");
	}
	printf("Options of every mode that reads a checkpoint (-o LIST, comma-separated;\n"
	       "a SIZE is bytes, or a number with K, M, G or T, powers of 1024):\n");
	help_os(all ? CLI_O_INPUT | CLI_O_TREE | CLI_O_MOUNT : m->o_classes);
	printf("\nExit status: 0 success, 1 usage, 10 cannot read the archive, 11 not a\n"
	       "checkpoint, 12 inventory.img or pstree.img malformed, 13 out of memory,\n"
	       "14 writing OUT or DEST failed or it exists, 20 mount failed;\n"
	       "--ls/--cat/--readlink: 2 no such PATH or the wrong kind, 3 read error;\n"
	       "--search/--yara/--where: 0 found, 1 nothing found, 2 error (bad pattern or\n"
	       "rules, unreadable archive, memory skipped);\n"
	       "--triage: 0 nothing at or above --min-severity, 1 findings, 2 error;\n"
	       "--diff: 0 the same, 1 different, 2 trouble (usage, unreadable input,\n"
	       "something not compared); --exec: the command's, 126 it\n"
	       "cannot be executed, 127 not found.\n\n");
}
