/*
 * The milter's shared state: the live context with its reference count (a
 * reload swaps it; messages already in flight keep the one they began with),
 * and the scan threads, each with its own scanner, fed from one queue. It
 * does not decide what to do with a verdict (session.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milter.h"

/* One lock for the live pointer, reference counts, the queue and job
 * states: each is held for a few instructions, and one lock has no order
 * to get wrong. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static milter_live *live;
static unsigned generation;
static milter_job *q_head, *q_tail;
static bool stopping;
static pthread_t *threads;
static unsigned n_threads;
static vigil_store *store;
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

static void live_free(milter_live *lv)
{
	vigil_ctx_free(lv->ctx);
	free(lv);
}

int milter_live_install(vigil_ctx *ctx)
{
	milter_live *lv = calloc(1, sizeof(*lv));
	if (!lv) {
		vigil_ctx_free(ctx);
		return VIGIL_ENOMEM;
	}
	lv->ctx = ctx;
	lv->set = vigil_ctx_milter_settings(ctx);
	lv->refs = 1; /* the installed one holds itself */
	pthread_mutex_lock(&mu);
	lv->generation = ++generation;
	milter_live *old = live;
	live = lv;
	bool last = old && --old->refs == 0;
	pthread_cond_broadcast(&queue_cv); /* idle scan threads get ready for it */
	pthread_mutex_unlock(&mu);
	if (last)
		live_free(old);
	return 0;
}

milter_live *milter_live_get(void)
{
	pthread_mutex_lock(&mu);
	milter_live *lv = live;
	if (lv)
		lv->refs++;
	pthread_mutex_unlock(&mu);
	return lv;
}

void milter_live_put(milter_live *lv)
{
	if (!lv)
		return;
	pthread_mutex_lock(&mu);
	bool last = --lv->refs == 0;
	pthread_mutex_unlock(&mu);
	if (last)
		live_free(lv);
}

/* ---- jobs ------------------------------------------------------------- */

milter_job *milter_job_new(char *data, size_t len, const char *path, milter_live *lv)
{
	milter_job *j = calloc(1, sizeof(*j));
	/* Deadlines on the monotonic clock: a clock step (NTP) must not cut a
	 * scan short or stretch the budget. */
	pthread_condattr_t ca;
	bool ok = j && pthread_condattr_init(&ca) == 0;
	if (ok) {
		ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
			pthread_cond_init(&j->cv, &ca) == 0;
		pthread_condattr_destroy(&ca);
	}
	if (!ok) {
		free(j);
		free(data);
		return NULL;
	}
	j->data = data;
	j->len = len;
	snprintf(j->path, sizeof(j->path), "%s", path);
	pthread_mutex_lock(&mu);
	lv->refs++;
	pthread_mutex_unlock(&mu);
	j->lv = lv;
	j->refs = 1;
	return j;
}

/* Drops one reference; the caller holds `mu`. Returns the job when it is
 * to be freed (outside the lock). */
static milter_job *job_unref_locked(milter_job *j)
{
	return --j->refs == 0 ? j : NULL;
}

static void job_free(milter_job *j)
{
	if (!j)
		return;
	milter_live_put(j->lv);
	pthread_cond_destroy(&j->cv);
	free(j->data);
	free(j);
}

void milter_job_put(milter_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&mu);
	milter_job *f = job_unref_locked(j);
	pthread_mutex_unlock(&mu);
	job_free(f);
}

bool milter_job_run(milter_job *j, double deadline_ms)
{
	pthread_mutex_lock(&mu);
	j->refs++; /* the scan thread's */
	j->next = NULL;
	if (q_tail)
		q_tail->next = j;
	else
		q_head = j;
	q_tail = j;
	pthread_cond_signal(&queue_cv);
	while (!j->done) {
		if (deadline_ms <= milter_now_ms())
			break;
		struct timespec ts;
		ts.tv_sec = (time_t)(deadline_ms / 1000);
		ts.tv_nsec = (long)((deadline_ms - (double)ts.tv_sec * 1000) * 1e6);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		int e = pthread_cond_timedwait(&j->cv, &mu, &ts);
		if (e != 0 && e != ETIMEDOUT && e != EINTR)
			break;
	}
	bool done = j->done;
	pthread_mutex_unlock(&mu);
	return done;
}

/* ---- scan threads ----------------------------------------------------- */

