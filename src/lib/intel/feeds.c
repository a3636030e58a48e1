/*
 * Loading one feed: reading it within limits, telling its format from its
 * content, and adding what the format parsers (feed_stix.c, feed_misp.c,
 * feed_text.c) find, all or nothing. It fetches nothing: feeds are files.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil_limits.h"
#include "intel/intel_private.h"

/* ---- shared helpers ----------------------------------------------------- */

static const psl_ctx_t *psl_handle;

static void load_psl(void)
{
	/* psl_latest() picks the newer of the built-in list and Debian's
	 * publicsuffix package: new gTLDs appear in feeds first. */
	psl_handle = psl_latest(NULL);
	if (!psl_handle)
		psl_handle = psl_builtin();
}

const psl_ctx_t *intel__psl(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load_psl);
	return psl_handle;
}

void intel__feed_warn(intel_feed *f, const char *fmt, ...)
{
	f->skipped++;
	if (!f->warn || f->warned >= VIGIL_MAX_FEED_WARNINGS)
		return;
	f->warned++;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->warn(f->warn_ud, msg);
}

int intel__feed_error(intel_feed *f, int code, const char *fmt, ...)
{
	if (f->err && f->err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(f->err, f->err_size, fmt, ap);
		va_end(ap);
	}
	return code;
}

int intel__feed_add(intel_feed *f, vigil_indicator *ind)
{
	const char *why = NULL;
	ind->source = f->path;
	int rc = intel__set_add(f->set, ind, &why);
	if (rc == VIGIL_EPARSE) {
		intel__feed_warn(f, "%s: %s: %s '%.120s': %s; skipped", f->path,
			ind->source_id ? ind->source_id : "?", intel__type_name(ind->type),
			ind->value ? ind->value : "", why ? why : "invalid");
		return 0;
	}
	if (rc == VIGIL_ELIMIT)
		return intel__feed_error(f, rc, "%s: more than %u indicators", f->path,
			VIGIL_MAX_INDICATORS);
	return rc;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int intel__rfc3339(const char *s, int64_t *out)
{
	int Y, M, D, h = 0, m = 0, sec = 0;
	if (!s || strlen(s) < 10 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
		s[7] != '-' || !digits(s + 8, 2, &D))
		return -1;
	const char *p = s + 10;
	long off = 0;
	/* A bare date is midnight UTC: MISP and hand-written feeds use it. */
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -1;
		p++;
		if (strlen(p) < 8 || !digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &m) ||
			p[5] != ':' || !digits(p + 6, 2, &sec))
			return -1;
		p += 8;
		if (*p == '.') {
			p++;
			size_t nf = strspn(p, "0123456789");
			if (nf == 0)
				return -1;
			p += nf;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			if (strlen(p) < 6 || !digits(p + 1, 2, &oh) || p[3] != ':' ||
				!digits(p + 4, 2, &om) || oh > 23 || om > 59)
				return -1;
			off = (long)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
			p += 6;
		} else if (*p) {
			return -1;
		}
		/* No offset at all: UTC, the only reading that does not
		 * depend on where the import runs. */
		if (*p)
			return -1;
	}
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
		.tm_hour = h, .tm_min = m, .tm_sec = sec};
	time_t t = timegm(&tm);
	*out = (int64_t)t - off;
	return 0;
}

