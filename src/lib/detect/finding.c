/*
 * Findings: how detectors record what they found, with a score taken from
 * the configuration, and the order in which detectors run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "detect/detect.h"
#include "vigil_limits.h"

int finding__vadd(vigil_message *msg, const vigil_config *cfg, const char *detector,
	const char *id, vigil_finding_class cls, int default_score, const char *artifact,
	const char *value, const char *about, const char *fmt, va_list ap)
{
	int score = config__weight(cfg, id, default_score);
	if (score == 0)
		return 0; /* switched off in the configuration */
	/* The same finding on the same value says nothing new (a tracker
	 * repeated in the text and HTML bodies). The cap bounds this scan. */
	for (size_t i = 0; i < msg->findings.len; i++) {
		const vigil_finding *f = &msg->findings.items[i];
		if (strcmp(f->id, id) == 0 && ((!f->value && !value) ||
			(f->value && value && strcmp(f->value, value) == 0)))
			return 0;
	}
	if (msg->findings.len >= VIGIL_MAX_FINDINGS)
		return 0;

	char reason[512];
	vsnprintf(reason, sizeof(reason), fmt, ap);

	vigil_finding *f = VIGIL_VEC_PUSH(msg->arena, &msg->findings);
	if (!f)
		return VIGIL_ENOMEM;
	f->detector = detector;
	f->id = id;
	f->cls = cls;
	f->score = score;
	f->artifact = artifact;
	f->value = vigil_arena_strdup(msg->arena, value);
	f->reason = vigil_arena_strdup(msg->arena, reason);
	f->about = about ? vigil_arena_strdup(msg->arena, about) : NULL;
	if ((value && !f->value) || !f->reason || (about && !f->about))
		return VIGIL_ENOMEM;
	return 0;
}

int finding__add(vigil_message *msg, const vigil_config *cfg, const char *detector,
	const char *id, vigil_finding_class cls, int default_score, const char *artifact,
	const char *value, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = finding__vadd(msg, cfg, detector, id, cls, default_score, artifact, value, NULL,
		fmt, ap);
	va_end(ap);
	return rc;
}

int detect__all(vigil_message *msg, vigil_scanner *sc)
{
	/* Intel first: in hunt mode a message that matches no indicator and no
	 * rule is neither recorded nor shown, so the other detectors would be
	 * work for nothing. */
	int (*const detectors[])(vigil_message *, vigil_scanner *) = {
		detect__intel, detect__tracker, detect__token, detect__impersonation, detect__auth,
		detect__relay, detect__phish,
	};
	for (size_t i = 0; i < sizeof(detectors) / sizeof(*detectors); i++) {
		if (i == 1 && sc->ctx->hunt_mode && vigil_message_hits(msg) == 0)
			break;
		int rc = detectors[i](msg, sc);
		if (rc)
			return rc;
	}
	judge__verdict(msg, sc->ctx->cfg);
	return 0;
}
