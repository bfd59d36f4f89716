/* SPDX-License-Identifier: Apache-2.0 */
/* One scan of a space with compiled patterns (see search-int.h): the space
 * is cut into jobs of about p->job_bytes dumped bytes; worker threads run
 * Vectorscan over them, at most WINDOW jobs ahead of the calling thread,
 * which takes their results in address order (search-merge.c) and calls
 * back. A job that stopped early (too many candidates) is finished by the
 * calling thread itself. With one job, or nothing for Vectorscan, the
 * calling thread does everything. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "search-int.h"

/* Where the jobs of @m begin: cut[k] is the start of job k, cut[n] the end
 * of the last. */
static int plan(const struct search_pats *p, const struct mem_space *m, uint64_t **ret_cut, size_t *ret_n)
{
	size_t nr = mem_run_count(m), n = 0, cap = 16;
	uint64_t *cut = malloc(cap * sizeof(*cut)), acc = 0;

	if (!cut)
		return -ENOMEM;
	cut[0] = mem_run_at(m, 0)->vaddr;
	for (size_t i = 0; i < nr; i++) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t at = r->vaddr;

		while (at < r->vaddr + r->len) {
			uint64_t take = CK_MIN(r->vaddr + r->len - at, p->job_bytes - acc);

			at += take;
			acc += take;
			if (acc < p->job_bytes)
				continue;
			if (n + 2 > cap) {
				uint64_t *v = reallocarray(cut, cap * 2, sizeof(*cut));

				if (!v) {
					free(cut);
					return -ENOMEM;
				}
				cut = v;
				cap *= 2;
			}
			cut[++n] = at;
			acc = 0;
		}
	}
	if (acc) {
		const struct mem_run *r = mem_run_at(m, nr - 1);

		cut[++n] = r->vaddr + r->len;
	}
	*ret_cut = cut;
	*ret_n = n;
	return 0;
}

#define WINDOW(threads) (2 * (threads) + 1)

struct pool {
	struct search_pats *p;
	const struct mem_space *m;
	const uint64_t *cut;
	size_t n_jobs;
	struct search_job *slot;	/* job k in slot[k % window] */
	bool *ready;
	size_t window;
	size_t next_claim, next_merge;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool cancel;
};

static void *worker(void *arg)
{
	struct pool *pl = arg;
	struct search_vs vs;

	if (search_vs_init(&vs, pl->p, pl->m, &pl->cancel) < 0)
		atomic_store(&pl->cancel, true);
	for (;;) {
		size_t k;

		pthread_mutex_lock(&pl->lock);
		while (!atomic_load(&pl->cancel) && pl->next_claim < pl->n_jobs &&
		       pl->next_claim >= pl->next_merge + pl->window)
			pthread_cond_wait(&pl->cond, &pl->lock);
		if (atomic_load(&pl->cancel) || pl->next_claim >= pl->n_jobs) {
			pthread_cond_broadcast(&pl->cond);
			pthread_mutex_unlock(&pl->lock);
			break;
		}
		k = pl->next_claim++;
		pthread_mutex_unlock(&pl->lock);
		search_vs_job(&vs, pl->cut[k], pl->cut[k + 1], &pl->slot[k % pl->window]);
		pthread_mutex_lock(&pl->lock);
		pl->ready[k % pl->window] = true;
		pthread_cond_broadcast(&pl->cond);
		pthread_mutex_unlock(&pl->lock);
	}
	search_vs_done(&vs);
	return NULL;
}

/* Merge job @j, then finish it on this thread when it stopped early. */
static int take_job(struct search_merge *g, struct search_vs *own, struct search_job *j, bool last)
{
	struct search_job rest = { 0 };
	uint64_t b = j->b;
	int rc;

	rc = search_merge_add(g, j, last && j->done == b);
	while (!rc && j->done < b) {
		search_vs_job(own, j == &rest ? rest.done : j->done, b, &rest);
		j = &rest;
		rc = search_merge_add(g, j, last && j->done == b);
	}
	search_job_done(&rest);
	return rc;
}

