/* SPDX-License-Identifier: Apache-2.0 */
/* ckptfs: mount a CRIU container checkpoint as a read-only /proc-like tree.
 * The archive is indexed and the model built before FUSE starts; after that
 * everything is immutable. */
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "arc.h"
#include "ckpt.h"
#include "cli.h"
#include "fs.h"
#include "log.h"
#include "view.h"

/* Read-ahead of the mount in KiB (fs_read_ahead_start()): enough for a
 * few FS_MAX_READ requests in flight. */
#define CLI_READ_AHEAD_KB 4096

/* The exit code for a failure @rc (-errno) of a step that otherwise exits
 * with @otherwise: running out of memory is not the input's fault. */
static int exit_for(int rc, int otherwise)
{
	return rc == -ENOMEM ? CLI_EXIT_NO_MEMORY : otherwise;
}

struct cli_opts {
	char *archive;		/* first non-option argument */
	char *cache_dir;	/* heap: fuse_opt_parse may free and replace it */
	char *spill_limit;	/* -o spill_limit=BYTES; NULL: the default of arc_opts.spill_limit */
	char *json;		/* "pretty" (default) or "plain" */
	char *page_size;	/* -o page_size=BYTES; NULL: inferred */
	char *image;		/* -o image=REF: the image of an OCI index that holds several */
	char **parents;		/* -o parent=PATH[:PATH...], repeatable: the immediate parent first */
	size_t n_parents;
	int show_help, show_version, debug;
	int raw_symlinks;	/* -o raw_symlinks: archive symlinks keep their stored targets */
	int contain_links;	/* -o contain_links: cwd/root/exe/fd links point into rootfs-diff/ */
	char *path;		/* second non-option: the mount point, or PATH of --ls/--cat/--readlink */
	struct cli_pack_opts pack;	/* --level, --threads of --recompress */
	unsigned read_ahead_kb;	/* -o read_ahead=KiB (CLI_READ_AHEAD_KB); 0: the kernel's 128 */
	int offline;		/* enum cli_offline */
};

enum { CLI_KEY_PARENT = 1 };

#define CLI_OPT(t, field, v) { t, offsetof(struct cli_opts, field), v }
static const struct fuse_opt cli_spec[] = {
	CLI_OPT("cache_dir=%s", cache_dir, 0),
	CLI_OPT("spill_limit=%s", spill_limit, 0),
	CLI_OPT("json=%s", json, 0),
	CLI_OPT("page_size=%s", page_size, 0),
	CLI_OPT("image=%s", image, 0),
	CLI_OPT("raw_symlinks", raw_symlinks, 1),
	CLI_OPT("contain_links", contain_links, 1),
	CLI_OPT("read_ahead=%u", read_ahead_kb, 0),
	FUSE_OPT_KEY("parent=", CLI_KEY_PARENT),
	CLI_OPT("-h", show_help, 1),
	CLI_OPT("--help", show_help, 1),
	CLI_OPT("-V", show_version, 1),
	CLI_OPT("--version", show_version, 1),
	CLI_OPT("-d", debug, 1),
	CLI_OPT("debug", debug, 1),
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	CLI_OPT("--ls", offline, CLI_LS),
	CLI_OPT("--cat", offline, CLI_CAT),
	CLI_OPT("--readlink", offline, CLI_READLINK),
	CLI_OPT("--recompress", offline, CLI_RECOMPRESS),
	CLI_OPT("--level=%d", pack.level, 0),
	CLI_OPT("--threads=%u", pack.threads, 0),
	CLI_OPT("--force", pack.force, 1),
	/* fstab and mount(8) options that mean nothing to a FUSE file system;
	 * mount.fuse3 passes some of them on (x-* is dropped in cli_proc) */
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

/* Append each colon-separated path of @list to @o->parents. */
static int cli_add_parents(struct cli_opts *o, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -1;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char **v = realloc(o->parents, (o->n_parents + 1) * sizeof(*v));

		if (!v)
			return -1;
		o->parents = v;
		o->parents[o->n_parents] = strdup(p);
		if (!o->parents[o->n_parents])
			return -1;
		o->n_parents++;
	}
	return 0;
}

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli_opts *o = data;

	if (key == CLI_KEY_PARENT)
		return cli_add_parents(o, arg + strlen("parent="));

	if (key == FUSE_OPT_KEY_NONOPT && !o->archive) {
		o->archive = strdup(arg);
		return 0;	/* consumed */
	}
	/* The mount point, or the PATH of --ls/--cat/--readlink: kept aside,
	 * and handed to libfuse by main() only when mounting, since libfuse
	 * resolves it as a directory of the host. */
	if (key == FUSE_OPT_KEY_NONOPT && !o->path) {
		o->path = strdup(arg);
		return o->path ? 0 : -1;
	}
	if (key == FUSE_OPT_KEY_OPT && !strncmp(arg, "x-", 2))
		return 0;	/* x-systemd.*, x-gvfs-*: for other programs */
	return 1;
}

