/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP for the registry reader (arc-reg-priv.h): one libcurl handle per
 * registry, so that one connection is kept alive and reused (HTTP/2 over
 * TLS where the server offers it, else HTTP/1.1), its requests serialised
 * by a mutex. Credentials are read as the containers tools read them: the
 * first of $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json and
 * ~/.docker/config.json whose "auths" has the host gives its "auth" (the
 * base64 of user:password). A 401 is answered per its WWW-Authenticate:
 * Basic with those credentials, or Bearer with a token fetched from the
 * realm (with the credentials, if any), fetched again on the next 401.
 * Redirects (a 307 to blob storage) are followed here, without the
 * Authorization header. */
#include "arc-reg-priv.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

#define HTTP_REDIRECTS_MAX 5
#define HTTP_AUTH_FILE_MAX (1u << 20)
#define HTTP_TOKEN_MAX (64u << 10)
#define HTTP_ERRBODY_MAX 4096
#define HTTP_CONNECT_TIMEOUT 30

struct arc_http {
	CURL *curl;
	pthread_mutex_t lock;
	char *base;		/* "https://host[:port]" or "http://..." */
	char *host;
	char *repo;
	char *basic;		/* base64 user:password from an auth file, or NULL */
	char *token;		/* the Bearer token, or NULL */
	bool basic_on;		/* the registry asked for Basic: send it every time */
	bool tls_verify;
};

static uint64_t http_bytes, http_requests;

void arc_http_counts(uint64_t *ret_bytes, uint64_t *ret_requests)
{
	*ret_bytes = __atomic_load_n(&http_bytes, __ATOMIC_RELAXED);
	*ret_requests = __atomic_load_n(&http_requests, __ATOMIC_RELAXED);
}

const char *arc_http_reason(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "server error" : status >= 400 ? "client error" : "unexpected answer";
	}
}

/* The "auth" of @host in the auth file @path, or NULL. */
static char *auth_from(const char *path, const char *host)
{
	json_object *j = json_object_from_file(path), *auths, *e, *v;
	const char *keys[3];
	char https[300], http[300];
	char *found = NULL;

	if (!j)
		return NULL;
	snprintf(https, sizeof(https), "https://%s", host);
	snprintf(http, sizeof(http), "http://%s", host);
	keys[0] = host, keys[1] = https, keys[2] = http;
	if (json_object_object_get_ex(j, "auths", &auths) && json_object_is_type(auths, json_type_object))
		for (size_t i = 0; !found && i < ARRAY_SIZE(keys); i++)
			if (json_object_object_get_ex(auths, keys[i], &e) && json_object_object_get_ex(e, "auth", &v) &&
			    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
				found = strdup(json_object_get_string(v));
	json_object_put(j);
	return found;
}

/* The credentials for @host from the first auth file that has them. */
static char *auth_lookup(const char *host)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	char path[3][4096] = { "", "", "" };
	char *found = NULL;

	if (env && *env)
		snprintf(path[0], sizeof(path[0]), "%s", env);
	if (xdg && *xdg)
		snprintf(path[1], sizeof(path[1]), "%s/containers/auth.json", xdg);
	if (home && *home)
		snprintf(path[2], sizeof(path[2]), "%s/.docker/config.json", home);
	for (size_t i = 0; !found && i < ARRAY_SIZE(path); i++)
		if (path[i][0])
			found = auth_from(path[i], host);
	if (found)
		ck_log(CK_LOG_DEBUG, "registry: credentials for %s found", host);
	return found;
}

/* What a request collects while it runs. */
struct http_xfer {
	struct arc_http *h;
	struct arc_http_req *r;
	char location[2048];
	char challenge[1024];	/* WWW-Authenticate */
	struct ck_buf body;	/* a non-2xx or a token answer, up to a limit */
	size_t body_max;
	int sink_err;
	bool to_buf;		/* the body goes to @body whatever the status */
};

static void hdr_value(const char *line, size_t n, char *out, size_t size)
{
	const char *v = memchr(line, ':', n);
	size_t len;

	if (!v)
		return;
	for (v++; v < line + n && (*v == ' ' || *v == '\t'); v++)
		;
	len = (size_t) (line + n - v);
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	snprintf(out, size, "%.*s", (int) CK_MIN(len, size - 1), v);
}

static size_t http_header_cb(char *line, size_t size, size_t n, void *ctx)
{
	struct http_xfer *x = ctx;

	n *= size;
	if (n > 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new answer (after a 100 Continue): forget the last one's headers */
		x->location[0] = x->challenge[0] = x->r->type[0] = '\0';
	} else if (n > 9 && !strncasecmp(line, "location:", 9)) {
		hdr_value(line, n, x->location, sizeof(x->location));
	} else if (n > 17 && !strncasecmp(line, "www-authenticate:", 17)) {
		hdr_value(line, n, x->challenge, sizeof(x->challenge));
	} else if (n > 13 && !strncasecmp(line, "content-type:", 13)) {
		hdr_value(line, n, x->r->type, sizeof(x->r->type));
		x->r->type[strcspn(x->r->type, "; ")] = '\0';
	}
	return n;
}