static int run_inline(struct search_merge *g, struct search_vs *own, const uint64_t *cut, size_t n_jobs)
{
	struct search_job j = { 0 };
	int rc = 0;

	for (size_t k = 0; k < n_jobs && !rc; k++) {
		search_vs_job(own, cut[k], cut[k + 1], &j);
		rc = take_job(g, own, &j, k + 1 == n_jobs);
	}
	search_job_done(&j);
	return rc;
}

static int run_pool(struct search_merge *g, struct search_vs *own, struct pool *pl, unsigned threads)
{
	pthread_t tid[SEARCH_THREADS_MAX];
	unsigned started = 0;
	int rc = 0;

	for (; started < threads; started++)
		if (pthread_create(&tid[started], NULL, worker, pl))
			break;
	if (!started)
		return run_inline(g, own, pl->cut, pl->n_jobs);
	for (size_t k = 0; k < pl->n_jobs && !rc; k++) {
		struct search_job *j = &pl->slot[k % pl->window];

		pthread_mutex_lock(&pl->lock);
		while (!pl->ready[k % pl->window] && !atomic_load(&pl->cancel))
			pthread_cond_wait(&pl->cond, &pl->lock);
		pthread_mutex_unlock(&pl->lock);
		if (!pl->ready[k % pl->window]) {
			rc = -ENOMEM;	/* a worker could not start */
			break;
		}
		rc = take_job(g, own, j, k + 1 == pl->n_jobs);
		pthread_mutex_lock(&pl->lock);
		pl->ready[k % pl->window] = false;
		pl->next_merge = k + 1;
		pthread_cond_broadcast(&pl->cond);
		pthread_mutex_unlock(&pl->lock);
	}
	pthread_mutex_lock(&pl->lock);
	atomic_store(&pl->cancel, true);
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return rc;
}

static int run(struct search_pats *p, const struct mem_space *m, struct search_merge *g, const uint64_t *cut,
	       size_t n_jobs)
{
	unsigned threads = (unsigned) CK_MIN((size_t) p->threads, n_jobs);
	struct search_vs own;
	struct pool pl = { .p = p, .m = m, .cut = cut, .n_jobs = n_jobs, .window = WINDOW(threads) };
	int rc;

	atomic_init(&pl.cancel, false);
	if (search_vs_init(&own, p, m, &pl.cancel) < 0) {
		search_vs_done(&own);
		return -ENOMEM;
	}
	if (threads < 2 || !p->db) {
		rc = run_inline(g, &own, cut, n_jobs);
		search_vs_done(&own);
		return rc;
	}
	pl.slot = calloc(pl.window, sizeof(*pl.slot));
	pl.ready = calloc(pl.window, sizeof(*pl.ready));
	if (!pl.slot || !pl.ready) {
		rc = -ENOMEM;
	} else {
		pthread_mutex_init(&pl.lock, NULL);
		pthread_cond_init(&pl.cond, NULL);
		rc = run_pool(g, &own, &pl, threads);
		pthread_cond_destroy(&pl.cond);
		pthread_mutex_destroy(&pl.lock);
	}
	for (size_t k = 0; pl.slot && k < pl.window; k++)
		search_job_done(&pl.slot[k]);
	free(pl.slot);
	free(pl.ready);
	search_vs_done(&own);
	return rc;
}

int search_space(struct search_pats *p, const struct mem_space *m, const struct search_cb *cb)
{
	_cleanup_free_ uint64_t *cut = NULL;
	struct search_merge *g = NULL;
	size_t n_jobs = 0;
	int rc;

	if (!mem_run_count(m) || !p->n)
		return 0;
	if ((rc = plan(p, m, &cut, &n_jobs)) < 0 || (rc = search_merge_new(p, m, cb, &g)) < 0)
		return rc;
	rc = run(p, m, g, cut, n_jobs);
	if (rc == 0)
		rc = search_merge_status(g);
	search_merge_free(g);
	return rc;
}
