/*
 * Campaigns: what ties reconnaissance messages together, and the grouping.
 * traits.c reads a scanned message and says what an attacker cannot vary
 * cheaply (tracker hosts and URL templates, sender infrastructure, a
 * similarity hash of the lure); cluster.c groups messages by those traits.
 * Neither touches the store: store/campaigns.c loads and saves.
 */
#ifndef VIGIL_CAMPAIGN_H
#define VIGIL_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

/* A URL of the message that a tracking or token finding points at. */
typedef struct campaign_url {
	const char *url;   /* as the finding names it (normalised when it parsed) */
	const char *host;  /* lower-case A-label */
	const char *tmpl;  /* the URL with its token replaced by "{t}", NULL without token */
	const char *token; /* the replaced components, NULL without token */
	bool known;        /* a host of the shipped tracker list: a commercial service
	                    * shared by unrelated senders */
	bool fetched;      /* loaded when the message is opened (an image), not a link */
} campaign_url;

/* A grouping key: "h:" tracker host, "t:" URL template, "d:" sender
 * domain, "a:" sender address. Which keys may join which messages is the
 * clustering's business (cluster.c). */
typedef struct campaign_traits {
	const char *sender_domain; /* registrable domain of From, NULL when none */
	bool sender_freemail;      /* that domain is a free-mail provider's */
	const char *x_mailer;      /* X-Mailer, else User-Agent */
	uint64_t lure_hash;        /* simhash of the body's word pairs */
	int lure_words;            /* words that went into it */
	const char *excerpt;       /* the start of the body's visible text */
	campaign_url *urls;
	size_t n_urls;
	const char **keys;
	size_t n_keys;
} campaign_traits;

/* Fills `out` from a scanned message; everything in msg->arena. Returns 0
 * or VIGIL_ENOMEM. */
int campaign__traits(campaign_traits *out, const vigil_message *msg);

/* Hamming distance at most this between two lure hashes: the same lure
 * with a few words changed (a name, a date). 3 of 64 bits keeps unrelated
 * texts of similar length apart (their distance clusters around 32). */
#define CAMPAIGN_LURE_MAX_DISTANCE 3
/* Lures shorter than this many words are not compared: short notes ("see
 * attached") look alike whoever wrote them. */
#define CAMPAIGN_LURE_MIN_WORDS 25

/* One message as the clustering sees it. */
typedef struct campaign_item {
	int64_t message;
	vigil_verdict verdict;
	int64_t campaign;    /* the campaign it already belongs to, 0 when none */
	const char **keys;   /* grouping keys (see campaign_traits) */
	size_t n_keys;
	uint64_t lure_hash;
	int lure_words;
} campaign_item;

/*
 * Groups items, in O(n) (plus a bounded number of lure comparisons per
 * item). Rules:
 *   - a recon or malicious message, or one already in a campaign, seeds a
 *     campaign; a group without a seed is not a campaign (ordinary
 *     newsletters, a lone failed signature);
 *   - suspicious and stronger messages join through any key and through a
 *     similar lure;
 *   - tracking-only messages join only through a tracker host or URL
 *     template (a newsletter never joins through its sender's domain);
 *   - items of two existing campaigns that come to share a group merge.
 * group[i] is the item's group number (0..*n_groups-1) or -1 when it is in
 * no campaign. Groups are numbered by first item, so an order of items
 * gives one numbering. Returns 0 or VIGIL_ENOMEM.
 */
int campaign__cluster(long *group, size_t *n_groups, const campaign_item *items, size_t n);

#endif /* VIGIL_CAMPAIGN_H */