int intel__read_file(intel_feed *f, const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return intel__feed_error(f, VIGIL_EIO, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return intel__feed_error(f, VIGIL_EIO, "%s: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return intel__feed_error(f, VIGIL_EIO, "%s: is a directory", path);
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > VIGIL_MAX_FEED_BYTES) {
		close(fd);
		return intel__feed_error(f, VIGIL_ELIMIT, "%s: larger than %u MiB", path,
			VIGIL_MAX_FEED_BYTES / (1024 * 1024));
	}
	/* A pipe has no size: grow as it comes, within the same cap. */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 64 * 1024;
	size_t n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return VIGIL_ENOMEM;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > VIGIL_MAX_FEED_BYTES) {
				free(buf);
				close(fd);
				return intel__feed_error(f, VIGIL_ELIMIT, "%s: larger than %u MiB",
					path, VIGIL_MAX_FEED_BYTES / (1024 * 1024));
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return VIGIL_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return intel__feed_error(f, VIGIL_EIO, "%s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* ---- format detection ------------------------------------------------- */

bool intel__looks_misp(json_t *root)
{
	if (json_is_array(root))
		root = json_array_get(root, 0);
	if (!json_is_object(root))
		return false;
	if (json_object_get(root, "Event") || json_object_get(root, "response"))
		return true;
	/* A bare event: MISP's own keys, which STIX objects never carry. */
	return json_object_get(root, "Attribute") || json_object_get(root, "Object") ||
		(json_object_get(root, "info") && json_object_get(root, "uuid"));
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/*
 * AUTO reads a file as JSON when it starts like JSON ('{', or '[' opening a
 * list of objects), and as free text otherwise: plain lists and CSV are feeds
 * too, and the analyst gains nothing from an error. A file that starts like
 * JSON and does not parse is refused, not read as text: that is a broken feed.
 */
static bool starts_like_json(const char *buf, size_t len)
{
	const char *end = buf + len;
	const char *p = buf;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	p = skip_ws(p, end);
	if (p < end && *p == '{')
		return true;
	if (p < end && *p == '[') {
		p = skip_ws(p + 1, end);
		return p < end && (*p == '{' || *p == ']');
	}
	return false;
}

static int load_json(intel_feed *f, const char *buf, size_t len, vigil_feed_format fmt)
{
	if (fmt != VIGIL_FEED_MISP) {
		/* A bundle is read object by object; whatever the streaming
		 * reader does not expect is parsed whole below, for errors with
		 * their line. What an attempt cut short had added is added again
		 * there and kept once (the set drops duplicates). */
		int rc = intel__stix_bundle_stream(f, buf, len);
		if (rc != 1)
			return rc;
	}
	json_error_t je;
	/* jansson caps nesting at JSON_PARSER_MAX_DEPTH (2048): deep input is
	 * an error, not a stack overflow. */
	json_t *root = json_loadb(buf, len, 0, &je);
	if (!root) {
		/* One value, then more: JSON Lines (STIX objects one a line). */
		if (json_error_code(&je) == json_error_end_of_input_expected &&
			fmt != VIGIL_FEED_MISP)
			return intel__stix_jsonl(f, buf, len);
		return intel__feed_error(f, VIGIL_EPARSE, "%s:%d: invalid JSON: %s", f->path,
			je.line, je.text);
	}
	int rc;
	if (fmt == VIGIL_FEED_MISP || (fmt == VIGIL_FEED_AUTO && intel__looks_misp(root)))
		rc = intel__misp_json(f, root);
	else
		rc = intel__stix_json(f, root);
	json_decref(root);
	return rc;
}

int intel__load_feed(vigil_intel_set *set, const char *path, vigil_feed_format format,
	intel__warn_fn warn, void *warn_ud, size_t *skipped, char *err, size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (skipped)
		*skipped = 0;
	/* Everything goes to a set of its own first, so that a feed refused
	 * half-way leaves `set` as it was. */
	vigil_intel_set *tmp = intel__set_new();
	if (!tmp)
		return VIGIL_ENOMEM;
	intel_feed f = {.set = tmp, .path = path, .warn = warn, .warn_ud = warn_ud,
		.err = err, .err_size = err_size};
	int rc;
	struct stat st;
	if (stat(path, &st) != 0) {
		rc = intel__feed_error(&f, VIGIL_EIO, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		if (format == VIGIL_FEED_AUTO || format == VIGIL_FEED_MISP)
			rc = intel__misp_folder(&f, path);
		else
			rc = intel__feed_error(&f, VIGIL_EIO,
				"%s: a directory (only a MISP feed folder can be one)", path);
	} else {
		char *buf = NULL;
		size_t len = 0;
		rc = intel__read_file(&f, path, &buf, &len);
		/* A NUL early on: an executable or an archive given by mistake,
		 * whose bytes would yield junk "indicators". */
		if (rc == 0 && format == VIGIL_FEED_AUTO &&
			memchr(buf, '\0', len < 8192 ? len : 8192))
			rc = intel__feed_error(&f, VIGIL_EPARSE, "%s: a binary file, not a feed", path);
		if (rc == 0) {
			if (format == VIGIL_FEED_FREETEXT ||
				(format == VIGIL_FEED_AUTO && !starts_like_json(buf, len)))
				rc = intel__freetext(&f, buf, len);
			else
				rc = load_json(&f, buf, len, format);
		}
		free(buf);
	}
	if (rc == 0)
		rc = intel__set_merge(set, tmp);
	if (rc == 0 && f.warn && f.skipped > f.warned) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s: %zu more skipped without a warning", path,
			f.skipped - f.warned);
		f.warn(f.warn_ud, msg);
	}
	if (rc == VIGIL_ENOMEM && err && err_size && !err[0])
		snprintf(err, err_size, "%s: out of memory", path);
	if (rc == VIGIL_ELIMIT && err && err_size && !err[0])
		snprintf(err, err_size, "%s: more than %u indicators", path, VIGIL_MAX_INDICATORS);
	if (skipped)
		*skipped = f.skipped;
	intel__set_free(tmp);
	return rc;
}
