/* SPDX-License-Identifier: Apache-2.0 */
/* img_render_json() against crit 4.2: every image of every fixture archive
 * that has a golden (tests/data/golden/<fixture>/{pretty,plain}/<image>.json)
 * must match byte for byte. Then hostile inputs built here with *__pack():
 * bad magic, truncated records, extras past EOF, deep nesting, mutations.
 * The goldens and mutations run twice: as they come, and with every
 * repeated message field rendered one element at a time (the path large
 * fields take, src/img/img-strip.c), which must print the same.
 * TAP output; $CKPTFS_DATA names tests/data. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files.pb-c.h"
#include "../internal.h"
#include "imgbuild.h"
#include "namespaces.pb-c.h"
#include "tap.h"
#include "task.pb-c.h"

/* ---- goldens ----------------------------------------------------------- */

struct member {
	char *name;			/* basename */
	struct ck_buf data;
};

struct fixture {
	struct member *m;
	size_t n;
};

static void fixture_done(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		free(fx->m[i].name);
		ck_buf_done(&fx->m[i].data);
	}
	free(fx->m);
	*fx = (struct fixture) { 0 };
}

/* Load the regular files of the archive's checkpoint/ directory. */
static int fixture_load(const char *path, struct fixture *fx)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		archive_read_free(a);
		return -EIO;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e), *base, *dir;
		struct member *nm;
		char tmp[65536];
		la_ssize_t got;

		base = p ? strrchr(p, '/') : NULL;
		if (!base || archive_entry_filetype(e) != AE_IFREG)
			continue;
		for (dir = base; dir > p && dir[-1] != '/'; dir--)
			;
		if ((size_t) (base - dir) != strlen("checkpoint") || strncmp(dir, "checkpoint", 10))
			continue;
		nm = realloc(fx->m, (fx->n + 1) * sizeof(*nm));
		if (!nm) {
			rc = -ENOMEM;
			break;
		}
		fx->m = nm;
		nm = &fx->m[fx->n++];
		*nm = (struct member) { .name = strdup(base + 1) };
		while ((got = archive_read_data(a, tmp, sizeof(tmp))) > 0)
			ck_buf_add(&nm->data, tmp, (size_t) got);
		if (got < 0)
			rc = -EIO;
	}
	archive_read_free(a);
	return rc;
}

static const struct member *fixture_find(const struct fixture *fx, const char *name)
{
	for (size_t i = 0; i < fx->n; i++)
		if (!strcmp(fx->m[i].name, name))
			return &fx->m[i];
	return NULL;
}

static void check_golden(const char *fixture, const struct member *m, const char *mode,
			 const char *golden)
{
	_cleanup_(ck_buf_done) struct ck_buf want = { 0 }, got = { 0 };
	struct ck_blob b = blob_of(&m->data);
	int rc;

	if (file_slurp(golden, &want) < 0) {
		CHECK(false, "%s %s %s: cannot read golden", fixture, mode, m->name);
		return;
	}
	rc = img_render_json(m->name, &b, !strcmp(mode, "pretty"), &got);
	if (rc < 0) {
		CHECK(false, "%s %s %s: %s", fixture, mode, m->name, strerror(-rc));
		return;
	}
	if (got.len == want.len && !memcmp(got.data, want.data, got.len)) {
		CHECK(true, "%s %s %s", fixture, mode, m->name);
		return;
	}
	for (size_t i = 0; i < got.len && i < want.len; i++) {
		if (got.data[i] != want.data[i]) {
			printf("# first difference at byte %zu\n", i);
			break;
		}
	}
	CHECK(false, "%s %s %s (%zu bytes, golden %zu)", fixture, mode, m->name, got.len,
	      want.len);
}

