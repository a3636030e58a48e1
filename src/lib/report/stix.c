/*
 * The STIX 2.1 report: one bundle with the reporting organisation
 * (identity), the TLP marking, each campaign, indicators with STIX patterns
 * for its infrastructure, sightings with counts, relationships, optionally
 * the targeted people, and a report object listing it all. It does not
 * share the per-recipient tracker URLs: those carry the targets' tokens.
 */
#include <glib.h>
#include <string.h>

#include "report/campaign_report.h"

/* The spec's predefined TLP marking definitions (STIX 2.1, section 7.2.1.4):
 * fixed ids and content that every STIX consumer knows. */
static const struct {
	const char *id, *name, *tlp;
} tlp_marks[] = {
	[VIGIL_TLP_AMBER] = {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER",
		"amber"},
	[VIGIL_TLP_CLEAR] = {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE",
		"white"},
	[VIGIL_TLP_GREEN] = {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN",
		"green"},
	[VIGIL_TLP_RED] = {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED",
		"red"},
};

/* The organisation's identity has no time of its own; a fixed one keeps
 * its id and content the same in every report, so consumers merge it. */
#define ORG_CREATED "2020-01-01T00:00:00.000Z"

/* STIX caps sighting counts (section 5.2, count: 0 to 999,999,999). */
#define STIX_MAX_COUNT 999999999

typedef struct stix {
	const report_ctx *r;
	json_t *objects; /* the bundle's objects, in the order written */
	json_t *by_id;   /* id -> object, to write shared objects once */
	char org_id[64];
	const char *tlp_id;
	bool oom;
} stix;

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new_nocheck(o, k, v);
}

static json_t *time_str(int64_t t)
{
	char buf[32];
	report__stix_time(t, buf, sizeof(buf));
	return json_string(buf);
}

/* A new SDO/SRO with the common properties, added to the bundle, or NULL
 * when an object with this id is there already (written once). */
static json_t *new_object(stix *S, const char *type, const char *id, int64_t created)
{
	if (json_object_get(S->by_id, id))
		return NULL;
	json_t *o = json_object();
	if (!o) {
		S->oom = true;
		return NULL;
	}
	int64_t modified = S->r->now > created ? S->r->now : created;
	set(o, "type", json_string(type));
	set(o, "spec_version", json_string("2.1"));
	set(o, "id", json_string(id));
	set(o, "created", time_str(created));
	set(o, "modified", time_str(modified));
	set(o, "created_by_ref", json_string(S->org_id));
	set(o, "object_marking_refs", json_pack("[s]", S->tlp_id));
	json_array_append(S->objects, o);
	json_object_set(S->by_id, id, o);
	json_decref(o);
	return o;
}

/* `[path op 'value']` with the pattern grammar's string escapes: a
 * backslash and a quote are the only characters escaped (\\ and \'). */
static char *pattern(const char *path, const char *op, const char *value)
{
	GString *g = g_string_new("[");
	g_string_append_printf(g, "%s %s '", path, op);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '\'')
			g_string_append_c(g, '\\');
		g_string_append_c(g, *p);
	}
	g_string_append(g, "']");
	return g_string_free(g, FALSE);
}

/* The host of a URL, lower-cased, in buf; "" when there is none. */
static const char *url_host(const char *url, char *buf, size_t size)
{
	buf[0] = '\0';
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return buf;
	p += 3;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t hn = n;
	if (*p == '[') { /* [IPv6]:port */
		const char *close = memchr(p, ']', n);
		if (close) {
			p++;
			hn = (size_t)(close - p);
		}
	} else {
		const char *colon = memchr(p, ':', n);
		if (colon)
			hn = (size_t)(colon - p);
	}
	if (hn >= size)
		hn = size - 1;
	for (size_t i = 0; i < hn; i++)
		buf[i] = g_ascii_tolower(p[i]);
	buf[hn] = '\0';
	return buf;
}

/* How often and when an indicator shows in a campaign's messages. */
typedef struct seen {
	json_int_t count;
	int64_t first, last;
} seen;

typedef enum match { M_TRACKER_HOST, M_FROM, M_FROM_DOMAIN, M_CAMPAIGN } match;

