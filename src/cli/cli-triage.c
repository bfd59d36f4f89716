/* SPDX-License-Identifier: Apache-2.0 */
/* --triage ARCHIVE...: what in each checkpoint points at a compromise, with
 * the evidence (src/triage/triage.h), without mounting. Text grouped by
 * severity, or one JSON object a line. Exit status as a virus scanner's:
 * 0 nothing at or above --min-severity, 1 findings, 2 an error (an
 * unreadable archive, or a check that could not be made and nothing found). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "spec.h"
#include "triage.h"

/* The most of deleted.files read. */
#define TRIAGE_DELETED_MAX (16u << 20)

enum { KEY_JSON = 256, KEY_MIN, KEY_SECRETS, KEY_ROOTFS };

struct triage_st {
	const char *prog;
	bool json;
	enum triage_severity min;
	bool has_min;			/* --min-severity given; else medium */
	bool show_secrets;
	char *rootfs;
	int rootfs_fd;
	/* over all archives */
	bool found;		/* a finding at or above min */
	bool error;		/* an archive or a check failed */
};

/* One checkpoint's report and where it came from. */
struct triage_one {
	struct triage_st *st;
	const char *archive;
	const char *container;	/* a pod's container, or NULL */
};

static void triage_st_done(void *p)
{
	struct triage_st *st = p;

	free(st->rootfs);
}

static int triage_flag(void *p, struct cli_common *c, int key, const char *arg)
{
	struct triage_st *st = p;

	st->prog = c->prog;
	switch (key) {
	case KEY_JSON:
		st->json = true;
		return 0;
	case KEY_SECRETS:
		st->show_secrets = true;
		return 0;
	case KEY_MIN:
		if (triage_severity_parse(arg, &st->min) < 0)
			return cli_usage_error(&cli_mode_triage, c->prog,
					       "--min-severity takes info, low, medium or high, not '%s'", arg);
		st->has_min = true;
		return 0;
	case KEY_ROOTFS:
		free(st->rootfs);
		st->rootfs = strdup(arg);
		return st->rootfs ? 0 : CLI_EXIT_NO_MEMORY;
	default:
		return 0;
	}
}

/* ---- output ---- */

static int finding_cmp(const void *a, const void *b)
{
	const struct triage_finding *x = *(const struct triage_finding *const *) a;
	const struct triage_finding *y = *(const struct triage_finding *const *) b;
	uint64_t ax = x->has_address ? x->address : x->start, ay = y->has_address ? y->address : y->start;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return ax < ay ? -1 : ax > ay;
}

static json_object *hex_json(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *value_json(const struct triage_value *v)
{
	json_object *a;

	switch (v->type) {
	case TRIAGE_V_STR:
		return json_object_new_string(v->s ? v->s : "");
	case TRIAGE_V_INT:
		return json_object_new_int64(v->i);
	case TRIAGE_V_HEX:
		return hex_json(v->u);
	case TRIAGE_V_BOOL:
		return json_object_new_boolean(v->i != 0);
	default:
		break;
	}
	a = json_object_new_array();
	for (size_t i = 0; i < v->n; i++)
		json_object_array_add(a, v->type == TRIAGE_V_INTS ? json_object_new_int64(v->ints[i]) :
					 v->type == TRIAGE_V_HEXES ? hex_json(v->us[i]) :
					 json_object_new_string(v->strs[i]));
	return a;
}

/* RFC 3339 UTC of @t. */
static void utc(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t) t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "%" PRId64, t);
}