static void test_fixture(const char *data, const char *fixture)
{
	char path[4096];
	struct fixture fx = { 0 };
	struct dirent *de;
	DIR *d;

	/* the archive is <fixture>.tar, .tar.gz, .tar.zst, ... */
	snprintf(path, sizeof(path), "%s/fixtures", data);
	d = opendir(path);
	path[0] = '\0';
	while (d && (de = readdir(d))) {
		size_t n = strlen(fixture);

		if (!strncmp(de->d_name, fixture, n) && !strncmp(de->d_name + n, ".tar", 4))
			snprintf(path, sizeof(path), "%s/fixtures/%s", data, de->d_name);
	}
	if (d)
		closedir(d);
	if (!path[0] || fixture_load(path, &fx) < 0) {
		CHECK(false, "%s: cannot load the fixture archive", fixture);
		fixture_done(&fx);
		return;
	}
	for (int mode = 0; mode < 2; mode++) {
		const char *mname = mode ? "plain" : "pretty";

		snprintf(path, sizeof(path), "%s/golden/%s/%s", data, fixture, mname);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			char img[1024], golden[8192];
			const struct member *m;
			size_t n = strlen(de->d_name);

			if (n <= 5 || strcmp(de->d_name + n - 5, ".json") || n - 5 >= sizeof(img))
				continue;
			snprintf(img, sizeof(img), "%.*s", (int) (n - 5), de->d_name);
			snprintf(golden, sizeof(golden), "%s/%s", path, de->d_name);
			m = fixture_find(&fx, img);
			if (!m)
				CHECK(false, "%s %s %s: not in the archive", fixture, mname, img);
			else
				check_golden(fixture, m, mname, golden);
		}
		if (d)
			closedir(d);
	}
	fixture_done(&fx);
}

static void test_goldens(void)
{
	const char *data = getenv("CKPTFS_DATA");
	char path[4096];
	struct dirent *de;
	DIR *d;

	if (!data) {
		printf("# CKPTFS_DATA not set: golden comparisons skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/golden", data);
	d = opendir(path);
	CHECK(d != NULL, "golden directory %s", path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] != '.')
			test_fixture(data, de->d_name);
	}
	if (d)
		closedir(d);
}

/* ---- synthetic images -------------------------------------------------- */

/* Render @b as @name; the output must be @want (NULL: any) or the call
 * must fail with @want_rc, leaving the output buffer untouched. */
static void expect(const char *desc, const char *name, const struct ck_buf *b, bool pretty,
		   int want_rc, const char *want)
{
	_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
	struct ck_blob bl = blob_of(b);
	int rc;

	ck_buf_puts(&out, "keep");
	rc = img_render_json(name, &bl, pretty, &out);
	if (want_rc < 0) {
		CHECK(rc == want_rc && out.len == 4, "%s: %d (want %d), output untouched", desc, rc,
		      want_rc);
		return;
	}
	CHECK(rc == 0 && (!want || !strcmp(out.data + 4, want)), "%s", desc);
	if (rc == 0 && want && strcmp(out.data + 4, want))
		printf("# got: %s", out.data + 4);
}

static void test_framing(void)
{
	CoreEntry c = CORE_ENTRY__INIT;
	struct ck_buf b;
	uint32_t w[2] = { IMG_COMMON_MAGIC, 0xdeadbeef };
	uint32_t len = 100;

	b = (struct ck_buf) { 0 };
	ck_buf_add(&b, w, 8);
	expect("unknown magic", "core-1.img", &b, true, -EMEDIUMTYPE, NULL);
	{
		struct ck_blob bl = blob_of(&b);

		CHECK(!img_magic_name("core-1.img", &bl), "unknown magic has no name");
	}
	ck_buf_done(&b);

	b = (struct ck_buf) { 0 };
	ck_buf_add(&b, w, 2);
	expect("file shorter than a magic", "core-1.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);

	img_start(&b, IMG_MAGIC_CORE);
	expect("no entries, pretty", "core-1.img", &b, true, 0,
	       "{\n    \"magic\": \"CORE\",\n    \"entries\": []\n}\n");
	expect("no entries, plain", "core-1.img", &b, false, 0,
	       "{\"magic\": \"CORE\", \"entries\": []}\n");
	c.mtype = CORE_ENTRY__MARCH__X86_64;
	img_add(&b, &c.base);
	expect("one entry, plain", "core-1.img", &b, false, 0,
	       "{\"magic\": \"CORE\", \"entries\": [{\"mtype\": \"X86_64\"}]}\n");
	ck_buf_add(&b, &len, 2);
	expect("truncated length prefix", "core-1.img", &b, true, -EBADMSG, NULL);
	b.len -= 2;
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, "\x08\x01", 2);
	expect("record runs past EOF", "core-1.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);

	img_start(&b, IMG_MAGIC_CORE);
	len = 3;
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, "\xff\xff\xff", 3);
	expect("undecodable record", "core-1.img", &b, false, -EBADMSG, NULL);
	ck_buf_done(&b);

	/* a raw pages file is raw whatever its first bytes say */
	img_start(&b, IMG_MAGIC_CORE);
	expect("pages-1.img is raw", "pages-1.img", &b, true, -EMEDIUMTYPE, NULL);
	{
		struct ck_blob bl = blob_of(&b);

		CHECK(!img_magic_name("pages-1.img", &bl), "pages-1.img has no magic name");
		CHECK(!img_magic_name("tmpfs-dev-44.tar.gz.img", &bl),
		      "tmpfs image has no magic name");
		CHECK(img_magic_name("core-1.img", &bl) &&
		      !strcmp(img_magic_name("core-1.img", &bl), "CORE"), "core-1.img is CORE");
	}
	ck_buf_done(&b);

	img_start(&b, IMG_MAGIC_PIDFD);
	expect("PIDFD: crit has no handler", "pidfd.img", &b, true, -EMEDIUMTYPE, NULL);
	ck_buf_done(&b);

	b = (struct ck_buf) { 0 };
	w[0] = IMG_MAGIC_INVENTORY;
	ck_buf_add(&b, w, 4);
	expect("inventory has a single magic word", "inventory.img", &b, false, 0,
	       "{\"magic\": \"INVENTORY\", \"entries\": []}\n");
	ck_buf_done(&b);
}

