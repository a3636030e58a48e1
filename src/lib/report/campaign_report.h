/*
 * Shared by the campaign report writers (stix.c, misp.c, csv.c, html.c):
 * the checked campaign documents (docs/campaigns.md) and what every writer
 * needs from them: deterministic UUIDs, times, defanging, the TLP names.
 */
#ifndef VIGIL_REPORT_CAMPAIGN_REPORT_H
#define VIGIL_REPORT_CAMPAIGN_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vigil/vigil.h"

/* "absent" for times, as in the message model. */
#define REPORT_NO_TIME INT64_MIN

/* One report being written. The campaigns were checked against the
 * document's shape by vigil_report_write(), so the writers may rely on
 * every known key having its documented type (or being null/absent), on
 * times parsing, and on each target having an address. */
typedef struct report_ctx {
	FILE *fp;
	json_t *campaigns; /* array of campaign objects; borrowed */
	int64_t now;       /* the report's time, seconds since the epoch */
	const char *org;   /* never NULL */
	const char *title; /* NULL: each writer makes one from the campaigns */
	vigil_report_tlp tlp;
	bool targets;      /* name the targeted people in STIX and MISP */
} report_ctx;

/* Each returns 0, VIGIL_EIO (write failed) or VIGIL_ENOMEM. */
int report__stix(const report_ctx *r);
int report__misp(const report_ctx *r);
int report__csv(const report_ctx *r);
int report__html(const report_ctx *r);

/* A name-based (version 5, SHA-1) UUID of `name` in vigil's report
 * namespace, lower-case "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx": the same
 * content gives the same id in every run, which is what lets a CERT's
 * platform merge a re-sent report instead of duplicating it. */
void report__uuid5(char out[37], const char *name);
/* The same with `kind`, `a` and `b` joined by newlines as the name. */
void report__uuid5_of(char out[37], const char *kind, const char *a, const char *b);
/* True for a canonical UUID text (8-4-4-4-12 hex digits). */
bool report__is_uuid(const char *s);

/* ISO 8601 / RFC 3339 ("2021-01-14T08:02:11Z", fraction and offset
 * allowed) to seconds since the epoch. Returns 0 or -1. */
int report__parse_time(const char *s, int64_t *out);
/* The time at key `k` of object `o`, or REPORT_NO_TIME. */
int64_t report__time(json_t *o, const char *k);
/* "2021-01-14T08:02:11.000Z" (STIX: millisecond precision); `size` >= 25. */
void report__stix_time(int64_t t, char *buf, size_t size);
/* "2021-01-14T08:02:11Z", or "" for REPORT_NO_TIME; `size` >= 21. */
void report__iso(int64_t t, char *buf, size_t size);

/* The string at key `k`, or NULL when absent, null or empty. */
const char *report__str(json_t *o, const char *k);
/* The integer at key `k`, or `dflt`. */
json_int_t report__int(json_t *o, const char *k, json_int_t dflt);
/* Whether `s` is in the list of strings (ASCII case ignored). */
bool report__in_list(json_t *list, const char *s);
/* Infrastructure the campaign shares with everyone, so no indicator of it:
 * a sender domain on the free-mail list (senders.free_mail_domains: anyone
 * opens a mailbox at gmail.com), a tracker host or a URL template on a
 * known tracking service's host (trackers.known_hosts). Documents without
 * those lists take all infrastructure as the campaign's own. */
bool report__shared_domain(json_t *c, const char *domain);
bool report__shared_tracker(json_t *c, const char *host_or_template);
/* A label for a campaign: its name, else "campaign <id>"; `buf` >= 32. */
const char *report__campaign_name(json_t *c, char *buf, size_t size);

/* The TLP level as MISP's tag ("tlp:amber") and as text ("TLP:AMBER"). */
const char *report__tlp_tag(vigil_report_tlp tlp);
const char *report__tlp_name(vigil_report_tlp tlp);

/* A host or address made safe to show: dots of the host as "[.]", the
 * scheme's "http" as "hxxp", "@" as "[@]", so that nothing that copies or
 * auto-links text can turn it into a request. Caller frees (g_free). */
char *report__defang(const char *s);
/* Only schemes defanged ("hxxp://"), for free text such as reasons and
 * lure excerpts. Caller frees (g_free). */
char *report__defang_text(const char *s);

/* What an address or host is, for choosing indicator types. */
bool report__is_ipv4(const char *s);
bool report__is_ipv6(const char *s);

/* Writes `j` (stolen) with two-space indentation and a final newline.
 * Returns 0, VIGIL_EIO or VIGIL_ENOMEM (j NULL). */
int report__dump(FILE *fp, json_t *j);

#endif /* VIGIL_REPORT_CAMPAIGN_REPORT_H */