static void print_json(const struct triage_one *one, const struct triage_finding *f)
{
	json_object *j = json_object_new_object(), *a;
	char buf[40];

	json_object_object_add(j, "kind", json_object_new_string(triage_kind_name(f->kind)));
	json_object_object_add(j, "severity", json_object_new_string(triage_severity_name(f->severity)));
	json_object_object_add(j, "archive", json_object_new_string(one->archive));
	if (one->container)
		json_object_object_add(j, "container", json_object_new_string(one->container));
	if (f->has_pid) {
		json_object_object_add(j, "pid", json_object_new_int64(f->pid));
		json_object_object_add(j, "comm", json_object_new_string(f->comm));
	}
	if (f->has_address)
		json_object_object_add(j, "address", hex_json(f->address));
	if (f->has_range) {
		json_object_object_add(j, "start", hex_json(f->start));
		json_object_object_add(j, "end", hex_json(f->end));
	}
	if (f->path)
		json_object_object_add(j, "path", json_object_new_string(f->path));
	json_object_object_add(j, "summary", json_object_new_string(f->summary ? f->summary : ""));
	if (f->maps)
		json_object_object_add(j, "maps", json_object_new_string(f->maps));
	for (size_t i = 0; i < f->n_values; i++)
		json_object_object_add(j, f->values[i].key, value_json(&f->values[i]));
	if (f->kind == TRIAGE_BASH_HISTORY) {
		a = json_object_new_array();
		for (size_t i = 0; i < f->n_commands; i++) {
			json_object *c = json_object_new_object();

			json_object_object_add(c, "command", json_object_new_string(f->commands[i].command));
			utc(f->commands[i].time, buf, sizeof(buf));
			json_object_object_add(c, "time", f->commands[i].time ? json_object_new_string(buf) : NULL);
			json_object_array_add(a, c);
		}
		json_object_object_add(j, "commands", a);
	}
	if (f->excerpt_len) {
		struct ck_buf hex = { 0 };

		for (size_t i = 0; i < f->excerpt_len; i++)
			ck_buf_printf(&hex, "%02x", f->excerpt[i]);
		json_object_object_add(j, "excerpt_address", hex_json(f->excerpt_addr));
		json_object_object_add(j, "excerpt", json_object_new_string(hex.data ? hex.data : ""));
		ck_buf_done(&hex);
	}
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

static void print_value(const struct triage_value *v)
{
	printf("    %s: ", v->key);
	switch (v->type) {
	case TRIAGE_V_STR:
		printf("%s", v->s ? v->s : "");
		break;
	case TRIAGE_V_INT:
		printf("%" PRId64, v->i);
		break;
	case TRIAGE_V_HEX:
		printf("0x%" PRIx64, v->u);
		break;
	case TRIAGE_V_BOOL:
		printf("%s", v->i ? "yes" : "no");
		break;
	default:
		for (size_t i = 0; i < v->n; i++) {
			if (v->type == TRIAGE_V_INTS)
				printf("%s%" PRId64, i ? ", " : "", v->ints[i]);
			else if (v->type == TRIAGE_V_HEXES)
				printf("%s0x%" PRIx64, i ? ", " : "", v->us[i]);
			else
				printf("%s%s", i ? ", " : "", v->strs[i]);
		}
	}
	putchar('\n');
}

static void print_text(const struct triage_finding *f)
{
	char when[40];

	printf("  %s", triage_kind_name(f->kind));
	if (f->has_pid)
		printf("  pid %" PRIu32 " (%s)", f->pid, f->comm);
	if (f->has_address)
		printf("  0x%" PRIx64, f->address);
	else if (f->has_range)
		printf("  0x%" PRIx64 "-0x%" PRIx64, f->start, f->end);
	if (f->path)
		printf("  %s", f->path);
	printf("\n    %s\n", f->summary ? f->summary : "");
	if (f->maps)
		printf("    maps: %s\n", f->maps);
	for (size_t i = 0; i < f->n_values; i++)
		print_value(&f->values[i]);
	for (size_t i = 0; i < f->n_commands; i++) {
		utc(f->commands[i].time, when, sizeof(when));
		printf("    %s  %s\n", f->commands[i].time ? when : "-", f->commands[i].command);
	}
	if (f->excerpt_len) {
		struct ck_buf b = { 0 };

		ck_buf_hexdump(&b, f->excerpt, f->excerpt_len, f->excerpt_addr, "    ");
		fputs(b.data ? b.data : "", stdout);
		ck_buf_done(&b);
	}
}

/* The counts of findings at or above the threshold per severity, as
 * "high 3, medium 1". */
static void counts(const struct triage_report *r, enum triage_severity min, char *out, size_t size)
{
	size_t n[TRIAGE_HIGH + 1] = { 0 };
	int len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i]->kind != TRIAGE_INCOMPLETE)
			n[r->v[i]->severity]++;
	for (int s = TRIAGE_HIGH; s >= (int) min && len >= 0 && (size_t) len < size; s--)
		if (n[s])
			len += snprintf(out + len, size - (size_t) len, "%s%s %zu", len ? ", " : "",
					triage_severity_name((enum triage_severity) s), n[s]);
}

