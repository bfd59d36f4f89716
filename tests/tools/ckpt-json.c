/* SPDX-License-Identifier: Apache-2.0 */
/* ckpt-json [--plain] FILE: print img_render_json() of one CRIU image, as
 * `crit decode --pretty` (default) or `crit decode` (--plain) would. A
 * test helper, not installed. Exit status: 0, 1 usage or I/O, 2 decode. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "img.h"
#include "../unit/imgbuild.h"

int main(int argc, char **argv)
{
	_cleanup_(ck_buf_done) struct ck_buf in = { 0 };
	_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
	bool pretty = true;
	const char *path, *base;
	struct ck_blob b;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--plain"))
		pretty = false;
	else if (argc != 2)
		return fprintf(stderr, "usage: ckpt-json [--plain] FILE\n"), 1;
	path = argv[argc - 1];
	rc = file_slurp(path, &in);
	if (rc < 0)
		return fprintf(stderr, "cannot read '%s': %s\n", path, strerror(-rc)), 1;
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	b = blob_of(&in);
	rc = img_render_json(base, &b, pretty, &out);
	if (rc < 0)
		return fprintf(stderr, "cannot decode '%s': %s\n", path, strerror(-rc)), 2;
	fwrite(out.data, 1, out.len, stdout);
	return 0;
}
