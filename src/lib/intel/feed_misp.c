/*
 * MISP feeds: an event ({"Event": {...}} or bare), a list of events, a REST
 * search result ({"response": [...]}), or a feed folder (manifest.json and
 * one <uuid>.json per event). Takes the attribute types vigil can match, in
 * events and their objects; it reads no sightings, proposals or hashes.csv.
 */
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_limits.h"
#include "intel/intel_private.h"

/* A growable NUL-terminated string. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *sep, const char *s)
{
	if (!s || !*s || b->oom)
		return;
	size_t sl = strlen(s);
	/* Each piece once: tags repeat between event and attribute. */
	if (b->len) {
		for (const char *p = b->s; (p = strstr(p, s)); p++) {
			bool start = p == b->s || p[-1] == ',' ||
				(p - b->s >= 2 && p[-1] == ' ' && p[-2] == ',');
			if (start && (p[sl] == '\0' || p[sl] == ','))
				return;
		}
	}
	size_t need = b->len + strlen(sep) + sl + 1;
	if (need > b->cap) {
		size_t cap = need * 2;
		char *n = realloc(b->s, cap);
		if (!n) {
			b->oom = true;
			return;
		}
		b->s = n;
		b->cap = cap;
	}
	b->len += (size_t)sprintf(b->s + b->len, "%s%s", b->len ? sep : "", s);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Tag names of `o` ("Tag": [{"name"}], or "EventTag": [{"Tag": {"name"}}])
 * into labels; Galaxy cluster values into the actor. */
static void tags_and_galaxies(json_t *o, sbuf *labels, sbuf *actor)
{
	size_t i, j;
	json_t *t, *g, *c;
	json_array_foreach(json_object_get(o, "Tag"), i, t)
		sb_add(labels, ",", str(t, "name"));
	json_array_foreach(json_object_get(o, "EventTag"), i, t)
		sb_add(labels, ",", str(json_object_get(t, "Tag"), "name"));
	json_array_foreach(json_object_get(o, "Galaxy"), i, g)
		json_array_foreach(json_object_get(g, "GalaxyCluster"), j, c)
			sb_add(actor, ", ", str(c, "value"));
}

typedef struct misp_event {
	const char *info;
	sbuf labels, actor; /* the event's own */
	sbuf a_labels, a_actor, name; /* per attribute, reused */
} misp_event;

/* How a MISP type maps: one or two indicators, taken from the value's
 * parts around '|'. */
typedef struct misp_type {
	const char *name;
	vigil_ioc_type first;  /* of the part before '|' (or of the whole value) */
	vigil_ioc_type second; /* of the part after '|', or 0 */
	bool take_second_only;
} misp_type;

static const misp_type misp_types[] = {
	{"domain", VIGIL_IOC_DOMAIN, 0, false},
	{"hostname", VIGIL_IOC_DOMAIN, 0, false},
	{"url", VIGIL_IOC_URL, 0, false},
	/* "uri" is mostly a path ("/gate.php"): taken only when absolute. */
	{"uri", VIGIL_IOC_URL, 0, false},
	/* ip-src/ip-dst hold IPv6 too; the set picks the family by value. */
	{"ip-src", VIGIL_IOC_IPV4, 0, false},
	{"ip-dst", VIGIL_IOC_IPV4, 0, false},
	{"ip-src|port", VIGIL_IOC_IPV4, 0, false},
	{"ip-dst|port", VIGIL_IOC_IPV4, 0, false},
	{"hostname|port", VIGIL_IOC_DOMAIN, 0, false},
	{"domain|ip", VIGIL_IOC_DOMAIN, VIGIL_IOC_IPV4, false},
	{"email", VIGIL_IOC_EMAIL, 0, false},
	{"email-src", VIGIL_IOC_EMAIL, 0, false},
	{"email-dst", VIGIL_IOC_EMAIL, 0, false},
	{"email-reply-to", VIGIL_IOC_EMAIL, 0, false},
	{"md5", VIGIL_IOC_MD5, 0, false},
	{"sha1", VIGIL_IOC_SHA1, 0, false},
	{"sha256", VIGIL_IOC_SHA256, 0, false},
	{"filename|md5", 0, VIGIL_IOC_MD5, true},
	{"filename|sha1", 0, VIGIL_IOC_SHA1, true},
	{"filename|sha256", 0, VIGIL_IOC_SHA256, true},
};

