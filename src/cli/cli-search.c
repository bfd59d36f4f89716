/* SPDX-License-Identifier: Apache-2.0 */
/* --search, --yara and --where: which process holds some bytes, at what
 * virtual address, in which mapping, at which offset of /<pid>/pages, read
 * from the checkpoint model without mounting (src/search/search.h). Exit
 * status as grep's: 0 something found, 1 nothing found, 2 an error (an
 * unreadable archive, a bad pattern or rules file, or memory that could not
 * be read: the rest is still searched and reported). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "ckpt.h"
#include "cli.h"
#include "render.h"
#include "search.h"

enum mode { MODE_NONE, MODE_SEARCH, MODE_YARA, MODE_WHERE };

struct opts {
	enum mode mode;
	const char *prog;
	const char *yara;		/* --yara FILE */
	char **pats;			/* -e, -f and the first operand */
	size_t n_pats;
	unsigned flags;			/* SEARCH_FIXED, SEARCH_ICASE */
	char **pids;			/* --pid: "1", "ctr/1" */
	size_t n_pids;
	uint64_t context;
	uint64_t max_count;		/* 0: no limit */
	bool json;
	/* -o */
	char *cache_dir, *page_size, *spill_limit;
	char **parents;
	size_t n_parents;
};

static void opts_done(struct opts *o)
{
	for (size_t i = 0; i < o->n_pats; i++)
		free(o->pats[i]);
	free(o->pats);
	for (size_t i = 0; i < o->n_pids; i++)
		free(o->pids[i]);
	free(o->pids);
	for (size_t i = 0; i < o->n_parents; i++)
		free(o->parents[i]);
	free(o->parents);
	free(o->cache_dir);
	free(o->page_size);
	free(o->spill_limit);
}

static int push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = reallocarray(*v, *n + 1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strndup(s, len)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

bool cli_search_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return false;	/* main() prints the help */
		if (!strcmp(argv[i], "--search") || !strcmp(argv[i], "--where") || !strcmp(argv[i], "--yara") ||
		    !strncmp(argv[i], "--yara=", 7))
			return true;
	}
	return false;
}

/* -o LIST: the archive options of the mount that apply here; the others
 * (FUSE options) mean nothing without a mount and are ignored. */
static int parse_o(struct opts *o, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char **dst = NULL;

		if (!strncmp(t, "parent=", 7)) {
			char *save2 = NULL;

			for (char *p = strtok_r(t + 7, ":", &save2); p; p = strtok_r(NULL, ":", &save2))
				if (push(&o->parents, &o->n_parents, p, strlen(p)) < 0)
					return -ENOMEM;
			continue;
		}
		if (!strncmp(t, "cache_dir=", 10))
			dst = &o->cache_dir;
		else if (!strncmp(t, "page_size=", 10))
			dst = &o->page_size;
		else if (!strncmp(t, "spill_limit=", 12))
			dst = &o->spill_limit;
		if (dst) {
			free(*dst);
			if (!(*dst = strdup(strchr(t, '=') + 1)))
				return -ENOMEM;
		}
	}
	return 0;
}

/* -f FILE: one pattern a line (an empty line is refused later, as grep -f
 * with an empty line would match everything). */
static int read_pattern_file(struct opts *o, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n && line[n - 1] == '\n')
			n--;
		if (push(&o->pats, &o->n_pats, line, (size_t) n) < 0) {
			rc = -1;
			break;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int parse_u64(const struct opts *o, const char *what, const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "%s: %s takes a number, not '%s'\n", o->prog, what, s);
		return -1;
	}
	return 0;
}

/* ---- loading ---- */

/* The archive, its parents, and one model per container (one for a plain
 * checkpoint, with name NULL). */
struct loaded {
	struct arc *a;
	struct arc **parent_arcs;
	struct ckpt_parent *parents;
	size_t n_parents;
	struct ckpt **cks;
	char **names;
	size_t n;
};

static void loaded_done(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ckpt_free(l->cks[i]);
		if (l->names)
			free(l->names[i]);
	}
	free(l->cks);
	free(l->names);
	for (size_t i = 0; i < l->n_parents; i++)
		arc_free(l->parent_arcs[i]);
	free(l->parent_arcs);
	free(l->parents);
	arc_free(l->a);
}