static size_t http_write_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct http_xfer *x = ctx;
	long status = 0;

	n *= size;
	__atomic_add_fetch(&http_bytes, n, __ATOMIC_RELAXED);
	curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!x->to_buf && status >= 200 && status < 300 && x->r->sink) {
		x->sink_err = x->r->sink(x->r->ctx, p, n, status);
		return x->sink_err ? 0 : n;
	}
	if (x->body.len + n <= x->body_max)
		ck_buf_add(&x->body, p, n);
	return n;
}

/* One request to @url, with the Authorization header @auth (or none). */
static int http_perform(struct http_xfer *x, const char *url, const char *auth, char **ret_error)
{
	struct arc_http *h = x->h;
	struct curl_slist *hdrs = NULL;
	char line[HTTP_TOKEN_MAX / 8 + 64];
	CURLcode cc;

	x->body.len = 0;
	x->sink_err = 0;
	if (x->r->accept) {
		snprintf(line, sizeof(line), "Accept: %s", x->r->accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (x->r->range && x->r->len) {
		snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-%" PRIu64, x->r->off, x->r->off + x->r->len - 1);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (auth) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, x);
	__atomic_add_fetch(&http_requests, 1, __ATOMIC_RELAXED);
	if (x->r->range)
		ck_log(CK_LOG_DEBUG, "registry: GET %s (bytes %" PRIu64 "+%" PRIu64 ")", url, x->r->off, x->r->len);
	else
		ck_log(CK_LOG_DEBUG, "registry: GET %s", url);
	cc = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (x->sink_err)
		return ck_err(ret_error, x->sink_err, "%s: %s", url, strerror(-x->sink_err));
	if (cc != CURLE_OK)
		return ck_err(ret_error, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO, "%s: %s", url,
			      curl_easy_strerror(cc));
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &x->r->status);
	return 0;
}

/* The value of @key="..." (or @key=...) in the challenge @c, into @out. */
static bool challenge_param(const char *c, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);

	for (const char *p = c; (p = strcasestr(p, key)); p += kl) {
		const char *v = p + kl;
		size_t len;

		if ((p > c && p[-1] != ' ' && p[-1] != ',') || *v != '=')
			continue;
		v++;
		if (*v == '"') {
			v++;
			len = strcspn(v, "\"");
		} else {
			len = strcspn(v, ", ");
		}
		snprintf(out, size, "%.*s", (int) CK_MIN(len, size - 1), v);
		return true;
	}
	return false;
}

/* Fetch a Bearer token as the challenge @c says, into h->token. */
static int http_token(struct http_xfer *x, const char *c, char **ret_error)
{
	struct arc_http *h = x->h;
	struct arc_http_req tr = { .path = NULL };
	struct http_xfer tx = { .h = h, .r = &tr, .body_max = HTTP_TOKEN_MAX, .to_buf = true };
	char realm[1024] = "", service[512] = "", scope[512] = "", url[3072], basic[1024];
	char *es = NULL, *esc = NULL;
	json_object *j, *t;
	int rc;

	if (!challenge_param(c, "realm", realm, sizeof(realm)) || strncmp(realm, "http", 4))
		return ck_err(ret_error, -EACCES, "a Bearer challenge without a realm");
	if (!challenge_param(c, "scope", scope, sizeof(scope)))
		snprintf(scope, sizeof(scope), "repository:%s:pull", h->repo);
	challenge_param(c, "service", service, sizeof(service));
	es = curl_easy_escape(h->curl, service, 0);
	esc = curl_easy_escape(h->curl, scope, 0);
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", es ?: "",
		 esc ?: "");
	curl_free(es);
	curl_free(esc);
	snprintf(basic, sizeof(basic), "Basic %s", h->basic ?: "");
	rc = http_perform(&tx, url, h->basic ? basic : NULL, ret_error);
	if (rc == 0 && tr.status != 200)
		rc = ck_err(ret_error, -EACCES, "token server %s: HTTP %ld %s", realm, tr.status,
			    arc_http_reason(tr.status));
	if (rc == 0) {
		ck_buf_putc(&tx.body, '\0');
		j = tx.body.oom ? NULL : json_tokener_parse(tx.body.data);
		if ((json_object_object_get_ex(j, "token", &t) || json_object_object_get_ex(j, "access_token", &t)) &&
		    json_object_is_type(t, json_type_string) && json_object_get_string_len(t) < (int) (HTTP_TOKEN_MAX / 8)) {
			free(h->token);
			h->token = strdup(json_object_get_string(t));
			rc = h->token ? 0 : -ENOMEM;
		} else {
			rc = ck_err(ret_error, -EACCES, "token server %s: no token in its answer", realm);
		}
		json_object_put(j);
	}
	ck_buf_done(&tx.body);
	return rc;
}