/* "id, id, ..." of the message's findings, each id once, cut at a finding
 * boundary with ", ..." when it does not fit. Ids come from detectors and
 * YARA rule names; anything but printable ASCII is dropped all the same,
 * since the string ends up in a header and a log line. */
static void reasons_of(const vigil_message *msg, char *out, size_t size)
{
	size_t n = vigil_message_finding_count(msg), len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		vigil_finding_info f = vigil_message_finding(msg, i);
		if (!f.id || !*f.id)
			continue;
		char id[128];
		size_t k = 0;
		for (const char *p = f.id; *p && k + 1 < sizeof(id); p++)
			if (*p > 0x20 && *p < 0x7f && *p != ',')
				id[k++] = *p;
		id[k] = '\0';
		/* Already listed? The list is short; a substring test with the
		 * separators is enough. */
		bool seen = false;
		for (const char *p = out; (p = strstr(p, id)) != NULL; p += k)
			if ((p == out || p[-1] == ' ') && (p[k] == ',' || p[k] == '\0')) {
				seen = true;
				break;
			}
		if (seen || k == 0)
			continue;
		size_t need = (len ? 2 : 0) + k;
		if (len + need + 5 >= size) {
			snprintf(out + len, size - len, "%s...", len ? ", " : "");
			return;
		}
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", id);
	}
}

/* Makes *sc a scanner of lv's context, unless it is one already. A
 * scanner holds a reference to its context: it may not outlive it. */
static int use_ctx(vigil_scanner **sc, milter_live **sc_lv, milter_live *lv)
{
	if (*sc && *sc_lv == lv)
		return 0;
	vigil_scanner_free(*sc);
	*sc = NULL;
	milter_live_put(*sc_lv);
	*sc_lv = NULL;
	int rc = vigil_scanner_new(sc, lv->ctx);
	if (rc != 0) {
		vigil_scanner_free(*sc);
		*sc = NULL;
		return rc;
	}
	pthread_mutex_lock(&mu);
	lv->refs++;
	pthread_mutex_unlock(&mu);
	*sc_lv = lv;
	return 0;
}

/* The first scan of a thread pays for what the libraries set up lazily
 * (charset tables, MIME type data, the first arena): about 25 ms here.
 * Each scan thread pays it on a message of its own at start and after a
 * reload, instead of on the first real message. */
static void warm_up(vigil_scanner *sc)
{
	static const char msg[] =
		"From: Warm-up <warm@up.invalid>\nTo: x@y.invalid\nSubject: =?UTF-8?Q?w=C3=A4rm?=\n"
		"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
		"<html><body><a href=\"https://example.invalid/x?u=eEB5LmludmFsaWQ=\">w</a>"
		"<img src=\"https://t.example.invalid/o.gif\" width=\"1\" height=\"1\"></body></html>\n";
	vigil_raw_message raw = {.data = msg, .len = sizeof(msg) - 1, .path = "warm-up",
		.offset = -1};
	vigil_message *m = NULL;
	if (vigil_scan(&m, sc, &raw) == 0)
		vigil_message_free(m);
}

/* What one scan gives, gathered outside the lock. */
struct scan_result {
	int rc;
	char err[256];
	char reasons[MILTER_REASONS_BYTES];
	vigil_verdict verdict;
	int score;
	bool partial;
	double ms;
};

/* Scans j's message with *sc (made for j's context when it is not).
 * *msg is the scanned message (NULL on failure), for the store. */
static void scan_job(const milter_job *j, vigil_scanner **sc, milter_live **sc_lv,
	vigil_message **msg, struct scan_result *r)
{
	memset(r, 0, sizeof(*r));
	r->verdict = VIGIL_VERDICT_CLEAN;
	*msg = NULL;
	double t0 = milter_now_ms();
	r->rc = use_ctx(sc, sc_lv, j->lv);
	if (r->rc == 0) {
		vigil_raw_message raw = {.data = j->data, .len = j->len, .path = j->path,
			.offset = -1};
		r->rc = vigil_scan(msg, *sc, &raw);
		if (r->rc == 0) {
			r->verdict = vigil_message_verdict(*msg);
			r->score = vigil_message_score(*msg);
			r->partial = vigil_message_partial(*msg);
			reasons_of(*msg, r->reasons, sizeof(r->reasons));
		} else {
			*msg = NULL;
			snprintf(r->err, sizeof(r->err), "%s", *vigil_scanner_error(*sc)
					? vigil_scanner_error(*sc) : vigil_strerror(r->rc));
		}
	} else {
		snprintf(r->err, sizeof(r->err), "no scanner: %s", vigil_strerror(r->rc));
	}
	r->ms = milter_now_ms() - t0;
}

