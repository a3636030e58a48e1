/*
 * The tracker detector: remote images the reader cannot see, images and links
 * at known email-tracking hosts, and image URLs shaped like open-tracking
 * endpoints. Whether a URL identifies the recipient is token.c's question.
 */
#include <stdio.h>
#include <string.h>

#include "vigil_limits.h"
#include "detect/detect.h"
#include "detect/tracker.h"

/* Open trackers are 1x1 (sometimes 2x2, or 0x0) images. A spacer line (1 px
 * high, hundreds wide, or the reverse) is a layout trick of table-based
 * newsletters: it is seen as a line or a gap, so size alone does not make it
 * a tracker; its host, its path or a token in its URL still can. */
#define INVISIBLE_PX 2

static bool eq(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

bool tracker__is_remote(const vigil_url *u)
{
	return eq(u->scheme, "http") || eq(u->scheme, "https");
}

bool tracker__is_image(const vigil_url *u)
{
	if (u->origin != VIGIL_URL_HTML || !u->element || !u->attribute)
		return false;
	const char *e = u->element, *at = u->attribute;
	/* CSS is fetched for the element it styles, whatever that is. */
	if (eq(at, "background") || eq(at, "style") || eq(at, "style-sheet") || eq(at, "poster"))
		return true;
	if (eq(e, "img") || eq(e, "source"))
		return eq(at, "src") || eq(at, "srcset") || eq(at, "lowsrc") || eq(at, "dynsrc");
	if (eq(e, "input")) /* only type=image has its src extracted */
		return eq(at, "src");
	if (eq(e, "image")) /* SVG <image href> */
		return eq(at, "href");
	if (eq(e, "v:fill") || eq(e, "v:image") || eq(e, "v:imagedata")) /* VML (Outlook) */
		return eq(at, "src");
	return false;
}

bool tracker__is_boxed(const vigil_url *u)
{
	if (tracker__is_image(u))
		return true;
	if (u->origin != VIGIL_URL_HTML || !u->element || !u->attribute)
		return false;
	const char *e = u->element, *at = u->attribute;
	if (eq(e, "object"))
		return eq(at, "data");
	return eq(at, "src") && (eq(e, "iframe") || eq(e, "frame") || eq(e, "embed") ||
		eq(e, "video"));
}

/* The boxes above, and what loads without taking room. */
bool tracker__is_fetched(const vigil_url *u)
{
	if (tracker__is_boxed(u))
		return true;
	if (u->origin != VIGIL_URL_HTML || !u->element || !u->attribute)
		return false;
	const char *e = u->element, *at = u->attribute;
	if (eq(e, "link"))
		return eq(at, "href");
	return eq(at, "src") && (eq(e, "script") || eq(e, "audio") || eq(e, "track"));
}

bool tracker__is_link(const vigil_url *u)
{
	if (u->origin == VIGIL_URL_TEXT)
		return true;
	return u->origin == VIGIL_URL_HTML && eq(u->attribute, "href") &&
		(eq(u->element, "a") || eq(u->element, "area"));
}

static bool tiny(int px)
{
	return px >= 0 && px <= INVISIBLE_PX;
}

bool tracker__is_invisible(const vigil_url *u)
{
	if (u->hidden)
		return true;
	/* 1x1, or 1 px in the one dimension declared (the image's own 1x1 ratio
	 * keeps the other at 1). A 1x600 spacer is visible; see INVISIBLE_PX. */
	if (tiny(u->width) && (u->height < 0 || tiny(u->height)))
		return true;
	return u->width < 0 && tiny(u->height);
}

/* "display:none on an ancestor", from the hidden bits. */
static void hidden_text(char *buf, size_t n, unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {
		{VIGIL_HIDDEN_DISPLAY, "display:none"},
		{VIGIL_HIDDEN_VISIBILITY, "visibility:hidden"},
		{VIGIL_HIDDEN_OPACITY, "opacity:0"},
		{VIGIL_HIDDEN_ATTR, "the hidden attribute"},
		{VIGIL_HIDDEN_ZERO_SIZE, "a zero size"},
		{VIGIL_HIDDEN_CLIPPED, "clipped to nothing"},
		{VIGIL_HIDDEN_OFFSCREEN, "placed off-screen"},
	};
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (!(bits & names[i].bit))
			continue;
		int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", names[i].text);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
	if (bits & VIGIL_HIDDEN_ANCESTOR && len < n)
		snprintf(buf + len, n - len, "%s", len ? " on it or an ancestor" : "an ancestor is hidden");
}

static const char *what(const vigil_url *u)
{
	if (eq(u->attribute, "background") || eq(u->attribute, "style") || eq(u->attribute, "style-sheet"))
		return "CSS background";
	if (tracker__is_image(u))
		return "image";
	if (eq(u->element, "iframe") || eq(u->element, "frame"))
		return "frame";
	if (eq(u->element, "video"))
		return "video";
	return "embedded object";
}

/* Findings recorded so far, per id (DETECT_MAX_PER_ID). */
typedef struct budget {
	int hidden, shape, host;
} budget;

/* Counts a finding if finding__add kept it (not a duplicate, not off). */
static int spent(int *n, size_t before, const vigil_message *msg, int rc)
{
	if (rc == 0 && msg->findings.len > before)
		(*n)++;
	return rc;
}

static int hidden_image(vigil_message *msg, const vigil_config *cfg, const vigil_url *u,
	const char *value)
{
	char size[64] = "";
	if (u->width >= 0 && u->height >= 0)
		snprintf(size, sizeof(size), "%dx%d ", u->width, u->height);
	else if (u->width >= 0)
		snprintf(size, sizeof(size), "%d px wide ", u->width);
	else if (u->height >= 0)
		snprintf(size, sizeof(size), "%d px high ", u->height);
	char why[160];
	if (u->hidden)
		hidden_text(why, sizeof(why), u->hidden);
	else
		snprintf(why, sizeof(why), "too small to see");
	char thing[128];
	snprintf(thing, sizeof(thing), "%s%s", size, what(u));
	return finding__add(msg, cfg, "tracker", "tracker.hidden-image", VIGIL_CLASS_TRACKING, 30,
		"url", value, "%s %s at %s is hidden (%s): an open tracker.",
		strchr("ie", thing[0]) ? "An" : "A", thing, u->host ? u->host : "an unknown host", why);
}

/* The family of the host or of one of its parent domains, down to the
 * registrable domain (a list entry "list-manage.com" covers
 * "lemonde.us16.list-manage.com", never "com"). */
static const char *tracker_family(const vigil_config *cfg, const vigil_url *u)
{
	if (!cfg->tracker_hosts || !u->host)
		return NULL;
	const char *h = u->host;
	for (;;) {
		const char *fam = g_hash_table_lookup(cfg->tracker_hosts, h);
		if (fam)
			return fam;
		if (!u->domain || strcmp(h, u->domain) == 0)
			return NULL;
		const char *dot = strchr(h, '.');
		if (!dot || strlen(dot + 1) < strlen(u->domain))
			return NULL;
		h = dot + 1;
	}
}

/*
 * Paths of open-tracking endpoints, after the families trocker lists and the
 * ESPs' own documentation. Matched against the lower-cased path, at a segment
 * start; what may follow the fragment keeps "/open" from matching
 * "/opensource/logo.png".
 */
typedef enum {
	AFTER_ANY,     /* the fragment ends in '/' or is specific enough */
	AFTER_SEGMENT, /* end, '/', '.', ';': "/open", "/open.php", "/open/x" */
	AFTER_NAME,    /* end, '.', ';': "/track.gif" but not "/track/album/1" */
} after_rule;

static const struct shape {
	const char *frag;
	bool at_start; /* only at the start of the path */
	after_rule after;
} shapes[] = {
	{"/open", false, AFTER_SEGMENT},     /* /open, /wf/open, /track/open.php, open.aspx */
	{"/e1t/o/", false, AFTER_ANY},       /* HubSpot, Sidekick */
	{"/e2t/o/", false, AFTER_ANY},
	{"/o/", true, AFTER_ANY},            /* Mailgun: /o/<token>; not Firebase's /v0/b/x/o/ */
	{"/trace/mail/", false, AFTER_ANY},  /* Mailtrack */
	{"/tr/op/", false, AFTER_ANY},       /* Brevo (Sendinblue) */
	{"/on.jsp", false, AFTER_NAME},      /* Constant Contact */
	{"/pixel", false, AFTER_SEGMENT},    /* pixel.gif, /pixel/<id> */
	{"/p1x1", false, AFTER_NAME},
	{"/1x1", false, AFTER_NAME},
	{"/px", false, AFTER_SEGMENT},       /* px.gif, px.png?id= */
	{"/beacon", false, AFTER_SEGMENT},
	{"/track", false, AFTER_NAME},       /* track.gif, /icp/track?... */
	{"/collect", false, AFTER_NAME},     /* analytics measurement endpoints */
	{"/api/track", false, AFTER_SEGMENT},/* Mixmax */
	{"/imp", false, AFTER_NAME},         /* newsletter ad impressions */
};

static bool after_ok(char c, after_rule r)
{
	switch (r) {
	case AFTER_ANY: return true;
	case AFTER_SEGMENT: return c == '\0' || c == '/' || c == '.' || c == ';';
	case AFTER_NAME: return c == '\0' || c == '.' || c == ';';
	}
	return false;
}

/* The fragment the path matches, or NULL. `path` is lower case. */
static const char *path_shape(const char *path)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		const struct shape *s = &shapes[i];
		size_t n = strlen(s->frag);
		for (const char *p = path; (p = strstr(p, s->frag)); p++) {
			if (s->at_start && p != path)
				break;
			if (after_ok(p[n], s->after))
				return s->frag;
		}
	}
	return NULL;
}

