/*
 * The detectors and the judge. Each detector reads the message model (and the
 * configuration) and appends findings; the judge turns findings into a
 * verdict. A detector never fails on content: only VIGIL_ENOMEM is an error.
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include "config/config.h"
#include <stdarg.h>

#include "message.h"
#include "scanner.h"

/* Appends a finding. Its score is config__weight(cfg, id, default_score);
 * a weight of 0 drops the finding. `artifact` names what the evidence is
 * ("url", "from", "reply_to", "received", "auth", "link_text", ...), `value`
 * the value that was judged (the URL, the address, the IP). `fmt` makes the
 * one readable sentence that says why. Returns 0 or VIGIL_ENOMEM. */
int finding__add(vigil_message *msg, const vigil_config *cfg, const char *detector,
	const char *id, vigil_finding_class cls, int default_score, const char *artifact,
	const char *value, const char *fmt, ...) __attribute__((format(printf, 9, 10)));
/* The same with a va_list, and `about`: the protected outlet or person an
 * impersonation finding says the message imitates (NULL otherwise). */
int finding__vadd(vigil_message *msg, const vigil_config *cfg, const char *detector,
	const char *id, vigil_finding_class cls, int default_score, const char *artifact,
	const char *value, const char *about, const char *fmt, va_list ap)
	__attribute__((format(printf, 10, 0)));

/* Each returns 0 or VIGIL_ENOMEM. */
int detect__tracker(vigil_message *msg, vigil_scanner *sc);       /* tracker.c */
int detect__token(vigil_message *msg, vigil_scanner *sc);         /* token.c */
int detect__impersonation(vigil_message *msg, vigil_scanner *sc); /* impersonation.c */
int detect__auth(vigil_message *msg, vigil_scanner *sc);          /* auth.c */
int detect__relay(vigil_message *msg, vigil_scanner *sc);         /* relay.c */
int detect__phish(vigil_message *msg, vigil_scanner *sc);         /* phish.c */
int detect__intel(vigil_message *msg, vigil_scanner *sc);         /* intel.c */

/* Runs every detector, then the judge (judge.c). */
int detect__all(vigil_message *msg, vigil_scanner *sc);
/* Sets msg->verdict and msg->score from msg->findings. */
void judge__verdict(vigil_message *msg, const vigil_config *cfg);

#endif /* VIGIL_DETECT_H */