/* Print @r (sorted) for one checkpoint. Returns whether anything at or
 * above the threshold was found; *@ret_incomplete whether a check was not
 * made. */
static bool print_report(const struct triage_one *one, struct triage_report *r, bool *ret_incomplete)
{
	const struct triage_st *st = one->st;
	size_t shown = 0, below = 0;
	int group = -1;
	char sums[128];

	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), finding_cmp);
	if (!st->json)
		printf("== %s%s%s ==\n", one->archive, one->container ? ": " : "", one->container ? one->container : "");
	for (size_t i = 0; i < r->n; i++) {
		const struct triage_finding *f = r->v[i];

		if (f->kind == TRIAGE_INCOMPLETE) {
			*ret_incomplete = true;
			char who[96] = "";

			if (f->has_pid)
				snprintf(who, sizeof(who), "pid %" PRIu32 " (%s): ", f->pid, f->comm);
			fprintf(stderr, "%s: %s%s%s: %snot checked: %s\n", st->prog, one->archive,
				one->container ? ": " : "", one->container ? one->container : "", who,
				f->summary ? f->summary : "");
			if (st->json)
				print_json(one, f);
			continue;
		}
		if (f->severity < st->min) {
			below++;
			continue;
		}
		shown++;
		if (st->json) {
			print_json(one, f);
			continue;
		}
		if ((int) f->severity != group) {
			group = (int) f->severity;
			printf("%s:\n", triage_severity_name(f->severity));
		}
		print_text(f);
	}
	counts(r, st->min, sums, sizeof(sums));
	if (!st->json)
		printf("%zu finding%s at or above %s%s%s%s", shown, shown == 1 ? "" : "s", triage_severity_name(st->min),
		       shown ? " (" : "", sums, shown ? ")" : "");
	if (!st->json && below)
		printf("; %zu below (--min-severity info shows them)", below);
	if (!st->json)
		printf("\n\n");
	return shown > 0;
}

/* ---- inputs ---- */

/* Check @ck and print its report. */
static void check_model(struct triage_one *one, const struct ckpt *ck, struct triage_opts *o)
{
	struct triage_st *st = one->st;
	struct triage_report r = { 0 };
	bool incomplete = false;
	int rc;

	o->show_secrets = st->show_secrets;
	o->rootfs_fd = st->rootfs_fd;
	o->rootfs_dir = st->rootfs;
	rc = triage_checkpoint(ck, o, &r);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", st->prog, one->archive, strerror(-rc));
		st->error = true;
	}
	st->found |= print_report(one, &r, &incomplete);
	st->error |= incomplete;
	triage_report_done(&r);
}

/* deleted.files (@b) as lines into o->deleted (malloc'ed). */
static void deleted_lines(const struct ck_blob *b, struct triage_opts *o)
{
	struct ck_buf lines = { 0 };
	int rc = spec_render_deleted(b, &lines);

	if (rc < 0 || lines.oom) {
		o->deleted_err = rc < 0 ? rc : -ENOMEM;
		ck_buf_done(&lines);
		return;
	}
	o->deleted = ck_buf_steal(&lines, NULL);
	if (!o->deleted)
		o->deleted = strdup("");
}