static bool message_matches(json_t *m, match how, const char *value)
{
	if (how == M_TRACKER_HOST) {
		size_t i;
		json_t *u;
		char host[256];
		json_array_foreach (json_object_get(m, "tracker_urls"), i, u)
			if (g_ascii_strcasecmp(url_host(json_string_value(u), host, sizeof(host)), value) == 0)
				return true;
		return false;
	}
	const char *from = report__str(m, "from");
	if (!from)
		return false;
	if (how == M_FROM)
		return g_ascii_strcasecmp(from, value) == 0;
	const char *at = strrchr(from, '@');
	return at && g_ascii_strcasecmp(at + 1, value) == 0;
}

/* Whether message `m` carries what `how` looks at (a From address, tracker
 * URLs), so that not matching means not showing the indicator. */
static bool message_tells(json_t *m, match how)
{
	if (how == M_TRACKER_HOST)
		return json_array_size(json_object_get(m, "tracker_urls")) > 0;
	return report__str(m, "from") != NULL;
}

/* Counts the messages of campaign `c` that show `value`. When the messages
 * cannot tell (the documents carry no per-message detail for relays and
 * intel, or a document has no tracker URLs or From addresses), the whole
 * campaign counts: its messages share that infrastructure by construction. */
static seen count_seen(json_t *c, match how, const char *value)
{
	seen s = {0, REPORT_NO_TIME, REPORT_NO_TIME};
	json_t *msgs = json_object_get(c, "messages");
	bool told = false;
	if (how != M_CAMPAIGN) {
		size_t i;
		json_t *m;
		json_array_foreach (msgs, i, m) {
			told |= message_tells(m, how);
			if (!message_matches(m, how, value))
				continue;
			s.count++;
			int64_t t = report__time(m, "date");
			if (t != REPORT_NO_TIME && (s.first == REPORT_NO_TIME || t < s.first))
				s.first = t;
			if (t != REPORT_NO_TIME && (s.last == REPORT_NO_TIME || t > s.last))
				s.last = t;
		}
	}
	if (!told) {
		s.count = report__int(c, "message_count", (json_int_t)json_array_size(msgs));
		s.first = report__time(c, "first_seen");
		s.last = report__time(c, "last_seen");
	}
	if (s.first == REPORT_NO_TIME)
		s.first = s.last;
	if (s.last == REPORT_NO_TIME)
		s.last = s.first;
	if (s.count > STIX_MAX_COUNT)
		s.count = STIX_MAX_COUNT;
	if (s.count < 0)
		s.count = 0;
	return s;
}

typedef struct campaign_info {
	json_t *doc;
	const char *name;
	char id[64];
	int64_t created, first_seen;
} campaign_info;

/* One indicator of a campaign: the indicator (once per bundle), its
 * `indicates` relationship and the organisation's sighting of it there,
 * counted on the messages that show `seen_as` (NULL: `value` itself). */
static void add_indicator(stix *S, const campaign_info *C, const char *label, const char *path,
	const char *op, const char *value, const char *types, match how, const char *seen_as,
	const char *note)
{
	if (!value || !*value)
		return; /* an empty list entry: nothing to look for */
	char *pat = pattern(path, op, value);
	char uuid[37], id[64];
	report__uuid5_of(uuid, "indicator", pat, NULL);
	snprintf(id, sizeof(id), "indicator--%s", uuid);

	json_t *ind = new_object(S, "indicator", id, C->created);
	if (ind) {
		char *name = g_strdup_printf("%s: %s", label, value);
		char *desc = g_strdup_printf("%s seen by %s in mail of campaign \"%s\".%s%s", label,
			S->r->org, C->name, note ? " " : "", note ? note : "");
		set(ind, "name", json_string(name));
		set(ind, "description", json_string(desc));
		json_t *t = json_array();
		char **parts = g_strsplit(types, ",", -1);
		for (char **p = parts; *p; p++)
			json_array_append_new(t, json_string(*p));
		g_strfreev(parts);
		set(ind, "indicator_types", t);
		set(ind, "pattern", json_string(pat));
		set(ind, "pattern_type", json_string("stix"));
		set(ind, "pattern_version", json_string("2.1"));
		set(ind, "valid_from", time_str(C->first_seen));
		g_free(name);
		g_free(desc);
	}

	char rid[64];
	report__uuid5_of(uuid, "relationship", "indicates", id);
	report__uuid5_of(uuid, "relationship", uuid, C->id);
	snprintf(rid, sizeof(rid), "relationship--%s", uuid);
	json_t *rel = new_object(S, "relationship", rid, C->created);
	if (rel) {
		set(rel, "relationship_type", json_string("indicates"));
		set(rel, "source_ref", json_string(id));
		set(rel, "target_ref", json_string(C->id));
	}

	seen s = count_seen(C->doc, how, seen_as ? seen_as : value);
	if (s.count > 0) {
		char sid[64];
		report__uuid5_of(uuid, "sighting", id, C->id);
		snprintf(sid, sizeof(sid), "sighting--%s", uuid);
		json_t *si = new_object(S, "sighting", sid, C->created);
		if (si) {
			char *desc = g_strdup_printf("Seen in %" JSON_INTEGER_FORMAT
						     " message(s) of campaign \"%s\".",
				s.count, C->name);
			set(si, "description", json_string(desc));
			g_free(desc);
			if (s.first != REPORT_NO_TIME) {
				set(si, "first_seen", time_str(s.first));
				set(si, "last_seen", time_str(s.last));
			}
			set(si, "count", json_integer(s.count));
			set(si, "sighting_of_ref", json_string(id));
			set(si, "where_sighted_refs", json_pack("[s]", S->org_id));
		}
	}
	g_free(pat);
}

