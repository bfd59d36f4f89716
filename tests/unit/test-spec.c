/* SPDX-License-Identifier: Apache-2.0 */
/* spec.c: config.dump, spec.dump, network.status and deleted.files parsing,
 * engine detection, RFC 3339 times and /container.json; table-driven, with
 * the hostile inputs (not JSON, wrong types, trailing bytes). Also
 * arc_open_nested() on the fixtures' rootfs-diff.tar. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arc.h"
#include "spec.h"
#include "tap.h"

static struct ck_blob blob(const char *s)
{
	return (struct ck_blob) { (const uint8_t *) s, strlen(s) };
}

static void test_bad_json(void)
{
	static const char *const bad[] = { "", "{", "[]", "\"x\"", "{} x", "{\"id\": 1} {}", "nul" };
	struct spec_info info = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct ck_blob b = blob(bad[i]);

		CHECK(spec_parse_config(&b, &info) == -EBADMSG, "config.dump '%s' is -EBADMSG", bad[i]);
		CHECK(spec_parse_spec(&b, &info) == -EBADMSG, "spec.dump '%s' is -EBADMSG", bad[i]);
		CHECK(spec_parse_network(&b, &info) == -EBADMSG, "network.status '%s' is -EBADMSG", bad[i]);
	}
	CHECK(!info.id && !info.n_annotations && !info.n_ifaces, "failed parses leave nothing behind");
	spec_info_done(&info);
}

static void test_podman(void)
{
	struct spec_info info = { 0 };
	struct ck_blob cfg = blob("{\"id\": \"abc\", \"name\": \"web\", \"rootfsImageName\": \"img:1\","
				  " \"runtime\": 7, \"createdTime\": \"2026-11-23T12:46:21.124983647Z\"} \n");
	struct ck_blob spec = blob("{\"annotations\": {\"io.container.manager\": \"libpod\", \"n\": 3},"
				   " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\"}, 5]}");
	struct ck_blob net = blob("{\"podman\": {\"interfaces\": {\"eth0\": {\"subnets\": [{\"ipnet\":"
				  " \"10.88.0.8/16\", \"gateway\": \"10.88.0.1\"}], \"mac_address\": \"aa:bb\"}}},"
				  " \"other\": 3}");
	char *name = NULL;

	CHECK(spec_parse_config(&cfg, &info) == 0, "Podman config.dump parses");
	CHECK(info.id && !strcmp(info.id, "abc") && !strcmp(info.image, "img:1"), "id and rootfsImageName");
	CHECK(!info.runtime, "a runtime of the wrong type is absent, not fatal");
	CHECK(!info.checkpointed_time, "no checkpointedTime");
	CHECK(spec_parse_spec(&spec, &info) == 0, "spec.dump parses");
	CHECK(info.n_annotations == 1 && info.n_mounts == 1, "non-string annotations and non-object mounts are skipped");
	CHECK(!strcmp(info.mounts[0].source, ""), "a missing mount source is empty");
	CHECK(!strcmp(spec_engine(&info), "Podman"), "libpod is Podman");
	CHECK(spec_container_name(&info, &name) == 0 && name && !strcmp(name, "web"), "Podman name from config.dump");
	free(name);
	CHECK(!spec_pod_name(&info) && !spec_namespace(&info), "Podman has no pod");
	CHECK(spec_parse_network(&net, &info) == 0 && info.n_ifaces == 1, "network.status: one interface");
	CHECK(!strcmp(info.ifaces[0].ip, "10.88.0.8/16") && !strcmp(info.ifaces[0].mac, "aa:bb") &&
	      !strcmp(info.ifaces[0].gateway, "10.88.0.1") && !strcmp(info.ifaces[0].network, "podman"),
	      "ip, mac, gateway and network name");
	spec_info_done(&info);
}

static void test_engines(void)
{
	static const struct {
		const char *spec, *engine, *name, *pod, *ns;
	} cases[] = {
		{ "{\"annotations\": {\"io.container.manager\": \"cri-o\", \"io.kubernetes.cri-o.Metadata\":"
		  " \"{\\\"name\\\": \\\"c1\\\"}\", \"io.kubernetes.pod.name\": \"p\","
		  " \"io.kubernetes.pod.namespace\": \"ns\"}}", "CRI-O", "c1", "p", "ns" },
		{ "{\"annotations\": {\"io.container.manager\": \"cri-o\", \"io.kubernetes.cri-o.Metadata\": \"{\","
		  " \"io.kubernetes.container.name\": \"c2\"}}", "CRI-O", "c2", NULL, NULL },
		{ "{\"annotations\": {\"io.kubernetes.cri.container-name\": \"c3\","
		  " \"io.kubernetes.cri.sandbox-name\": \"p3\", \"io.kubernetes.cri.sandbox-namespace\": \"n3\"}}",
		  "containerd", "c3", "p3", "n3" },
		{ "{}", "containerd", NULL, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct spec_info info = { 0 };
		struct ck_blob b = blob(cases[i].spec);
		char *name = NULL;
		bool ok;

		ok = spec_parse_spec(&b, &info) == 0 && !strcmp(spec_engine(&info), cases[i].engine) &&
		     spec_container_name(&info, &name) == 0;
		ok = ok && (cases[i].name ? name && !strcmp(name, cases[i].name) : !name);
		ok = ok && (cases[i].pod ? spec_pod_name(&info) && !strcmp(spec_pod_name(&info), cases[i].pod) :
					   !spec_pod_name(&info));
		ok = ok && (cases[i].ns ? spec_namespace(&info) && !strcmp(spec_namespace(&info), cases[i].ns) :
					  !spec_namespace(&info));
		CHECK(ok, "engine case %zu: %s, name %s", i, cases[i].engine, cases[i].name ? cases[i].name : "-");
		free(name);
		spec_info_done(&info);
	}
}

/* containerd's checkpoint index: engine, name, id, image and runtime from
 * the index's annotations and the spec's cgroupsPath; its time. */
