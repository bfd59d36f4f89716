/* SPDX-License-Identifier: Apache-2.0 */
/* ckptfs --build-oci ARCHIVE DEST: the command line of the image writer
 * (src/oci/oci.h). It has options of its own and no FUSE session, so
 * main() hands the whole command line over when it sees --build-oci. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "oci.h"

/* Exit codes, those of main.c where they mean the same */
#define OCI_EXIT_USAGE 1
#define OCI_EXIT_ARCHIVE 10
#define OCI_EXIT_NOT_CHECKPOINT 11
#define OCI_EXIT_WRITE 14
#define OCI_EXIT_NO_MEMORY 13

bool cli_oci_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--build-oci"))
			return true;
	return false;
}

static void cli_oci_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s --build-oci ARCHIVE DEST [--ref NAME:TAG] [--annotation KEY=VALUE]...\n"
		"                [--compress gzip|zstd] [-o cache_dir=DIR]\n", prog);
}

int cli_oci_main(int argc, char **argv, const char *prog)
{
	static const struct option longopts[] = {
		{ "build-oci", no_argument, NULL, 'B' },
		{ "ref", required_argument, NULL, 'r' },
		{ "annotation", required_argument, NULL, 'a' },
		{ "compress", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ const char **ann = calloc((size_t) argc + 1, sizeof(*ann));
	_cleanup_free_ char *err = NULL, *digest = NULL;
	struct arc_opts aopts = { 0 };
	struct oci_build_opts bo = { .arc_opts = &aopts };
	bool dest_failed;
	int c, rc;

	if (!ann)
		return OCI_EXIT_USAGE;
	bo.annotations = ann;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'B':
			break;
		case 'r':
			bo.ref = optarg;
			break;
		case 'a':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "%s: --annotation takes KEY=VALUE, not '%s'\n", prog, optarg);
				return OCI_EXIT_USAGE;
			}
			ann[bo.n_annotations++] = optarg;
			break;
		case 'c':
			if (!strcmp(optarg, "gzip")) {
				bo.compress = OCI_GZIP;
			} else if (!strcmp(optarg, "zstd")) {
				bo.compress = OCI_ZSTD;
			} else {
				fprintf(stderr, "%s: --compress takes gzip or zstd, not '%s'\n", prog, optarg);
				return OCI_EXIT_USAGE;
			}
			break;
		case 'o':
			if (!strncmp(optarg, "cache_dir=", 10)) {
				aopts.cache_dir = optarg + 10;
				break;
			}
			fprintf(stderr, "%s: --build-oci takes only -o cache_dir=DIR, not -o %s\n", prog, optarg);
			return OCI_EXIT_USAGE;
		case 'h':
			cli_oci_usage(stdout, prog);
			return 0;
		default:
			fprintf(stderr, "%s: --build-oci: unknown option '%s'\n", prog, argv[optind - 1]);
			cli_oci_usage(stderr, prog);
			return OCI_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: --build-oci needs ARCHIVE and DEST\n", prog);
		cli_oci_usage(stderr, prog);
		return OCI_EXIT_USAGE;
	}
	rc = oci_build(argv[optind], argv[optind + 1], &bo, &digest, &dest_failed, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err ? err : strerror(-rc));
		if (rc == -EINVAL && dest_failed)
			return OCI_EXIT_USAGE;
		if (rc == -ENOMEM)
			return OCI_EXIT_NO_MEMORY;
		return rc == -ARC_ENOTCKPT ? OCI_EXIT_NOT_CHECKPOINT : dest_failed ? OCI_EXIT_WRITE : OCI_EXIT_ARCHIVE;
	}
	printf("%s\n", digest);
	return 0;
}