/* The STIX pattern path of an address or host. */
static const char *addr_path(const char *v)
{
	if (report__is_ipv4(v))
		return "ipv4-addr:value";
	if (report__is_ipv6(v))
		return "ipv6-addr:value";
	return "domain-name:value";
}

/* An intel indicator's type (vigil's names, intel__type_name) as a path. */
static const char *intel_path(const char *type, const char *value)
{
	static const struct {
		const char *type, *path;
	} paths[] = {{"domain", "domain-name:value"}, {"url", "url:value"},
		{"email", "email-addr:value"}, {"ipv4", "ipv4-addr:value"},
		{"ipv6", "ipv6-addr:value"}, {"md5", "file:hashes.MD5"},
		{"sha1", "file:hashes.'SHA-1'"}, {"sha256", "file:hashes.'SHA-256'"}};
	if (strcmp(type, "ip") == 0 || strcmp(type, "cidr") == 0)
		return report__is_ipv6(value) ? "ipv6-addr:value" : "ipv4-addr:value";
	for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
		if (strcmp(type, paths[i].type) == 0)
			return paths[i].path;
	return NULL;
}

/* A URL template ("http://h/open/{token}.gif") as a LIKE pattern value:
 * each {placeholder} becomes '%'. NULL when it has no placeholder. */
static char *template_like(const char *t)
{
	if (!strchr(t, '{'))
		return NULL;
	GString *g = g_string_new(NULL);
	for (const char *p = t; *p; p++) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (close) {
			g_string_append_c(g, '%');
			p = close;
		} else {
			g_string_append_c(g, *p);
		}
	}
	return g_string_free(g, FALSE);
}

