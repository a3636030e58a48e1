/*
 * The libmilter callbacks: one message's envelope, headers and body gathered
 * (up to [milter] max_size), scanned by the pool at the end of the message,
 * and the configured action applied: headers, Subject prefix, quarantine
 * copy, reject, or the fallback. X-Vigil-* headers the message arrived with
 * are removed whatever happens. It does not scan (pool.c) or parse options.
 */
#include <errno.h>
#include <libmilter/mfapi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"

/* Distinct X-Vigil-* header names one message may carry for us to remove:
 * we add three; an attacker adding more than 32 is refused the fallback
 * way rather than delivered with a forged one left in. */
#define MAX_SPOOFED_NAMES 32

/* Messages up to this size are scanned on the connection's thread, larger
 * ones by the scan pool. 99.95% of the 7,919 messages of ../shared/corpus
 * are below it (median 3 KiB, p99 46 KiB) and scan in a few ms; above it
 * HTML pages of thousands of links take tens to hundreds of ms, where the
 * pool's answer at the time budget matters. */
#define MILTER_INLINE_MAX_BYTES (256u * 1024)

/* Messages between MAIL FROM and their answer, counted apart for those
 * that began before SIGTERM (the ones a stop waits for) and after. */
static atomic_uint in_flight, in_flight_late;
static atomic_bool draining;

double milter_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

unsigned milter_in_flight(void)
{
	return atomic_load(&in_flight);
}