/* The registry's first error message in @x->body ({"errors":[{"message"}]}). */
static void http_why(struct http_xfer *x)
{
	json_object *j, *errs, *m;

	x->r->why[0] = '\0';
	if (ck_buf_putc(&x->body, '\0') < 0)
		return;
	j = json_tokener_parse(x->body.data);
	if (json_object_object_get_ex(j, "errors", &errs) && json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(errs, 0), "message", &m) &&
	    json_object_is_type(m, json_type_string)) {
		char safe[160];

		snprintf(x->r->why, sizeof(x->r->why), "%s", arc_safe_name(json_object_get_string(m), safe, sizeof(safe)));
	}
	json_object_put(j);
}

int arc_http_get(struct arc_http *h, struct arc_http_req *r, char **ret_error)
{
	struct http_xfer x = { .h = h, .r = r, .body_max = HTTP_ERRBODY_MAX };
	char url[4096], auth[HTTP_TOKEN_MAX / 8 + 16];
	bool redirected = false, tried_auth = false;
	int rc = 0;

	snprintf(url, sizeof(url), "%s%s", h->base, r->path);
	pthread_mutex_lock(&h->lock);
	for (unsigned hops = 0; rc == 0; hops++) {
		const char *a = NULL;

		if (!redirected && h->token)
			snprintf(auth, sizeof(auth), "Bearer %s", h->token), a = auth;
		else if (!redirected && h->basic && h->basic_on)
			snprintf(auth, sizeof(auth), "Basic %s", h->basic), a = auth;
		rc = http_perform(&x, url, a, ret_error);
		if (rc < 0)
			break;
		if (r->status >= 300 && r->status < 400 && r->status != 304 && x.location[0]) {
			char *next = NULL;
			CURLU *u = curl_url();

			if (hops >= HTTP_REDIRECTS_MAX) {
				rc = ck_err(ret_error, -EIO, "%s: more than %d redirects", url, HTTP_REDIRECTS_MAX);
			} else if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
				   curl_url_set(u, CURLUPART_URL, x.location, 0) ||
				   curl_url_get(u, CURLUPART_URL, &next, 0)) {
				rc = ck_err(ret_error, -EIO, "%s: a redirect to a bad URL", url);
			} else {
				snprintf(url, sizeof(url), "%s", next);
				redirected = true;
			}
			curl_free(next);
			curl_url_cleanup(u);
			continue;
		}
		if (r->status == 401 && !redirected && !tried_auth) {
			tried_auth = true;
			if (!strncasecmp(x.challenge, "Bearer", 6))
				rc = http_token(&x, x.challenge, ret_error);
			else if (!h->basic || h->basic_on)
				break;
			h->basic_on = true;
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc == 0 && (r->status < 200 || r->status >= 300))
		http_why(&x);
	ck_buf_done(&x.body);
	return rc;
}

static int http_setup(struct arc_http *h)
{
	CURL *c = h->curl;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ckptfs/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L);
	/* a stalled transfer fails instead of hanging a read forever */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	return 0;
}

/* GET /v2/ over @scheme: 0 when a registry answered (200 or 401). */
static int http_probe(struct arc_http *h, const char *scheme, char **ret_error)
{
	struct arc_http_req r = { .path = "/v2/" };
	int rc;

	free(h->base);
	if (asprintf(&h->base, "%s://%s", scheme, h->host) < 0) {
		h->base = NULL;
		return -ENOMEM;
	}
	rc = arc_http_get(h, &r, ret_error);
	if (rc < 0)
		return rc;
	if (r.status == 200 || r.status == 401)
		return 0;
	return ck_err(ret_error, -EMEDIUMTYPE, "%s/v2/: HTTP %ld %s: not a registry", h->base, r.status,
		      arc_http_reason(r.status));
}

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int arc_http_new(const char *host, const char *repo, bool tls_verify, struct arc_http **ret, char **ret_error)
{
	struct arc_http *h;
	_cleanup_free_ char *tls_err = NULL;
	int rc;

	pthread_once(&http_once, http_global);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->tls_verify = tls_verify;
	h->host = strdup(host);
	h->repo = strdup(repo);
	h->curl = curl_easy_init();
	if (!h->host || !h->repo || !h->curl) {
		arc_http_free(h);
		return -ENOMEM;
	}
	h->basic = auth_lookup(host);
	http_setup(h);
	rc = http_probe(h, "https", tls_verify ? ret_error : &tls_err);
	if (rc == -EIO && !tls_verify) {
		ck_log(CK_LOG_DEBUG, "registry: %s, trying http", tls_err);
		rc = http_probe(h, "http", ret_error);
	} else if (rc == -EIO && tls_verify) {
		char *plain = ret_error ? *ret_error : NULL;

		if (ret_error)
			*ret_error = NULL;
		rc = ck_err(ret_error, rc, "%s (-o tls_verify=false for a registry without TLS)", plain ?: "");
		free(plain);
	}
	if (rc < 0) {
		arc_http_free(h);
		return rc;
	}
	*ret = h;
	return 0;
}

const char *arc_http_repo(const struct arc_http *h)
{
	return h->repo;
}

void arc_http_free(struct arc_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	pthread_mutex_destroy(&h->lock);
	free(h->base);
	free(h->host);
	free(h->repo);
	free(h->basic);
	free(h->token);
	free(h);
}
