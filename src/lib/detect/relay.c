/*
 * The relay detector: a Received hop from an address on a relay list (for
 * instance home routers a CERT named as anonymising relays). Only hops of the
 * message itself count, not those of a forwarded message inside it.
 */
#include "detect/detect.h"

int detect__relay(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	if (!cfg->relays || netset__count(cfg->relays) == 0)
		return 0;
	for (size_t i = 0; i < msg->received.len; i++) {
		const vigil_received *r = &msg->received.items[i];
		if (r->nested || !r->ip)
			continue;
		const char *entry = netset__lookup(cfg->relays, r->ip);
		if (!entry)
			continue;
		int rc = finding__add(msg, cfg, "relay", "relay.listed-hop", VIGIL_CLASS_DECEPTION, 60,
			"received", r->ip, "The message came through %s (%s), listed as a relay (%s).",
			r->ip, r->rdns ? r->rdns : (r->helo ? r->helo : "no name"), entry);
		if (rc)
			return rc;
	}
	return 0;
}