static void cli_usage(const char *prog)
{
	printf("usage: %1$s [options] ARCHIVE MOUNTPOINT\n"
	       "       %1$s --ls|--cat|--readlink [options] ARCHIVE [PATH]\n"
	       "       %1$s --build-oci ARCHIVE DEST [--ref NAME:TAG] [--annotation K=V]... [--compress gzip|zstd]\n"
	       "       %1$s --recompress [--level=N] [--threads=N] [--force] IN OUT\n"
	       "       %1$s --search [-F] [-i] [-e PATTERN]... [-f FILE] [options] [PATTERN] ARCHIVE\n"
	       "       %1$s --yara RULES [options] ARCHIVE\n"
	       "       %1$s --where PID OFFSET ARCHIVE|MOUNTED-TREE\n\n"
	       "Mount a CRIU container checkpoint (a tar in any compression, an extracted\n"
	       "checkpoint directory, a bare CRIU images directory, or a checkpoint image:\n"
	       "OCI layout, oci-archive, docker-archive) read-only as a /proc-like tree.\n"
	       "See ckptfs(1).\n\n"
	       "ckptfs options:\n"
	       "    -o json=pretty|plain   images/*.json as `crit decode --pretty` (default) or `crit decode`\n"
	       "    -o cache_dir=DIR       where large members of compressed archives are spilled\n"
	       "                           (an unlinked temporary file; default $TMPDIR or /tmp)\n"
	       "    -o spill_limit=BYTES   the most that file may hold; more fails the mount (exit 10)\n"
	       "                           as a decompression bomb (default: 200 times the archive,\n"
	       "                           at least 1 GiB, at most 90%% of the free space)\n"
	       "    -o parent=PATH[:PATH]  parent checkpoints of an incremental dump, the immediate\n"
	       "                           parent first (repeatable; default: follow `parent` links)\n"
	       "    -o page_size=BYTES     page size of the dumping kernel (default: inferred)\n"
	       "    -o read_ahead=KiB      how far the kernel reads ahead in a file (default 4096;\n"
	       "                           0 keeps FUSE's 128; needs root)\n"
	       "    -o image=REF           the image of an OCI index that holds several (its\n"
	       "                           org.opencontainers.image.ref.name or manifest digest)\n"
	       "    -o raw_symlinks        symlinks inside the archive show their stored targets,\n"
	       "                           which resolve on this host (default: rewritten to stay\n"
	       "                           inside the mount, \"/\" being the archive's own root)\n"
	       "    -o contain_links       cwd, root, exe and fd/N links whose /proc text is an\n"
	       "                           absolute path point into rootfs-diff/ instead (dangling\n"
	       "                           inside the mount when the file is not there), for\n"
	       "                           scanners that follow links (see ckptfs(1))\n"
	       "    -f                     stay in the foreground\n"
	       "    -d, -o debug           debug output (implies -f)\n"
	       "    -s                     serve requests from a single thread\n"
	       "    -o FUSE_OPTION         e.g. allow_other (see below); ro is always added; fstab's\n"
	       "                           rw, noauto, user, _netdev, nofail, x-*, ... are ignored\n"
	       "    -h, --help             print this help and the FUSE options\n"
	       "    -V, --version          print the version\n"
	       "    --ls ARCHIVE [PATH]    without mounting: list directory PATH (default /) of the\n"
	       "                           tree, one name a line, in readdir order\n"
	       "    --cat ARCHIVE PATH     without mounting: write regular file PATH to stdout\n"
	       "    --readlink ARCHIVE PATH  without mounting: print the target of symlink PATH\n"
	       "    --build-oci ARCHIVE DEST  write the checkpoint as an OCI image: a layout\n"
	       "                           directory, or an oci-archive when DEST ends in .tar\n"
	       "    --ref NAME:TAG         --build-oci: the image's org.opencontainers.image.ref.name\n"
	       "    --annotation K=V       --build-oci: one more manifest annotation (repeatable)\n"
	       "    --compress gzip|zstd   --build-oci: the layer's compression (default gzip)\n"
	       "    --recompress IN OUT    write the tar of archive IN as seekable zstd to OUT, which\n"
	       "                           then mounts without a pass over it (--level=N, --threads=N;\n"
	       "                           --force: OUT may replace a regular file, nothing else)\n"
	       "\n"
	       "Search the memory of every process (without mounting):\n"
	       "    --search PATTERN ARCHIVE  PCRE2 regex; one line per match: pid, comm, address,\n"
	       "                           offset in <pid>/pages, the VMA as maps prints it, the\n"
	       "                           match (tab-separated, non-printable bytes as \\xNN)\n"
	       "    -F, --fixed-strings    PATTERN is a string, not a regex\n"
	       "    -i, --ignore-case      ignore ASCII case\n"
	       "    -e, --regexp PATTERN   one more pattern (repeatable)\n"
	       "    -f, --file FILE        patterns, one a line\n"
	       "    --yara RULES           match the YARA rules of file RULES per process, memory\n"
	       "                           blocks at their virtual addresses (adds rule:$string)\n"
	       "    --pid PID[,PID]        only these processes (CONTAINER/PID in a pod)\n"
	       "    -C, --context N        N bytes before and after each match (extra fields)\n"
	       "    -m, --max-count N      stop after N matches per process\n"
	       "    --json                 one JSON object per match (and --where answer)\n"
	       "    --where PID OFFSET ARCHIVE  the address and VMA of byte OFFSET of <pid>/pages\n"
	       "                           (OFFSET - reads offsets from stdin, as grep -boa prints\n"
	       "                           them; a mounted tree works in place of the archive)\n"
	       "    -o parent=, page_size=, cache_dir=, spill_limit=  as when mounting\n"
	       "\n"
	       "Exit status: 0 success, 1 usage, 10 cannot read the archive, 11 not a\n"
	       "checkpoint, 12 inventory.img or pstree.img malformed, 13 out of memory,\n"
	       "14 writing OUT or DEST failed (--build-oci: or DEST exists), 20 mount failed;\n"
	       "--ls/--cat/--readlink: 2 no such PATH or the wrong kind, 3 read error;\n"
	       "--search/--yara/--where: 0 found, 1 nothing found, 2 error (bad pattern or\n"
	       "rules, unreadable archive, memory skipped).\n\n",
	       prog);
}

