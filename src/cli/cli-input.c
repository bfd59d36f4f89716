/* SPDX-License-Identifier: Apache-2.0 */
/* Opening an input, the one way every mode does it: the archive (any form
 * arc_open() takes), its -o parent= checkpoints, the checkpoint model (one
 * per container of a pod when asked), with a progress bar while a large
 * archive is indexed and one line on stderr naming the file when anything
 * fails. Also the tree of an opened input, for mounting and --ls/--cat. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "view.h"

/* The state of a progress bar drawn on stderr; zero-initialise. */
struct cli_progress {
	const char *label;	/* what is being read, shown before the bar */
	uint64_t start_ns;	/* CLOCK_MONOTONIC of the first call */
	uint64_t start_done;	/* bytes done then */
	bool drawn;		/* something is on the line and must be cleared */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* "12.3 MiB": @v bytes in the largest unit that keeps it under 1024. */
static void human(uint64_t v, char *out, size_t size)
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

/* An arc_opts.progress callback (@ctx is a struct cli_progress): redraws the
 * bar with bytes read, total and rate. */
static void progress_draw(void *ctx, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;
	char sdone[32], stotal[32], srate[32] = "", line[512];
	struct winsize ws;
	uint64_t now = now_ns(), elapsed;
	int cols = 80, barw, fill;

	if (!p->start_ns)
		p->start_ns = now;
	elapsed = now - p->start_ns;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = CK_MIN((int) ws.ws_col, (int) sizeof(line) - 1);
	human(done, sdone, sizeof(sdone));
	human(total, stotal, sizeof(stotal));
	/* the rate since the first report: the first one has none yet */
	if (elapsed > 50000000)
		human((uint64_t) ((double) (done - p->start_done) * 1e9 / (double) elapsed), srate, sizeof(srate));
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

/* Erase the bar, if one was drawn. */
static void progress_end(struct cli_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}

/* The exit code for a failure @rc (-errno) of a step that otherwise exits
 * with @otherwise: running out of memory is not the input's fault, and
 * "not a checkpoint" has its own. */
static int exit_for(int rc, int otherwise)
{
	return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : rc == -ARC_ENOTCKPT ? CLI_EXIT_NOT_CHECKPOINT : otherwise;
}

void cli_input_done(struct cli_input *in)
{
	for (size_t i = 0; i < in->n; i++)
		ckpt_free(in->cks[i]);
	free(in->cks);
	if (in->names)
		ckpt_pod_free(in->names, in->n);
	for (size_t i = 0; i < in->n_parents; i++)
		arc_free(in->parent_arcs[i]);
	free(in->parent_arcs);
	free(in->parents);
	arc_free(in->a);
	*in = (struct cli_input) { 0 };
}

/* Index every -o parent= checkpoint. Returns 0 or an exit code after a message. */
static int open_parents(const struct cli_common *c, const struct arc_opts *aopts, struct cli_input *in,
			struct cli_progress *bar)
{
	in->parent_arcs = calloc(c->n_parents + 1, sizeof(*in->parent_arcs));
	in->parents = calloc(c->n_parents + 1, sizeof(*in->parents));
	if (!in->parent_arcs || !in->parents) {
		fprintf(stderr, "%s: %s\n", c->prog, strerror(ENOMEM));
		return CLI_EXIT_NO_MEMORY;
	}
	for (size_t i = 0; i < c->n_parents; i++) {
		_cleanup_free_ char *err = NULL;
		int rc = arc_open(c->parents[i], aopts, &in->parent_arcs[i], &err);

		progress_end(bar);
		if (rc < 0) {
			fprintf(stderr, "%s: parent %s: %s\n", c->prog, c->parents[i], err ? err : strerror(-rc));
			return exit_for(rc, CLI_EXIT_ARCHIVE);
		}
		in->n_parents++;
		in->parents[i] = (struct ckpt_parent) { .arc = in->parent_arcs[i], .path = c->parents[i] };
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The containers of a pod (CLI_INPUT_PODS), in name order, or the
 * archive's one checkpoint. */
static int find_models(const struct cli_common *c, struct cli_input *in, unsigned flags)
{
	ssize_t npod = flags & CLI_INPUT_PODS ? ckpt_pod_containers(in->a, &in->names) : 0;

	if (npod < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, strerror(ENOMEM));
		return CLI_EXIT_NO_MEMORY;
	}
	if (npod > 1)
		qsort(in->names, (size_t) npod, sizeof(*in->names), cmp_str);
	if (npod <= 1) {
		/* one checkpoint (a single container in a directory is not a pod) */
		ckpt_pod_free(TAKE_PTR(in->names), (size_t) CK_MAX(npod, 0));
		npod = 1;
	}
	in->cks = calloc((size_t) npod, sizeof(*in->cks));
	if (!in->cks) {
		fprintf(stderr, "%s: %s\n", c->prog, strerror(ENOMEM));
		return CLI_EXIT_NO_MEMORY;
	}
	in->n = (size_t) npod;	/* NULL models are freed as nothing */
	return 0;
}

void cli_arc_opts(const struct cli_common *c, struct arc_opts *ret)
{
	*ret = (struct arc_opts) { .cache_dir = c->cache_dir, .image_ref = c->image, .spill_limit = c->spill_limit,
				   .tls_no_verify = c->no_tls_verify, .cache_size = c->cache_size };
}

/* The options cli_input_open() reads @path with. */
static void input_opts(const struct cli_common *c, const char *path, struct arc_opts *aopts, struct ckpt_opts *copts)
{
	cli_arc_opts(c, aopts);
	*copts = (struct ckpt_opts) { .path = path, .arc_opts = aopts, .page_size = c->page_size };
}

/* Load model @i of @in into *@ret. Returns 0 or an exit code after a message. */
static int load_model(const struct cli_common *c, struct cli_input *in, size_t i, struct ckpt_opts *copts,
		      struct cli_progress *bar, struct ckpt **ret)
{
	_cleanup_free_ char *dir = NULL, *err = NULL;
	const struct ckpt *ck;
	int rc;

	if (in->names && !(dir = ckpt_pod_img_dir(in->names[i])))
		return CLI_EXIT_NO_MEMORY;
	copts->img_dir = dir;
	rc = ckpt_load(in->a, copts, ret, &err);
	progress_end(bar);
	if (rc < 0) {
		fprintf(stderr, "%s: %s%s%s: %s\n", c->prog, in->path, dir ? ": " : "", dir ? dir : "",
			err ? err : strerror(-rc));
		return exit_for(rc, CLI_EXIT_BAD_IMAGE);
	}
	ck = *ret;
	if (ck->chain_err && ck->chain_given) {
		/* -o parent= named something that is no parent checkpoint */
		fprintf(stderr, "%s: %s\n", c->prog, ck->chain_why ? ck->chain_why : strerror(-ck->chain_err));
		return CLI_EXIT_NOT_CHECKPOINT;
	}
	if (ck->fit_err && ck->fit_given) {
		/* -o parent= named a checkpoint that is not this one's parent */
		fprintf(stderr, "%s: %s: %s\n", c->prog, in->path, ck->fit_why);
		return CLI_EXIT_NOT_CHECKPOINT;
	}
	return 0;
}

void cli_input_chain_warn(const struct cli_input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		const struct ckpt *ck = in->cks[i];

		if (ck && ck->chain_err)
			ck_log(CK_LOG_WARNING, "%s: %s; pages kept only in a parent checkpoint read as holes (zeros)",
			       in->path, ck->chain_why ? ck->chain_why : strerror(-ck->chain_err));
		if (ck && ck->fit_err)
			ck_log(CK_LOG_WARNING, "%s: %s; its pages may not be this checkpoint's", in->path, ck->fit_why);
	}
}

/* True when every page of every process of @ck is there: none is kept in
 * a parent checkpoint the chain lacks. */
static bool chain_whole(const struct ckpt *ck)
{
	for (size_t i = 0; i < ck->n_procs; i++)
		if (ck->procs[i].mem && mem_missing_count(ck->procs[i].mem))
			return false;
	return true;
}

int cli_input_reparent(const struct cli_common *c, struct cli_input *in, const struct ckpt_parent *parents,
		       size_t n)
{
	struct arc_opts aopts;
	struct ckpt_opts copts;
	struct cli_progress bar = { 0 };
	_cleanup_free_ struct ckpt **cks = calloc(in->n + 1, sizeof(*cks));
	bool whole = true;
	int rc = cks ? 0 : CLI_EXIT_NO_MEMORY;

	input_opts(c, in->path, &aopts, &copts);
	copts.parents = parents;
	copts.n_parents = n;
	for (size_t i = 0; rc == 0 && i < in->n; i++) {
		rc = load_model(c, in, i, &copts, &bar, &cks[i]);
		whole = whole && rc == 0 && chain_whole(cks[i]);
	}
	for (size_t i = 0; rc == 0 && whole && i < in->n; i++) {
		ckpt_free(in->cks[i]);
		in->cks[i] = TAKE_PTR(cks[i]);
	}
	for (size_t i = 0; cks && i < in->n; i++)
		ckpt_free(cks[i]);
	return rc ? rc : whole ? 0 : 1;
}

int cli_input_exists(const struct cli_common *c, const char *path)
{
	struct stat st;

	if (arc_is_ref(path) || stat(path, &st) == 0)
		return 0;	/* a reference is looked up when opened */
	fprintf(stderr, "%s: %s: %s\n", c->prog, path, strerror(errno));
	return CLI_EXIT_ARCHIVE;
}

int cli_input_open(const struct cli_common *c, const char *path, unsigned flags, struct cli_input *in)
{
	struct arc_opts aopts;
	struct ckpt_opts copts;
	struct cli_progress bar = { .label = "ckptfs: indexing" };
	_cleanup_free_ char *err = NULL;
	int rc;

	*in = (struct cli_input) { .path = path };
	input_opts(c, path, &aopts, &copts);
	rc = cli_input_exists(c, path);
	if (rc)
		return rc;
	if (isatty(STDERR_FILENO) && !c->debug) {
		aopts.progress = progress_draw;
		aopts.progress_ctx = &bar;
	}
	rc = arc_open(path, &aopts, &in->a, &err);
	progress_end(&bar);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path, err ? err : strerror(-rc));
		return exit_for(rc, CLI_EXIT_ARCHIVE);
	}
	rc = open_parents(c, &aopts, in, &bar);
	if (rc == 0)
		rc = find_models(c, in, flags);
	copts.parents = in->parents;
	copts.n_parents = in->n_parents;
	for (size_t i = 0; rc == 0 && i < in->n; i++)
		rc = load_model(c, in, i, &copts, &bar, &in->cks[i]);
	if (rc == 0 && !(flags & CLI_INPUT_CHAIN_LATER))
		cli_input_chain_warn(in);
	return rc;
}