static const misp_type *find_type(const char *t)
{
	for (size_t i = 0; i < sizeof(misp_types) / sizeof(misp_types[0]); i++)
		if (strcmp(misp_types[i].name, t) == 0)
			return &misp_types[i];
	return NULL;
}

/* to_ids as MISP writes it: true/false, or "1"/"0" in older exports. */
static bool to_ids_false(json_t *v)
{
	if (json_is_false(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	const char *s = json_string_value(v);
	return s && (strcmp(s, "0") == 0 || strcmp(s, "false") == 0);
}

static int attribute(intel_feed *f, misp_event *E, json_t *a, size_t n)
{
	char where[48];
	const char *uuid = str(a, "uuid");
	if (!uuid) {
		snprintf(where, sizeof(where), "attribute #%zu", n);
		uuid = where;
	}
	if (!json_is_object(a))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: not a JSON object", f->path, uuid);
	json_t *del = json_object_get(a, "deleted");
	if (json_is_true(del) || (json_is_string(del) && strcmp(json_string_value(del), "1") == 0))
		return 0; /* withdrawn by its author */
	const char *type = str(a, "type"), *value = str(a, "value");
	if (!type || !value)
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: attribute without a type or value",
			f->path, uuid);
	const misp_type *mt = find_type(type);
	if (!mt) {
		intel__feed_warn(f, "%s: %s: type '%.40s' is not matched; skipped", f->path, uuid,
			type);
		return 0;
	}
	if (strcmp(type, "uri") == 0 && !strstr(value, "://")) {
		intel__feed_warn(f, "%s: %s: uri '%.80s' is not an absolute URL; skipped", f->path,
			uuid, value);
		return 0;
	}
	vigil_indicator ind = {.source_id = uuid, .valid_from = VIGIL_NO_TIME,
		.valid_until = VIGIL_NO_TIME};
	json_t *fs = json_object_get(a, "first_seen");
	if (fs && !json_is_null(fs) &&
		(!json_is_string(fs) || intel__rfc3339(json_string_value(fs), &ind.valid_from)))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: first_seen is not an ISO 8601 time",
			f->path, uuid);

	E->a_labels.len = E->a_actor.len = E->name.len = 0;
	sb_add(&E->a_labels, ",", E->labels.len ? E->labels.s : NULL);
	sb_add(&E->a_actor, ", ", E->actor.len ? E->actor.s : NULL);
	tags_and_galaxies(a, &E->a_labels, &E->a_actor);
	/* Kept: an analyst hunting back wants every lead, but can tell them. */
	if (to_ids_false(json_object_get(a, "to_ids")))
		sb_add(&E->a_labels, ",", "to_ids=false");
	sb_add(&E->name, "", E->info);
	const char *comment = str(a, "comment");
	if (comment && *comment)
		sb_add(&E->name, " - ", comment);
	if (E->a_labels.oom || E->a_actor.oom || E->name.oom)
		return VIGIL_ENOMEM;
	ind.labels = E->a_labels.len ? E->a_labels.s : NULL;
	ind.actor = E->a_actor.len ? E->a_actor.s : NULL;
	ind.name = E->name.len ? E->name.s : NULL;

	/* Split "a|b"; for ip|port the port is dropped. */
	const char *bar = strchr(type, '|') ? strrchr(value, '|') : NULL;
	if (strchr(type, '|') && !bar)
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: %s value without '|'", f->path,
			uuid, type);
	char part[1024];
	int rc = 0;
	if (!mt->take_second_only) {
		size_t pl = bar ? (size_t)(bar - value) : strlen(value);
		if (bar) {
			if (pl >= sizeof(part)) {
				intel__feed_warn(f, "%s: %s: value too long; skipped", f->path, uuid);
				return 0;
			}
			memcpy(part, value, pl);
			part[pl] = '\0';
		}
		ind.type = mt->first;
		ind.value = bar ? part : value;
		if ((rc = intel__feed_add(f, &ind)))
			return rc;
	}
	if (mt->second) {
		ind.type = mt->second;
		ind.value = bar + 1;
		rc = intel__feed_add(f, &ind);
	}
	return rc;
}

