/*
 * Notification templates: a Subject line and a body with {placeholders},
 * read and checked whole before any message is made (an unknown placeholder
 * is refused with its FILE:LINE), and their expansion. What the placeholders
 * stand for is message.c's business.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "util/text.h"
#include "vigil_limits.h"

const char *const notify__placeholder_names[PH__COUNT] = {
	[PH_NAME] = "name",
	[PH_ADDRESS] = "address",
	[PH_RECEIVED] = "received",
	[PH_RECEIVED_DATE] = "received_date",
	[PH_SUBJECT] = "subject",
	[PH_SENDER] = "sender",
	[PH_SENDER_NAME] = "sender_name",
	[PH_SENDER_ADDRESS] = "sender_address",
	[PH_MESSAGES] = "messages",
	[PH_MORE_MESSAGES] = "more_messages",
	[PH_TRACKER] = "tracker",
	[PH_OPENED] = "opened",
	[PH_OPENED_SENTENCE] = "opened_sentence",
	[PH_FIRST_OPEN] = "first_open",
	[PH_OPEN_ADDRESS] = "open_address",
	[PH_CAMPAIGN] = "campaign",
	[PH_CAMPAIGN_NAME] = "campaign_name",
	[PH_IMPERSONATES] = "impersonates",
	[PH_FROM] = "from",
	[PH_FROM_NAME] = "from_name",
	[PH_FROM_ADDRESS] = "from_address",
	[PH_CONTACT] = "contact",
	[PH_DATE] = "date",
};

static bool ident_char(char c)
{
	return g_ascii_isalnum(c) || c == '_';
}

/* At `p` (a '{' that is not "{{"): the length of "{word}" when it is one,
 * else 0. A '{' followed by anything else is a literal brace. */
static size_t placeholder_len(const char *p)
{
	size_t n = 1;
	while (ident_char(p[n]))
		n++;
	return n > 1 && p[n] == '}' ? n + 1 : 0;
}

static int lookup(const char *name, size_t len)
{
	for (int i = 0; i < PH__COUNT; i++)
		if (strlen(notify__placeholder_names[i]) == len &&
			memcmp(notify__placeholder_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Checks every placeholder of `text`, whose first line is line `line` of
 * the file. Returns 0 or VIGIL_ECONFIG with "FILE:LINE: ..." in err. */
static int check_text(const char *path, const char *text, unsigned line, char *err,
	size_t err_size)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
		} else if (*p == '{' && p[1] == '{') {
			p++;
		} else if (*p == '{') {
			size_t n = placeholder_len(p);
			if (n && lookup(p + 1, n - 2) < 0) {
				if (err)
					snprintf(err, err_size,
						"%s:%u: unknown placeholder %.*s (known: {name}, {address}, "
						"{received}, {subject}, {sender}, {opened_sentence}, ...; "
						"docs/notify.md)",
						path, line, (int)(n > 64 ? 64 : n), p);
				return VIGIL_ECONFIG;
			}
			if (n)
				p += n - 1;
		}
	}
	return 0;
}

void notify__render(GString *out, const char *text, const char *const values[PH__COUNT])
{
	for (const char *p = text; *p; p++) {
		if (*p == '{' && p[1] == '{') {
			g_string_append_c(out, '{');
			p++;
			continue;
		}
		size_t n = *p == '{' ? placeholder_len(p) : 0;
		int ph = n ? lookup(p + 1, n - 2) : -1;
		if (ph < 0) {
			g_string_append_c(out, *p);
			continue;
		}
		if (values[ph])
			g_string_append(out, values[ph]);
		p += n - 1;
	}
}

/* The folder of the shipped data, as vigil_ctx_load_config() finds it:
 * $VIGIL_DATADIR, the source tree's data/ from a build tree, else the
 * installed one. */
static char *default_path(void)
{
	const char *env = getenv("VIGIL_DATADIR");
	if (env && *env)
		return g_build_filename(env, "notify-template.txt", NULL);
	char *src = g_build_filename(VIGIL_SOURCE_DATADIR, "notify-template.txt", NULL);
	if (g_file_test(src, G_FILE_TEST_IS_REGULAR))
		return src;
	g_free(src);
	return g_build_filename(VIGIL_INSTALLED_DATADIR, "notify-template.txt", NULL);
}