static void test_ctrd(void)
{
	static const struct arc_kv ann[] = {
		{ "org.opencontainers.image.ref.name", "docker.io/library/app:1" },
		{ "io.containerd.checkpoint.runtime", "io.containerd.runc.v2" },
	};
	static const struct {
		const char *cgroups, *id;
	} ids[] = {
		{ "/default/app-1", "app-1" },
		{ "kubepods-besteffort-pod1.slice:cri-containerd:4f1e", "4f1e" },
		{ "/kubepods/besteffort/pod1/4f1e", NULL },	/* not a shape containerd gives: no guess */
		{ "custom", NULL }, { "/default/", NULL }, { "//x", NULL }, { "a:cri-containerd:", NULL },
	};
	struct arc_image img = { .containerd = true, .annotations = ann, .n_annotations = 2,
				 .ctrd_time = 1796459617 };
	char *name = NULL;
	bool engine = true;

	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		struct spec_info info = { .oci = &img };
		char js[160];
		struct ck_blob b;

		snprintf(js, sizeof(js), "{\"annotations\": {\"io.container.manager\": \"libpod\"},"
			 " \"linux\": {\"cgroupsPath\": \"%s\"}}", ids[i].cgroups);
		b = blob(js);
		CHECK(spec_parse_spec(&b, &info) == 0 && spec_parse_ctrd(&info) == 0, "ctrd %zu parses", i);
		CHECK(ids[i].id ? info.id && !strcmp(info.id, ids[i].id) : !info.id, "ctrd: cgroupsPath '%s' gives id %s",
		      ids[i].cgroups, ids[i].id ? ids[i].id : "none");
		CHECK(!strcmp(spec_engine(&info), "containerd"), "ctrd: containerd's index is containerd's, whatever the spec says");
		CHECK(spec_container_name(&info, &name) == 0 && (ids[i].id ? name && !strcmp(name, ids[i].id) : !name),
		      "ctrd: no CRI name: the name is the id");
		free(name);
		name = NULL;
		CHECK(!strcmp(info.image, "docker.io/library/app:1") && !strcmp(info.runtime, "io.containerd.runc.v2"),
		      "ctrd: image and runtime from the index");
		info.archive_time = 1893553445;
		CHECK(spec_checkpoint_time(&info, &engine) == 1796459617 && !engine,
		      "ctrd: the time criu.tar records, not the archive's");
		spec_info_done(&info);
	}
	img.containerd = false;
	{
		struct spec_info info = { .oci = &img, .archive_time = 5 };

		CHECK(spec_parse_ctrd(&info) == 0 && !info.image && !info.runtime, "another image: nothing taken");
		CHECK(spec_checkpoint_time(&info, NULL) == 5, "another image: the archive's time");
	}
}