static void cli_opts_done(struct cli_opts *o)
{
	free(o->archive);
	free(o->path);
	free(o->cache_dir);
	free(o->spill_limit);
	free(o->json);
	free(o->page_size);
	free(o->image);
	for (size_t i = 0; i < o->n_parents; i++)
		free(o->parents[i]);
	free(o->parents);
}

/* Index every -o parent= checkpoint. Returns 0, or the exit code after a message. */
static int cli_open_parents(const struct cli_opts *o, const struct arc_opts *aopts, const char *prog,
			    struct arc **arcs, struct ckpt_parent *parents)
{
	for (size_t i = 0; i < o->n_parents; i++) {
		_cleanup_free_ char *err = NULL;
		int rc = arc_open(o->parents[i], aopts, &arcs[i], &err);

		if (rc < 0) {
			fprintf(stderr, "%s: parent %s: %s\n", prog, o->parents[i], err ? err : strerror(-rc));
			return exit_for(rc, CLI_EXIT_ARCHIVE);
		}
		parents[i] = (struct ckpt_parent) { .arc = arcs[i], .path = o->parents[i] };
	}
	return 0;
}

/* The indexed -o parent= checkpoints; they outlive the model. */
struct cli_parents {
	struct arc **arcs;
	struct ckpt_parent *parents;
	size_t n;
};