static void test_extras(void)
{
	PipeDataEntry pd = PIPE_DATA_ENTRY__INIT;
	SkPacketEntry sk = SK_PACKET_ENTRY__INIT;
	TcpStreamEntry tcp = TCP_STREAM_ENTRY__INIT;
	IpcSemEntry sem = IPC_SEM_ENTRY__INIT;
	IpcDescEntry desc = IPC_DESC_ENTRY__INIT;
	GhostFileEntry g = GHOST_FILE_ENTRY__INIT;
	struct ck_buf b;

	pd.pipe_id = 7;
	pd.bytes = 3;
	img_start(&b, IMG_MAGIC_PIPES_DATA);
	img_add(&b, &pd.base);
	ck_buf_add(&b, "abc", 3);
	expect("pipes-data extra", "pipes-data.img", &b, false, 0,
	       "{\"magic\": \"PIPES_DATA\", \"entries\": [{\"pipe_id\": 7, \"bytes\": 3, "
	       "\"extra\": \"YWJj\\n\"}]}\n");
	b.len--;
	expect("pipes-data extra past EOF", "pipes-data.img", &b, false, -EBADMSG, NULL);
	ck_buf_done(&b);

	sk.id_for = 1;
	sk.length = 1u << 31;
	img_start(&b, IMG_MAGIC_SK_QUEUES);
	img_add(&b, &sk.base);
	expect("sk-queues extra past EOF", "sk-queues.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);

	tcp.inq_len = 2;
	tcp.outq_len = 0xffffffffu;
	img_start(&b, IMG_MAGIC_TCP_STREAM);
	img_add(&b, &tcp.base);
	ck_buf_add(&b, "ab", 2);
	expect("tcp-stream outq past EOF", "tcp-stream-1.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);

	sem.desc = &desc;
	sem.nsems = 3;
	img_start(&b, 0x59573019u);
	img_add(&b, &sem.base);
	ck_buf_add(&b, "\x01\x00\x02\x00\x03\x00\x00\x00", 8);
	expect("ipcns-sem values", "ipcns-sem-1.img", &b, false, 0,
	       "{\"magic\": \"IPCNS_SEM\", \"entries\": [{\"desc\": {\"key\": 0, \"uid\": 0, "
	       "\"gid\": 0, \"cuid\": 0, \"cgid\": 0, \"mode\": 0, \"id\": 0}, \"nsems\": 3, "
	       "\"extra\": [1, 2, 3]}]}\n");
	b.len -= 4;
	expect("ipcns-sem values past EOF", "ipcns-sem-1.img", &b, false, -EBADMSG, NULL);
	ck_buf_done(&b);

	img_start(&b, IMG_MAGIC_GHOST_FILE);
	expect("ghost-file without its entry", "ghost-file-1.img", &b, true, -EBADMSG, NULL);
	g.has_chunks = g.chunks = true;
	img_add(&b, &g.base);
	ck_buf_add(&b, "\x10\x00\x00\x00", 4);
	expect("ghost chunk record past EOF", "ghost-file-1.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);
}

/* four levels of indentation: an entry's list items */
#define INDENT4 "                "

static void test_hints(void)
{
	FileEntry fe = FILE_ENTRY__INIT;
	UnixSkEntry us = UNIX_SK_ENTRY__INIT;
	InetSkEntry in = INET_SK_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	RegFileEntry reg = REG_FILE_ENTRY__INIT;
	uint32_t v6[4] = { 0x00000100, 0x01000000, 0, 0x01000000 };	/* 1:0:0:1::1 */
	struct ck_buf b;

	/* quoted-printable unix names, non-ASCII strings, IPv6 compression:
	 * the expected texts come from Python's quopri, json and ipaddress */
	us.fown = &fown;
	us.opts = &opts;
	us.name.data = (uint8_t *) "a \nb.";
	us.name.len = 5;
	img_start(&b, 0x54373943u);
	img_add(&b, &us.base);
	expect("unix name as quoted-printable", "unixsk.img", &b, false, 0, NULL);
	{
		_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
		struct ck_blob bl = blob_of(&b);

		img_render_json("unixsk.img", &bl, true, &out);
		CHECK(out.data && strstr(out.data, "\"name\": \"a=20\\nb.\""), "unix name text");
	}
	ck_buf_done(&b);

	in.fown = &fown;
	in.opts = &opts;
	in.family = 10;
	in.proto = 6;
	in.state = 99;
	in.n_src_addr = 4;
	in.src_addr = v6;
	in.n_dst_addr = 1;
	in.dst_addr = v6;
	img_start(&b, 0x56443851u);
	img_add(&b, &in.base);
	{
		_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
		struct ck_blob bl = blob_of(&b);

		img_render_json("inetsk.img", &bl, true, &out);
		CHECK(out.data && strstr(out.data, "\"src_addr\": [\n" INDENT4 "\"1:0:0:1::1\"\n"),
		      "IPv6 address compressed");
		CHECK(out.data && strstr(out.data, "\"dst_addr\": [\n" INDENT4 "\"0.1.0.0\"\n"),
		      "IPv4 address");
		CHECK(out.data && strstr(out.data, "\"family\": \"INET6\"") &&
		      strstr(out.data, "\"state\": 99,"), "sk dict, unknown value stays a number");
	}
	ck_buf_done(&b);

	reg.fown = &fown;
	reg.name = "\xc3\xa9\xf0\x9f\x98\x80\x7f\x01\xff";
	reg.flags = 0x80000002u;
	reg.has_mnt_id = true;
	reg.mnt_id = -1;
	fe.type = FD_TYPES__REG;
	fe.reg = &reg;
	img_start(&b, IMG_MAGIC_FILES);
	img_add(&b, &fe.base);
	{
		_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
		struct ck_blob bl = blob_of(&b);

		img_render_json("files.img", &bl, true, &out);
		CHECK(out.data && strstr(out.data, "\"name\": \"\\u00e9\\ud83d\\ude00"
					 "\\u007f\\u0001\\ufffd\""),
		      "string escaping (ensure_ascii, surrogates, bad UTF-8)");
		CHECK(out.data && strstr(out.data, "\"flags\": \"O_RDWR | 0x80000000\""),
		      "flags with leftover bits");
		CHECK(out.data && strstr(out.data, "\"mnt_id\": -1"), "negative sint32");
	}
	ck_buf_done(&b);
}

/* Nested aa_namespace messages far deeper than any real image: must be
 * refused without recursing that deep. */
static void test_deep(void)
{
	_cleanup_(ck_buf_done) struct ck_buf inner = { 0 };
	struct ck_buf b, tmp;
	uint32_t len;

	for (int i = 0; i < 3000; i++) {
		uint8_t hdr[6] = { i == 2999 ? 0x0a : 0x1a };
		size_t n = inner.len, k = 1;

		while (n >= 0x80) {
			hdr[k++] = (uint8_t) (n | 0x80);
			n >>= 7;
		}
		hdr[k++] = (uint8_t) n;
		tmp = (struct ck_buf) { 0 };
		ck_buf_add(&tmp, hdr, k);
		ck_buf_add(&tmp, inner.data, inner.len);
		ck_buf_done(&inner);
		inner = tmp;
	}
	img_start(&b, 0x59423047u);
	len = (uint32_t) inner.len;
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, inner.data, inner.len);
	expect("3000 nested messages", "apparmor.img", &b, true, -EBADMSG, NULL);
	ck_buf_done(&b);
}

/* ---- large repeated fields, one element at a time --------------------- */

/* Render @b as @name with the element-at-a-time threshold @min into @out;
 * *@streamed tells how many fields took that path. */
static int render_min(const char *name, const struct ck_buf *b, bool pretty, size_t min,
		      struct ck_buf *out, unsigned long *streamed)
{
	size_t save = img_json_stream_min;
	unsigned long before = img_json_streamed;
	struct ck_blob bl = blob_of(b);
	int rc;

	img_json_stream_min = min;
	ck_buf_puts(out, "keep");
	rc = img_render_json(name, &bl, pretty, out);
	img_json_stream_min = save;
	*streamed = img_json_streamed - before;
	return rc;
}

/* @b rendered with the default threshold must take the element-at-a-time
 * path (@want_streamed fields) and print what rendering the whole record
 * at once prints, or fail the same way with the output untouched. */
static void check_streamed(const char *desc, const struct ck_buf *b, unsigned long want_streamed,
			   int want_rc)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		_cleanup_(ck_buf_done) struct ck_buf whole = { 0 }, strm = { 0 };
		unsigned long n_whole, n_strm;
		int rc_whole, rc_strm;

		rc_whole = render_min("mm-1.img", b, pretty, SIZE_MAX, &whole, &n_whole);
		rc_strm = render_min("mm-1.img", b, pretty, IMG_JSON_STREAM_MIN, &strm, &n_strm);
		CHECK(n_whole == 0 && n_strm == want_streamed, "%s, %s: %lu field(s) streamed (want %lu)",
		      desc, pretty ? "pretty" : "plain", n_strm, want_streamed);
		if (want_rc < 0) {
			CHECK(rc_whole == want_rc && rc_strm == want_rc && whole.len == 4 && strm.len == 4,
			      "%s, %s: %d and %d (want %d), output untouched", desc,
			      pretty ? "pretty" : "plain", rc_whole, rc_strm, want_rc);
			continue;
		}
		CHECK(rc_whole == 0 && rc_strm == 0 && whole.len > 4 && whole.len == strm.len &&
		      !memcmp(whole.data, strm.data, whole.len),
		      "%s, %s: %zu bytes, the same as the whole record's", desc,
		      pretty ? "pretty" : "plain", strm.len);
	}
}