static void test_rfc3339(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "2026-11-23T12:46:21.124983647Z", "2026-11-23T12:46:21Z" },
		{ "2026-11-23T12:46:21Z", "2026-11-23T12:46:21Z" },
		{ "2026-11-23T12:46:21.5+02:00", "2026-11-23T12:46:21+02:00" },
		{ "2026-11-23T12:46:21-00:00", "2026-11-23T12:46:21Z" },
		{ "0001-01-01T00:00:00Z", NULL },
		{ "2026-11-23 12:46:21Z", NULL },
		{ "2026-11-23T12:46:21.Z", NULL },
		{ "2026-11-23T12:46:21", NULL },
		{ "yesterday", NULL },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = spec_rfc3339(cases[i].in, out, sizeof(out));

		CHECK(cases[i].out ? rc == 0 && !strcmp(out, cases[i].out) : rc == -EINVAL,
		      "rfc3339 '%s' -> %s", cases[i].in, cases[i].out ? cases[i].out : "-EINVAL");
	}
}

static void test_deleted(void)
{
	struct ck_buf out = { 0 };
	struct ck_blob b = blob("[\"/etc/motd\", \"/tmp/a b\"]");
	struct ck_blob bad = blob("[\"/etc/motd\", 3]");

	CHECK(spec_render_deleted(&b, &out) == 0 && out.data && !strcmp(out.data, "/etc/motd\n/tmp/a b\n"),
	      "deleted.files: one path a line");
	ck_buf_done(&out);
	CHECK(spec_render_deleted(&bad, &out) == -EBADMSG, "deleted.files with a number is -EBADMSG");
	ck_buf_done(&out);
}

static void test_container_json(void)
{
	struct spec_info info = { 0 };
	struct ck_blob cfg = blob("{\"id\": \"i\", \"name\": \"n\\\"q\", \"createdTime\": \"2026-01-02T03:04:05Z\","
				  " \"checkpointedTime\": \"0001-01-01T00:00:00Z\"}");
	struct ck_blob spec = blob("{\"annotations\": {\"io.container.manager\": \"libpod\"}}");
	struct spec_sizes sz = { 100, 60, 0 };
	struct spec_proc procs[] = {
		{ .pid = 7, .ppid = 1, .comm = "child", .cmdline = "a b", .task_state = "Dead" },
		{ .pid = 1, .ppid = 0, .comm = "init", .cmdline = "/init", .task_state = "Alive", .live = true },
	};
	struct ck_buf out = { 0 };

	spec_parse_config(&cfg, &info);
	spec_parse_spec(&spec, &info);
	CHECK(spec_render_container(&info, &sz, NULL, procs, 2, &out) == 0 && out.data, "container.json renders");
	CHECK(out.data && strstr(out.data, "\"container_name\": \"n\\\"q\""), "names are JSON-escaped");
	CHECK(out.data && strstr(out.data, "\"created\": \"2026-01-02T03:04:05Z\""), "created");
	CHECK(out.data && !strstr(out.data, "\"checkpointed\""), "a zero checkpointedTime is left out");
	CHECK(out.data && !strstr(out.data, "root_fs_diff_size") && strstr(out.data, "\"memory_pages_size\": 60"),
	      "empty sizes are left out");
	CHECK(out.data && !strstr(out.data, "\"statistics\"") && !strstr(out.data, "\"ip\""),
	      "no statistics, no ip without their sources");
	CHECK(out.data && strstr(out.data, "\"task_state\": \"Dead\"") && !strstr(out.data, "\"a b\""),
	      "a zombie child has its state and no cmdline");
	CHECK(out.data && strstr(out.data, "\"process_tree\": {\n    \"pid\": 1,"), "the tree starts at the root");
	ck_buf_done(&out);
	spec_info_done(&info);
}

/* process_tree stops at SPEC_PS_LEVELS_MAX levels and counts what it
 * leaves out: below the last level, below a dead process, other roots. */