static void add_campaign(stix *S, json_t *c)
{
	campaign_info C = {.doc = c};
	char namebuf[48];
	C.name = report__campaign_name(c, namebuf, sizeof(namebuf));
	const char *uuid = report__str(c, "uuid");
	char u[37];
	if (uuid && report__is_uuid(uuid)) {
		snprintf(C.id, sizeof(C.id), "campaign--%s", uuid);
		for (char *p = C.id; *p; p++) /* STIX ids are lower-case */
			*p = g_ascii_tolower(*p);
	} else {
		char idtxt[32];
		snprintf(idtxt, sizeof(idtxt), "%" JSON_INTEGER_FORMAT, report__int(c, "id", 0));
		report__uuid5_of(u, "campaign", idtxt, C.name);
		snprintf(C.id, sizeof(C.id), "campaign--%s", u);
	}
	int64_t first = report__time(c, "first_seen"), last = report__time(c, "last_seen");
	C.created = report__time(c, "created");
	if (C.created == REPORT_NO_TIME)
		C.created = first != REPORT_NO_TIME ? first : S->r->now;
	C.first_seen = first != REPORT_NO_TIME ? first : C.created;

	json_t *camp = new_object(S, "campaign", C.id, C.created);
	if (camp) {
		set(camp, "name", json_string(C.name));
		GString *d = g_string_new(NULL);
		const char *verdict = report__str(c, "verdict");
		g_string_append_printf(d,
			"Mail campaign grouped by vigil (verdict: %s): %" JSON_INTEGER_FORMAT
			" message(s) to %" JSON_INTEGER_FORMAT " recipient(s), %" JSON_INTEGER_FORMAT
			" open(s) of its trackers seen in logs.",
			verdict ? verdict : "unknown",
			report__int(c, "message_count", (json_int_t)json_array_size(json_object_get(c, "messages"))),
			report__int(c, "target_count", (json_int_t)json_array_size(json_object_get(c, "targets"))),
			report__int(c, "open_count", (json_int_t)json_array_size(json_object_get(c, "opens"))));
		json_t *imp = json_object_get(c, "impersonates");
		if (json_array_size(imp)) {
			g_string_append(d, " Impersonates: ");
			size_t i;
			json_t *v;
			json_array_foreach (imp, i, v)
				g_string_append_printf(d, "%s%s", i ? ", " : "", json_string_value(v));
			g_string_append_c(d, '.');
		}
		set(camp, "description", json_string(d->str));
		g_string_free(d, TRUE);
		if (first != REPORT_NO_TIME)
			set(camp, "first_seen", time_str(first));
		if (last != REPORT_NO_TIME)
			set(camp, "last_seen", time_str(last));
		if (verdict && strcmp(verdict, "recon") == 0)
			set(camp, "objective", json_string("Reconnaissance: learn which targets open mail, "
							   "when and from where (tracking pixels)."));
		/* An object of this schema carries the campaign's id in vigil, so
		 * an analyst can go from the bundle back to `vigil campaigns show`. */
		char ext_id[32];
		snprintf(ext_id, sizeof(ext_id), "%" JSON_INTEGER_FORMAT, report__int(c, "id", 0));
		set(camp, "external_references",
			json_pack("[{s:s, s:s}]", "source_name", "vigil", "external_id", ext_id));
	}

	json_t *senders = json_object_get(c, "senders"), *trackers = json_object_get(c, "trackers");
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(trackers, "hosts"), i, v) {
		const char *h = json_string_value(v);
		if (report__shared_tracker(c, h))
			continue; /* a tracking service's: shared by all its customers */
		add_indicator(S, &C, "Tracker host", addr_path(h), "=", h, "malicious-activity",
			M_TRACKER_HOST, NULL, "Mail of the campaign loads hidden images from it to learn who opens it.");
	}
	json_array_foreach (json_object_get(trackers, "url_templates"), i, v) {
		const char *t = json_string_value(v);
		if (report__shared_tracker(c, t))
			continue;
		char *like = template_like(t);
		char host[256]; /* counted on the messages with a tracker on its host */
		url_host(t, host, sizeof(host));
		add_indicator(S, &C, "Tracker URL", "url:value", like ? "LIKE" : "=", like ? like : t,
			"malicious-activity", M_TRACKER_HOST, host,
			like ? "'%' stands for the per-recipient token." : NULL);
		g_free(like);
	}
	json_array_foreach (json_object_get(senders, "addresses"), i, v)
		add_indicator(S, &C, "Sender address", "email-addr:value", "=", json_string_value(v),
			"malicious-activity,attribution", M_FROM, NULL, NULL);
	json_array_foreach (json_object_get(senders, "domains"), i, v) {
		const char *d = json_string_value(v);
		if (report__shared_domain(c, d))
			continue; /* gmail.com says nothing about who sent it */
		add_indicator(S, &C, "Sender domain", addr_path(d), "=", d,
			"malicious-activity,attribution", M_FROM_DOMAIN, NULL, NULL);
	}
	json_array_foreach (json_object_get(senders, "relay_ips"), i, v) {
		const char *a = json_string_value(v);
		add_indicator(S, &C, "Relay address", addr_path(a), "=", a, "compromised,attribution",
			M_CAMPAIGN, NULL, "A Received hop of the campaign's mail came from it.");
	}
	json_array_foreach (json_object_get(c, "indicators"), i, v) {
		const char *type = report__str(v, "type"), *value = report__str(v, "value");
		const char *path = type && value ? intel_path(type, value) : NULL;
		if (!path)
			continue; /* a type STIX patterns cannot say; HTML and CSV still show it */
		const char *src = report__str(v, "source");
		char *note = g_strdup_printf("Matched threat intelligence%s%s.", src ? " from " : "",
			src ? src : "");
		add_indicator(S, &C, "Threat-intel indicator", path, "=", value, "malicious-activity",
			M_CAMPAIGN, NULL, note);
		g_free(note);
	}

	if (S->r->targets) {
		json_array_foreach (json_object_get(c, "targets"), i, v) {
			const char *addr = report__str(v, "address");
			char *lower = g_ascii_strdown(addr, -1);
			char tid[64], rid[64];
			report__uuid5_of(u, "target", lower, NULL);
			snprintf(tid, sizeof(tid), "identity--%s", u);
			g_free(lower);
			json_t *id = new_object(S, "identity", tid, C.created);
			if (id) {
				const char *name = report__str(v, "name");
				set(id, "name", json_string(name ? name : addr));
				set(id, "identity_class", json_string("individual"));
				set(id, "contact_information", json_string(addr));
			}
			report__uuid5_of(u, "relationship", "targets", C.id);
			report__uuid5_of(u, "relationship", u, tid);
			snprintf(rid, sizeof(rid), "relationship--%s", u);
			json_t *rel = new_object(S, "relationship", rid, C.created);
			if (rel) {
				set(rel, "relationship_type", json_string("targets"));
				set(rel, "source_ref", json_string(C.id));
				set(rel, "target_ref", json_string(tid));
			}
		}
	}
}