static void cli_parents_done(struct cli_parents *p)
{
	for (size_t i = 0; p->arcs && i < p->n; i++)
		arc_free(p->arcs[i]);
	free(p->arcs);
	free(p->parents);
}

/* True when one of the -o lists in @args holds @name (e.g. allow_other). */
static bool cli_has_fuse_opt(const struct fuse_args *args, const char *name)
{
	size_t len = strlen(name);

	for (int i = 1; i < args->argc; i++) {
		const char *a = args->argv[i], *p;

		if (!strcmp(a, "-o") && i + 1 < args->argc)
			a = args->argv[++i];
		else if (!strncmp(a, "-o", 2))
			a += 2;
		else
			continue;
		for (p = a; (p = strstr(p, name)); p += len)
			if ((p == a || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
				return true;
	}
	return false;
}

/* What the tree leaves out, said once at warning level (stderr in the
 * foreground, the log with -d; the daemon's stderr is /dev/null). */
static void cli_warn(void *ctx, const char *msg)
{
	ck_log(CK_LOG_WARNING, "%s", msg);
}

static void cli_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Whether @dir (an absolute, resolved path) is the mount point of a ckptfs
 * mount already, by /proc/self/mountinfo (whose paths escape space, tab,
 * newline and backslash as \ooo). Mounting again would stack a second tree
 * over the first. */
static bool cli_is_ckptfs_mount(const char *dir)
{
	_cleanup_(cli_fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *mp = line, *sep = strstr(line, " - "), *d, *q;

		for (int i = 0; i < 4 && mp; i++) {	/* field 5: the mount point */
			mp = strchr(mp, ' ');
			if (mp)
				mp++;
		}
		if (!mp || !sep || strncmp(sep + 3, "fuse.ckptfs ", 12))
			continue;
		for (d = q = mp; *q && *q != ' '; q++) {
			if (q[0] == '\\' && q[1] >= '0' && q[1] <= '3' && q[2] >= '0' && q[2] <= '7' &&
			    q[3] >= '0' && q[3] <= '7') {
				*d++ = (char) (((q[1] - '0') << 6) | ((q[2] - '0') << 3) | (q[3] - '0'));
				q += 3;
			} else {
				*d++ = *q;
			}
		}
		*d = '\0';
		if (!strcmp(mp, dir))
			return true;
	}
	return false;
}

static int cli_run(struct cli_opts *o, struct fuse_args *args, const char *prog)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(cli_parents_done) struct cli_parents pa = { 0 };
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	_cleanup_(tree_freep) struct tree *tree = NULL;
	_cleanup_free_ char *err = NULL;
	struct fuse_cmdline_opts fopts = { 0 };
	struct arc_opts aopts = { .cache_dir = o->cache_dir, .image_ref = o->image };
	struct tree_opts popts = { .uid = getuid(), .gid = getgid(), .warn = cli_warn };
	struct ckpt_opts copts = { .path = o->archive, .arc_opts = &aopts };
	struct fuse_loop_config lcfg = { .clone_fd = 0, .max_idle_threads = 10 };
	struct cli_progress bar = { .label = "ckptfs: indexing" };
	struct fuse *fuse;
	struct stat st;
	int rc, ret = CLI_EXIT_MOUNT;

	/* a missing archive is the first thing to say, before the mount point */
	if (stat(o->archive, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, strerror(errno));
		return CLI_EXIT_ARCHIVE;
	}
	if (fuse_parse_cmdline(args, &fopts) != 0)
		return CLI_EXIT_USAGE;
	if (!fopts.mountpoint && !o->offline) {
		fprintf(stderr, "%s: no mount point given (see --help)\n", prog);
		return CLI_EXIT_USAGE;
	}
	if (!o->offline && cli_is_ckptfs_mount(fopts.mountpoint)) {
		fprintf(stderr, "%s: %s: already holds a ckptfs mount; unmount it first (fusermount3 -u %s)\n",
			prog, fopts.mountpoint, fopts.mountpoint);
		ret = CLI_EXIT_MOUNT;
		goto out_free;
	}
	if (o->json && strcmp(o->json, "pretty") && strcmp(o->json, "plain")) {
		fprintf(stderr, "%s: -o json= takes 'pretty' or 'plain', not '%s'\n", prog, o->json);
		ret = CLI_EXIT_USAGE;
		goto out_free;
	}
	popts.json_plain = o->json && !strcmp(o->json, "plain");
	popts.cache_dir = o->cache_dir;
	popts.raw_symlinks = o->raw_symlinks;
	popts.contain_links = o->contain_links;
	popts.shared = cli_has_fuse_opt(args, "allow_other") || cli_has_fuse_opt(args, "allow_root");
	if (o->spill_limit && (ck_parse_u64(o->spill_limit, &aopts.spill_limit) < 0 || !aopts.spill_limit)) {
		fprintf(stderr, "%s: -o spill_limit= takes a positive number of bytes, not '%s'\n",
			prog, o->spill_limit);
		ret = CLI_EXIT_USAGE;
		goto out_free;
	}
	if (o->page_size && (ck_parse_u64(o->page_size, &copts.page_size) < 0 || copts.page_size < 4096 ||
			     copts.page_size > (1u << 20) || (copts.page_size & (copts.page_size - 1)))) {
		fprintf(stderr, "%s: -o page_size= takes a power of two from 4096 to 1048576, not '%s'\n",
			prog, o->page_size);
		ret = CLI_EXIT_USAGE;
		goto out_free;
	}

	if (isatty(STDERR_FILENO) && !o->debug) {
		aopts.progress = cli_progress_draw;
		aopts.progress_ctx = &bar;
	}
	rc = arc_open(o->archive, &aopts, &a, &err);
	cli_progress_end(&bar);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, err ? err : strerror(-rc));
		ret = rc == -ARC_ENOTCKPT ? CLI_EXIT_NOT_CHECKPOINT : exit_for(rc, CLI_EXIT_ARCHIVE);
		goto out_free;
	}
	free(TAKE_PTR(err));
	pa.n = o->n_parents;
	pa.arcs = calloc(pa.n + 1, sizeof(*pa.arcs));
	pa.parents = calloc(pa.n + 1, sizeof(*pa.parents));
	if (!pa.arcs || !pa.parents) {
		fprintf(stderr, "%s: %s\n", prog, strerror(ENOMEM));
		ret = CLI_EXIT_NO_MEMORY;
		goto out_free;
	}
	rc = cli_open_parents(o, &aopts, prog, pa.arcs, pa.parents);
	cli_progress_end(&bar);
	if (rc) {
		ret = rc;
		goto out_free;
	}
	copts.parents = pa.parents;
	copts.n_parents = o->n_parents;
	rc = ckpt_load(a, &copts, &ck, &err);
	cli_progress_end(&bar);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, err ? err : strerror(-rc));
		ret = exit_for(rc, rc == -ENOENT ? CLI_EXIT_NOT_CHECKPOINT : CLI_EXIT_BAD_IMAGE);
		goto out_free;
	}
	if (ck->chain_err && ck->chain_given) {
		/* -o parent= named something that is no parent checkpoint */
		fprintf(stderr, "%s: %s\n", prog, ck->chain_why ? ck->chain_why : strerror(-ck->chain_err));
		ret = CLI_EXIT_NOT_CHECKPOINT;
		goto out_free;
	}
	if (ck->chain_err)
		ck_log(CK_LOG_WARNING, "%s: %s; pages kept only in a parent checkpoint read as holes (zeros)",
		       o->archive, ck->chain_why ? ck->chain_why : strerror(-ck->chain_err));
	if (stat(o->archive, &st) == 0)
		popts.mtime = st.st_mtim.tv_sec;
	rc = view_tree_new(ck, a, &popts, &tree);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, strerror(-rc));
		ret = exit_for(rc, CLI_EXIT_ARCHIVE);
		goto out_free;
	}
	if (o->offline) {
		arc_read_ahead_enable(true);
		ret = cli_offline_run(tree, o->offline, o->path ? o->path : "/", prog);
		goto out_free;
	}

	/* read-only, and named after the archive in /proc/mounts */
	fuse_opt_add_arg(args, "-oro,default_permissions,subtype=ckptfs");
	{
		char max_read[32];

		snprintf(max_read, sizeof(max_read), "-omax_read=%u", (unsigned) FS_MAX_READ);
		fuse_opt_add_arg(args, max_read);
	}
	{
		char fsname[4200];

		snprintf(fsname, sizeof(fsname), "-ofsname=%s", o->archive);
		for (char *c = fsname + 9; *c; c++)
			if (*c == ',')
				*c = '_';	/* a comma would split the option */
		fuse_opt_add_arg(args, fsname);
	}
	fuse = fuse_new(args, &fs_ops, sizeof(fs_ops), tree);
	if (!fuse)
		goto out_free;
	if (fuse_mount(fuse, fopts.mountpoint) != 0) {
		fprintf(stderr, "%s: cannot mount on '%s'\n", prog, fopts.mountpoint);
		goto out_destroy;
	}
	if (fuse_daemonize(fopts.foreground) != 0)
		goto out_unmount;
	/* no fork after this point: threads may run ahead of readers */
	arc_read_ahead_enable(true);
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
	if (o->read_ahead_kb)
		(void) fs_read_ahead_start(fopts.mountpoint, o->read_ahead_kb);
	rc = fopts.singlethread ? fuse_loop(fuse) : fuse_loop_mt(fuse, &lcfg);
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	ret = rc < 0 ? CLI_EXIT_MOUNT : CLI_EXIT_OK;
out_unmount:
	fuse_unmount(fuse);
