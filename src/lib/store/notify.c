/*
 * vigil_store_notify: who of a campaign's targets is told, recorded in the
 * notifications table so that nobody is told twice. Each send is bracketed
 * by committed states ('sending' before, 'sent' or 'failed' after), so a
 * crash in between is known and never silently repeated. The words are
 * notify/message.c's, the SMTP notify/smtp.c's.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "report/campaign_report.h"
#include "store/store_internal.h"

/* The state names stored in notifications.state (docs/store.md). */
#define STATE_SENDING "sending"
#define STATE_SENT "sent"
#define STATE_FAILED "failed"

static int prepare(vigil_store *st, sqlite3_stmt **out, const char *sql)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? 0 : store__db_fail(st, rc, "preparing a notification query");
}

/* The recorded state of (campaign, recipient) into state[16]; "" when none.
 * Returns 0 or a database error. */
static int state_of(vigil_store *st, int64_t campaign, const char *rcpt, char state[16])
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT state FROM notifications WHERE campaign = ?1 AND recipient = ?2");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, campaign);
	sqlite3_bind_text(s, 2, rcpt, -1, SQLITE_STATIC);
	int step = sqlite3_step(s);
	state[0] = '\0';
	if (step == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(state, 16, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return step == SQLITE_ROW || step == SQLITE_DONE
		       ? 0
		       : store__db_fail(st, step, "reading a notification");
}

/* Writes (campaign, recipient) with `state` inside the caller's
 * transaction. Returns 0 or a database error. */
static int upsert(vigil_store *st, int64_t campaign, const char *rcpt, const char *state,
	const char *message_id, const char *detail)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"INSERT INTO notifications (campaign, recipient, state, time, message_id, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (campaign, recipient) DO UPDATE"
		" SET state = excluded.state, time = excluded.time,"
		" message_id = excluded.message_id, detail = excluded.detail");
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, campaign, &b);
	store__bind_text(s, 2, rcpt, &b);
	store__bind_text(s, 3, state, &b);
	store__bind_int64(s, 4, store__now(), &b);
	store__bind_text(s, 5, message_id, &b);
	store__bind_text(s, 6, detail, &b);
	rc = b != SQLITE_OK ? store__db_fail(st, b, "recording a notification")
			    : store__run(st, s, "recording a notification");
	sqlite3_finalize(s);
	return rc;
}

/* The same, committed on return. */
static int record(vigil_store *st, int64_t campaign, const char *rcpt, const char *state,
	const char *message_id, const char *detail)
{
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	return store__tx_leave(st, upsert(st, campaign, rcpt, state, message_id, detail));
}

/* Takes the target for this run: in one transaction, reads its state and,
 * when it may be sent to (none, 'failed', or 'sending' with `resend`),
 * records 'sending'. Two runs at once cannot both take it. *taken tells;
 * `state` gets the state found. Returns 0 or a database error. */
static int take(vigil_store *st, int64_t campaign, const char *rcpt, bool resend,
	const char *message_id, bool *taken, char state[16])
{
	*taken = false;
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	rc = state_of(st, campaign, rcpt, state);
	if (!rc && (!state[0] || strcmp(state, STATE_FAILED) == 0 ||
			   (resend && strcmp(state, STATE_SENDING) == 0))) {
		rc = upsert(st, campaign, rcpt, STATE_SENDING, message_id, NULL);
		*taken = rc == 0;
	}
	return store__tx_leave(st, rc);
}

static bool wanted(const vigil_notify_options *opt, const char *address)
{
	if (!opt->targets)
		return true;
	for (size_t i = 0; i < opt->n_targets; i++)
		if (opt->targets[i] && g_ascii_strcasecmp(opt->targets[i], address) == 0)
			return true;
	return false;
}

/* Whether `address` is at one of the options' domains or below one. */
static bool inside(const vigil_notify_options *opt, const char *address)
{
	if (!opt->domains)
		return true;
	const char *at = strrchr(address, '@');
	const char *dom = at ? at + 1 : "";
	size_t dl = strlen(dom);
	for (size_t i = 0; i < opt->n_domains; i++) {
		const char *d = opt->domains[i];
		size_t l = d ? strlen(d) : 0;
		if (!l)
			continue;
		if (g_ascii_strcasecmp(dom, d) == 0 ||
			(dl > l && dom[dl - l - 1] == '.' && g_ascii_strcasecmp(dom + dl - l, d) == 0))
			return true;
	}
	return false;
}

static void tell(vigil_notify_result *res, vigil_notify_outcome what, const char *address,
	const vigil_notification *n, const char *detail)
{
	if (!res)
		return;
	switch (what) {
	case VIGIL_NOTIFY_DRY_RUN: res->dry_run++; break;
	case VIGIL_NOTIFY_SENT: res->sent++; break;
	case VIGIL_NOTIFY_FAILED: res->failed++; break;
	case VIGIL_NOTIFY_ALREADY: res->already++; break;
	case VIGIL_NOTIFY_UNCONFIRMED: res->unconfirmed++; break;
	case VIGIL_NOTIFY_OUTSIDE: res->outside++; break;
	}
	if (res->on_target)
		res->on_target(res->ud, what, address, n, detail);
}

typedef struct job {
	const char *address;        /* borrowed from the document */
	vigil_notification *n;      /* NULL when the address cannot be used */
	char *problem;              /* why not */
	bool outside;               /* not at the domains asked for */
} job;

