/*
 * The MISP report: one event per campaign in MISP's JSON format, as its
 * "Add event from MISP JSON" import and the REST API take it: {"Event": ...}
 * for one campaign, {"response": [{"Event": ...}, ...]} (what MISP's own
 * search exports) for several. Attributes only; no MISP objects, galaxies
 * or sightings.
 */
#include <glib.h>
#include <string.h>

#include "report/campaign_report.h"

/* MISP distribution levels: 0 your organisation only, 1 this community,
 * 3 all communities, 5 inherit the event's. TLP:AMBER and RED must not
 * leave the organisation by MISP's synchronisation; the organisation
 * widens it by hand when it decides to share. */
static const char *distribution(vigil_report_tlp tlp)
{
	switch (tlp) {
	case VIGIL_TLP_CLEAR: return "3";
	case VIGIL_TLP_GREEN: return "1";
	case VIGIL_TLP_AMBER:
	case VIGIL_TLP_RED: break;
	}
	return "0";
}

/* threat_level_id: 1 high, 2 medium, 3 low, 4 undefined. */
static const char *threat_level(const char *verdict)
{
	if (!verdict)
		return "4";
	if (strcmp(verdict, "malicious") == 0)
		return "1";
	if (strcmp(verdict, "recon") == 0)
		return "2";
	if (strcmp(verdict, "suspicious") == 0)
		return "3";
	return "4";
}

typedef struct event {
	const report_ctx *r;
	json_t *attrs;
	json_t *seen; /* "type\nvalue" -> true: each attribute once */
	char uuid[37];
	char timestamp[24];
} event;

/* One attribute. `category` must be one MISP allows for `type` (its
 * describeTypes.json category_type_mappings); the tests check that. */
static void attr(event *E, const char *type, const char *category, bool to_ids,
	const char *value, const char *comment)
{
	if (!value || !*value)
		return;
	char *key = g_strconcat(type, "\n", value, NULL);
	if (json_object_get(E->seen, key)) {
		g_free(key);
		return;
	}
	json_object_set_new(E->seen, key, json_true());
	char u[37];
	report__uuid5_of(u, "misp-attribute", E->uuid, key);
	g_free(key);
	json_t *a = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:b}", "type", type,
		"category", category, "value", value, "to_ids", to_ids, "comment",
		comment ? comment : "", "uuid", u, "timestamp", E->timestamp, "distribution", "5",
		"disable_correlation", false);
	if (a)
		json_array_append_new(E->attrs, a);
}

static const char *addr_type(const char *v, const char *if_ip)
{
	return report__is_ipv4(v) || report__is_ipv6(v) ? if_ip : NULL;
}

