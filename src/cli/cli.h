/* SPDX-License-Identifier: Apache-2.0 */
/* The command line: one table of modes (cli-args.c), each mode a small front
 * end in a file of its own that owns only its own flags; the options every
 * mode shares (-o LIST) parsed in one place; one way to open an input
 * (cli-input.c); one set of exit codes. */
#ifndef CK_CLI_H
#define CK_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "arc.h"
#include "ckpt.h"
#include "tree.h"

/* Every exit code of ckptfs (man/ckptfs.1, EXIT STATUS). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 1,
	CLI_EXIT_NO_PATH = 2,		/* offline: PATH missing, or the wrong kind for the mode */
	CLI_EXIT_READ = 3,		/* offline: reading PATH or writing stdout failed */
	/* --search, --yara, --where: as grep's (found is CLI_EXIT_OK) */
	CLI_EXIT_NOT_FOUND = 1,		/* nothing found */
	CLI_EXIT_SEARCH_ERROR = 2,	/* a bad pattern or rules file, an unreadable archive, memory skipped */
	/* --diff: as diff's (no difference is CLI_EXIT_OK) */
	CLI_EXIT_DIFFERENT = 1,		/* differences found */
	CLI_EXIT_TROUBLE = 2,		/* an input could not be read, or something was not compared */
	CLI_EXIT_FINDINGS = 1,		/* --triage: findings at or above --min-severity */
	CLI_EXIT_TRIAGE_ERROR = 2,	/* --triage: an archive unreadable, or a check not made and nothing found */
	CLI_EXIT_ARCHIVE = 10,		/* the archive cannot be read */
	CLI_EXIT_NOT_CHECKPOINT = 11,	/* it holds no CRIU images */
	CLI_EXIT_BAD_IMAGE = 12,	/* inventory.img or pstree.img is malformed */
	CLI_EXIT_NO_MEMORY = 13,	/* out of memory while indexing or building */
	CLI_EXIT_WRITE = 14,		/* --recompress, --build-oci: writing failed, or OUT exists */
	CLI_EXIT_MOUNT = 20,		/* mounting failed; --exec: the namespaces or /proc */
	/* --exec: otherwise the command's own status (128 + N after signal N) */
	CLI_EXIT_CANNOT_EXEC = 126,	/* the command was found but could not be executed */
	CLI_EXIT_NO_COMMAND = 127,	/* the command was not found */
};

/* Which -o options a mode takes (cli-args.c holds the table). */
enum cli_o_class {
	CLI_O_INPUT = 1 << 0,	/* how to read the input: cache_dir, spill_limit, parent, page_size, image, tls_verify, cache_size */
	CLI_O_TREE = 1 << 1,	/* how the tree looks: json, raw_symlinks, contain_links */
	CLI_O_MOUNT = 1 << 2,	/* the mount only: read_ahead */
};

/* The options every mode shares: -o LIST, and the program name. */
struct cli_common {
	const char *prog;
	char *cache_dir;	/* -o cache_dir=DIR */
	uint64_t spill_limit;	/* -o spill_limit=SIZE; 0: arc_opts' default */
	uint64_t page_size;	/* -o page_size=SIZE; 0: inferred */
	char *image;		/* -o image=REF */
	bool no_tls_verify;	/* -o tls_verify=false */
	uint64_t cache_size;	/* -o cache_size=SIZE; 0: arc_opts' default */
	char **parents;		/* -o parent=PATH[:PATH...], repeatable: the immediate parent first */
	size_t n_parents;
	bool json_plain;	/* -o json=plain */
	bool raw_symlinks;	/* -o raw_symlinks */
	bool contain_links;	/* -o contain_links */
	uint64_t read_ahead_kb;	/* -o read_ahead=KiB (or a size) */
	bool debug;		/* -d, -o debug */
};

void cli_common_done(struct cli_common *c);
/* One -o option @opt (no commas) for a mode that takes @classes: 1 when
 * it was one of ours and is applied, 0 when it is none of ours (a FUSE
 * option when mounting), -1 after a message on stderr (a bad value). */
int cli_common_opt(struct cli_common *c, const char *opt, unsigned classes);

/* One flag of a mode (besides -o and --help, which every mode has). */
struct cli_flag {
	const char *name;	/* long name without "--", or NULL for a short flag only */
	int key;		/* the short letter, or a number >= 256; 0 and no name end a table */
	const char *arg;	/* NULL: none; else its name in --help */
	const char *help;	/* one line (continued with '\n' and spaces) */
};

/* One mode of the command line. A front end parses its flags by getopt
 * (cli_args_parse) and gets its operands; mounting parses its own, since
 * it passes FUSE's options on. */
struct cli_mode {
	const char *name;		/* the flag without "--"; NULL: mounting (the default) */
	const char *flag_arg;		/* the mode flag's own argument ("RULES"), or NULL */
	const char *operands;		/* "ARCHIVE [PATH]" */
	const char *summary;		/* one line of --help */
	const struct cli_flag *flags[3];	/* its own flags (NULL-ended list of tables) */
	unsigned o_classes;		/* enum cli_o_class: the -o options it takes */
	int usage_exit;			/* exit status of a usage error */
	/* A flag (key of cli_flag, or 0 for the mode flag and its argument):
	 * 0, or an exit code after a message. */
	int (*flag)(void *st, struct cli_common *c, int key, const char *arg);
	/* Run with the operands: returns the exit code. */
	int (*run)(void *st, struct cli_common *c, int argc, char **argv);
	size_t state_size;		/* bytes of zeroed state for flag() and run() */
	void (*done)(void *st);		/* free what the state holds; may be NULL */
	/* Instead of the getopt front end: the whole command line. */
	int (*main)(const struct cli_mode *m, int argc, char **argv);
};