/* Append field @id (length-delimited) holding @m packed to @b. */
static void put_msg_field(struct ck_buf *b, uint32_t id, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t hdr[16], *tmp = malloc(len ? len : 1);
	size_t k = 0;
	uint64_t v = (uint64_t) id << 3 | 2;

	for (int pass = 0; pass < 2; pass++, v = len) {
		while (v >= 0x80) {
			hdr[k++] = (uint8_t) (v | 0x80);
			v >>= 7;
		}
		hdr[k++] = (uint8_t) v;
	}
	protobuf_c_message_pack(m, tmp);
	ck_buf_add(b, hdr, k);
	ck_buf_add(b, tmp, len);
	free(tmp);
}

/* An mm image whose 40000 VMAs (about 1.5 MB on the wire) vary in every
 * field crit prints, some of them placed before the other fields of the
 * record and some between them: the JSON must be the fields in descriptor
 * order and the VMAs in wire order, as protobuf-c unpacks them whole. */
static void test_stream(void)
{
	MmEntry head1 = MM_ENTRY__INIT, head2 = MM_ENTRY__INIT;
	uint64_t auxv[4] = { 6, 4096, 0, 0 };
	_cleanup_(ck_buf_done) struct ck_buf rec = { 0 }, h1 = { 0 }, h2 = { 0 };
	struct ck_buf b;
	uint32_t len;

	/* the record's other fields, in two parts that protobuf merges (the
	 * required ones are in both: the last value counts) */
	head1.mm_start_code = 0x400000;
	head1.mm_brk = 0x2f7b000;
	head1.exe_file_id = 7;
	head2.mm_start_code = 0x400000;
	head2.mm_brk = 0x2f7b000;
	head2.exe_file_id = 3;
	head2.n_mm_saved_auxv = 4;
	head2.mm_saved_auxv = auxv;
	head2.has_dumpable = true;
	head2.dumpable = 1;
	img_start(&h1, 0);
	img_add(&h1, &head1.base);
	img_start(&h2, 0);
	img_add(&h2, &head2.base);
	for (uint32_t i = 0; i < 40000; i++) {
		VmaEntry v = VMA_ENTRY__INIT;

		v.start = 0x100000000ull + (uint64_t) i * 0x3000;
		v.end = v.start + 0x1000 * (1 + i % 3);
		v.pgoff = (uint64_t) (i % 7) << 12;
		v.shmid = i % 5;
		v.prot = i % 8;
		v.flags = i % 2 ? 0x22 : 0x02;
		v.status = i % 2 ? 0x201 : 0x41;
		v.fd = i % 11 == 0 ? (int64_t) i : -1;
		v.has_madv = i % 13 == 0;
		v.madv = 1u << (i % 17);
		v.has_fdflags = i % 4 == 0;
		v.fdflags = i % 3;
		put_msg_field(&rec, 14, &v.base);
		/* img_start(.., 0) wrote two magic words and img_add() a length */
		if (i == 3)
			ck_buf_add(&rec, h1.data + 12, h1.len - 12);
		if (i == 20000)
			ck_buf_add(&rec, h2.data + 12, h2.len - 12);
	}
	img_start(&b, IMG_MAGIC_MM);
	len = (uint32_t) rec.len;
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, rec.data, rec.len);
	CHECK(rec.len >= IMG_JSON_STREAM_MIN, "stream test: %zu bytes of VMAs", rec.len);
	check_streamed("40000 VMAs", &b, 1, 0);
	{
		_cleanup_(ck_buf_done) struct ck_buf out = { 0 };
		unsigned long n;

		render_min("mm-1.img", &b, false, IMG_JSON_STREAM_MIN, &out, &n);
		CHECK(out.data && strstr(out.data, "{\"mm_start_code\": 4194304, ") &&
		      strstr(out.data, "\"exe_file_id\": 3, \"mm_saved_auxv\": [6, 4096, 0, 0], "
				       "\"vmas\": [{\"start\": 4294967296, ") &&
		      strstr(out.data, "}], \"dumpable\": 1}]}\n"),
		      "40000 VMAs: the fields in descriptor order around the VMAs");
	}

	/* a second record, streamed too */
	ck_buf_add(&b, &len, 4);
	ck_buf_add(&b, rec.data, rec.len);
	check_streamed("two records of 40000 VMAs", &b, 2, 0);

	/* the last VMA does not unpack (an empty one lacks the required
	 * fields): -EBADMSG either way */
	b.len = 8 + 4 + rec.len;
	len = (uint32_t) rec.len + 2;
	memcpy(b.data + 8, &len, 4);
	ck_buf_add(&b, "\x72\x00", 2);
	check_streamed("40000 VMAs and a bad one", &b, 1, -EBADMSG);
	ck_buf_done(&b);
}