static json_t *make_event(const report_ctx *r, json_t *c)
{
	event E = {.r = r, .attrs = json_array(), .seen = json_object()};
	snprintf(E.timestamp, sizeof(E.timestamp), "%lld", (long long)r->now);
	const char *cu = report__str(c, "uuid");
	char idtxt[32], namebuf[48];
	snprintf(idtxt, sizeof(idtxt), "%" JSON_INTEGER_FORMAT, report__int(c, "id", 0));
	const char *name = report__campaign_name(c, namebuf, sizeof(namebuf));
	/* Not the campaign's own uuid: the STIX report uses that for the
	 * campaign, and a platform that reads both must not see one object. */
	report__uuid5_of(E.uuid, "misp-event", cu ? cu : idtxt, r->org);

	size_t i;
	json_t *v;
	json_t *trackers = json_object_get(c, "trackers"), *senders = json_object_get(c, "senders");
	attr(&E, "campaign-name", "Attribution", false, name, "vigil campaign name");
	json_array_foreach (json_object_get(trackers, "hosts"), i, v) {
		const char *h = json_string_value(v);
		const char *ip = addr_type(h, "ip-dst");
		bool shared = report__shared_tracker(c, h);
		attr(&E, ip ? ip : "hostname", "Network activity", !shared, h,
			shared ? "tracker host of a known tracking service: shared by all its customers"
			       : "tracker host: hidden images in the mail load from it");
	}
	json_array_foreach (json_object_get(trackers, "url_templates"), i, v)
		attr(&E, "url", "Network activity", false, json_string_value(v),
			"tracker URL template: the part in braces stands for the per-recipient token");
	json_array_foreach (json_object_get(senders, "addresses"), i, v)
		attr(&E, "email-src", "Payload delivery", true, json_string_value(v), "sender address");
	json_array_foreach (json_object_get(senders, "domains"), i, v) {
		const char *d = json_string_value(v);
		const char *ip = addr_type(d, "ip-src");
		bool shared = report__shared_domain(c, d);
		attr(&E, ip ? ip : "domain", "Network activity", !shared, d,
			shared ? "sender domain: a free-mail provider, not an indicator by itself"
			       : "sender domain");
	}
	json_array_foreach (json_object_get(senders, "relay_ips"), i, v)
		attr(&E, "ip-src", "Network activity", true, json_string_value(v),
			"relay: a Received hop of the campaign's mail came from it");
	json_array_foreach (json_object_get(senders, "x_mailers"), i, v)
		attr(&E, "email-x-mailer", "Payload delivery", false, json_string_value(v), "X-Mailer");
	json_array_foreach (json_object_get(c, "indicators"), i, v) {
		const char *type = report__str(v, "type"), *value = report__str(v, "value");
		if (!type || !value)
			continue;
		const char *src = report__str(v, "source");
		char *comment = g_strdup_printf("threat intelligence%s%s", src ? ": " : "", src ? src : "");
		const char *mt = NULL, *cat = "Network activity";
		if (strcmp(type, "domain") == 0)
			mt = "domain";
		else if (strcmp(type, "url") == 0)
			mt = "url";
		else if (strcmp(type, "email") == 0)
			mt = "email-src", cat = "Payload delivery";
		else if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0 || strcmp(type, "ip") == 0 ||
			strcmp(type, "cidr") == 0)
			mt = "ip-src";
		else if (strcmp(type, "md5") == 0 || strcmp(type, "sha1") == 0 || strcmp(type, "sha256") == 0)
			mt = type, cat = "Payload delivery";
		if (mt)
			attr(&E, mt, cat, true, value, comment);
		g_free(comment);
	}
	json_t *msgs = json_object_get(c, "messages");
	json_array_foreach (msgs, i, v) {
		attr(&E, "email-subject", "Payload delivery", false, report__str(v, "subject"), NULL);
		attr(&E, "email-src-display-name", "Payload delivery", false, report__str(v, "from_name"),
			NULL);
	}
	if (r->targets) {
		json_array_foreach (json_object_get(c, "targets"), i, v) {
			char t[32];
			int64_t fo = report__time(v, "first_open");
			report__iso(fo, t, sizeof(t));
			char *comment = json_is_true(json_object_get(v, "opened"))
				? g_strdup_printf("target; opened%s%s", *t ? " first at " : "", t)
				: g_strdup("target; no open seen");
			attr(&E, "email-dst", "Payload delivery", false, report__str(v, "address"), comment);
			g_free(comment);
		}
	}

	int64_t first = report__time(c, "first_seen");
	char date[32];
	report__iso(first != REPORT_NO_TIME ? first : r->now, date, sizeof(date));
	date[10] = '\0';
	char *info = r->title ? g_strdup(r->title) : g_strdup_printf("Mail campaign: %s", name);
	char org_uuid[37];
	report__uuid5_of(org_uuid, "organisation", r->org, NULL);

	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:s}, s:[{s:s}], s:o}",
		"uuid", E.uuid, "info", info, "date", date, "threat_level_id",
		threat_level(report__str(c, "verdict")), "analysis", "0", "distribution",
		distribution(r->tlp), "timestamp", E.timestamp, "published", false, "Orgc", "name",
		r->org, "uuid", org_uuid, "Tag", "name", report__tlp_tag(r->tlp), "Attribute", E.attrs);
	g_free(info);
	json_decref(E.seen);
	return ev ? json_pack("{s:o}", "Event", ev) : NULL;
}

int report__misp(const report_ctx *r)
{
	size_t n = json_array_size(r->campaigns);
	if (n == 1)
		return report__dump(r->fp, make_event(r, json_array_get(r->campaigns, 0)));
	json_t *list = json_array();
	size_t i;
	json_t *c;
	json_array_foreach (r->campaigns, i, c) {
		json_t *ev = make_event(r, c);
		if (!ev || json_array_append_new(list, ev) != 0) {
			json_decref(list);
			return VIGIL_ENOMEM;
		}
	}
	return report__dump(r->fp, json_pack("{s:o}", "response", list));
}
