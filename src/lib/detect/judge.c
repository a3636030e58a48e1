/*
 * The judge: one verdict per message from its findings. Tracking alone is a
 * privacy matter (a newsletter); deception alone is suspicious; the two
 * together are reconnaissance, the 2021 pattern. Known-bad findings (intel,
 * rules) make a message malicious. Thresholds come from the configuration.
 */
#include <string.h>

#include "detect/detect.h"

const char *vigil_verdict_name(vigil_verdict v)
{
	switch (v) {
	case VIGIL_VERDICT_CLEAN: return "clean";
	case VIGIL_VERDICT_TRACKING: return "tracking";
	case VIGIL_VERDICT_SUSPICIOUS: return "suspicious";
	case VIGIL_VERDICT_RECON: return "recon";
	case VIGIL_VERDICT_MALICIOUS: return "malicious";
	}
	return "unknown";
}

vigil_verdict vigil_message_verdict(const vigil_message *msg)
{
	return msg->verdict;
}

int vigil_message_score(const vigil_message *msg)
{
	return msg->score;
}

/* Findings that say the sender is not who it claims to be, or came through
 * a known relay, or failed authentication. Not where a link goes, nor where
 * replies go: newsletters' click tracking and reply addresses do both. */
static bool identity_lie(const char *id)
{
	if (strncmp(id, "impersonation.", 14) == 0)
		return strncmp(id, "impersonation.link-", 19) != 0 &&
			strcmp(id, "impersonation.reply-to-diverges") != 0;
	return strncmp(id, "relay.", 6) == 0 || strncmp(id, "auth.", 5) == 0;
}

void judge__verdict(vigil_message *msg, const vigil_config *cfg)
{
	int total = 0, deception = 0, malicious = 0, identity = 0;
	bool tracking = false, token = false, intel_recon = false;
	for (size_t i = 0; i < msg->findings.len; i++) {
		const vigil_finding *f = &msg->findings.items[i];
		total += f->score;
		switch (f->cls) {
		case VIGIL_CLASS_TOKEN:
			/* A URL that encodes this recipient (or a template carrying a
			 * token unique to each): the target was picked out. */
			token = token || strcmp(f->id, "token.recipient-in-url") == 0 ||
				strcmp(f->id, "token.unique-per-recipient") == 0;
			/* fall through */
		case VIGIL_CLASS_TRACKING: tracking = tracking || f->score > 0; break;
		case VIGIL_CLASS_DECEPTION:
			deception += f->score;
			if (identity_lie(f->id))
				identity += f->score;
			break;
		case VIGIL_CLASS_MALICIOUS:
			/* A CERT may publish reconnaissance infrastructure (trackers,
			 * relays) that the organisation wants counted as recon. */
			if (cfg->intel_recon && strcmp(f->detector, "intel") == 0)
				intel_recon = true;
			else
				malicious += f->score;
			break;
		case VIGIL_CLASS_INFO: break;
		}
	}
	msg->score = total;
	if (malicious >= cfg->malicious_threshold && malicious > 0)
		msg->verdict = VIGIL_VERDICT_MALICIOUS;
	else if (intel_recon)
		msg->verdict = VIGIL_VERDICT_RECON;
	else if (deception >= cfg->deception_threshold && deception > 0)
		msg->verdict = tracking ? VIGIL_VERDICT_RECON : VIGIL_VERDICT_SUSPICIOUS;
	else if (token && identity >= cfg->token_deception_threshold && identity > 0)
		msg->verdict = VIGIL_VERDICT_RECON;
	else if (tracking)
		msg->verdict = VIGIL_VERDICT_TRACKING;
	else
		msg->verdict = VIGIL_VERDICT_CLEAN;
}
