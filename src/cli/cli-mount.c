/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting, the default mode: `ckptfs [options] ARCHIVE MOUNTPOINT`, also
 * as mount.fuse3 calls it. Its command line goes through libfuse's option
 * parser, since FUSE's own options (-f, -s, -o allow_other, ...) pass
 * through; ckptfs's -o options are taken out by cli_common_opt(). The
 * archive is indexed and the tree built before FUSE starts; after that
 * everything is immutable. */
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cli.h"
#include "fs.h"
#include "log.h"

/* Read-ahead of the mount in KiB (fs_read_ahead_start()): enough for a
 * few FS_MAX_READ requests in flight. */
#define MOUNT_READ_AHEAD_KB 4096

struct mount_opts {
	struct cli_common c;
	char *archive;		/* the first operand */
	char *mountpoint;	/* the second, handed to libfuse only when mounting */
	int show_help, show_version, debug;
};

#define MOUNT_OPT(t, field, v) { t, offsetof(struct mount_opts, field), v }
static const struct fuse_opt mount_spec[] = {
	MOUNT_OPT("-h", show_help, 1),
	MOUNT_OPT("--help", show_help, 1),
	MOUNT_OPT("-V", show_version, 1),
	MOUNT_OPT("--version", show_version, 1),
	MOUNT_OPT("-d", debug, 1),
	MOUNT_OPT("debug", debug, 1),
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	/* fstab and mount(8) options that mean nothing to a FUSE file system;
	 * mount.fuse3 passes some of them on (x-* is dropped in mount_proc) */
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

static int mount_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct mount_opts *o = data;

	if (key == FUSE_OPT_KEY_NONOPT && !o->archive)
		return (o->archive = strdup(arg)) ? 0 : -1;
	/* kept aside: libfuse would resolve it as a directory of the host
	 * before we know the archive is good */
	if (key == FUSE_OPT_KEY_NONOPT && !o->mountpoint)
		return (o->mountpoint = strdup(arg)) ? 0 : -1;
	if (key != FUSE_OPT_KEY_OPT)
		return 1;
	if (!strncmp(arg, "x-", 2))
		return 0;	/* x-systemd.*, x-gvfs-*: for other programs */
	switch (cli_common_opt(&o->c, arg, CLI_O_INPUT | CLI_O_TREE | CLI_O_MOUNT)) {
	case 1:
		return 0;	/* ours */
	case 0:
		return 1;	/* FUSE's */
	default:
		return -1;
	}
}

/* True when one of the -o lists in @args holds @name (e.g. allow_other). */
static bool has_fuse_opt(const struct fuse_args *args, const char *name)
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

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Whether @dir (an absolute, resolved path) is the mount point of a ckptfs
 * mount already, by /proc/self/mountinfo (whose paths escape space, tab,
 * newline and backslash as \ooo). Mounting again would stack a second tree
 * over the first. */
static bool is_ckptfs_mount(const char *dir)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
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

void cli_fuse_args(struct fuse_args *args, const char *archive)
{
	char max_read[32], fsname[4200];

	fuse_opt_add_arg(args, "-oro,default_permissions,subtype=ckptfs");
	snprintf(max_read, sizeof(max_read), "-omax_read=%u", (unsigned) FS_MAX_READ);
	fuse_opt_add_arg(args, max_read);
	snprintf(fsname, sizeof(fsname), "-ofsname=%s", archive);
	for (char *c = fsname + 9; *c; c++)
		if (*c == ',')
			*c = '_';	/* a comma would split the option */
	fuse_opt_add_arg(args, fsname);
}

/* Serve @tree on @fopts->mountpoint until unmounted. */
static int serve(struct tree *tree, struct fuse_args *args, const struct fuse_cmdline_opts *fopts,
		 const struct mount_opts *o)
{
	struct fuse_loop_config lcfg = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fuse *fuse;
	int rc, ret = CLI_EXIT_MOUNT;

	cli_fuse_args(args, o->archive);
	fuse = fuse_new(args, &fs_ops, sizeof(fs_ops), tree);
	if (!fuse)
		return CLI_EXIT_MOUNT;
	if (fuse_mount(fuse, fopts->mountpoint) != 0) {
		fprintf(stderr, "%s: cannot mount on '%s'\n", o->c.prog, fopts->mountpoint);
		goto out_destroy;
	}
	if (fuse_daemonize(fopts->foreground) != 0)
		goto out_unmount;
	/* no fork after this point: threads may run ahead of readers */
	arc_read_ahead_enable(true);
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
	if (o->c.read_ahead_kb)
		(void) fs_read_ahead_start(fopts->mountpoint, (unsigned) o->c.read_ahead_kb);
	rc = fopts->singlethread ? fuse_loop(fuse) : fuse_loop_mt(fuse, &lcfg);
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	ret = rc < 0 ? CLI_EXIT_MOUNT : CLI_EXIT_OK;
out_unmount:
	fuse_unmount(fuse);
out_destroy:
	fuse_destroy(fuse);
	return ret;
}