/* A query parameter named or valued "open"/"opened" (trk.php?type=open). */
static bool query_says_open(const char *q)
{
	while (q && *q) {
		size_t n = strcspn(q, "&;=");
		if ((n == 4 && g_ascii_strncasecmp(q, "open", 4) == 0) ||
			(n == 6 && g_ascii_strncasecmp(q, "opened", 6) == 0))
			return true;
		q += n;
		if (*q)
			q++;
	}
	return false;
}

/* Longest path examined for a shape: tracking paths are short; the URL is
 * already capped at VIGIL_MAX_URL_BYTES. */
#define SHAPE_PATH_MAX 1024

static int url_shape(vigil_message *msg, const vigil_config *cfg, const vigil_url *u,
	const char *value)
{
	const char *frag = NULL;
	if (u->path && *u->path) {
		char lower[SHAPE_PATH_MAX];
		size_t n = strnlen(u->path, sizeof(lower) - 1);
		for (size_t i = 0; i < n; i++)
			lower[i] = g_ascii_tolower(u->path[i]);
		lower[n] = '\0';
		frag = path_shape(lower);
	}
	if (!frag && query_says_open(u->query))
		frag = "?open";
	if (!frag)
		return 0;
	return finding__add(msg, cfg, "tracker", "tracker.url-shape", VIGIL_CLASS_TRACKING, 10,
		"url", value, "The %s at %s has the shape of an open-tracking endpoint ('%s').",
		tracker__is_image(u) ? "image URL" : "URL of a resource loaded with the message",
		u->host ? u->host : "an unknown host", frag);
}

