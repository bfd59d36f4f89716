/* SPDX-License-Identifier: Apache-2.0 */
/* Memory maps: rwx-memory, anon-exec and jit-code. A JIT runtime is told
 * by the files a process maps (its executable and libraries), not by its
 * name, which any process can set. */
#include <string.h>

#include "triage-priv.h"

/* Mapped files (last path component, a prefix of it) that show a JIT
 * runtime, and its name. man/ckptfs.1 lists them. */
static const struct {
	const char *file;
	const char *runtime;
} jit_files[] = {
	{ "node", "Node.js (V8)" },
	{ "nodejs", "Node.js (V8)" },
	{ "libnode.so", "Node.js (V8)" },
	{ "libv8.so", "V8" },
	{ "bun", "Bun (JavaScriptCore)" },
	{ "deno", "Deno (V8)" },
	{ "libjavascriptcoregtk", "JavaScriptCore" },
	{ "libmozjs", "SpiderMonkey" },
	{ "libjvm.so", "Java HotSpot" },
	{ "libj9jit", "Java OpenJ9" },
	{ "libcoreclr.so", ".NET CoreCLR" },
	{ "libclrjit.so", ".NET CoreCLR" },
	{ "libmonosgen-2.0.so", "Mono" },
	{ "libmono-2.0.so", "Mono" },
	{ "libluajit-5.1.so", "LuaJIT" },
	{ "luajit", "LuaJIT" },
	{ "libpypy", "PyPy" },
	{ "pypy", "PyPy" },
	{ "pypy3", "PyPy" },
	{ "beam.smp", "Erlang BEAM" },
	{ "libjulia", "Julia" },
	{ "opcache.so", "PHP OPcache JIT" },
	{ "libpcre2-8.so", "PCRE2 JIT" },
	{ "libpcre.so", "PCRE JIT" },
};

/* The runtime whose file @base (a basename, maybe followed by
 * " (deleted)") is, or NULL. Libraries match as a prefix (any version
 * suffix), other files whole ("node" is one, "node-gyp" is not). */
static const char *jit_runtime(const char *base)
{
	for (size_t i = 0; i < ARRAY_SIZE(jit_files); i++) {
		const char *f = jit_files[i].file;
		size_t n = strlen(f);

		if (!strncmp(base, f, n) && (!strncmp(f, "lib", 3) || base[n] == '\0' || base[n] == ' '))
			return jit_files[i].runtime;
	}
	return NULL;
}

void tr_jit_find(struct triage_proc *tp)
{
	const struct img_mm *mm = tp->p->mm;

	for (size_t i = 0; i < mm->n_vmas && !tp->jit; i++) {
		const struct img_vma *v = &mm->vmas[i];
		char *path;

		if (!(v->prot & IMG_PROT_EXEC) || !(v->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED)))
			continue;
		path = tr_vma_path(tp, v);
		if (path)
			tp->jit = jit_runtime(tr_basename(path));
		free(path);
	}
}

/* A watch that keeps the first 64 bytes from the first non-zero line. */
static void capture(void *ctx, uint64_t addr, const uint8_t *p, size_t len, size_t avail)
{
	struct triage_finding *f = ctx;
	size_t i = 0;

	if (f->excerpt)
		return;
	while (i < len && !p[i])
		i++;
	if (i == len)
		return;
	i &= ~(size_t) 15;
	/* @f belongs to the report; the run's err is not reachable here, and a
	 * failed copy only leaves the excerpt out */
	f->excerpt = malloc(64);
	if (!f->excerpt)
		return;
	f->excerpt_len = CK_MIN((size_t) 64, avail - i);
	memcpy(f->excerpt, p + i, f->excerpt_len);
	f->excerpt_addr = addr + i;
}

/* One finding about VMA @v, with its dumped size and an excerpt. */
static struct triage_finding *vma_finding(struct triage_proc *tp, const struct img_vma *v, enum triage_kind kind,
					  enum triage_severity sev)
{
	struct triage_finding *f = tr_new(tp->r, kind, sev, tp);
	uint64_t dumped = tp->p->mem ? mem_dumped_range(tp->p->mem, v->start, v->end) : 0;

	tr_vma(tp, f, v);
	tr_int(tp->r, f, "dumped", (int64_t) dumped);
	tr_bool(tp->r, f, "anonymous", tr_vma_anon(v));
	if (f && dumped)
		tr_watch_add(tp, v->start, v->end, capture, f);
	return f;
}

static void check_vma(struct triage_proc *tp, const struct img_vma *v)
{
	bool w = v->prot & IMG_PROT_WRITE, anon = tr_vma_anon(v);
	struct triage_finding *f;

	if (!(v->prot & IMG_PROT_EXEC) || (v->status & (IMG_VMA_AREA_VDSO | IMG_VMA_AREA_VSYSCALL | IMG_VMA_AREA_VVAR)))
		return;
	if (!w && !anon)
		return;		/* code of a file, the normal case */
	if (tp->jit && (anon || (v->status & IMG_VMA_AREA_MEMFD))) {
		f = vma_finding(tp, v, TRIAGE_JIT_CODE, TRIAGE_INFO);
		tr_str(tp->r, f, "runtime", "%s", tp->jit);
		tr_summary(tp->r, f, "%s executable memory of a JIT runtime (%s)", w ? "writable" : "anonymous",
			   tp->jit);
		return;
	}
	if (w && v == tp->stack) {
		/* the whole stack: a program or library built with an executable
		 * stack (PT_GNU_STACK); a part made executable splits the VMA */
		f = vma_finding(tp, v, TRIAGE_RWX_MEMORY, TRIAGE_LOW);
		tr_summary(tp->r, f, "the whole stack is writable and executable (a binary or library asked "
			   "for an executable stack)");
		return;
	}
	if (w) {
		f = vma_finding(tp, v, TRIAGE_RWX_MEMORY, TRIAGE_HIGH);
		tr_summary(tp->r, f, "%s memory that is writable and executable, in a process without a JIT runtime",
			   anon ? "anonymous" : "file-backed");
		return;
	}
	f = vma_finding(tp, v, TRIAGE_ANON_EXEC, TRIAGE_HIGH);
	tr_summary(tp->r, f, "executable memory not backed by a file, in a process without a JIT runtime");
}

void tr_maps_check(struct triage_proc *tp)
{
	const struct img_mm *mm = tp->p->mm;

	for (size_t i = 0; i < mm->n_vmas; i++)
		check_vma(tp, &mm->vmas[i]);
}