static void test_ps_cut(void)
{
	enum { CHAIN = 200 };
	struct spec_proc procs[CHAIN + 3];
	struct spec_ps_left_out lo;
	struct spec_info info = { 0 };
	struct spec_sizes sz = { 0 };
	struct ck_buf out = { 0 };
	char want[64];

	for (size_t i = 0; i < CHAIN; i++)
		procs[i] = (struct spec_proc) { .pid = (uint32_t) (100 + i), .ppid = (uint32_t) (99 + i),
						.comm = "c", .task_state = "Alive", .live = true };
	procs[0].ppid = 0;
	/* a dead child of the root with a child of its own; another root */
	procs[CHAIN] = (struct spec_proc) { .pid = 50, .ppid = 100, .comm = "z", .task_state = "Dead" };
	procs[CHAIN + 1] = (struct spec_proc) { .pid = 51, .ppid = 50, .comm = "y", .task_state = "Alive",
						.live = true };
	procs[CHAIN + 2] = (struct spec_proc) { .pid = 60, .ppid = 0, .comm = "r", .task_state = "Alive",
						.live = true };
	CHECK(spec_ps_tree_left_out(procs, CHAIN + 3, &lo) == 0 && lo.deep == CHAIN - SPEC_PS_LEVELS_MAX &&
	      lo.not_live == 1 && lo.other_trees == 1, "left out: %zu deep, %zu under the dead, %zu other",
	      lo.deep, lo.not_live, lo.other_trees);
	CHECK(spec_render_container(&info, &sz, NULL, procs, CHAIN + 3, &out) == 0 && out.data, "renders");
	snprintf(want, sizeof(want), "\"pid\": %d,", 100 + SPEC_PS_LEVELS_MAX - 1);
	CHECK(out.data && strstr(out.data, want), "the last level is shown");
	snprintf(want, sizeof(want), "\"pid\": %d,", 100 + SPEC_PS_LEVELS_MAX);
	CHECK(out.data && !strstr(out.data, want), "the level below it is not");
	snprintf(want, sizeof(want), "\"descendants_left_out\": %d,", CHAIN - SPEC_PS_LEVELS_MAX);
	CHECK(out.data && strstr(out.data, want), "the cut process counts its descendants");
	CHECK(out.data && strstr(out.data, "\"descendants_left_out\": 1,"), "so does the dead one");
	snprintf(want, sizeof(want), "\"processes\": %d,", CHAIN - SPEC_PS_LEVELS_MAX + 2);
	CHECK(out.data && strstr(out.data, "\"process_tree_left_out\": {") && strstr(out.data, want),
	      "process_tree_left_out counts all");
	ck_buf_done(&out);
	/* a tree within the limit says nothing */
	CHECK(spec_render_container(&info, &sz, NULL, procs + CHAIN - 10, 10, &out) == 0 && out.data &&
	      !strstr(out.data, "left_out"), "nothing left out, no field");
	ck_buf_done(&out);
	spec_info_done(&info);
}

static void test_nested(void)
{
	static const char *const fixtures[] = { "wl-gamma.tar", "wl-alpha.tar.zst", "busybox-loop.tar.gz" };
	const char *data = getenv("CKPTFS_DATA");

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(*fixtures); i++) {
		struct arc *a = NULL, *in = NULL;
		const struct arc_entry *e, *f;
		char path[4096], buf[64];
		ssize_t n = -1;

		if (!data) {
			SKIP("CKPTFS_DATA is not set");
			continue;
		}
		snprintf(path, sizeof(path), "%s/fixtures/%s", data, fixtures[i]);
		if (arc_open(path, NULL, &a, NULL) < 0 || !(e = arc_find(a, "rootfs-diff.tar"))) {
			CHECK(false, "%s: rootfs-diff.tar", fixtures[i]);
			arc_free(a);
			continue;
		}
		CHECK(arc_open_nested(a, e, NULL, &in, NULL) == 0, "%s: rootfs-diff.tar indexes", fixtures[i]);
		f = in ? arc_find(in, "tmp/counter") ?: arc_find(in, "tmp/addrs.txt") : NULL;
		if (f)
			n = arc_pread(in, f, buf, sizeof(buf), 0);
		CHECK(f && n > 0 && (size_t) n == CK_MIN(f->size, sizeof(buf)), "%s: a member reads", fixtures[i]);
		CHECK(in && arc_is_zero_copy(in), "%s: the plain inner tar is read in place", fixtures[i]);
		CHECK(arc_open_nested(a, arc_find(a, "checkpoint"), NULL, &in, NULL) == -EISDIR ||
		      !arc_find(a, "checkpoint"), "%s: a directory is not a tar", fixtures[i]);
		e = arc_find(a, "spec.dump");
		{
			struct arc *bad = NULL;

			CHECK(e && arc_open_nested(a, e, NULL, &bad, NULL) == -EMEDIUMTYPE && !bad,
			      "%s: spec.dump is not a tar", fixtures[i]);
		}
		arc_free(in);
		arc_free(a);
	}
}

int main(void)
{
	test_bad_json();
	test_podman();
	test_engines();
	test_ctrd();
	test_rfc3339();
	test_deleted();
	test_container_json();
	test_ps_cut();
	test_nested();
	return tap_done();
}