int vigil_store_notify(vigil_store *st, int64_t id, const vigil_notify_template *t,
	const vigil_notify_options *opt, bool send, vigil_notify_result *res)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!t || !opt || id <= 0)
		return store__fail(st, VIGIL_EINVAL, "notify: bad argument");
	/* Each state must be on disk before the next step: inside a caller's
	 * batch, 'sending' would not be, and a crash would forget a send. */
	if (st->user_tx)
		return store__fail(st, VIGIL_EINVAL, "notify: not inside a batch");
	char err[1024] = "";
	char *from_addr = NULL, *from_name = NULL;
	int rc = notify__parse_from(opt->from, &from_addr, &from_name, err, sizeof(err));
	if (rc)
		return store__fail(st, rc, "%s", err);
	notify__smtp *smtp = NULL;
	if (send && (rc = notify__smtp_new(&smtp, opt, err, sizeof(err)))) {
		g_free(from_addr);
		g_free(from_name);
		return store__fail(st, rc, "%s", err);
	}
	json_t *arr = NULL;
	rc = store__campaign_docs(st, id, &arr);
	json_t *c = rc ? NULL : json_array_get(arr, 0);
	int64_t cid = c ? (int64_t)report__int(c, "id", 0) : 0;

	/* Every message first: a template or option that cannot work stops the
	 * run before anyone is written to. */
	GArray *jobs = g_array_new(FALSE, TRUE, sizeof(job));
	size_t i;
	json_t *x;
	if (!rc)
		json_array_foreach(json_object_get(c, "targets"), i, x)
		{
			const char *address = report__str(x, "address");
			if (!address || !wanted(opt, address))
				continue;
			job j = {address, NULL, NULL, !inside(opt, address)};
			if (j.outside) {
				g_array_append_val(jobs, j);
				continue;
			}
			err[0] = '\0';
			int b = notify__build(&j.n, t, c, address, opt, err, sizeof(err));
			if (b == VIGIL_EINVAL && !notify__address_ok(address)) {
				/* one unusable address (from a mangled header) is that
				 * target's failure, not the run's */
				j.problem = g_strdup(err);
			} else if (b) {
				rc = store__fail(st, b, "%s", err);
				break;
			}
			g_array_append_val(jobs, j);
		}
	for (size_t k = 0; !rc && opt->targets && k < opt->n_targets; k++) {
		bool found = false;
		for (guint j = 0; j < jobs->len; j++)
			found |= g_ascii_strcasecmp(g_array_index(jobs, job, j).address, opt->targets[k]) == 0;
		if (!found)
			rc = store__fail(st, VIGIL_EINVAL, "%s is not a target of campaign %lld",
				opt->targets[k], (long long)cid);
	}

	for (guint j = 0; !rc && j < jobs->len; j++) {
		job *jb = &g_array_index(jobs, job, j);
		char state[16];
		if (jb->outside) {
			tell(res, VIGIL_NOTIFY_OUTSIDE, jb->address, NULL, NULL);
			continue;
		}
		if ((rc = state_of(st, cid, jb->address, state)))
			break;
		if (strcmp(state, STATE_SENT) == 0) {
			tell(res, VIGIL_NOTIFY_ALREADY, jb->address, NULL, NULL);
			continue;
		}
		if (strcmp(state, STATE_SENDING) == 0 && !opt->resend_unconfirmed) {
			tell(res, VIGIL_NOTIFY_UNCONFIRMED, jb->address, NULL,
				"an earlier run began sending and did not record the outcome; it may "
				"have gone out (--resend-unconfirmed sends it again)");
			continue;
		}
		if (!send) {
			if (jb->n)
				tell(res, VIGIL_NOTIFY_DRY_RUN, jb->address, jb->n, NULL);
			else
				tell(res, VIGIL_NOTIFY_FAILED, jb->address, NULL, jb->problem);
			continue;
		}
		if (!jb->n) {
			if (!(rc = record(st, cid, jb->address, STATE_FAILED, NULL, jb->problem)))
				tell(res, VIGIL_NOTIFY_FAILED, jb->address, NULL, jb->problem);
			continue;
		}
		bool taken;
		if ((rc = take(st, cid, jb->address, opt->resend_unconfirmed, jb->n->message_id,
			     &taken, state)))
			break;
		if (!taken) {
			/* another run took it between our look and now */
			tell(res, strcmp(state, STATE_SENT) == 0 ? VIGIL_NOTIFY_ALREADY
								 : VIGIL_NOTIFY_UNCONFIRMED,
				jb->address, NULL, NULL);
			continue;
		}
		char reply[1024];
		int s = notify__smtp_send(smtp, from_addr, jb->address, jb->n->raw, jb->n->raw_len,
			reply, sizeof(reply));
		/* If this write fails the target stays 'sending': unconfirmed, never
		 * silently sent again. Stop: the next ones could not be recorded
		 * either. */
		if ((rc = record(st, cid, jb->address, s ? STATE_FAILED : STATE_SENT,
			     jb->n->message_id, reply)))
			break;
		tell(res, s ? VIGIL_NOTIFY_FAILED : VIGIL_NOTIFY_SENT, jb->address, jb->n, reply);
	}

	for (guint j = 0; j < jobs->len; j++) {
		vigil_notification_free(g_array_index(jobs, job, j).n);
		g_free(g_array_index(jobs, job, j).problem);
	}
	g_array_free(jobs, TRUE);
	json_decref(arr);
	notify__smtp_free(smtp);
	g_free(from_addr);
	g_free(from_name);
	return rc;
}