static int read_file(const char *path, char **out, char *err, size_t err_size)
{
	*out = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		if (err)
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return VIGIL_EIO;
	}
	GString *g = g_string_new(NULL);
	char buf[8192];
	size_t n;
	int rc = 0;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (g->len + n > VIGIL_MAX_TEMPLATE_BYTES) {
			if (err)
				snprintf(err, err_size, "%s: larger than %u bytes: not a template", path,
					VIGIL_MAX_TEMPLATE_BYTES);
			rc = VIGIL_ECONFIG;
			break;
		}
		g_string_append_len(g, buf, (gssize)n);
	}
	if (!rc && ferror(fp)) {
		if (err)
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
		rc = VIGIL_EIO;
	}
	fclose(fp);
	if (!rc && (memchr(g->str, '\0', g->len) || !g_utf8_validate(g->str, (gssize)g->len, NULL))) {
		if (err)
			snprintf(err, err_size, "%s: not UTF-8 text", path);
		rc = VIGIL_ECONFIG;
	}
	if (rc) {
		g_string_free(g, TRUE);
		return rc;
	}
	*out = g_string_free(g, FALSE);
	return 0;
}

int vigil_notify_template_load(vigil_notify_template **out, const char *path, char *err,
	size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (!out)
		return VIGIL_EINVAL;
	*out = NULL;
	char *def = path ? NULL : default_path();
	const char *p = path ? path : def;
	char *text;
	int rc = read_file(p, &text, err, err_size);
	if (rc) {
		g_free(def);
		return rc;
	}
	/* CRLF and CR line ends (a template edited on Windows) become LF. */
	size_t text_len = strlen(text);
	GString *norm = g_string_sized_new(text_len);
	g_string_set_size(norm, text__lf_breaks(norm->str, text, text_len));
	g_free(text);

	/* "#" comment lines, then "Subject: ...", then an empty line, then the
	 * body. Only Subject may be set: the other headers are vigil's to get
	 * right (Date, Message-ID, MIME). */
	char *s = norm->str, *subject = NULL;
	unsigned line = 1, body_line = 0;
	while (*s) {
		char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		if (!subject && s[0] == '#') {
			/* a comment */
		} else if (len == 0) {
			if (subject) {
				body_line = line + 1;
				s = eol ? eol + 1 : s + len;
				break;
			}
		} else if (g_ascii_strncasecmp(s, "Subject:", 8) == 0 && !subject) {
			const char *v = s + 8;
			while (*v == ' ' || *v == '\t')
				v++;
			subject = g_strndup(v, len - (size_t)(v - s));
			g_strchomp(subject);
			if (!*subject) {
				if (err)
					snprintf(err, err_size, "%s:%u: the Subject is empty", p, line);
				rc = VIGIL_ECONFIG;
				break;
			}
			if ((rc = check_text(p, subject, line, err, err_size)))
				break;
		} else {
			const char *colon = memchr(s, ':', len);
			if (err) {
				if (subject && colon)
					snprintf(err, err_size,
						"%s:%u: only a Subject: line may come before the body "
						"(an empty line ends it)", p, line);
				else if (subject)
					snprintf(err, err_size,
						"%s:%u: an empty line must follow the Subject: line", p, line);
				else
					snprintf(err, err_size,
						"%s:%u: a template starts with a \"Subject: ...\" line", p, line);
			}
			rc = VIGIL_ECONFIG;
			break;
		}
		line++;
		s = eol ? eol + 1 : s + len;
	}
	if (!rc && !subject) {
		if (err)
			snprintf(err, err_size, "%s: no \"Subject: ...\" line", p);
		rc = VIGIL_ECONFIG;
	}
	if (!rc && !body_line) {
		if (err)
			snprintf(err, err_size, "%s:%u: no body after the Subject: line", p, line);
		rc = VIGIL_ECONFIG;
	}
	if (!rc)
		rc = check_text(p, s, body_line, err, err_size);
	GString *body = NULL;
	if (!rc) {
		body = g_string_new(s);
		while (body->len && (body->str[body->len - 1] == '\n' ||
					    body->str[body->len - 1] == ' ' || body->str[body->len - 1] == '\t'))
			g_string_truncate(body, body->len - 1);
		if (!body->len) {
			if (err)
				snprintf(err, err_size, "%s:%u: the body is empty", p, body_line);
			rc = VIGIL_ECONFIG;
		}
		g_string_append_c(body, '\n');
	}
	vigil_notify_template *t = NULL;
	if (!rc && !(t = calloc(1, sizeof(*t))))
		rc = VIGIL_ENOMEM;
	if (rc) {
		g_free(subject);
		if (body)
			g_string_free(body, TRUE);
		g_string_free(norm, TRUE);
		g_free(def);
		return rc;
	}
	t->path = g_strdup(p);
	t->subject = subject;
	t->body = g_string_free(body, FALSE);
	g_string_free(norm, TRUE);
	g_free(def);
	*out = t;
	return 0;
}

void vigil_notify_template_free(vigil_notify_template *t)
{
	if (!t)
		return;
	g_free(t->path);
	g_free(t->subject);
	g_free(t->body);
	free(t);
}