/* The engine files of @ck (rootfs-diff.tar as an archive of its own,
 * deleted.files) into @o; *@ret_rootfs is to be freed. */
static void engine_files(const struct cli_common *c, const struct ckpt *ck, struct triage_opts *o,
			 struct arc **ret_rootfs)
{
	struct arc_opts aopts = { .cache_dir = c->cache_dir, .spill_limit = c->spill_limit };
	const struct arc_entry *e = ckpt_container_member(ck, "rootfs-diff.tar");
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	if (e && e->type == ARC_REG && e->size) {
		rc = arc_open_nested(ck->arc, e, &aopts, ret_rootfs, NULL);
		o->rootfs_diff_err = rc < 0 ? rc : 0;
		o->rootfs_diff = *ret_rootfs;
	}
	e = ckpt_container_member(ck, "deleted.files");
	if (!e || e->type != ARC_REG)
		return;
	rc = arc_load(ck->arc, e, TRIAGE_DELETED_MAX, &b, &owned);
	if (rc < 0)
		o->deleted_err = rc;
	else
		deleted_lines(&b, o);
}

static int check_archive(struct triage_st *st, struct cli_common *c, const char *path)
{
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	int rc = cli_input_open(c, path, CLI_INPUT_PODS, &in);

	if (rc)
		return rc;
	for (size_t k = 0; k < in.n; k++) {
		struct triage_one one = { st, path, in.names ? in.names[k] : NULL };
		struct triage_opts o = { 0 };
		struct arc *rootfs = NULL;

		engine_files(c, in.cks[k], &o, &rootfs);
		check_model(&one, in.cks[k], &o);
		arc_free(rootfs);
		free((char *) o.deleted);
	}
	return 0;
}

/* Whether directory @dir is a mounted tree (or a copy of one): it has the
 * tree's ps file and the archive's checkpoint/inventory.img. */
static bool is_tree(const char *dir)
{
	_cleanup_free_ char *ps = NULL, *inv = NULL;
	struct stat st;

	return asprintf(&ps, "%s/ps", dir) >= 0 && asprintf(&inv, "%s/checkpoint/inventory.img", dir) >= 0 &&
	       stat(ps, &st) == 0 && S_ISREG(st.st_mode) && stat(inv, &st) == 0 && S_ISREG(st.st_mode);
}

/* A mounted tree (one container's): the images of its checkpoint/
 * directory, and its rootfs-diff.tar and deleted.files members. */
static int check_tree(struct triage_st *st, struct cli_common *c, const char *dir, const char *archive,
		      const char *container)
{
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	_cleanup_free_ char *images = NULL, *tar = NULL, *del = NULL, *text = NULL;
	struct triage_one one = { st, archive, container };
	struct triage_opts o = { 0 };
	struct arc *rootfs = NULL;
	FILE *f;
	int rc;

	if (asprintf(&images, "%s/checkpoint", dir) < 0 || asprintf(&tar, "%s/rootfs-diff.tar", dir) < 0 ||
	    asprintf(&del, "%s/deleted.files", dir) < 0)
		return CLI_EXIT_NO_MEMORY;
	if ((rc = cli_input_open(c, images, 0, &in)))
		return rc;
	if (access(tar, F_OK) == 0) {
		rc = arc_open(tar, NULL, &rootfs, NULL);
		o.rootfs_diff_err = rc < 0 ? rc : 0;
		o.rootfs_diff = rootfs;
	}
	if ((f = fopen(del, "re"))) {
		size_t cap = 0;
		ssize_t n = getdelim(&text, &cap, '\0', f);

		if (n < 0 || ferror(f))
			o.deleted_err = -EIO;
		else
			deleted_lines(&(struct ck_blob) { (const uint8_t *) text, (size_t) n }, &o);
		fclose(f);
	}
	check_model(&one, in.cks[0], &o);
	arc_free(rootfs);
	free((char *) o.deleted);
	return 0;
}

/* A mounted pod: the containers' trees in the directories of @dir. Returns
 * -1 when @dir holds none. */