/* How deep directories of checkpoints are expanded (a symlink loop ends here). */
#define WALK_DEPTH_MAX 4

/* Is @path a directory that stands for the archives in it: not a checkpoint
 * of its own (the detection that makes a mount refuse it)? */
static bool walk_is_many(const struct cli_common *c, const struct cli_walk *w, const char *path)
{
	_cleanup_free_ char *dir = NULL;
	struct arc_opts aopts;
	struct stat st;
	struct arc *a = NULL;
	int rc;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || (w->own_dir && w->own_dir(path)))
		return false;
	cli_arc_opts(c, &aopts);
	if (arc_open(path, &aopts, &a, NULL) < 0)
		return false;	/* reading it as one input says why */
	rc = ckpt_find_img_dir(a, &dir, NULL);
	arc_free(a);
	return rc == -ARC_ENOTCKPT;
}

static size_t walk_path(const struct cli_common *c, const struct cli_walk *w, const char *path, unsigned depth);

/* The entries of directory @path, each an input. Returns the failures. */
static size_t walk_dir(const struct cli_common *c, const struct cli_walk *w, const char *path, unsigned depth)
{
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);
	size_t failed = 0, done = 0;

	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (names[i]->d_name[0] != '.' && asprintf(&sub, "%s/%s", path, names[i]->d_name) >= 0 &&
		    stat(sub, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
			failed += walk_path(c, w, sub, depth + 1);
			done++;
		}
		free(names[i]);
	}
	free(names);
	if (!done) {
		fprintf(stderr, "%s: %s: no checkpoint in this directory\n", c->prog, path);
		failed++;
	}
	return failed;
}

