/*
 * What the notification module shares inside the library: the template's
 * parsed form and rendering, the message builder on a campaign document, and
 * the SMTP client. The store (store/notify.c) decides who is told and records
 * it; nothing here touches the store.
 */
#ifndef VIGIL_NOTIFY_NOTIFY_H
#define VIGIL_NOTIFY_NOTIFY_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* The placeholders a template may use (docs/notify.md), in this order in
 * notify__placeholder_names. */
typedef enum notify__ph {
	PH_NAME,
	PH_ADDRESS,
	PH_RECEIVED,
	PH_RECEIVED_DATE,
	PH_SUBJECT,
	PH_SENDER,
	PH_SENDER_NAME,
	PH_SENDER_ADDRESS,
	PH_MESSAGES,
	PH_MORE_MESSAGES,
	PH_TRACKER,
	PH_OPENED,
	PH_OPENED_SENTENCE,
	PH_FIRST_OPEN,
	PH_OPEN_ADDRESS,
	PH_CAMPAIGN,
	PH_CAMPAIGN_NAME,
	PH_IMPERSONATES,
	PH_FROM,
	PH_FROM_NAME,
	PH_FROM_ADDRESS,
	PH_CONTACT,
	PH_DATE,
	PH__COUNT
} notify__ph;

extern const char *const notify__placeholder_names[PH__COUNT];

struct vigil_notify_template {
	char *path;    /* as given, or the shipped file's */
	char *subject; /* the Subject line's text, placeholders unexpanded */
	char *body;    /* LF line ends, ending with one "\n" */
};

/* Expands `text` (a checked template part) with `values` (indexed by
 * notify__ph; NULL shows as ""), appending to `out`. "{{" is a literal "{". */
void notify__render(GString *out, const char *text, const char *const values[PH__COUNT]);

/* The notification for target `address` of campaign document `c`
 * (docs/campaigns.md). Returns 0; VIGIL_EINVAL (not a target of `c`, a bad
 * From, a recipient address that cannot be used in SMTP); VIGIL_ECONFIG
 * (the rendered text would show a tracker host in clear); VIGIL_ENOMEM or
 * VIGIL_EINTERNAL (GMime). The detail goes to err. */
int notify__build(vigil_notification **out, const vigil_notify_template *t, json_t *c,
	const char *address, const vigil_notify_options *opt, char *err, size_t err_size);

/* The From of the options parsed: address and display name (NULL when
 * none), g_free'd by the caller. Returns 0 or VIGIL_EINVAL with err. */
int notify__parse_from(const char *from, char **addr, char **name, char *err, size_t err_size);

/* Whether `addr` can go into MAIL FROM / RCPT TO as it is: one '@', a
 * non-empty local part and domain, printable ASCII without spaces, quotes,
 * angle brackets or commas, at most 254 bytes. */
bool notify__address_ok(const char *addr);

/* One SMTP client for a run: its libcurl handle keeps the connection for
 * the next message. */
typedef struct notify__smtp notify__smtp;

/* Checks the URL (smtp:// or smtps://) and makes the client. Returns 0,
 * VIGIL_ECONFIG (bad URL or scheme) or VIGIL_ENOMEM with err. */
int notify__smtp_new(notify__smtp **out, const vigil_notify_options *opt, char *err,
	size_t err_size);
/* Sends one message (CRLF line ends) from `mail_from` to `rcpt`. Returns 0
 * when the server accepted it (`reply` holds its last reply, "250 2.0.0 Ok:
 * queued as ..."), else VIGIL_EIO with curl's error and the server's last
 * reply in `reply`. */
int notify__smtp_send(notify__smtp *s, const char *mail_from, const char *rcpt,
	const char *data, size_t len, char *reply, size_t reply_size);
void notify__smtp_free(notify__smtp *s);

#endif /* VIGIL_NOTIFY_NOTIFY_H */
