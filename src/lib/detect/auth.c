/*
 * The auth detector: what the receiving MTA recorded about SPF, DKIM, DMARC
 * and ARC (the topmost Authentication-Results field; the ones below it were
 * written by other hosts, or by the sender), and whether the DKIM signer is
 * the From domain. It does not verify signatures itself.
 */
#include <string.h>

#include "detect/detect.h"
#include "extract/extract.h"

static const char *prop(const vigil_auth_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}

static bool is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* The registrable domain of a domain name, lower-case, or the name itself. */
static const char *registrable(vigil_scanner *sc, vigil_arena *a, const char *domain)
{
	if (!domain)
		return NULL;
	const char *ascii = domain__to_ascii(a, domain);
	if (!ascii)
		return NULL;
	const char *reg = psl_registrable_domain(sc->ctx->psl, ascii);
	return reg ? reg : ascii;
}

int detect__auth(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	/* The topmost field with results: our own MTA's, when it wrote one. */
	int top = -1;
	for (size_t i = 0; i < msg->auth.len; i++) {
		const vigil_auth_result *r = &msg->auth.items[i];
		if (r->nested || r->instance)
			continue;
		if (top < 0 || r->header_index < top)
			top = r->header_index;
	}
	if (top < 0)
		return 0; /* nothing recorded: internal mail, or an MTA that does not check */

	const vigil_auth_result *spf = NULL, *dmarc = NULL, *arc = NULL, *dkim_pass = NULL,
				*dkim_other = NULL;
	for (size_t i = 0; i < msg->auth.len; i++) {
		const vigil_auth_result *r = &msg->auth.items[i];
		if (r->nested || r->instance || r->header_index != top || !r->method)
			continue;
		if (is(r->method, "spf") && !spf)
			spf = r;
		else if (is(r->method, "dmarc") && !dmarc)
			dmarc = r;
		else if (is(r->method, "arc") && !arc)
			arc = r;
		else if (is(r->method, "dkim")) {
			if (is(r->result, "pass") && !dkim_pass)
				dkim_pass = r;
			else if (!dkim_other)
				dkim_other = r;
		}
	}

	int rc = 0;
	const char *from = msg->from.address;
	if (spf && (is(spf->result, "fail") || is(spf->result, "softfail")))
		rc = finding__add(msg, cfg, "auth", is(spf->result, "fail") ? "auth.spf-fail" : "auth.spf-softfail",
			VIGIL_CLASS_DECEPTION, is(spf->result, "fail") ? 20 : 10, "auth",
			prop(spf, "smtp.mailfrom"), "SPF %s: the sending host is not allowed to send for %s.",
			spf->result, prop(spf, "smtp.mailfrom") ? prop(spf, "smtp.mailfrom") : "the envelope sender");
	if (rc == 0 && !dkim_pass && dkim_other && is(dkim_other->result, "fail"))
		rc = finding__add(msg, cfg, "auth", "auth.dkim-fail", VIGIL_CLASS_DECEPTION, 20, "auth",
			prop(dkim_other, "header.d"), "DKIM fail: the signature of %s does not verify.",
			prop(dkim_other, "header.d") ? prop(dkim_other, "header.d") : "the message");
	if (rc == 0 && dmarc && is(dmarc->result, "fail"))
		rc = finding__add(msg, cfg, "auth", "auth.dmarc-fail", VIGIL_CLASS_DECEPTION, 30, "auth",
			prop(dmarc, "header.from"),
			"DMARC fail: the From domain %s did not authenticate this message.",
			prop(dmarc, "header.from") ? prop(dmarc, "header.from") : "");
	if (rc == 0 && arc && is(arc->result, "fail"))
		rc = finding__add(msg, cfg, "auth", "auth.arc-fail", VIGIL_CLASS_INFO, 5, "auth", NULL,
			"ARC fail: a forwarder's chain of custody does not verify.");
	if (rc == 0 && !spf && !dkim_pass && !dkim_other && !dmarc)
		rc = finding__add(msg, cfg, "auth", "auth.missing", VIGIL_CLASS_INFO, 5, "auth", NULL,
			"The receiving server recorded no SPF, DKIM or DMARC result.");

	/* A valid signature by another domain than From's proves only that the
	 * signer sent it: ordinary for mailing services, so information only. */
	if (rc == 0 && dkim_pass && from && msg->from.domain) {
		vigil_arena *a = msg->arena;
		const char *d = prop(dkim_pass, "header.d");
		const char *signer = registrable(sc, a, d);
		const char *author = registrable(sc, a, msg->from.domain);
		if (signer && author && strcmp(signer, author) != 0)
			rc = finding__add(msg, cfg, "auth", "auth.dkim-unaligned", VIGIL_CLASS_INFO, 5,
				"auth", d, "The DKIM signature is by %s, not by the From domain %s.", d,
				msg->from.domain);
	}
	return rc;
}
