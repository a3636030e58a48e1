/*
 * The intel detector: every artifact of the message matched against the
 * indicators compiled into ctx->intel (intel/match.c), one malicious finding
 * per indicator hit naming the indicator and the feed it came from. It loads
 * no feeds and decides nothing about matching itself.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "detect/detect.h"
#include "intel/intel.h"

typedef struct hit_ctx {
	vigil_message *msg;
	const vigil_config *cfg;
} hit_ctx;

/* Finding ids by indicator type: one weight for all hash kinds and both IP
 * families, since an analyst weighs them alike. */
static const char *finding_id(vigil_ioc_type t)
{
	switch (t) {
	case VIGIL_IOC_DOMAIN: return "intel.domain";
	case VIGIL_IOC_URL: return "intel.url";
	case VIGIL_IOC_EMAIL: return "intel.email";
	case VIGIL_IOC_IPV4:
	case VIGIL_IOC_IPV6: return "intel.ip";
	case VIGIL_IOC_MD5:
	case VIGIL_IOC_SHA1:
	case VIGIL_IOC_SHA256: return "intel.hash";
	}
	return "intel.other";
}

/* How the reason names the artifact: "The sender address x@y". Text
 * artifacts (subject, body) read "The body text mentions x.com". */
static const char *artifact_phrase(const char *artifact, bool *text)
{
	static const struct {
		const char *artifact, *phrase;
	} phrases[] = {
		{"from", "The sender address"},
		{"sender", "The Sender address"},
		{"reply_to", "The Reply-To address"},
		{"return_path", "The Return-Path address"},
		{"nested_from", "The sender of an attached message"},
		{"message_id", "The Message-ID domain"},
		{"received", "The relay"},
		{"url", "The URL"},
		{"attachment", "An attachment's hash"},
	};
	*text = strcmp(artifact, "subject") == 0 || strcmp(artifact, "body") == 0;
	if (*text)
		return strcmp(artifact, "body") == 0 ? "The body text mentions" : "The subject mentions";
	for (size_t i = 0; i < sizeof(phrases) / sizeof(*phrases); i++)
		if (strcmp(phrases[i].artifact, artifact) == 0)
			return phrases[i].phrase;
	return "The artifact";
}

/* How the artifact relates to the indicator when it is not the indicator
 * itself: "http://a.x.com/p" is on "x.com". */
static const char *relation(vigil_ioc_type t)
{
	switch (t) {
	case VIGIL_IOC_DOMAIN: return "on";
	case VIGIL_IOC_URL: return "starting with";
	case VIGIL_IOC_IPV4:
	case VIGIL_IOC_IPV6: return "in";
	default: return "containing";
	}
}

static int on_hit(void *ud, const vigil_indicator *ind, const char *artifact, const char *value)
{
	hit_ctx *h = ud;
	bool text;
	const char *phrase = artifact_phrase(artifact, &text);
	/* "is " / "is on x.com, " after a parsed artifact; ", " / ", on x.com, "
	 * after text, where the verb is already in the phrase. */
	char rel[600];
	if (strcasecmp(ind->value, value) == 0)
		snprintf(rel, sizeof(rel), "%s", text ? ", " : " is ");
	else
		snprintf(rel, sizeof(rel), "%s%s %s, ", text ? ", " : " is ", relation(ind->type),
			ind->value);
	char extra[256] = "";
	if (ind->name || ind->actor)
		snprintf(extra, sizeof(extra), "; %s%s%s", ind->name ? ind->name : "",
			ind->name && ind->actor ? ", " : "", ind->actor ? ind->actor : "");
	size_t before = h->msg->findings.len;
	int rc = finding__add(h->msg, h->cfg, "intel", finding_id(ind->type), VIGIL_CLASS_MALICIOUS,
		100, artifact, value, "%s %s%sa published indicator (%s, from %s%s%s%s).", phrase,
		value, rel, intel__type_name(ind->type), ind->source ? ind->source : "an unnamed feed",
		ind->source_id ? " " : "", ind->source_id ? ind->source_id : "", extra);
	/* The indicator itself, apart from the sentence, for the store's hits
	 * and the JSON output. finding__add() may have merged it into an
	 * earlier finding on the same value: then that one names its own. */
	if (rc == 0 && h->msg->findings.len > before) {
		vigil_finding *f = &h->msg->findings.items[h->msg->findings.len - 1];
		vigil_arena *a = h->msg->arena;
		f->ioc_type = intel__type_name(ind->type);
		f->ioc_value = vigil_arena_strdup(a, ind->value);
		f->ioc_source = vigil_arena_strdup(a, ind->source ? ind->source : "");
		if (!f->ioc_value || !f->ioc_source)
			return VIGIL_ENOMEM;
	}
	return rc;
}

int detect__intel(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_intel_matcher *m = sc->ctx->intel;
	if (!m)
		return 0;
	if (!sc->intel_scratch) {
		int rc = intel__scratch_new(&sc->intel_scratch, m);
		if (rc)
			return rc;
	}
	hit_ctx h = {.msg = msg, .cfg = sc->ctx->cfg};
	/* Whether a match must fall inside the indicator's validity window is
	 * the user's choice (--validity): a domain listed for 2024 may have been
	 * innocent in 2019, but a retro-hunt often wants the old mail too. */
	return intel__match_message(m, sc->intel_scratch, msg, sc->ctx->intel_validity, on_hit, &h);
}
