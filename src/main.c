/* SPDX-License-Identifier: Apache-2.0 */
/* ckptfs: mount a CRIU container checkpoint as a read-only /proc-like tree.
 * The archive is indexed and the model built before FUSE starts; after that
 * everything is immutable. */
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "arc.h"
#include "ckpt.h"
#include "fs.h"
#include "log.h"
#include "proc.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 1,
	CLI_EXIT_ARCHIVE = 10,
	CLI_EXIT_NOT_CHECKPOINT = 11,
	CLI_EXIT_BAD_IMAGE = 12,
	CLI_EXIT_MOUNT = 20,
};

struct cli_opts {
	char *archive;		/* first non-option argument */
	char *cache_dir;	/* heap: fuse_opt_parse may free and replace it */
	char *json;		/* "pretty" (default) or "plain" */
	int show_help, show_version, debug;
};

#define CLI_OPT(t, field, v) { t, offsetof(struct cli_opts, field), v }
static const struct fuse_opt cli_spec[] = {
	CLI_OPT("cache_dir=%s", cache_dir, 0),
	CLI_OPT("json=%s", json, 0),
	CLI_OPT("-h", show_help, 1),
	CLI_OPT("--help", show_help, 1),
	CLI_OPT("-V", show_version, 1),
	CLI_OPT("--version", show_version, 1),
	CLI_OPT("-d", debug, 1),
	CLI_OPT("debug", debug, 1),
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_END
};

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli_opts *o = data;

	if (key == FUSE_OPT_KEY_NONOPT && !o->archive) {
		o->archive = strdup(arg);
		return 0;	/* consumed: the next non-option is libfuse's mountpoint */
	}
	return 1;
}

static void cli_usage(const char *prog)
{
	printf("usage: %s [options] ARCHIVE MOUNTPOINT\n\n"
	       "Mount a CRIU container checkpoint (a tar in any compression, an extracted\n"
	       "checkpoint directory or a bare CRIU images directory) read-only as a\n"
	       "/proc-like tree. See ckptfs(1).\n\n"
	       "ckptfs options:\n"
	       "    -o json=pretty|plain   images/*.json as `crit decode --pretty` (default) or `crit decode`\n"
	       "    -o cache_dir=DIR       where large members of compressed archives are spilled\n"
	       "                           (an unlinked temporary file; default $TMPDIR or /tmp)\n"
	       "    -h, --help             print this help and the FUSE options\n"
	       "    -V, --version          print the version\n"
	       "\n"
	       "Exit status: 0 success, 1 usage, 10 cannot read the archive, 11 not a\n"
	       "checkpoint, 12 inventory.img or pstree.img malformed, 20 mount failed.\n\n",
	       prog);
}

static void cli_opts_done(struct cli_opts *o)
{
	free(o->archive);
	free(o->cache_dir);
	free(o->json);
}

static int cli_run(struct cli_opts *o, struct fuse_args *args, const char *prog)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	_cleanup_(pv_tree_freep) struct pv_tree *tree = NULL;
	_cleanup_free_ char *err = NULL;
	struct fuse_cmdline_opts fopts = { 0 };
	struct arc_opts aopts = { .cache_dir = o->cache_dir };
	struct pv_opts popts = { .uid = getuid(), .gid = getgid() };
	struct fuse_loop_config lcfg = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fuse *fuse;
	struct stat st;
	int rc, ret = CLI_EXIT_MOUNT;

	if (fuse_parse_cmdline(args, &fopts) != 0)
		return CLI_EXIT_USAGE;
	if (!fopts.mountpoint) {
		fprintf(stderr, "%s: no mount point given (see --help)\n", prog);
		return CLI_EXIT_USAGE;
	}
	if (o->json && strcmp(o->json, "pretty") && strcmp(o->json, "plain")) {
		fprintf(stderr, "%s: -o json= takes 'pretty' or 'plain', not '%s'\n", prog, o->json);
		ret = CLI_EXIT_USAGE;
		goto out_free;
	}
	popts.json_plain = o->json && !strcmp(o->json, "plain");

	rc = arc_open(o->archive, &aopts, &a, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, err ? err : strerror(-rc));
		ret = CLI_EXIT_ARCHIVE;
		goto out_free;
	}
	free(TAKE_PTR(err));
	rc = ckpt_load(a, NULL, &ck, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, err ? err : strerror(-rc));
		ret = rc == -ENOENT ? CLI_EXIT_NOT_CHECKPOINT : CLI_EXIT_BAD_IMAGE;
		goto out_free;
	}
	if (stat(o->archive, &st) == 0)
		popts.mtime = st.st_mtim.tv_sec;
	rc = pv_tree_new(ck, a, &popts, &tree);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->archive, strerror(-rc));
		ret = CLI_EXIT_ARCHIVE;
		goto out_free;
	}

	/* read-only, and named after the archive in /proc/mounts */
	fuse_opt_add_arg(args, "-oro,default_permissions,subtype=ckptfs");
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
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
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
	struct cli_opts o = { 0 };
	const char *prog = "ckptfs";
	int ret;

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
	ret = cli_run(&o, &args, prog);
out:
	fuse_opt_free_args(&args);
	cli_opts_done(&o);
	return ret;
}