bool milter_wait_idle(unsigned ms)
{
	atomic_store(&draining, true);
	double end = milter_now_ms() + ms;
	while (atomic_load(&in_flight) > 0) {
		if (milter_now_ms() >= end)
			return false;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

typedef struct spoofed {
	char name[80];
	unsigned count;
} spoofed;

/* One milter connection (the MTA may send several messages on it). */
typedef struct conn {
	/* the message in progress */
	bool in_msg;
	milter_live *lv; /* the settings it is judged by: the ones live at MAIL FROM */
	double t0;       /* MAIL FROM received */
	double cb_ms;    /* time spent in the callbacks so far */
	char *buf;       /* the message as a file holds it: LF line ends */
	size_t len, cap;
	bool over, nomem, cr;
	bool late; /* began after SIGTERM */
	size_t seen; /* bytes the MTA sent, counted also past the cap */
	char from[256];
	char rcpts[512];
	unsigned n_rcpts;
	char *subject; /* the first Subject's value */
	spoofed spoof[MAX_SPOOFED_NAMES];
	unsigned n_spoof;
	bool spoof_over;
} conn;

/* Copies `s` into out as printable one-line text (for logs and headers). */
static void clean_copy(char *out, size_t size, const char *s)
{
	size_t k = 0;
	for (; s && *s && k + 1 < size; s++)
		out[k++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	out[k] = '\0';
}

static void message_end(conn *c)
{
	if (!c->in_msg)
		return;
	free(c->buf);
	free(c->subject);
	milter_live_put(c->lv);
	bool late = c->late;
	memset(c, 0, sizeof(*c));
	atomic_fetch_sub(late ? &in_flight_late : &in_flight, 1);
}

static void message_begin(conn *c)
{
	message_end(c);
	c->in_msg = true;
	c->t0 = milter_now_ms();
	c->lv = milter_live_get();
	/* Not atomic with the flag's test: a message that begins the instant
	 * SIGTERM arrives may be counted either way. Counted late, it is cut
	 * at exit and the MTA's milter_default_action takes it: not lost. */
	c->late = atomic_load(&draining);
	atomic_fetch_add(c->late ? &in_flight_late : &in_flight, 1);
}

/* Room for `add` more bytes and the NUL. False, with the reason noted,
 * when the message goes past max_size (its bytes are then let go: it gets
 * the fallback) or memory runs out. */
static bool reserve(conn *c, size_t add)
{
	c->seen += add;
	if (c->over || c->nomem)
		return false;
	size_t max = c->lv->set->max_message_bytes;
	if (c->seen > max) {
		c->over = true;
		free(c->buf);
		c->buf = NULL;
		c->len = c->cap = 0;
		return false;
	}
	size_t need = c->len + add + 1;
	if (need <= c->cap)
		return true;
	size_t cap = c->cap ? c->cap : 16384;
	while (cap < need)
		cap *= 2;
	if (cap > max + 2)
		cap = max + 2;
	char *b = realloc(c->buf, cap);
	if (!b) {
		c->nomem = true;
		return false;
	}
	c->buf = b;
	c->cap = cap;
	return true;
}

/* Appends bytes with CRLF made LF (the MTA sends SMTP's CRLF; a Maildir
 * file and vigil scan use LF). A CR at the end of one chunk waits for the
 * next. Room reserved by the caller. */
static void put_lf(conn *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (c->cr) {
			c->cr = false;
			if (ch != '\n')
				c->buf[c->len++] = '\r';
		}
		if (ch == '\r')
			c->cr = true;
		else
			c->buf[c->len++] = ch;
	}
}

static conn *get_conn(SMFICTX *ctx)
{
	conn *c = smfi_getpriv(ctx);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (c)
			smfi_setpriv(ctx, c);
	}
	return c;
}

/* ---- callbacks ------------------------------------------------------- */

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
	unsigned long *pf2, unsigned long *pf3)
{
	conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	/* Every step sent, every step answered. Skipping steps (SMFIP_NO*) or
	 * answers (SMFIP_NR_*) looks cheaper but costs more behind Postfix:
	 * it leaves a small packet of Postfix's unanswered, so its next one
	 * waits for our delayed ACK (Nagle): 40-90 ms per message measured,
	 * against 0.6 ms for the replies. */
	*pf1 = 0;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat envfrom_step(SMFICTX *ctx, char **argv)
{
	conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	message_begin(c);
	clean_copy(c->from, sizeof(c->from), argv && argv[0] ? argv[0] : "<>");
	return SMFIS_CONTINUE;
}

static sfsistat envrcpt_step(SMFICTX *ctx, char **argv)
{
	conn *c = get_conn(ctx);
	if (!c || !c->in_msg)
		return SMFIS_CONTINUE;
	char r[256];
	clean_copy(r, sizeof(r), argv && argv[0] ? argv[0] : "<>");
	size_t len = strlen(c->rcpts);
	/* The log keeps the first recipients and the count: a list of 1,000
	 * addresses is not a log line. */
	if (len + strlen(r) + 2 < sizeof(c->rcpts) - 8)
		snprintf(c->rcpts + len, sizeof(c->rcpts) - len, "%s%s", len ? "," : "", r);
	else if (!strstr(c->rcpts, ",..."))
		snprintf(c->rcpts + len, sizeof(c->rcpts) - len, ",...");
	c->n_rcpts++;
	return SMFIS_CONTINUE;
}

static void note_spoofed(conn *c, const char *name)
{
	for (unsigned i = 0; i < c->n_spoof; i++)
		if (strcasecmp(c->spoof[i].name, name) == 0) {
			c->spoof[i].count++;
			return;
		}
	if (c->n_spoof == MAX_SPOOFED_NAMES || strlen(name) >= sizeof(c->spoof[0].name)) {
		c->spoof_over = true;
		return;
	}
	snprintf(c->spoof[c->n_spoof].name, sizeof(c->spoof[0].name), "%s", name);
	c->spoof[c->n_spoof++].count = 1;
}

static sfsistat header_step(SMFICTX *ctx, char *name, char *value)
{
	conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (!c->in_msg)
		message_begin(c); /* an MTA that sent no MAIL FROM: judge it all the same */
	if (!name)
		name = "";
	if (!value)
		value = "";
	/* Our own headers are what the message says about itself: never
	 * trusted, never scanned, removed at the end. */
	if (strncasecmp(name, "X-Vigil-", 8) == 0) {
		note_spoofed(c, name);
		return SMFIS_CONTINUE;
	}
	if (strcasecmp(name, "Subject") == 0 && !c->subject)
		c->subject = strdup(value);
	size_t nl = strlen(name), vl = strlen(value);
	if (reserve(c, nl + vl + 3)) {
		memcpy(c->buf + c->len, name, nl);
		c->len += nl;
		c->buf[c->len++] = ':';
		c->buf[c->len++] = ' ';
		c->cr = false;
		put_lf(c, value, vl);
		c->cr = false;
		c->buf[c->len++] = '\n';
	}
	return SMFIS_CONTINUE;
}

static sfsistat eoh_step(SMFICTX *ctx)
{
	conn *c = get_conn(ctx);
	if (c && c->in_msg && reserve(c, 1))
		c->buf[c->len++] = '\n';
	return SMFIS_CONTINUE;
}

static sfsistat body_step(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	conn *c = get_conn(ctx);
	if (c && c->in_msg && reserve(c, len + 1))
		put_lf(c, (const char *)chunk, len);
	return SMFIS_CONTINUE;
}

/* The callbacks before the end of the message, timed: the MTA waits for
 * each answer, so their sum is latency the milter adds (the log's cb_ms). */
static void add_cb_time(SMFICTX *ctx, double t0)
{
	conn *c = smfi_getpriv(ctx);
	if (c && c->in_msg)
		c->cb_ms += milter_now_ms() - t0;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	double t0 = milter_now_ms();
	sfsistat r = envfrom_step(ctx, argv);
	add_cb_time(ctx, t0);
	return r;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	double t0 = milter_now_ms();
	sfsistat r = envrcpt_step(ctx, argv);
	add_cb_time(ctx, t0);
	return r;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	double t0 = milter_now_ms();
	sfsistat r = header_step(ctx, name, value);
	add_cb_time(ctx, t0);
	return r;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	double t0 = milter_now_ms();
	sfsistat r = eoh_step(ctx);
	add_cb_time(ctx, t0);
	return r;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	double t0 = milter_now_ms();
	sfsistat r = body_step(ctx, chunk, len);
	add_cb_time(ctx, t0);
	return r;
}

/* ---- the end of a message -------------------------------------------- */

static const char *action_name(vigil_milter_action a)
{
	switch (a) {
	case VIGIL_MILTER_ACCEPT: return "accept";
	case VIGIL_MILTER_TAG: return "tag";
	case VIGIL_MILTER_QUARANTINE: return "quarantine";
	case VIGIL_MILTER_REJECT: return "reject";
	}
	return "?";
}

/* Adds X-Vigil-Verdict, -Score and -Reasons at the top. */
static void add_headers(SMFICTX *ctx, const char *verdict, int score, const char *reasons)
{
	char s[32];
	/* Inserted at index 0 in reverse, so they read Verdict, Score, Reasons. */
	if (reasons && *reasons)
		smfi_insheader(ctx, 0, "X-Vigil-Reasons", (char *)reasons);
	if (score >= 0) {
		snprintf(s, sizeof(s), "%d", score);
		smfi_insheader(ctx, 0, "X-Vigil-Score", s);
	}
	smfi_insheader(ctx, 0, "X-Vigil-Verdict", (char *)verdict);
}

static void prefix_subject(SMFICTX *ctx, const conn *c, const char *prefix)
{
	if (!*prefix)
		return;
	if (!c->subject) {
		smfi_addheader(ctx, "Subject", (char *)prefix);
		return;
	}
	size_t pl = strlen(prefix);
	if (strncmp(c->subject, prefix, pl) == 0)
		return; /* a reply to a tagged message: once is enough */
	size_t n = pl + 1 + strlen(c->subject) + 1;
	char *v = malloc(n);
	if (!v)
		return;
	snprintf(v, n, "%s %s", prefix, c->subject);
	smfi_chgheader(ctx, "Subject", 1, v);
	free(v);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	conn *c = get_conn(ctx);
	if (!c)
		return SMFIS_TEMPFAIL;
	if (!c->in_msg)
		message_begin(c); /* an end of message with nothing before it */
	double t_eom = milter_now_ms();
	const vigil_milter_settings *set = c->lv->set;
	char qid[64];
	clean_copy(qid, sizeof(qid), smfi_getsymval(ctx, "i"));
	if (!*qid)
		snprintf(qid, sizeof(qid), "-");
	if (c->cr && c->buf && !c->over && !c->nomem)
		c->buf[c->len++] = '\r'; /* reserve() kept room for it */
	c->cr = false;

	/* Forged X-Vigil-* headers go first, whatever the outcome: a message
	 * delivered by the fallback must not carry an attacker's verdict.
	 * From the last occurrence down, as indices shift when one goes. */
	for (unsigned i = 0; i < c->n_spoof; i++)
		for (unsigned k = c->spoof[i].count; k >= 1; k--)
			smfi_chgheader(ctx, c->spoof[i].name, (int)k, NULL);

	char why[320] = "";
	milter_job *job = NULL;
	if (c->over)
		snprintf(why, sizeof(why), "larger than max_size (%zu bytes)",
			set->max_message_bytes);
	else if (c->nomem)
		snprintf(why, sizeof(why), "out of memory");
	else if (c->spoof_over)
		snprintf(why, sizeof(why), "more than %d X-Vigil-* header names",
			MAX_SPOOFED_NAMES);
	else {
		if (!c->buf && reserve(c, 0) == false)
			snprintf(why, sizeof(why), "out of memory");
		if (!*why) {
			c->buf[c->len] = '\0';
			char path[96];
			snprintf(path, sizeof(path), "milter:%s", qid);
			job = milter_job_new(c->buf, c->len, path, c->lv);
			c->buf = NULL; /* the job's now */
			c->len = c->cap = 0;
			/* Small messages are scanned here: handing them to a scan
			 * thread and back costs two wake-ups, which is most of the
			 * latency the milter adds on a busy machine. Their scan is
			 * bounded by the parser's limits; a budget overrun is seen
			 * when it ends. Larger ones go to the pool, which answers
			 * at the budget whatever the scan is doing. */
			bool here = job && job->len <= MILTER_INLINE_MAX_BYTES &&
				milter_job_scan_here(job);
			if (!job)
				snprintf(why, sizeof(why), "out of memory");
			else if (!here && !milter_job_run(job, t_eom + set->time_budget_ms))
				snprintf(why, sizeof(why), "time budget of %u ms exceeded",
					set->time_budget_ms);
			else if (here && job->scan_ms > set->time_budget_ms)
				snprintf(why, sizeof(why), "time budget of %u ms exceeded (%.0f ms)",
					set->time_budget_ms, job->scan_ms);
			else if (job->rc != 0)
				snprintf(why, sizeof(why), "scan failed: %s", job->err);
		}
	}

	sfsistat rc = SMFIS_CONTINUE;
	const char *verdict = "unscanned", *action;
	char qname[256] = "";
	int score = -1;
	const char *reasons = "";
	if (!*why) {
		verdict = vigil_verdict_name(job->verdict);
		score = job->score;
		reasons = job->reasons;
		vigil_milter_action a = set->action[job->verdict];
		action = action_name(a);
		if (a == VIGIL_MILTER_QUARANTINE) {
			/* The copy carries the envelope and the verdict as headers,
			 * so that it can be judged and released on its own. */
			char head[2048];
			int hl = snprintf(head, sizeof(head),
				"Return-Path: %s\nX-Vigil-Envelope-To: %s\nX-Vigil-Queue-Id: %s\n"
				"X-Vigil-Verdict: %s\nX-Vigil-Score: %d\n%s%s%s",
				c->from, c->rcpts, qid, verdict, score,
				*reasons ? "X-Vigil-Reasons: " : "", reasons, *reasons ? "\n" : "");
			if (hl < 0 || (size_t)hl >= sizeof(head))
				hl = (int)strlen(head);
			int e = milter_quarantine_write(set->quarantine_dir, head, (size_t)hl,
				job->data, job->len, qname, sizeof(qname));
			if (e != 0)
				snprintf(why, sizeof(why), "quarantine %s: %s", set->quarantine_dir,
					strerror(-e));
		}
		if (!*why) {
			switch (a) {
			case VIGIL_MILTER_REJECT: {
				char text[256];
				snprintf(text, sizeof(text), "%s (%s)", set->reject_reply, verdict);
				smfi_setreply(ctx, "550", "5.7.1", text);
				rc = SMFIS_REJECT;
				break;
			}
			case VIGIL_MILTER_QUARANTINE:
				if (set->quarantine_hold) {
					char r[64];
					snprintf(r, sizeof(r), "vigil: %s", verdict);
					add_headers(ctx, verdict, score, reasons);
					smfi_quarantine(ctx, r);
					rc = SMFIS_ACCEPT;
				} else {
					rc = SMFIS_DISCARD;
				}
				break;
			case VIGIL_MILTER_TAG:
				add_headers(ctx, verdict, score, reasons);
				prefix_subject(ctx, c, set->subject_prefix);
				rc = SMFIS_ACCEPT;
				break;
			case VIGIL_MILTER_ACCEPT:
				add_headers(ctx, verdict, score, reasons);
				rc = SMFIS_ACCEPT;
				break;
			}
		}
	}
	if (*why) {
		/* The fallback: the MTA keeps the message (tempfail: the sender
		 * retries; accept: delivered unscanned, and says so). */
		verdict = "unscanned";
		if (set->fallback_accept) {
			action = "fallback-accept";
			add_headers(ctx, "unscanned", -1, NULL);
			rc = SMFIS_ACCEPT;
		} else {
			action = "fallback-tempfail";
			smfi_setreply(ctx, "451", "4.7.1", "Message not checked, try again later");
			rc = SMFIS_TEMPFAIL;
		}
	}
	double t_end = milter_now_ms();
	milter_log(*why ? MILTER_LOG_WARNING : MILTER_LOG_INFO,
		"qid=%s from=%s rcpt=%s nrcpt=%u verdict=%s score=%d action=%s reasons=\"%s\" "
		"size=%zu scan_ms=%.3f eom_ms=%.3f cb_ms=%.3f msg_ms=%.3f%s%s%s%s%s",
		qid, c->from, c->rcpts, c->n_rcpts, verdict, score < 0 ? 0 : score, action, reasons,
		c->seen, job && job->done ? job->scan_ms : 0.0, t_end - t_eom,
		c->cb_ms + (t_end - t_eom), t_end - c->t0,
		job && job->done && job->partial ? " partial=yes" : "", *qname ? " file=" : "",
		qname, *why ? " why=" : "", why);
	milter_job_put(job);
	message_end(c);
	return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	conn *c = smfi_getpriv(ctx);
	if (c)
		message_end(c);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	conn *c = smfi_getpriv(ctx);
	if (c) {
		message_end(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int milter_session_register(void)
{
	static struct smfiDesc desc = {
		.xxfi_name = "vigil",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
		.xxfi_envfrom = cb_envfrom,
		.xxfi_envrcpt = cb_envrcpt,
		.xxfi_header = cb_header,
		.xxfi_eoh = cb_eoh,
		.xxfi_body = cb_body,
		.xxfi_eom = cb_eom,
		.xxfi_abort = cb_abort,
		.xxfi_close = cb_close,
		.xxfi_negotiate = cb_negotiate,
	};
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