static int event(intel_feed *f, json_t *ev, size_t idx)
{
	if (json_is_object(json_object_get(ev, "Event")))
		ev = json_object_get(ev, "Event");
	if (!json_is_object(ev))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: event #%zu: not a JSON object", f->path,
			idx);
	json_t *attrs = json_object_get(ev, "Attribute"), *objs = json_object_get(ev, "Object");
	if ((attrs && !json_is_array(attrs)) || (objs && !json_is_array(objs)))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: event %s: Attribute/Object is not a list",
			f->path, str(ev, "uuid") ? str(ev, "uuid") : "?");
	if (!attrs && !objs && !str(ev, "info"))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: event #%zu: not a MISP event", f->path,
			idx);
	misp_event E = {.info = str(ev, "info")};
	tags_and_galaxies(ev, &E.labels, &E.actor);
	int rc = E.labels.oom || E.actor.oom ? VIGIL_ENOMEM : 0;
	size_t i, j, n = 0;
	json_t *a, *o;
	json_array_foreach(attrs, i, a) {
		if (rc)
			break;
		rc = attribute(f, &E, a, ++n);
	}
	json_array_foreach(objs, i, o) {
		if (rc)
			break;
		json_t *del = json_object_get(o, "deleted");
		if (json_is_true(del))
			continue;
		json_t *oa = json_object_get(o, "Attribute");
		if (oa && !json_is_array(oa)) {
			rc = intel__feed_error(f, VIGIL_EPARSE, "%s: object %s: Attribute is not a list",
				f->path, str(o, "uuid") ? str(o, "uuid") : "?");
			break;
		}
		json_array_foreach(oa, j, a) {
			if ((rc = attribute(f, &E, a, ++n)))
				break;
		}
	}
	free(E.labels.s);
	free(E.actor.s);
	free(E.a_labels.s);
	free(E.a_actor.s);
	free(E.name.s);
	return rc;
}

int intel__misp_json(intel_feed *f, json_t *root)
{
	json_t *list = root;
	if (json_is_object(root) && json_is_array(json_object_get(root, "response")))
		list = json_object_get(root, "response");
	if (!json_is_array(list))
		return event(f, root, 1);
	size_t i;
	json_t *ev;
	json_array_foreach(list, i, ev) {
		int rc = event(f, ev, i + 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* A manifest key names a file in the folder: only a UUID's characters, so
 * that "../../x" cannot. */
static bool uuid_like(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 &&
		strspn(s, "0123456789abcdefABCDEF-") == n;
}

int intel__misp_folder(intel_feed *f, const char *dir)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/manifest.json", dir) >= sizeof(path))
		return intel__feed_error(f, VIGIL_EIO, "%s: path too long", dir);
	const char *saved = f->path;
	char *buf = NULL;
	size_t len = 0;
	int rc = intel__read_file(f, path, &buf, &len);
	if (rc) {
		if (rc == VIGIL_EIO)
			intel__feed_error(f, rc, "%s: not a MISP feed folder (no readable manifest.json)",
				dir);
		return rc;
	}
	json_error_t je;
	json_t *manifest = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!manifest)
		return intel__feed_error(f, VIGIL_EPARSE, "%s:%d: invalid JSON: %s", path, je.line,
			je.text);
	if (!json_is_object(manifest)) {
		json_decref(manifest);
		return intel__feed_error(f, VIGIL_EPARSE, "%s: not a MISP manifest (an object by event uuid)",
			path);
	}
	if (json_object_size(manifest) > VIGIL_MAX_MISP_FEED_EVENTS) {
		json_decref(manifest);
		return intel__feed_error(f, VIGIL_ELIMIT, "%s: more than %d events", path,
			VIGIL_MAX_MISP_FEED_EVENTS);
	}
	const char *uuid;
	json_t *meta;
	char evpath[PATH_MAX];
	json_object_foreach(manifest, uuid, meta) {
		if (!uuid_like(uuid)) {
			rc = intel__feed_error(f, VIGIL_EPARSE, "%s: '%.80s' is not an event uuid", path,
				uuid);
			break;
		}
		snprintf(evpath, sizeof(evpath), "%s/%s.json", dir, uuid);
		if ((rc = intel__read_file(f, evpath, &buf, &len)))
			break;
		json_t *ev = json_loadb(buf, len, 0, &je);
		free(buf);
		if (!ev) {
			rc = intel__feed_error(f, VIGIL_EPARSE, "%s:%d: invalid JSON: %s", evpath, je.line,
				je.text);
			break;
		}
		/* Indicators name the event file they came from. */
		f->path = evpath;
		rc = intel__misp_json(f, ev);
		f->path = saved;
		json_decref(ev);
		if (rc)
			break;
	}
	json_decref(manifest);
	return rc;
}