static size_t walk_path(const struct cli_common *c, const struct cli_walk *w, const char *path, unsigned depth)
{
	if (depth < WALK_DEPTH_MAX && walk_is_many(c, w, path))
		return walk_dir(c, w, path, depth);
	return w->one(w->ctx, path, true) != 0;
}

size_t cli_inputs_walk(const struct cli_common *c, int argc, char **argv, const struct cli_walk *w)
{
	size_t failed = 0;

	for (int i = 0; i < argc; i++) {
		if (walk_is_many(c, w, argv[i]))
			failed += walk_dir(c, w, argv[i], 0);
		else
			failed += w->one(w->ctx, argv[i], argc > 1) != 0;
	}
	return failed;
}

/* What the tree leaves out, said once at warning level (stderr in the
 * foreground, the log with -d; the daemon's stderr is /dev/null). */
static void cli_tree_warn(void *ctx, const char *msg)
{
	ck_log(CK_LOG_WARNING, "%s", msg);
}

int cli_tree_open(const struct cli_common *c, struct cli_input *in, bool shared, struct tree **ret_tree)
{
	struct tree_opts popts = {
		.shared = shared,
		.uid = getuid(), .gid = getgid(), .warn = cli_tree_warn, .json_plain = c->json_plain,
		.cache_dir = c->cache_dir, .raw_symlinks = c->raw_symlinks, .contain_links = c->contain_links,
	};
	struct stat st;
	int rc;

	if (stat(in->path, &st) == 0)
		popts.mtime = st.st_mtim.tv_sec;
	rc = view_tree_new(in->cks[0], in->a, &popts, ret_tree);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", c->prog, in->path, strerror(-rc));
		return exit_for(rc, CLI_EXIT_ARCHIVE);
	}
	return 0;
}

void cli_proc_name(const struct ckpt *ck, const struct ckpt_proc *p, char *out, size_t size)
{
	const char *name = ckpt_proc_name(p);

	snprintf(out, size, "%s", name && *name ? name : "?");
}