static void result_store(milter_job *j, const struct scan_result *r)
{
	j->rc = r->rc;
	memcpy(j->err, r->err, sizeof(j->err));
	memcpy(j->reasons, r->reasons, sizeof(j->reasons));
	j->verdict = r->verdict;
	j->score = r->score;
	j->partial = r->partial;
	j->scan_ms = r->ms;
	j->done = true;
}

static void *scan_thread(void *unused)
{
	vigil_scanner *sc = NULL;
	milter_live *sc_lv = NULL; /* the context sc was made for (a reference) */
	unsigned seen_gen = 0;     /* the last load this thread warmed up for */
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!q_head && !stopping && seen_gen == generation)
			pthread_cond_wait(&queue_cv, &mu);
		milter_job *j = q_head;
		if (!j && !stopping) {
			/* A new load and nothing to do: get ready for it now. */
			milter_live *cur = live;
			cur->refs++;
			seen_gen = cur->generation;
			pthread_mutex_unlock(&mu);
			if (use_ctx(&sc, &sc_lv, cur) == 0)
				warm_up(sc);
			milter_live_put(cur);
			continue;
		}
		if (!j) {
			pthread_mutex_unlock(&mu);
			break;
		}
		q_head = j->next;
		if (!q_head)
			q_tail = NULL;
		pthread_mutex_unlock(&mu);

		vigil_message *msg = NULL;
		struct scan_result r;
		scan_job(j, &sc, &sc_lv, &msg, &r);
		pthread_mutex_lock(&mu);
		result_store(j, &r);
		pthread_cond_signal(&j->cv);
		milter_job *f = job_unref_locked(j);
		pthread_mutex_unlock(&mu);
		job_free(f);

		/* The store is off the reply's path: the MTA already has its
		 * answer (or is about to) when this runs. */
		if (msg && store) {
			pthread_mutex_lock(&store_mu);
			if (vigil_store_record_message(store, msg, 0) != 0)
				milter_log(MILTER_LOG_WARNING, "store: %s", vigil_store_error(store));
			pthread_mutex_unlock(&store_mu);
		}
		vigil_message_free(msg);
	}
	vigil_scanner_free(sc);
	milter_live_put(sc_lv);
	return NULL;
}

/* ---- scans on the connection's own thread ---------------------------- */

/* The scanner of a libmilter thread, made on its first small message and
 * freed when the thread ends. */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

struct tls_scanner {
	vigil_scanner *sc;
	milter_live *lv;
};

static void tls_free(void *p)
{
	struct tls_scanner *t = p;
	vigil_scanner_free(t->sc);
	milter_live_put(t->lv);
	free(t);
}

static void tls_init(void)
{
	(void)pthread_key_create(&tls_key, tls_free);
}

bool milter_job_scan_here(milter_job *j)
{
	if (store)
		return false; /* recording goes through the pool, off the reply's path */
	pthread_once(&tls_once, tls_init);
	struct tls_scanner *t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || pthread_setspecific(tls_key, t) != 0) {
			free(t);
			return false;
		}
	}
	if (t->lv != j->lv) {
		/* A new thread, or a reload: its first scan sets up what the
		 * libraries make lazily, as the pool's warm-up does. */
		if (use_ctx(&t->sc, &t->lv, j->lv) == 0)
			warm_up(t->sc);
	}
	vigil_message *msg = NULL;
	struct scan_result r;
	scan_job(j, &t->sc, &t->lv, &msg, &r);
	vigil_message_free(msg);
	pthread_mutex_lock(&mu);
	result_store(j, &r);
	pthread_mutex_unlock(&mu);
	return true;
}

int milter_pool_start(unsigned n, vigil_store *st)
{
	store = st;
	threads = calloc(n, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int e = pthread_create(&threads[i], NULL, scan_thread, NULL);
		if (e != 0) {
			milter_pool_stop();
			return -e;
		}
		n_threads++;
	}
	return 0;
}

void milter_pool_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&queue_cv);
	pthread_mutex_unlock(&mu);
	for (unsigned i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	n_threads = 0;
}
