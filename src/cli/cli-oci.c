/* SPDX-License-Identifier: Apache-2.0 */
/* ckptfs --build-oci ARCHIVE DEST: the front end of the image writer
 * (src/oci/oci.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "oci.h"

/* The flags of --build-oci. */
struct oci_state {
	struct oci_build_opts bo;
	const char **ann;	/* --annotation K=V, in order */
	size_t n_ann;
	enum oci_compress compress;
};

enum { KEY_REF = 256, KEY_ANNOTATION, KEY_COMPRESS };

static int oci_flag(void *st, struct cli_common *c, int key, const char *arg)
{
	struct oci_state *o = st;

	switch (key) {
	case KEY_REF:
		o->bo.ref = arg;
		return 0;
	case KEY_ANNOTATION: {
		const char **v;

		if (!strchr(arg, '=') || arg[0] == '=') {
			fprintf(stderr, "%s: --annotation takes KEY=VALUE, not '%s'\n", c->prog, arg);
			return CLI_EXIT_USAGE;
		}
		v = reallocarray(o->ann, o->n_ann + 2, sizeof(*v));
		if (!v)
			return CLI_EXIT_NO_MEMORY;
		o->ann = v;
		v[o->n_ann++] = arg;
		v[o->n_ann] = NULL;
		return 0;
	}
	case KEY_COMPRESS:
		if (!strcmp(arg, "gzip")) {
			o->compress = OCI_GZIP;
		} else if (!strcmp(arg, "zstd")) {
			o->compress = OCI_ZSTD;
		} else {
			fprintf(stderr, "%s: --compress takes gzip or zstd, not '%s'\n", c->prog, arg);
			return CLI_EXIT_USAGE;
		}
		return 0;
	default:
		return 0;
	}
}

static int oci_run(void *st, struct cli_common *c, int argc, char **argv)
{
	struct oci_state *o = st;
	struct arc_opts aopts;
	_cleanup_free_ char *err = NULL, *digest = NULL;
	bool dest_failed;
	int rc;

	cli_arc_opts(c, &aopts);
	if (argc != 2)
		return cli_usage_error(&cli_mode_build_oci, c->prog, "--build-oci needs ARCHIVE and DEST");
	o->bo.arc_opts = &aopts;
	o->bo.annotations = o->ann;
	o->bo.n_annotations = o->n_ann;
	o->bo.compress = o->compress;
	rc = oci_build(argv[0], argv[1], &o->bo, &digest, &dest_failed, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err ? err : strerror(-rc));
		if (rc == -EINVAL && dest_failed)
			return CLI_EXIT_USAGE;
		if (rc == -ENOMEM)
			return CLI_EXIT_NO_MEMORY;
		return rc == -ARC_ENOTCKPT ? CLI_EXIT_NOT_CHECKPOINT : dest_failed ? CLI_EXIT_WRITE : CLI_EXIT_ARCHIVE;
	}
	printf("%s\n", digest);
	return CLI_EXIT_OK;
}

static void oci_done(void *st)
{
	struct oci_state *o = st;

	free(o->ann);
}

static const struct cli_flag oci_flags[] = {
	{ "ref", KEY_REF, "NAME:TAG", "the image's org.opencontainers.image.ref.name" },
	{ "annotation", KEY_ANNOTATION, "K=V", "one more manifest annotation (repeatable)" },
	{ "compress", KEY_COMPRESS, "gzip|zstd", "the layer's compression (default gzip)" },
	{ NULL, 0, NULL, NULL },
};

const struct cli_mode cli_mode_build_oci = {
	.name = "build-oci",
	.operands = "ARCHIVE DEST",
	.summary = "write the checkpoint as an OCI image: a layout directory,\n"
		   "or an oci-archive when DEST ends in .tar",
	.flags = { oci_flags },
	.o_classes = CLI_O_INPUT,
	.usage_exit = CLI_EXIT_USAGE,
	.flag = oci_flag,
	.run = oci_run,
	.state_size = sizeof(struct oci_state),
	.done = oci_done,
};
