/*
 * The message model: what parse and extract make of one message, and what
 * detectors and sinks read. Everything here lives in the message's arena;
 * strings are UTF-8 and NUL-terminated, NULL when absent.
 */
#ifndef VIGIL_MESSAGE_H
#define VIGIL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "vigil/vigil.h"

/* A time that was absent or could not be parsed. */
#define VIGIL_NO_TIME INT64_MIN

typedef struct vigil_mailbox {
	const char *name;    /* display name, decoded; NULL when none */
	const char *address; /* addr-spec as written (decoded), NULL for a bare group */
	const char *domain;  /* the address's domain, lower case, IDNA A-label */
	int nested;          /* 0 for the message itself, n inside n message/rfc822 */
} vigil_mailbox;

typedef VIGIL_VEC(vigil_mailbox) vigil_mailbox_vec;

/* One Received header field, parsed. Any part may be NULL when the MTA did not
 * write it; `raw` always holds the unfolded field. */
typedef struct vigil_received {
	const char *raw;
	const char *from_host; /* the name after "from" (usually the HELO/EHLO) */
	const char *helo;      /* "helo=" inside the comment when given, else from_host */
	const char *rdns;      /* reverse-DNS name from the comment, when given */
	const char *ip;        /* the connecting address, canonical text (inet_ntop) */
	const char *by_host;
	const char *with;      /* protocol: SMTP, ESMTPS, LMTP, ... */
	const char *id;
	const char *for_addr;
	int64_t time;          /* after ";", seconds since the epoch, or VIGIL_NO_TIME */
	int nested;
} vigil_received;

typedef VIGIL_VEC(vigil_received) vigil_received_vec;

/* A property of one authentication result: "header.d" = "example.org". */
typedef struct vigil_auth_prop {
	const char *name;  /* ptype.property, lower case */
	const char *value;
} vigil_auth_prop;

/* One resinfo of an Authentication-Results header field (RFC 8601). */
typedef struct vigil_auth_result {
	const char *authserv_id; /* of the header field it came from */
	int header_index;        /* 0 = topmost Authentication-Results field */
	const char *method;      /* "spf", "dkim", "dmarc", "arc", ..., lower case */
	const char *result;      /* "pass", "fail", "softfail", "none", ..., lower case */
	const char *reason;      /* reason="..." when given */
	vigil_auth_prop *props;
	size_t n_props;
	int nested;
	int instance;            /* ARC-Authentication-Results "i=" tag, 0 when none */
} vigil_auth_result;

typedef VIGIL_VEC(vigil_auth_result) vigil_auth_vec;

/* Where a URL was found. */
typedef enum vigil_url_origin {
	VIGIL_URL_HTML = 1,   /* an attribute, style or element of an HTML body */
	VIGIL_URL_TEXT = 2,   /* a text/plain body */
	VIGIL_URL_HEADER = 3, /* a header field such as List-Unsubscribe */
} vigil_url_origin;

/* Why an element is hidden from the reader (bit set). */
enum {
	VIGIL_HIDDEN_DISPLAY = 1 << 0,    /* display:none */
	VIGIL_HIDDEN_VISIBILITY = 1 << 1, /* visibility:hidden or collapse */
	VIGIL_HIDDEN_OPACITY = 1 << 2,    /* opacity:0 */
	VIGIL_HIDDEN_ATTR = 1 << 3,       /* the hidden attribute */
	VIGIL_HIDDEN_ZERO_SIZE = 1 << 4,  /* width or height 0 (attribute or CSS) */
	VIGIL_HIDDEN_CLIPPED = 1 << 5,    /* zero (max-)height/width with overflow:hidden */
	VIGIL_HIDDEN_OFFSCREEN = 1 << 6,  /* positioned far off-screen */
	VIGIL_HIDDEN_ANCESTOR = 1 << 7,   /* one of the above holds for an ancestor */
};

/* One URL and the context it was found in. */
typedef struct vigil_url {
	const char *raw;      /* as found, entities decoded, whitespace trimmed */
	const char *url;      /* normalised by libcurl; NULL when it did not parse */
	const char *scheme;   /* lower case */
	const char *host;     /* lower case IDNA A-label (punycode) or IP literal */
	const char *host_unicode; /* U-label form; equals host when ASCII */
	const char *domain;   /* registrable domain (libpsl), NULL for IPs/unknown */
	const char *path;
	const char *query;
	const char *fragment;
	vigil_url_origin origin;
	const char *element;   /* "img", "a", "td", ...; "text" or the header name */
	const char *attribute; /* "src", "href", "srcset", "style", "background", ... */
	int width, height;     /* declared size in CSS px, -1 when not declared */
	unsigned hidden;       /* VIGIL_HIDDEN_* bits, 0 when visible */
	const char *link_text; /* visible text of a link (a, area alt), trimmed */
	const char *text_host; /* host named by that text when it looks like a URL/host */
	int part;              /* index of the MIME part it came from */
	int nested;
} vigil_url;

