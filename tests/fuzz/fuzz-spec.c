/* SPDX-License-Identifier: Apache-2.0 */
/* spec.c and spec-out.c: the input is fed to every parser (config.dump,
 * spec.dump, network.status, deleted.files, the stats JSON) into one
 * spec_info, which is then rendered as /container.json. Whatever parses,
 * the rendering must succeed and be valid JSON text ending in a newline. */
#include <errno.h>

#include "fuzz.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ck_blob b = { data, size };
	struct spec_info info = { 0 };
	struct spec_stats stats = { 0 };
	struct spec_sizes sizes = { size, size / 2, 1 };
	struct spec_proc procs[] = {
		{ .pid = 1, .ppid = 0, .comm = "init", .cmdline = "/init x", .task_state = "Alive", .live = true },
		{ .pid = 2, .ppid = 1, .comm = "z", .task_state = "Dead" },
		{ .pid = 3, .ppid = 3, .comm = "loop", .task_state = "Stopped", .live = true },
	};
	struct ck_buf out = { 0 };
	char ts[64];
	char *s;
	int rc;

	spec_parse_config(&b, &info);
	spec_parse_spec(&b, &info);
	spec_parse_network(&b, &info);
	rc = spec_parse_stats(&b, &stats);
	if (rc < 0 && rc != -EBADMSG && rc != -ENOMEM)
		fuzz_fail("spec_parse_stats returned %d", rc);
	rc = spec_render_deleted(&b, &out);
	if (rc < 0 && rc != -EBADMSG && rc != -ENOMEM)
		fuzz_fail("spec_render_deleted returned %d", rc);
	ck_buf_done(&out);
	s = strndup((const char *) data, size);
	if (s) {
		spec_rfc3339(s, ts, sizeof(ts));
		free(s);
	}
	rc = spec_render_container(&info, &sizes, &stats, procs, 3, &out);
	if (rc < 0 && rc != -ENOMEM)
		fuzz_fail("spec_render_container returned %d", rc);
	if (rc == 0 && (!out.data || out.data[0] != '{' || out.data[out.len - 1] != '\n'))
		fuzz_fail("container.json is not a JSON object and a newline");
	ck_buf_done(&out);
	spec_info_done(&info);
	return 0;
}