/* The table, in --help's order; the first is mounting. */
extern const struct cli_mode *const cli_modes[];

/* The mode @argv asks for (its mode flag, before any "--"); the default
 * (mounting) when none. Two different mode flags: NULL after a message,
 * with the usage exit status in *@ret_exit. */
const struct cli_mode *cli_mode_find(int argc, char **argv, const char *prog, int *ret_exit);
/* The getopt front end: parse @argv for @m, then run it. */
int cli_mode_run(const struct cli_mode *m, int argc, char **argv, const char *prog);
/* --help: every mode's synopsis, the shared options, and @m's flags (all
 * modes' when @m is mounting). */
void cli_help(const struct cli_mode *m, const char *prog);
/* A usage error of mode @m: "PROG: MSG (see --help)"; returns its usage exit. */
int cli_usage_error(const struct cli_mode *m, const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse @s with ck_parse_u64 (@size: ck_parse_size) for @what; 0, or -1
 * after "PROG: WHAT takes a number (a size), not 'S'". */
int cli_number(const char *prog, const char *what, const char *s, bool size, uint64_t *ret);

/* The modes (each in its own file). */
extern const struct cli_mode cli_mode_mount, cli_mode_ls, cli_mode_cat, cli_mode_readlink,
	cli_mode_recompress, cli_mode_build_oci, cli_mode_search, cli_mode_yara, cli_mode_where;
extern const struct cli_mode cli_mode_diff;
extern const struct cli_mode cli_mode_triage;
extern const struct cli_mode cli_mode_exec;

/* An opened input: the archive, its -o parent= checkpoints, and the
 * checkpoint models: one, or one per container of a pod (then @names). */
struct cli_input {
	const char *path;
	struct arc *a;
	struct arc **parent_arcs;
	struct ckpt_parent *parents;
	size_t n_parents;
	struct ckpt **cks;
	char **names;		/* NULL unless a pod */
	size_t n;
};

enum cli_input_flags {
	CLI_INPUT_PODS = 1 << 0,	/* one model per container of a pod (else the archive's own) */
	CLI_INPUT_CHAIN_LATER = 1 << 1,	/* no warning about a broken pre-dump chain: cli_input_chain_warn() */
};

/* Open @path as @c says. Returns 0, or the exit code (10, 11, 12, 13)
 * after one line on stderr naming the file. */
int cli_input_open(const struct cli_common *c, const char *path, unsigned flags, struct cli_input *in);
void cli_input_done(struct cli_input *in);
/* The archive options of @c (-o cache_dir, spill_limit, image). */
void cli_arc_opts(const struct cli_common *c, struct arc_opts *ret);
/* Warn (once a model) that a pre-dump chain stops early and its pages read as holes. */
void cli_input_chain_warn(const struct cli_input *in);
/* Load the models of @in again with @parents as its pre-dump chain, the
 * immediate parent first (borrowed; they must outlive @in). Kept only when
 * that chain holds every page the models keep in a parent. Returns 0
 * (kept), 1 (not: @in is as it was), or an exit code after a message. */
int cli_input_reparent(const struct cli_common *c, struct cli_input *in, const struct ckpt_parent *parents,
		       size_t n);

/* The tree of an opened input (mounting and the offline readers); @shared:
 * other users may read it (allow_other). Returns 0 or an exit code after a
 * message. */
int cli_tree_open(const struct cli_common *c, struct cli_input *in, bool shared, struct tree **ret_tree);
/* Whether @path exists: 0, or CLI_EXIT_ARCHIVE after a message (the first
 * thing to say about a missing input). */
int cli_input_exists(const struct cli_common *c, const char *path);

/* How a mode that takes several inputs (--search, --yara, --triage) reads
 * them: cli_inputs_walk(). */
struct cli_walk {
	/* Read input @path; @several: more than one input, so that output
	 * lines name it. Returns 0, or an exit code after a message (the walk
	 * goes on with the next input). */
	int (*one)(void *ctx, const char *path, bool several);
	/* Optional: true for a directory the mode reads as it is (--triage: a
	 * mounted tree), never taken for a directory of checkpoints. */
	bool (*own_dir)(const char *path);
	void *ctx;
};
/* Read each operand in turn, one after the other (one input's memory is
 * freed before the next is opened). A directory that is not a checkpoint
 * of its own (ckpt_find_img_dir(): it holds none, or several that make no
 * pod, which a mount refuses), e.g. a copy of
 * /var/lib/kubelet/checkpoints, stands for its entries in name order
 * (hidden ones left out), each read the same way. Returns how many inputs
 * failed (after a message each). */
size_t cli_inputs_walk(const struct cli_common *c, int argc, char **argv, const struct cli_walk *w);

struct fuse_args;
/* Add the FUSE options of every mount of a tree to @args: read-only,
 * max_read, and named after @archive in /proc/mounts (cli-mount.c). */
void cli_fuse_args(struct fuse_args *args, const char *archive);

/* The name of process @p as ps shows it (render_comm), for messages and
 * search output; "?" when it cannot be had. */
void cli_proc_name(const struct ckpt *ck, const struct ckpt_proc *p, char *out, size_t size);

#endif
