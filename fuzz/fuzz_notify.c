/*
 * libFuzzer target: notifications. Takes the input as a campaign document
 * (docs/campaigns.md; an object or an array of one) and builds the shipped
 * template's message for each of its targets with vigil_notify_build(). A
 * document may be refused and a target may be unusable; a message that is
 * made must be RFC 5322 for SMTP: CRLF line ends only, 7-bit bytes, no NUL.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_message(const vigil_notification *n)
{
	if (strlen(n->raw) != n->raw_len || strpbrk(n->subject, "\r\n")) {
		fprintf(stderr, "fuzz_notify: %s: a NUL in the message, or a line break in the Subject\n",
			n->to);
		abort();
	}
	for (size_t i = 0; i < n->raw_len; i++) {
		unsigned char c = (unsigned char)n->raw[i];
		if (c >= 0x80 || (c == '\n' && (i == 0 || n->raw[i - 1] != '\r')) ||
			(c == '\r' && n->raw[i + 1] != '\n')) {
			fprintf(stderr, "fuzz_notify: %s: byte %zu (0x%02x) is not SMTP-safe\n", n->to, i,
				c);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static vigil_notify_template *t;
	if (!t) {
		char err[512];
		if (vigil_notify_template_load(&t, NULL, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_notify: %s\n", err);
			abort();
		}
	}
	char *json = malloc(size + 1);
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	json_t *doc = json_loads(json, 0, NULL);
	json_t *c = json_is_array(doc) ? json_array_get(doc, 0) : doc;
	json_t *targets = json_object_get(c, "targets");
	vigil_notify_options opt = {.from = "Security team <security@parliament.example>",
		.contact = "soc@parliament.example", .now = 1795338000};
	size_t i, built = 0;
	json_t *x;
	json_array_foreach(targets, i, x)
	{
		const char *address = json_string_value(json_object_get(x, "address"));
		if (!address || built == 32)
			continue;
		vigil_notification *n = NULL;
		char err[512] = "";
		int rc = vigil_notify_build(&n, t, json, address, &opt, err, sizeof(err));
		if (rc == 0) {
			check_message(n);
			built++;
		} else if (!(rc == VIGIL_EINVAL || rc == VIGIL_EPARSE || rc == VIGIL_ECONFIG) || !err[0]) {
			fprintf(stderr, "fuzz_notify: %s: unexpected %d: %s\n", address, rc, err);
			abort();
		}
		vigil_notification_free(n);
	}
	json_decref(doc);
	free(json);
	return 0;
}