static int check_pod_tree(struct triage_st *st, struct cli_common *c, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), found = 0, ret = 0;

	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *sub = NULL;

		if (names[i]->d_name[0] != '.' && asprintf(&sub, "%s/%s", dir, names[i]->d_name) >= 0 && is_tree(sub)) {
			int rc = check_tree(st, c, sub, dir, names[i]->d_name);

			found++;
			ret = ret ? ret : rc;
		}
		free(names[i]);
	}
	free(names);
	return found ? ret : -1;
}

/* A directory --triage reads as it is: a mounted tree, or a mounted pod's. */
static bool triage_own_dir(const char *path)
{
	struct dirent **names = NULL;
	int n;
	bool found = is_tree(path);

	if (found)
		return true;
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *sub = NULL;

		if (!found && names[i]->d_name[0] != '.' && asprintf(&sub, "%s/%s", path, names[i]->d_name) >= 0)
			found = is_tree(sub);
		free(names[i]);
	}
	free(names);
	return found;
}

struct triage_walk {
	struct triage_st *st;
	struct cli_common *c;
};

/* One input (a struct cli_walk's one()): an archive, a mounted tree or a mounted pod. */
static int triage_one_input(void *ctx, const char *path, bool several)
{
	struct triage_walk *t = ctx;
	struct stat sb;
	int rc;

	if (is_tree(path))
		return check_tree(t->st, t->c, path, path, NULL);
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (rc = check_pod_tree(t->st, t->c, path)) >= 0)
		return rc;
	return check_archive(t->st, t->c, path);
}

static int triage_run(void *p, struct cli_common *c, int argc, char **argv)
{
	struct triage_st *st = p;
	struct triage_walk ctx = { st, c };

	st->prog = c->prog;
	if (!st->has_min)
		st->min = TRIAGE_MEDIUM;
	st->rootfs_fd = -1;
	if (argc < 1)
		return cli_usage_error(&cli_mode_triage, c->prog, "--triage takes one or more ARCHIVEs");
	if (st->rootfs && (st->rootfs_fd = open(st->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "%s: --rootfs %s: %s\n", c->prog, st->rootfs, strerror(errno));
		return CLI_EXIT_TRIAGE_ERROR;
	}
	if (cli_inputs_walk(c, argc, argv, &(const struct cli_walk) { .one = triage_one_input,
								       .own_dir = triage_own_dir, .ctx = &ctx }))
		st->error = true;
	if (st->rootfs_fd >= 0)
		close(st->rootfs_fd);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", c->prog, strerror(errno));
		return CLI_EXIT_TRIAGE_ERROR;
	}
	return st->found ? CLI_EXIT_FINDINGS : st->error ? CLI_EXIT_TRIAGE_ERROR : CLI_EXIT_OK;
}

static const struct cli_flag triage_flags[] = {
	{ "json", KEY_JSON, NULL, "one JSON object per finding" },
	{ "min-severity", KEY_MIN, "LEVEL", "show findings of LEVEL or more: info, low, medium\n"
	  "(default) or high; the exit status follows it" },
	{ "show-secrets", KEY_SECRETS, NULL, "show secrets whole (default: their first 4 characters)" },
	{ "rootfs", KEY_ROOTFS, "DIR", "the container's image unpacked: the original files\n"
	  "that dumped code pages and the rootfs diff are compared with" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_triage = {
	.name = "triage",
	.operands = "ARCHIVE|DIR|MOUNTED-TREE...",
	.summary = "what in each checkpoint points at a compromise, with the\n"
		   "evidence: injected code, fileless programs, reverse shells,\n"
		   "typed commands, persistence, secrets (see ckptfs(1), TRIAGE)",
	.flags = { triage_flags },
	.o_classes = CLI_O_INPUT,
	.usage_exit = CLI_EXIT_TRIAGE_ERROR,
	.flag = triage_flag,
	.run = triage_run,
	.state_size = sizeof(struct triage_st),
	.done = triage_st_done,
};