/* Whether a link to this host was already reported: a newsletter routes
 * every link through the same click tracker, and one finding says it. */
static bool seen_host(GHashTable *hosts, const char *host)
{
	if (g_hash_table_contains(hosts, host))
		return true;
	g_hash_table_add(hosts, (gpointer)host);
	return false;
}

int detect__tracker(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	GHashTable *link_hosts = NULL;
	budget b = {0, 0, 0};
	int rc = 0;
	for (size_t i = 0; i < msg->urls.len && rc == 0; i++) {
		const vigil_url *u = &msg->urls.items[i];
		if (!tracker__is_remote(u) || !u->host)
			continue;
		const char *value = u->url ? u->url : u->raw;
		bool image = tracker__is_image(u), fetched = tracker__is_fetched(u);
		size_t before = msg->findings.len;
		if (b.hidden < DETECT_MAX_PER_ID && tracker__is_boxed(u) && tracker__is_invisible(u))
			rc = spent(&b.hidden, before, msg, hidden_image(msg, cfg, u, value));
		before = msg->findings.len;
		if (rc == 0 && fetched && b.shape < DETECT_MAX_PER_ID)
			rc = spent(&b.shape, before, msg, url_shape(msg, cfg, u, value));
		/* A header URL (List-Unsubscribe) is neither shown nor fetched. */
		if (rc || (!fetched && !tracker__is_link(u)))
			continue;
		const char *fam = b.host < DETECT_MAX_PER_ID ? tracker_family(cfg, u) : NULL;
		if (!fam)
			continue;
		before = msg->findings.len;
		if (fetched) {
			rc = finding__add(msg, cfg, "tracker", "tracker.known-host", VIGIL_CLASS_TRACKING,
				20, "url", value,
				"The %s at %s comes from a known email-tracking service (%s).",
				image ? "image" : "resource loaded with the message", u->host, fam);
			spent(&b.host, before, msg, rc);
			continue;
		}
		if (!link_hosts)
			link_hosts = g_hash_table_new(g_str_hash, g_str_equal); /* aborts on OOM */
		if (!seen_host(link_hosts, u->host))
			rc = finding__add(msg, cfg, "tracker", "tracker.known-host", VIGIL_CLASS_TRACKING,
				20, "url", value,
				"The link to %s goes through a known email-tracking service (%s): clicks are "
				"recorded.", u->host, fam);
		spent(&b.host, before, msg, rc);
	}
	if (link_hosts)
		g_hash_table_destroy(link_hosts);
	return rc;
}