static int mount_run(struct mount_opts *o, struct fuse_args *args)
{
	_cleanup_(cli_input_done) struct cli_input in = { 0 };
	_cleanup_(tree_freep) struct tree *tree = NULL;
	struct fuse_cmdline_opts fopts = { 0 };
	int ret;

	/* a missing archive first, then the mount point, then the long part */
	ret = cli_input_exists(&o->c, o->archive);
	if (ret)
		return ret;
	if (o->mountpoint && fuse_opt_add_arg(args, o->mountpoint) != 0)
		return CLI_EXIT_USAGE;
	if (fuse_parse_cmdline(args, &fopts) != 0)
		return CLI_EXIT_USAGE;
	if (!fopts.mountpoint) {
		fprintf(stderr, "%s: no mount point given (see --help)\n", o->c.prog);
		ret = CLI_EXIT_USAGE;
	} else if (is_ckptfs_mount(fopts.mountpoint)) {
		fprintf(stderr, "%s: %s: already holds a ckptfs mount; unmount it first (fusermount3 -u %s)\n",
			o->c.prog, fopts.mountpoint, fopts.mountpoint);
		ret = CLI_EXIT_MOUNT;
	} else if ((ret = cli_input_open(&o->c, o->archive, 0, &in)) == 0) {
		ret = cli_tree_open(&o->c, &in, has_fuse_opt(args, "allow_other") ||
					     has_fuse_opt(args, "allow_root"), &tree);
		if (ret == 0)
			ret = serve(tree, args, &fopts, o);
	}
	free(fopts.mountpoint);
	return ret;
}

static int mount_main(const struct cli_mode *m, int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct mount_opts o = { .c = { .prog = "ckptfs", .read_ahead_kb = MOUNT_READ_AHEAD_KB } };
	int ret;

	if (fuse_opt_parse(&args, &o, mount_spec, mount_proc) != 0) {
		ret = CLI_EXIT_USAGE;
	} else if (o.show_version) {
		printf("ckptfs %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		ret = CLI_EXIT_OK;
	} else if (o.show_help) {
		cli_help(m, o.c.prog);
		printf("FUSE options:\n");
		fuse_lib_help(&args);
		fuse_cmdline_help();
		ret = CLI_EXIT_OK;
	} else if (!o.archive) {
		fprintf(stderr, "%s: no archive given\nusage: %s [options] ARCHIVE MOUNTPOINT\n", o.c.prog, o.c.prog);
		ret = CLI_EXIT_USAGE;
	} else {
		if (o.debug || o.c.debug)
			ck_log_set_level(CK_LOG_DEBUG);
		o.c.debug = o.debug || o.c.debug;
		ret = mount_run(&o, &args);
	}
	fuse_opt_free_args(&args);
	free(o.archive);
	free(o.mountpoint);
	cli_common_done(&o.c);
	return ret;
}

/* for --help only: libfuse parses them */
static const struct cli_flag mount_flags[] = {
	{ NULL, 'f', NULL, "stay in the foreground" },
	{ NULL, 'd', NULL, "debug output (implies -f; also -o debug)" },
	{ NULL, 's', NULL, "serve requests from a single thread" },
	{ "version", 'V', NULL, "print the version" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_mount = {
	.operands = "ARCHIVE MOUNTPOINT",
	.summary = "mount ARCHIVE read-only on MOUNTPOINT (the default); other -o\n"
		   "options (allow_other, ...) go to FUSE, fstab's are ignored",
	.flags = { mount_flags },
	.o_classes = CLI_O_INPUT | CLI_O_TREE | CLI_O_MOUNT,
	.usage_exit = CLI_EXIT_USAGE,
	.main = mount_main,
};