out_destroy:
	fuse_destroy(fuse);
out_free:
	free(fopts.mountpoint);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cli_opts o = { .read_ahead_kb = CLI_READ_AHEAD_KB };
	const char *prog = "ckptfs";
	int ret;

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
	if (cli_search_wanted(argc, argv)) {
		arc_read_ahead_enable(true);	/* this process never forks */
		return cli_search_main(argc, argv);
	}
	if (cli_oci_wanted(argc, argv)) {
		arc_read_ahead_enable(true);	/* this process never forks */
		fuse_opt_free_args(&args);
		return cli_oci_main(argc, argv, prog);
	}
	if (fuse_opt_parse(&args, &o, cli_spec, cli_proc) != 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (o.show_version) {
		printf("ckptfs %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		ret = CLI_EXIT_OK;
		goto out;
	}
	if (o.show_help) {
		cli_usage(prog);
		printf("FUSE options:\n");
		fuse_lib_help(&args);
		fuse_cmdline_help();
		ret = CLI_EXIT_OK;
		goto out;
	}
	if (o.debug)
		ck_log_set_level(CK_LOG_DEBUG);
	if (!o.archive) {
		fprintf(stderr, "%s: no archive given\nusage: %s [options] ARCHIVE MOUNTPOINT\n", prog, prog);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (o.offline == CLI_RECOMPRESS) {
		if (!o.path) {
			fprintf(stderr, "%s: --recompress needs IN and OUT\n", prog);
			ret = CLI_EXIT_USAGE;
		} else {
			ret = cli_recompress_run(o.archive, o.path, &o.pack, prog);
		}
		goto out;
	}
	if ((o.offline == CLI_CAT || o.offline == CLI_READLINK) && !o.path) {
		fprintf(stderr, "%s: --cat and --readlink need a PATH inside the tree\n", prog);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (!o.offline && o.path && fuse_opt_add_arg(&args, o.path) != 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	ret = cli_run(&o, &args, prog);
out:
	fuse_opt_free_args(&args);
	cli_opts_done(&o);
	return ret;
}