int report__stix(const report_ctx *r)
{
	stix S = {.r = r, .objects = json_array(), .by_id = json_object()};
	S.tlp_id = tlp_marks[r->tlp].id;
	char u[37];
	report__uuid5_of(u, "identity", r->org, NULL);
	snprintf(S.org_id, sizeof(S.org_id), "identity--%s", u);
	if (!S.objects || !S.by_id) {
		json_decref(S.objects);
		json_decref(S.by_id);
		return VIGIL_ENOMEM;
	}

	/* The marking definition as the spec defines it: it carries no
	 * created_by_ref or marking of its own. */
	json_t *mark = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "type",
		"marking-definition", "spec_version", "2.1", "id", S.tlp_id, "created",
		"2017-01-20T00:00:00.000Z", "definition_type", "tlp", "name", tlp_marks[r->tlp].name,
		"definition", "tlp", tlp_marks[r->tlp].tlp);
	json_array_append_new(S.objects, mark);

	json_t *org = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "type", "identity",
		"spec_version", "2.1", "id", S.org_id, "created", ORG_CREATED, "modified", ORG_CREATED,
		"name", r->org, "identity_class", "organization", "object_marking_refs", S.tlp_id);
	json_array_append_new(S.objects, org);
	json_object_set(S.by_id, S.org_id, org);

	GString *ids = g_string_new(NULL);
	size_t i;
	json_t *c;
	json_array_foreach (r->campaigns, i, c) {
		add_campaign(&S, c);
		g_string_append_printf(ids, "%" JSON_INTEGER_FORMAT ",", report__int(c, "id", 0));
	}

	/* The report object: what OpenCTI and others show as the container. */
	char rid[64], namebuf[48], nowtxt[32];
	snprintf(nowtxt, sizeof(nowtxt), "%lld", (long long)r->now);
	report__uuid5_of(u, "report", r->org, ids->str);
	snprintf(rid, sizeof(rid), "report--%s", u);
	char *title = r->title ? g_strdup(r->title)
		: json_array_size(r->campaigns) == 1
		? g_strdup_printf("Mail campaign: %s",
			  report__campaign_name(json_array_get(r->campaigns, 0), namebuf, sizeof(namebuf)))
		: g_strdup_printf("Mail campaigns: %zu", json_array_size(r->campaigns));
	json_t *rep = new_object(&S, "report", rid, r->now);
	if (rep) {
		set(rep, "name", json_string(title));
		set(rep, "description",
			json_string("Mail campaigns found by vigil: infrastructure, indicators and how "
				    "often they were seen."));
		set(rep, "report_types", json_pack("[s, s]", "campaign", "indicator"));
		set(rep, "published", time_str(r->now));
		json_t *refs = json_array();
		size_t k;
		json_t *o;
		json_array_foreach (S.objects, k, o) {
			const char *oid = json_string_value(json_object_get(o, "id"));
			if (strcmp(oid, rid) != 0)
				json_array_append_new(refs, json_string(oid));
		}
		set(rep, "object_refs", refs);
	}
	g_free(title);

	report__uuid5_of(u, "bundle", ids->str, nowtxt);
	g_string_free(ids, TRUE);
	char bid[64];
	snprintf(bid, sizeof(bid), "bundle--%s", u);
	json_t *bundle = json_pack("{s:s, s:s, s:o}", "type", "bundle", "id", bid, "objects", S.objects);
	json_decref(S.by_id);
	if (S.oom) {
		json_decref(bundle);
		return VIGIL_ENOMEM;
	}
	return report__dump(r->fp, bundle);
}
