/*
 * The SMTP client of vigil notify: libcurl, one message and one recipient
 * per transaction, uploaded from memory, on one handle so that the
 * connection serves the next message. It reports the server's last reply
 * (the queue id of an accepted message, the reason of a refusal); it knows
 * nothing of the store or of who was told.
 */
#include <curl/curl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "vigil_limits.h"

struct notify__smtp {
	CURL *curl;
	char *url;
	bool starttls;
	char *user, *password;
	char *ca_file;
	long timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
	char reply[512]; /* the server's last reply line */
	bool quitting;   /* QUIT sent: its "221 Bye" is not the reply that decided */
};

static GOnce curl_once = G_ONCE_INIT;

static gpointer curl_init_once(gpointer unused)
{
	(void)unused;
	return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
}

int notify__smtp_new(notify__smtp **out, const vigil_notify_options *opt, char *err,
	size_t err_size)
{
	*out = NULL;
	if (!g_once(&curl_once, curl_init_once, NULL)) {
		if (err)
			snprintf(err, err_size, "libcurl could not be initialised");
		return VIGIL_EINTERNAL;
	}
	const char *url = opt->smtp_url && *opt->smtp_url ? opt->smtp_url : VIGIL_NOTIFY_DEFAULT_SMTP;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = 0;
	if (!u)
		return VIGIL_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		(strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)) {
		if (err)
			snprintf(err, err_size,
				"--smtp '%s': an smtp:// or smtps:// URL expected "
				"(smtp://HOST[:PORT], smtps://HOST[:PORT])", url);
		rc = VIGIL_ECONFIG;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (rc)
		return rc;
	notify__smtp *s = calloc(1, sizeof(*s));
	if (!s || !(s->curl = curl_easy_init())) {
		free(s);
		return VIGIL_ENOMEM;
	}
	s->url = g_strdup(url);
	s->starttls = opt->starttls;
	s->user = g_strdup(opt->smtp_user);
	s->password = g_strdup(opt->smtp_password);
	s->ca_file = g_strdup(opt->smtp_ca_file);
	s->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : VIGIL_SMTP_TIMEOUT_MS;
	*out = s;
	return 0;
}

void notify__smtp_free(notify__smtp *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	g_free(s->url);
	g_free(s->user);
	g_free(s->ca_file);
	if (s->password) {
		/* not left in freed memory */
		memset(s->password, 0, strlen(s->password));
		g_free(s->password);
	}
	free(s);
}

typedef struct upload {
	const char *p;
	size_t left;
} upload;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	upload *u = ud;
	size_t n = size * nitems < u->left ? size * nitems : u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* The server's replies reach libcurl's debug callback as "header" data:
 * keep the last complete line, which is what decided. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)h;
	notify__smtp *s = ud;
	if (type == CURLINFO_HEADER_OUT && size >= 4 && g_ascii_strncasecmp(data, "QUIT", 4) == 0)
		s->quitting = true;
	if (type != CURLINFO_HEADER_IN || size == 0 || s->quitting)
		return 0;
	size_t n = size;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	/* A multi-line reply arrives line by line; each replaces the last. */
	const char *line = data;
	const char *nl = memchr(data, '\n', n);
	while (nl) {
		line = nl + 1;
		nl = memchr(line, '\n', n - (size_t)(line - data));
	}
	size_t len = n - (size_t)(line - data);
	if (len >= sizeof(s->reply))
		len = sizeof(s->reply) - 1;
	memcpy(s->reply, line, len);
	s->reply[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s->reply[i] < 0x20 || (unsigned char)s->reply[i] == 0x7f)
			s->reply[i] = ' ';
	return 0;
}

int notify__smtp_send(notify__smtp *s, const char *mail_from, const char *rcpt,
	const char *data, size_t len, char *reply, size_t reply_size)
{
	char *from = g_strdup_printf("<%s>", mail_from);
	char *to = g_strdup_printf("<%s>", rcpt);
	struct curl_slist *rcpts = curl_slist_append(NULL, to);
	upload u = {data, len};
	CURL *c = s->curl;
	s->errbuf[0] = '\0';
	s->reply[0] = '\0';
	s->quitting = false;
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	/* smtps:// is TLS from the start whatever this says; on smtp://,
	 * CURLUSESSL_ALL refuses to go on when STARTTLS is not offered, so a
	 * stripped STARTTLS cannot make us send in clear. */
	curl_easy_setopt(c, CURLOPT_USE_SSL, s->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (s->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		s->timeout_ms < VIGIL_SMTP_CONNECT_TIMEOUT_MS ? s->timeout_ms
							      : VIGIL_SMTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
	CURLcode cc = curl_easy_perform(c);
	/* The list and strings are not kept by the handle past this call's use:
	 * unset them before freeing, so a later perform never sees them. */
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(c, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpts);
	g_free(from);
	g_free(to);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		snprintf(reply, reply_size, "%s", s->reply[0] ? s->reply : "accepted");
		return 0;
	}
	snprintf(reply, reply_size, "%s%s%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc),
		s->reply[0] ? "; server said: " : "", s->reply);
	return VIGIL_EIO;
}