typedef VIGIL_VEC(vigil_url) vigil_url_vec;

typedef struct vigil_attachment {
	const char *filename;      /* decoded (RFC 2047/2231), NULL when none */
	const char *declared_type; /* "application/pdf" as declared, lower case */
	const char *sniffed_type;  /* MIME type libmagic finds in the content */
	const char *disposition;   /* "attachment", "inline" or NULL */
	uint64_t size;             /* decoded bytes */
	char md5[33], sha1[41], sha256[65];
	int part;
	int nested;
} vigil_attachment;

typedef VIGIL_VEC(vigil_attachment) vigil_attachment_vec;

/* A decoded text body (text/plain or text/html), converted to UTF-8. */
typedef struct vigil_body {
	const char *content_type; /* "text/plain" or "text/html" */
	const char *charset;      /* as declared, NULL when none */
	const char *text;         /* UTF-8, NUL-terminated */
	size_t len;
	int part;
	int nested;
} vigil_body;

typedef VIGIL_VEC(vigil_body) vigil_body_vec;

/* A message/rfc822 part: who sent it, and what it was about. */
typedef struct vigil_nested_message {
	int depth; /* 1 for a message attached to the top message */
	int part;
	vigil_mailbox from;
	const char *subject;
	const char *message_id;
	const char *date;
} vigil_nested_message;

typedef VIGIL_VEC(vigil_nested_message) vigil_nested_vec;

typedef VIGIL_VEC(const char *) vigil_str_vec;

/* What a finding says about the message, for the judge. */
typedef enum vigil_finding_class {
	VIGIL_CLASS_TRACKING = 1,  /* the message reports back when it is opened */
	VIGIL_CLASS_TOKEN = 2,     /* a URL identifies the recipient */
	VIGIL_CLASS_DECEPTION = 3, /* the message lies about who sent it or where a link goes */
	VIGIL_CLASS_MALICIOUS = 4, /* known bad: threat intel, rules, strong phishing signals */
	VIGIL_CLASS_INFO = 5,      /* worth showing; weighs in the score only */
} vigil_finding_class;

/* One finding of one detector: why, with the evidence. */
typedef struct vigil_finding {
	const char *detector; /* "tracker", "token", "impersonation", "auth", "relay", ... */
	const char *id;       /* "tracker.hidden-image", ...: stable, used for weights */
	vigil_finding_class cls;
	int score;
	const char *reason;   /* one readable sentence */
	const char *artifact; /* what the evidence is: "url", "from", "received", ... */
	const char *value;    /* the value judged: the URL, the address, the IP */
	/* intel findings: the indicator that matched (NULL otherwise) */
	const char *ioc_type;   /* "domain", "url", "email", "ipv4", ... */
	const char *ioc_value;
	const char *ioc_source; /* the feed it came from */
	/* impersonation findings: the protected outlet or person imitated */
	const char *about;
} vigil_finding;

typedef VIGIL_VEC(vigil_finding) vigil_finding_vec;

struct vigil_message {
	vigil_arena *arena;
	/* the context it was scanned with (lists, config): for sinks such as the
	 * store that judge campaign keys (free-mail, own domains) */
	const struct vigil_ctx *ctx;

	/* provenance */
	const char *path;
	int64_t offset;
	uint64_t size;        /* raw bytes */
	char sha256[65];      /* of the raw bytes: the message's identity in a store */

	/* hosts already normalised and URLs already parsed (extract/url.c), in
	 * the arena; NULL at first */
	struct url_hosts *url_hosts;

	/* partial: why the model is incomplete (limits hit, malformed parts) */
	bool partial;
	vigil_str_vec partial_reasons;

	/* identity (top-level message) */
	vigil_mailbox from;          /* first From mailbox; from_count says if more */
	int from_count;
	vigil_mailbox sender;
	vigil_mailbox_vec reply_to;
	vigil_mailbox return_path;
	vigil_mailbox_vec to, cc, bcc;
	vigil_mailbox_vec delivered_to; /* Delivered-To, X-Original-To */
	const char *message_id;      /* without angle brackets */
	const char *message_id_domain;
	const char *date;            /* as written */
	int64_t date_time;           /* parsed, or VIGIL_NO_TIME */
	const char *subject;
	const char *x_mailer;
	const char *user_agent;
	const char *list_unsubscribe;

	vigil_received_vec received; /* top to bottom: [0] is the newest hop */
	vigil_auth_vec auth;

	vigil_url_vec urls;
	vigil_attachment_vec attachments;
	vigil_body_vec bodies;
	vigil_nested_vec nested;
	int n_parts;

	/* detection (detect/): findings, then the judge's verdict */
	vigil_finding_vec findings;
	vigil_verdict verdict;
	int score;
};

/* Records a reason the message is partial (duplicates collapse). Returns 0 or
 * VIGIL_ENOMEM. */
int message__partial(vigil_message *msg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* VIGIL_MESSAGE_H */