/* Flip and cut bytes of real images: any result but a crash is fine. */
static void test_mutations(void)
{
	const char *data = getenv("CKPTFS_DATA");
	static const char *const imgs[] = {
		"core-1.img", "files.img", "mm-1.img", "pagemap-1.img", "ghost-file-1.img",
		"tcp-stream-5c49.img", "sk-queues.img", "pipes-data.img", "inventory.img",
	};
	struct fixture fx = { 0 };
	char path[4096];
	uint32_t seed = 12345;
	int runs = 0;

	if (!data)
		return;
	snprintf(path, sizeof(path), "%s/fixtures/wl-alpha.tar.zst", data);
	if (fixture_load(path, &fx) < 0) {
		CHECK(false, "mutations: cannot load wl-alpha");
		fixture_done(&fx);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(imgs); i++) {
		const struct member *m = fixture_find(&fx, imgs[i]);

		if (!m || !m->data.len)
			continue;
		for (int k = 0; k < 300; k++) {
			_cleanup_(ck_buf_done) struct ck_buf mut = { 0 }, out = { 0 };
			struct ck_blob bl;

			ck_buf_add(&mut, m->data.data, m->data.len);
			for (int f = 0; f < 1 + k % 4; f++) {
				seed = seed * 1103515245u + 12345u;
				mut.data[(seed >> 8) % mut.len] ^= (char) (1u << ((seed >> 4) & 7));
			}
			if (k % 3 == 0)
				mut.len = (seed >> 3) % mut.len;
			bl = blob_of(&mut);
			img_magic_name(imgs[i], &bl);
			img_render_json(imgs[i], &bl, k & 1, &out);
			runs++;
		}
	}
	CHECK(runs > 0, "%d mutated images rendered without a crash", runs);
	fixture_done(&fx);
}

int main(void)
{
	unsigned long before;

	test_goldens();
	/* again with every repeated message field rendered one element at a time */
	before = img_json_streamed;
	img_json_stream_min = 0;
	test_goldens();
	CHECK(img_json_streamed - before > 0, "goldens: %lu fields rendered one element at a time",
	      img_json_streamed - before);
	img_json_stream_min = IMG_JSON_STREAM_MIN;
	test_framing();
	test_extras();
	test_hints();
	test_deep();
	test_stream();
	test_mutations();
	img_json_stream_min = 0;
	test_mutations();
	img_json_stream_min = IMG_JSON_STREAM_MIN;
	return tap_done();
}