static int load(const struct opts *o, const char *archive, struct loaded *l)
{
	struct arc_opts aopts = { .cache_dir = o->cache_dir };
	struct ckpt_opts copts = { .path = archive, .arc_opts = &aopts };
	struct cli_progress bar = { .label = "ckptfs: indexing" };
	_cleanup_free_ char *err = NULL;
	ssize_t npod;
	int rc;

	if (o->spill_limit && (ck_parse_u64(o->spill_limit, &aopts.spill_limit) < 0 || !aopts.spill_limit)) {
		fprintf(stderr, "%s: -o spill_limit= takes a positive number of bytes, not '%s'\n", o->prog,
			o->spill_limit);
		return -1;
	}
	if (o->page_size && (ck_parse_u64(o->page_size, &copts.page_size) < 0 || copts.page_size < 4096 ||
			     copts.page_size > (1u << 20) || (copts.page_size & (copts.page_size - 1)))) {
		fprintf(stderr, "%s: -o page_size= takes a power of two from 4096 to 1048576, not '%s'\n", o->prog,
			o->page_size);
		return -1;
	}
	if (isatty(STDERR_FILENO)) {
		aopts.progress = cli_progress_draw;
		aopts.progress_ctx = &bar;
	}
	rc = arc_open(archive, &aopts, &l->a, &err);
	cli_progress_end(&bar);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, archive, err ? err : strerror(-rc));
		return -1;
	}
	l->parent_arcs = calloc(o->n_parents + 1, sizeof(*l->parent_arcs));
	l->parents = calloc(o->n_parents + 1, sizeof(*l->parents));
	if (!l->parent_arcs || !l->parents)
		return -1;
	for (size_t i = 0; i < o->n_parents; i++) {
		free(TAKE_PTR(err));
		rc = arc_open(o->parents[i], &aopts, &l->parent_arcs[i], &err);
		cli_progress_end(&bar);
		if (rc < 0) {
			fprintf(stderr, "%s: parent %s: %s\n", o->prog, o->parents[i], err ? err : strerror(-rc));
			return -1;
		}
		l->n_parents++;
		l->parents[i] = (struct ckpt_parent) { .arc = l->parent_arcs[i], .path = o->parents[i] };
	}
	copts.parents = l->parents;
	copts.n_parents = l->n_parents;
	npod = search_pod_containers(l->a, &l->names);
	if (npod < 0)
		return -1;
	if (npod <= 1) {
		/* one checkpoint (a single container in a directory is not a pod) */
		for (ssize_t i = 0; i < npod; i++)
			free(l->names[i]);
		free(l->names);
		l->names = NULL;
		npod = 1;
	}
	l->cks = calloc((size_t) npod, sizeof(*l->cks));
	if (!l->cks)
		return -1;
	l->n = (size_t) npod;	/* NULL models are freed as nothing */
	for (ssize_t i = 0; i < npod; i++) {
		_cleanup_free_ char *dir = NULL;

		if (l->names && asprintf(&dir, "%s/checkpoint", l->names[i]) < 0)
			return -1;
		copts.img_dir = dir;
		free(TAKE_PTR(err));
		rc = ckpt_load(l->a, &copts, &l->cks[i], &err);
		cli_progress_end(&bar);
		if (rc < 0) {
			fprintf(stderr, "%s: %s%s%s: %s\n", o->prog, archive, dir ? ": " : "", dir ? dir : "",
				err ? err : strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* ---- output ---- */

struct run_state {
	const struct opts *o;
	const char *archive;
	const struct ckpt *ck;
	const char *container;		/* NULL for a plain checkpoint */
	const struct ckpt_proc *p;
	char comm[64];
	uint64_t count;			/* matches of this process */
	uint64_t total;
	bool error;			/* something could not be read */
	struct ck_buf line;
};

static void proc_comm(const struct ckpt *ck, const struct ckpt_proc *p, char *out, size_t size)
{
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	snprintf(out, size, "?");
	if (render_comm(ck, p, NULL, &b) == 0 && b.len && !b.oom) {
		size_t n = CK_MIN(b.len, size - 1);

		memcpy(out, b.data, n);
		out[n] = '\0';
		out[strcspn(out, "\n")] = '\0';
	}
}

/* The path column of a maps line ("" for anonymous memory). */
static const char *maps_path(const char *maps)
{
	const char *s = maps;

	for (int f = 0; f < 5 && s; f++) {
		s = strchr(s, ' ');
		if (s)
			while (*s == ' ')
				s++;
	}
	return s ? s : "";
}

static json_object *vma_json(const struct search_loc *loc)
{
	json_object *v = json_object_new_object();
	char hex[32];
	const struct img_vma *vma = loc->vma;
	const char *maps = loc->maps;
	char perms[5] = "----";

	if (sscanf(maps, "%*s %4s", perms) != 1)
		snprintf(perms, sizeof(perms), "----");
	snprintf(hex, sizeof(hex), "0x%" PRIx64, vma->start);
	json_object_object_add(v, "start", json_object_new_string(hex));
	snprintf(hex, sizeof(hex), "0x%" PRIx64, vma->end);
	json_object_object_add(v, "end", json_object_new_string(hex));
	json_object_object_add(v, "perms", json_object_new_string(perms));
	json_object_object_add(v, "offset", json_object_new_int64((int64_t) vma->pgoff));
	json_object_object_add(v, "dev", json_object_new_string("00:00"));
	json_object_object_add(v, "inode", json_object_new_int(0));
	json_object_object_add(v, "path", json_object_new_string(maps_path(maps)));
	return v;
}

static void add_escaped(json_object *obj, const char *key, const uint8_t *p, size_t len)
{
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	search_escape(&b, p, len);
	json_object_object_add(obj, key, json_object_new_string_len(b.data ? b.data : "", (int) b.len));
}

static void put_field_sep(struct ck_buf *b)
{
	ck_buf_putc(b, '\t');
}

/* Print one line (or JSON object) for a location; @bytes holds
 * [addr - before, addr + len + after) when not NULL. */
static void emit(struct run_state *s, const struct search_loc *loc, const struct search_hit *h, const uint8_t *bytes,
		 size_t before, size_t len, size_t after)
{
	const struct opts *o = s->o;
	struct ck_buf *b = &s->line;

	b->len = 0;
	if (o->json) {
		json_object *j = json_object_new_object();
		char hex[32];

		if (s->container)
			json_object_object_add(j, "container", json_object_new_string(s->container));
		json_object_object_add(j, "pid", json_object_new_int64(s->p->pid));
		json_object_object_add(j, "comm", json_object_new_string(s->comm));
		if (h && h->rule) {
			json_object_object_add(j, "rule", json_object_new_string(h->rule));
			if (h->ns)
				json_object_object_add(j, "namespace", json_object_new_string(h->ns));
			if (h->ident)
				json_object_object_add(j, "string", json_object_new_string(h->ident));
		} else if (h && o->n_pats > 1) {
			json_object_object_add(j, "pattern", json_object_new_string(o->pats[h->pattern]));
		}
		if (loc) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, loc->addr);
			json_object_object_add(j, "address", json_object_new_string(hex));
			json_object_object_add(j, "pages_offset", json_object_new_int64((int64_t) loc->pages_off));
			json_object_object_add(j, "maps", loc->maps ? json_object_new_string(loc->maps) : NULL);
			json_object_object_add(j, "vma", loc->vma ? vma_json(loc) : NULL);
		}
		if (bytes) {
			_cleanup_(ck_buf_done) struct ck_buf hx = { 0 };

			json_object_object_add(j, "length", json_object_new_int64((int64_t) len));
			add_escaped(j, "match", bytes + before, len);
			for (size_t i = 0; i < len; i++)
				ck_buf_printf(&hx, "%02x", bytes[before + i]);
			json_object_object_add(j, "hex", json_object_new_string_len(hx.data ? hx.data : "",
										     (int) hx.len));
			if (o->context) {
				add_escaped(j, "before", bytes, before);
				add_escaped(j, "after", bytes + before + len, after);
			}
		}
		ck_buf_puts(b, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		if (s->container)
			ck_buf_printf(b, "%s/", s->container);
		ck_buf_printf(b, "%" PRIu32 "\t%s\t", s->p->pid, s->comm);
		if (loc)
			ck_buf_printf(b, "0x%" PRIx64 "\t0x%" PRIx64 "\t%s", loc->addr, loc->pages_off,
				      loc->maps ? loc->maps : "-");
		else
			ck_buf_puts(b, "-\t-\t-");
		if (h && h->rule) {
			put_field_sep(b);
			ck_buf_printf(b, "%s%s%s", h->rule, h->ident ? ":" : "", h->ident ? h->ident : "");
		}
		if (bytes) {
			if (o->context) {
				put_field_sep(b);
				search_escape(b, bytes, before);
			}
			put_field_sep(b);
			search_escape(b, bytes + before, len);
			if (o->context) {
				put_field_sep(b);
				search_escape(b, bytes + before + len, after);
			}
		}
	}
	ck_buf_putc(b, '\n');
	if (!b->oom)
		fwrite(b->data, 1, b->len, stdout);
}

static int on_hit(void *ctx, const struct search_hit *h)
{
	struct run_state *s = ctx;
	const struct mem_space *m = s->p->mem;
	struct search_loc loc = { 0 };
	uint64_t seg_start, seg_end, from, to;
	_cleanup_free_ uint8_t *bytes = NULL;
	ssize_t got;

	s->count++;
	s->total++;
	if (h->rule && !h->ident) {
		emit(s, NULL, h, NULL, 0, 0, 0);
		return s->o->max_count && s->count >= s->o->max_count;
	}
	search_segment(m, h->addr, &seg_start, &seg_end);
	from = h->addr - CK_MIN(s->o->context, h->addr - seg_start);
	to = h->addr + h->len;
	to += CK_MIN(s->o->context, seg_end > to ? seg_end - to : 0);
	bytes = malloc((size_t) (to - from) + 1);
	if (bytes) {
		got = mem_read(m, from, bytes, (size_t) (to - from));
		if (got < 0 || (uint64_t) got != to - from)
			free(TAKE_PTR(bytes));
	}
	if (search_loc_addr(s->ck, s->p, h->addr, &loc) < 0)
		loc = (struct search_loc) { .addr = h->addr };
	if (bytes)
		emit(s, &loc, h, bytes, (size_t) (h->addr - from), (size_t) h->len,
		     (size_t) (to - h->addr - h->len));
	else
		emit(s, &loc, h, NULL, 0, 0, 0);
	search_loc_done(&loc);
	return s->o->max_count && s->count >= s->o->max_count;
}

static void on_err(void *ctx, uint64_t addr, uint64_t len, const struct mem_run *run, int err)
{
	struct run_state *s = ctx;

	fflush(stdout);
	fprintf(stderr, "%s: %s: %s%spid %" PRIu32 ": memory 0x%" PRIx64 "-0x%" PRIx64 " (%s) cannot be read: %s; skipped\n",
		s->o->prog, s->archive, s->container ? s->container : "", s->container ? ": " : "", s->p->pid, addr,
		addr + len, run && run->pages ? run->pages->path : "no pages image", strerror(-err));
	s->error = true;
}

/* Is process @pid of @container selected by --pid? */
static bool selected(const struct opts *o, const char *container, uint32_t pid)
{
	char buf[32];

	if (!o->n_pids)
		return true;
	snprintf(buf, sizeof(buf), "%" PRIu32, pid);
	for (size_t i = 0; i < o->n_pids; i++) {
		const char *want = o->pids[i], *slash = strrchr(want, '/');

		if (slash && container && (size_t) (slash - want) == strlen(container) &&
		    !strncmp(want, container, (size_t) (slash - want)) && !strcmp(slash + 1, buf))
			return true;
		if (!slash && !strcmp(want, buf))
			return true;
	}
	return false;
}

static int run_search(const struct opts *o, const char *archive)
{
	_cleanup_(search_pats_freep) struct search_pats *pats = NULL;
	_cleanup_(search_yara_freep) struct search_yara *yara = NULL;
	_cleanup_(loaded_done) struct loaded l = { 0 };
	_cleanup_free_ char *err = NULL;
	struct run_state s = { .o = o, .archive = archive };
	bool matched_pid = false;
	int rc;

	if (o->mode == MODE_YARA)
		rc = search_yara_new(o->yara, &yara, &err);
	else
		rc = search_pats_new((const char *const *) o->pats, o->n_pats, o->flags, &pats, &err);
	if (rc < 0) {
		if (rc == -ENOMEM)
			fprintf(stderr, "%s: out of memory\n", o->prog);
		else if (o->mode == MODE_YARA)
			fprintf(stderr, "%s: %s\n", o->prog, err ? err : strerror(-rc));
		else
			fprintf(stderr, "%s: bad %s: %s\n", o->prog, o->flags & SEARCH_FIXED ? "string" : "regex",
				err ? err : strerror(-rc));
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (load(o, archive, &l) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	for (size_t c = 0; c < l.n; c++) {
		const struct ckpt *ck = l.cks[c];

		s.ck = ck;
		s.container = l.names ? l.names[c] : NULL;
		for (size_t i = 0; i < ck->n_procs; i++) {
			const struct ckpt_proc *p = &ck->procs[i];

			if (!selected(o, s.container, p->pid))
				continue;
			matched_pid = true;
			s.p = p;
			s.count = 0;
			proc_comm(ck, p, s.comm, sizeof(s.comm));
			if (!p->mem) {
				if (p->mem_err < 0) {
					fprintf(stderr, "%s: %s: %s%spid %" PRIu32 ": memory (pagemap-%" PRIu32
						".img and its pages image) cannot be read: %s; skipped\n",
						o->prog, archive, s.container ? s.container : "",
						s.container ? ": " : "", p->pid, p->pid, strerror(-p->mem_err));
					s.error = true;
				}
				continue;
			}
			if (o->mode == MODE_YARA)
				rc = search_yara_space(yara, p->mem, on_hit, on_err, &s);
			else
				rc = search_space(pats, p->mem, on_hit, on_err, &s);
			if (rc < 0) {
				fprintf(stderr, "%s: %s: pid %" PRIu32 ": %s\n", o->prog, archive, p->pid, strerror(-rc));
				s.error = true;
			}
		}
	}
	ck_buf_done(&s.line);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", o->prog, strerror(errno));
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (o->n_pids && !matched_pid) {
		fprintf(stderr, "%s: %s: no process matches --pid\n", o->prog, archive);
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (s.error)
		return CLI_EXIT_SEARCH_ERROR;
	return s.total ? CLI_EXIT_OK : CLI_EXIT_NOT_FOUND;
}

/* ---- --where ---- */

/* --where on a mounted tree: the answer from MNT/PID/pages.map and maps. */
static int where_mounted(const struct opts *o, const char *mnt, const char *pid, uint64_t off)
{
	_cleanup_free_ char *path = NULL, *line = NULL, *comm = NULL;
	uint64_t addr = 0;
	size_t cap = 0, comm_cap = 0;
	const char *slash = strrchr(pid, '/');
	bool found = false;
	FILE *f;

	if (asprintf(&path, "%s/%s/pages.map", mnt, pid) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, path, strerror(errno));
		return CLI_EXIT_SEARCH_ERROR;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned long long a, b, doff;

		if (sscanf(line, "%llx-%llx %*s %llx", &a, &b, &doff) == 3 && doff <= off && off - doff < b - a) {
			addr = a + (off - doff);
			found = true;
			break;
		}
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "%s: %s: offset %" PRIu64 " is past the end of %s/pages\n", o->prog, mnt, off, pid);
		return CLI_EXIT_NOT_FOUND;
	}
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/%s/comm", mnt, pid) >= 0 && (f = fopen(path, "re"))) {
		if (getline(&comm, &comm_cap, f) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/%s/maps", mnt, pid) < 0 || !(f = fopen(path, "re")))
		return CLI_EXIT_SEARCH_ERROR;
	found = false;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a <= addr && addr < b) {
			line[strcspn(line, "\n")] = '\0';
			found = true;
			break;
		}
	}
	fclose(f);
	if (o->json) {
		json_object *j = json_object_new_object();
		char hex[32];

		if (slash)
			json_object_object_add(j, "container", json_object_new_string_len(pid, (int) (slash - pid)));
		json_object_object_add(j, "pid", json_object_new_int64(strtoll(slash ? slash + 1 : pid, NULL, 10)));
		json_object_object_add(j, "comm", json_object_new_string(comm ? comm : "?"));
		snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
		json_object_object_add(j, "address", json_object_new_string(hex));
		json_object_object_add(j, "pages_offset", json_object_new_int64((int64_t) off));
		json_object_object_add(j, "maps", found ? json_object_new_string(line) : NULL);
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		printf("%s\t%s\t0x%" PRIx64 "\t0x%" PRIx64 "\t%s\n", pid, comm ? comm : "?", addr, off,
		       found ? line : "-");
	}
	return CLI_EXIT_OK;
}

/* Parse "PID" or "CONTAINER/PID". */
static int split_pid(const char *arg, char **ret_container, uint32_t *ret_pid)
{
	const char *slash = strrchr(arg, '/');
	uint64_t v;

	*ret_container = slash ? strndup(arg, (size_t) (slash - arg)) : NULL;
	if (ck_parse_u64(slash ? slash + 1 : arg, &v) < 0 || v > UINT32_MAX)
		return -1;
	*ret_pid = (uint32_t) v;
	return 0;
}

static int where_one(const struct opts *o, struct run_state *s, uint64_t off)
{
	struct search_loc loc = { 0 };

	if (search_loc_pages(s->ck, s->p, off, &loc) < 0) {
		fprintf(stderr, "%s: %s: offset %" PRIu64 " is past the end of %" PRIu32 "/pages\n", o->prog,
			s->archive, off, s->p->pid);
		return CLI_EXIT_NOT_FOUND;
	}
	emit(s, &loc, NULL, NULL, 0, 0, 0);
	search_loc_done(&loc);
	return CLI_EXIT_OK;
}

static int run_where(const struct opts *o, const char *pid_arg, const char *off_arg, const char *archive)
{
	_cleanup_(loaded_done) struct loaded l = { 0 };
	_cleanup_free_ char *container = NULL;
	struct run_state s = { .o = o, .archive = archive };
	uint64_t off = 0;
	uint32_t pid;
	struct stat st;
	int ret;

	if (strcmp(off_arg, "-") && parse_u64(o, "--where OFFSET", off_arg, &off) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	if (split_pid(pid_arg, &container, &pid) < 0) {
		fprintf(stderr, "%s: --where takes PID or CONTAINER/PID, not '%s'\n", o->prog, pid_arg);
		return CLI_EXIT_SEARCH_ERROR;
	}
	/* a mounted tree: answer from its own pages.map and maps */
	if (stat(archive, &st) == 0 && S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *map = NULL;

		if (asprintf(&map, "%s/%s/pages.map", archive, pid_arg) >= 0 && access(map, R_OK) == 0) {
			char *line = NULL;
			size_t cap = 0;

			if (strcmp(off_arg, "-"))
				return where_mounted(o, archive, pid_arg, off);
			ret = CLI_EXIT_NOT_FOUND;
			while (getline(&line, &cap, stdin) > 0) {
				if (parse_u64(o, "--where OFFSET", strtok(line, ": \t\n") ?: "", &off) < 0)
					ret = CLI_EXIT_SEARCH_ERROR;
				else {
					int r = where_mounted(o, archive, pid_arg, off);

					ret = ret == CLI_EXIT_SEARCH_ERROR || r == CLI_EXIT_SEARCH_ERROR ? CLI_EXIT_SEARCH_ERROR : r == CLI_EXIT_OK ? CLI_EXIT_OK : ret;
				}
			}
			free(line);
			return ret;
		}
	}
	if (load(o, archive, &l) < 0)
		return CLI_EXIT_SEARCH_ERROR;
	for (size_t c = 0; c < l.n && !s.p; c++) {
		const char *name = l.names ? l.names[c] : NULL;

		/* CONTAINER/PID names one container; a bare PID, the first that has it */
		if (container && (!name || strcmp(container, name)))
			continue;
		s.ck = l.cks[c];
		s.container = name;
		s.p = ckpt_proc_find(s.ck, pid);
	}
	if (!s.p) {
		fprintf(stderr, "%s: %s: no process %s\n", o->prog, archive, pid_arg);
		return CLI_EXIT_SEARCH_ERROR;
	}
	if (!s.p->mem) {
		fprintf(stderr, "%s: %s: pid %" PRIu32 " has no dumped memory%s%s\n", o->prog, archive, pid,
			s.p->mem_err < 0 ? ": " : "", s.p->mem_err < 0 ? strerror(-s.p->mem_err) : "");
		return CLI_EXIT_SEARCH_ERROR;
	}
	proc_comm(s.ck, s.p, s.comm, sizeof(s.comm));
	if (strcmp(off_arg, "-")) {
		ret = where_one(o, &s, off);
	} else {
		/* offsets one a line on stdin, as `grep -boa` prints them ("123:match") */
		char *line = NULL;
		size_t cap = 0;

		ret = CLI_EXIT_NOT_FOUND;
		while (getline(&line, &cap, stdin) > 0) {
			int r;

			if (parse_u64(o, "--where OFFSET", strtok(line, ": \t\n") ?: "", &off) < 0) {
				ret = CLI_EXIT_SEARCH_ERROR;
				continue;
			}
			r = where_one(o, &s, off);
			if (r == CLI_EXIT_OK && ret == CLI_EXIT_NOT_FOUND)
				ret = CLI_EXIT_OK;
		}
		free(line);
	}
	ck_buf_done(&s.line);
	return ret;
}

/* ---- command line ---- */

static int usage_error(const struct opts *o, const char *msg)
{
	fprintf(stderr, "%s: %s (see --help)\n", o->prog, msg);
	return CLI_EXIT_SEARCH_ERROR;
}

int cli_search_main(int argc, char **argv)
{
	enum { OPT_SEARCH = 256, OPT_YARA, OPT_WHERE, OPT_PID, OPT_CONTEXT, OPT_JSON, OPT_MAX };
	static const struct option longopts[] = {
		{ "search", no_argument, NULL, OPT_SEARCH },
		{ "yara", required_argument, NULL, OPT_YARA },
		{ "where", no_argument, NULL, OPT_WHERE },
		{ "fixed-strings", no_argument, NULL, 'F' },
		{ "regexp", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "context", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "max-count", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .prog = "ckptfs" };
	bool have_e = false;
	int c, ret = CLI_EXIT_SEARCH_ERROR;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "Fe:f:iC:m:o:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SEARCH:
		case OPT_YARA:
		case OPT_WHERE: {
			enum mode m = c == OPT_SEARCH ? MODE_SEARCH : c == OPT_YARA ? MODE_YARA : MODE_WHERE;

			if (o.mode && o.mode != m) {
				ret = usage_error(&o, "--search, --yara and --where exclude each other");
				goto out;
			}
			o.mode = m;
			if (c == OPT_YARA)
				o.yara = optarg;
			break;
		}
		case 'F':
			o.flags |= SEARCH_FIXED;
			break;
		case 'i':
			o.flags |= SEARCH_ICASE;
			break;
		case 'e':
			have_e = true;
			if (push(&o.pats, &o.n_pats, optarg, strlen(optarg)) < 0)
				goto out;
			break;
		case 'f':
			have_e = true;
			if (read_pattern_file(&o, optarg) < 0)
				goto out;
			break;
		case OPT_PID: {
			_cleanup_free_ char *copy = strdup(optarg);
			char *save = NULL;

			if (!copy)
				goto out;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (push(&o.pids, &o.n_pids, t, strlen(t)) < 0)
					goto out;
			break;
		}
		case 'C':
			if (parse_u64(&o, "--context", optarg, &o.context) < 0)
				goto out;
			if (o.context > (1u << 20)) {
				ret = usage_error(&o, "--context is at most 1048576 bytes");
				goto out;
			}
			break;
		case 'm':
			if (parse_u64(&o, "--max-count", optarg, &o.max_count) < 0)
				goto out;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'o':
			if (parse_o(&o, optarg) < 0)
				goto out;
			break;
		default: {
			char msg[128];

			if (optopt && optopt < 256)
				snprintf(msg, sizeof(msg), "option -%c %s", optopt,
					 strchr("efCmo", optopt) ? "needs an argument" : "is not known with --search");
			else
				snprintf(msg, sizeof(msg), "option %s is not known with --search, --yara or --where",
					 argv[optind - 1]);
			ret = usage_error(&o, msg);
			goto out;
		}
		}
	}
	if (o.mode == MODE_WHERE) {
		if (argc - optind != 3) {
			ret = usage_error(&o, "--where takes PID OFFSET ARCHIVE (or a mounted tree; OFFSET - reads offsets from stdin)");
			goto out;
		}
		ret = run_where(&o, argv[optind], argv[optind + 1], argv[optind + 2]);
		goto out;
	}
	if (o.mode == MODE_SEARCH && !have_e) {
		if (optind >= argc) {
			ret = usage_error(&o, "--search needs a PATTERN");
			goto out;
		}
		if (push(&o.pats, &o.n_pats, argv[optind], strlen(argv[optind])) < 0)
			goto out;
		optind++;
	}
	if (o.mode == MODE_SEARCH && !o.n_pats) {
		ret = usage_error(&o, "no pattern given");
		goto out;
	}
	if (o.mode == MODE_YARA && (o.n_pats || o.flags)) {
		ret = usage_error(&o, "--yara takes its strings from the rules file, not -e, -f, -F or -i");
		goto out;
	}
	if (argc - optind != 1) {
		ret = usage_error(&o, argc - optind < 1 ? "no archive given" : "one archive at a time");
		goto out;
	}
	ret = run_search(&o, argv[optind]);
out:
	opts_done(&o);
	return ret;
}
