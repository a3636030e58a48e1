/*
 * Identity helpers shared by the MIME walk: dates as mail writes them, and
 * domains in one canonical form (lower-case IDNA A-label). Address lists are
 * parsed by GMime; this file only normalises what comes out of it.
 */
#include <ctype.h>
#include <gmime/gmime.h>
#include <idn2.h>
#include <string.h>

#include "extract/extract.h"

int64_t date__parse(const char *value)
{
	if (!value || !*value)
		return VIGIL_NO_TIME;
	/* GMime accepts RFC 5322 dates and the usual deviations (missing
	 * weekday, two-digit years, named zones); it returns NULL otherwise. */
	GDateTime *dt = g_mime_utils_header_decode_date(value);
	if (!dt)
		return VIGIL_NO_TIME;
	int64_t t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

const char *domain__to_ascii(vigil_arena *a, const char *domain)
{
	if (!domain)
		return NULL;
	size_t len = strlen(domain);
	/* An address literal ("user@[192.0.2.1]") is kept as written. */
	if (len >= 2 && domain[0] == '[' && domain[len - 1] == ']')
		return vigil_arena_strdup(a, domain);
	while (len && domain[len - 1] == '.')
		len--; /* a trailing root dot names the same domain */
	if (len == 0 || len > 253)
		return NULL;
	char tmp[256];
	memcpy(tmp, domain, len);
	tmp[len] = '\0';

	if (is_ascii(tmp) && strstr(tmp, "xn--") == NULL) {
		for (char *p = tmp; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return vigil_arena_strdup(a, tmp);
	}
	char *out = NULL;
	/* UTS #46 non-transitional first (what browsers do), then transitional
	 * for names only valid under IDNA 2003. */
	int rc = idn2_to_ascii_8z(tmp, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK)
		rc = idn2_to_ascii_8z(tmp, &out, IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		/* Keep what was written, lower-cased: a detector can still compare
		 * it, and an invalid A-label is itself a signal. */
		if (!is_ascii(tmp))
			return NULL;
		for (char *p = tmp; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return vigil_arena_strdup(a, tmp);
	}
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *r = vigil_arena_strdup(a, out);
	idn2_free(out);
	return r;
}
