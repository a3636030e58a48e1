/*
 * What the parts of the milter front end share: the live context (swapped on
 * SIGHUP, counted so that messages in flight finish on the one they began
 * with), the scan pool, quarantine writes and the log. Front-end only: it
 * uses the public API and nothing of src/lib.
 */
#ifndef VIGIL_MILTER_H
#define VIGIL_MILTER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* ---- the live context (pool.c) ---------------------------------------- */

/* A context and its settings, shared read-only by every thread that took a
 * reference. The last reference frees it. */
typedef struct milter_live {
	vigil_ctx *ctx;
	const vigil_milter_settings *set;
	unsigned generation; /* 1, 2, ...: which load it is, for the log */
	int refs;            /* under the pool's lock */
} milter_live;

/* Installs `ctx` as the context for new messages (taking it over); the
 * previous one goes when its last message is done. */
int milter_live_install(vigil_ctx *ctx);
/* A reference to the current context; never NULL once installed. */
milter_live *milter_live_get(void);
void milter_live_put(milter_live *lv);

/* ---- the scan pool (pool.c) ------------------------------------------- */

/* Finding ids listed in X-Vigil-Reasons and the log, at most. */
#define MILTER_REASONS_BYTES 512

/* One message handed to a scan thread. The submitter and the scan thread
 * each hold a reference: whichever lets go last frees the job and the
 * message bytes, so a submitter that stops waiting (time budget) leaves
 * the scan to finish on its own. */
typedef struct milter_job {
	/* in */
	char *data; /* the message, NUL-terminated; owned by the job */
	size_t len;
	char path[96]; /* "milter:QUEUEID": where the store says it was seen */
	milter_live *lv;
	/* out, valid once done */
	bool done;
	int rc; /* 0, or what vigil_scan() returned */
	char err[256];
	vigil_verdict verdict;
	int score;
	bool partial;
	char reasons[MILTER_REASONS_BYTES]; /* "id, id, ..." or "" */
	double scan_ms;
	/* internal */
	int refs;
	pthread_cond_t cv;
	struct milter_job *next;
} milter_job;

/* Starts `threads` scan threads (each with its own scanner). With a store
 * (may be NULL), every scanned message is recorded there too, after the
 * verdict has been handed back. Returns 0 or a negative errno. */
int milter_pool_start(unsigned threads, vigil_store *store);
/* Makes a job of `data` (taken over, also on failure); NULL when out of
 * memory. */
milter_job *milter_job_new(char *data, size_t len, const char *path, milter_live *lv);
/* Queues the job and waits for its verdict until `deadline_ms` (a
 * CLOCK_MONOTONIC time in ms). Returns true when done, false on time-out. */
bool milter_job_run(milter_job *job, double deadline_ms);
void milter_job_put(milter_job *job);
/* Scans the job on the calling thread (with a scanner of the thread's own)
 * and returns true; false when it must go through the pool instead (a
 * store is configured: recording stays off the reply's path). */
bool milter_job_scan_here(milter_job *job);
/* Stops the scan threads once the queue is empty. */
void milter_pool_stop(void);

/* ---- quarantine (quarantine.c) ---------------------------------------- */

/* Makes `dir` a Maildir (dir, cur, new, tmp; mode 0700), owned by uid/gid
 * when those are not -1. Returns 0 or a negative errno. */
int milter_quarantine_prepare(const char *dir, long uid, long gid);
/* Writes `head` then `data` to DIR/tmp, fsyncs, renames into DIR/new and
 * fsyncs DIR/new: once this returns 0 the copy survives a crash. The file
 * name (no folder) lands in `name`. Returns 0 or a negative errno, and then
 * nothing is left in new/. */
int milter_quarantine_write(const char *dir, const char *head, size_t head_len,
	const char *data, size_t len, char *name, size_t name_size);

/* ---- log (milter.c) --------------------------------------------------- */

enum { MILTER_LOG_INFO, MILTER_LOG_WARNING, MILTER_LOG_ERR };
void milter_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the session (session.c) ------------------------------------------ */

/* Registers the callbacks with libmilter. */
int milter_session_register(void);
/* Messages between their first callback and their verdict. */
unsigned milter_in_flight(void);
/* From now on, waits until no message that began before this call is in
 * flight, or `ms` have passed; true when none is. */
bool milter_wait_idle(unsigned ms);
/* Monotonic time in ms. */
double milter_now_ms(void);

#endif /* VIGIL_MILTER_H */
