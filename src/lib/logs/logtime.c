/*
 * Times in logs: the timestamp shapes the log formats write, calendar
 * arithmetic without <time.h>'s local-time functions (the process's TZ must
 * never leak into results), time zones as fixed offsets or TZif files read
 * here, and the year of BSD syslog stamps, which have none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil_limits.h"
#include "logs/logs_internal.h"

int64_t logs__days(int64_t y, int m, int d)
{
	/* Howard Hinnant's days_from_civil: exact for any proleptic Gregorian date. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int logs__days_in_month(int y, int m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return m >= 1 && m <= 12 ? days[m - 1] : 0;
}

int logs__month(const char *s)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char a[3];
	for (int i = 0; i < 3; i++) {
		if (!s[i])
			return 0;
		a[i] = (char)(s[i] | 0x20);
	}
	for (int m = 0; m < 12; m++)
		if (memcmp(names + 3 * m, a, 3) == 0)
			return m + 1;
	return 0;
}

/* Exactly n digits at *p (n <= 9). */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned c = (unsigned char)(*p)[i] - '0';
		if (c > 9)
			return false;
		v = v * 10 + (int)c;
	}
	*p += n;
	*out = v;
	return true;
}

/* "HH:MM:SS" with an optional fraction ('.' or ',' and digits, dropped). */
static bool clock(const char **p, int *secs)
{
	int h, m, s;
	const char *q = *p;
	if (!digits(&q, 2, &h) || *q++ != ':' || !digits(&q, 2, &m) || *q++ != ':' ||
		!digits(&q, 2, &s) || h > 23 || m > 59 || s > 60)
		return false;
	if ((*q == '.' || *q == ',') && (unsigned)(q[1] - '0') <= 9)
		for (q++; (unsigned)(*q - '0') <= 9; q++)
			;
	*p = q;
	*secs = h * 3600 + m * 60 + (s == 60 ? 59 : s); /* a leap second is its neighbour */
	return true;
}

static int64_t stamp(int y, int mo, int d, int secs)
{
	return logs__days(y, mo, d) * 86400 + secs;
}

/* ---- zones -------------------------------------------------------------- */

void logs__zone_clear(logs_zone *z)
{
	free(z->at);
	free(z->off);
	memset(z, 0, sizeof(*z));
}

static int32_t offset_at(const logs_zone *z, int64_t utc)
{
	if (z->n == 0)
		return z->fixed;
	if (utc < z->at[0])
		return z->off0;
	size_t lo = 0, hi = z->n; /* at[lo] <= utc < at[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

int64_t logs__zone_to_utc(const logs_zone *z, int64_t local)
{
	if (z->n == 0)
		return local - z->fixed;
	/* Guess with the offset in effect at `local` read as UTC, then take
	 * the offset in effect at that guess: right everywhere but inside the
	 * hour a clock skips or repeats, where either answer is defensible. */
	return local - offset_at(z, local - offset_at(z, local));
}

static int fail(char *err, size_t errlen, int code, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return code;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* RFC 8536. Reads the 64-bit block of a version 2+ file (the 32-bit one of
 * a version 1 file), without the footer's rule: Debian ships "fat" files
 * whose transitions run to 2037, and after the last one its offset stays. */
static int parse_tzif(logs_zone *z, const unsigned char *d, size_t len, char *err, size_t errlen,
	const char *name)
{
	if (len < 44 || memcmp(d, "TZif", 4) != 0)
		return fail(err, errlen, VIGIL_EPARSE, "%s: not a TZif time zone file", name);
	size_t tsize = 4;
	const unsigned char *h = d;
	size_t at = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (at + 44 > len || memcmp(d + at, "TZif", 4) != 0)
			return fail(err, errlen, VIGIL_EPARSE, "%s: damaged TZif header", name);
		h = d + at;
		size_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
		size_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
		if (timecnt > len || typecnt > len || charcnt > len || leap > len || isut > len ||
			isstd > len)
			return fail(err, errlen, VIGIL_EPARSE, "%s: damaged TZif counts", name);
		size_t body = timecnt * tsize + timecnt + typecnt * 6 + charcnt + leap * (tsize + 4) +
			isstd + isut;
		if (at + 44 + body > len)
			return fail(err, errlen, VIGIL_EPARSE, "%s: truncated TZif file", name);
		if (pass == 1 || h[4] < '2') {
			const unsigned char *times = h + 44;
			const unsigned char *idx = times + timecnt * tsize;
			const unsigned char *types = idx + timecnt;
			if (typecnt == 0)
				return fail(err, errlen, VIGIL_EPARSE, "%s: TZif file without types", name);
			int64_t *ats = calloc(timecnt ? timecnt : 1, sizeof(*ats));
			int32_t *offs = calloc(timecnt ? timecnt : 1, sizeof(*offs));
			if (!ats || !offs) {
				free(ats);
				free(offs);
				return fail(err, errlen, VIGIL_ENOMEM, "%s: out of memory", name);
			}
			for (size_t i = 0; i < timecnt; i++) {
				ats[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
				if (idx[i] >= typecnt || (i > 0 && ats[i] <= ats[i - 1])) {
					free(ats);
					free(offs);
					return fail(err, errlen, VIGIL_EPARSE, "%s: damaged TZif data", name);
				}
				offs[i] = (int32_t)be32(types + 6 * idx[i]);
			}
			logs__zone_clear(z);
			z->at = ats;
			z->off = offs;
			z->n = timecnt;
			z->off0 = (int32_t)be32(types); /* type 0 rules before the first transition */
			z->fixed = z->off0;
			if (timecnt == 0) { /* a zone that never changed: a fixed offset */
				free(z->at);
				free(z->off);
				z->at = NULL;
				z->off = NULL;
			}
			return 0;
		}
		at += 44 + body;
		tsize = 8;
	}
	return fail(err, errlen, VIGIL_EPARSE, "%s: damaged TZif file", name);
}

static int load_tzif(logs_zone *z, const char *name, char *err, size_t errlen)
{
	/* A name, not a path: no way out of the zone directory. */
	if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 200)
		return fail(err, errlen, VIGIL_EINVAL, "%s: not a time zone name", name);
	for (const char *c = name; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			    strchr("/_+-.", *c)))
			return fail(err, errlen, VIGIL_EINVAL, "%s: not a time zone name", name);
	const char *dir = getenv("TZDIR");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, VIGIL_EINVAL, "%s: unknown time zone", name);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > VIGIL_MAX_TZIF_BYTES) {
		close(fd);
		return fail(err, errlen, VIGIL_EINVAL, "%s: unknown time zone", name);
	}
	size_t len = (size_t)st.st_size, got = 0;
	unsigned char *d = malloc(len ? len : 1);
	if (!d) {
		close(fd);
		return fail(err, errlen, VIGIL_ENOMEM, "%s: out of memory", name);
	}
	while (got < len) {
		ssize_t n = read(fd, d + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int rc = parse_tzif(z, d, got, err, errlen, name);
	free(d);
	return rc;
}

int logs__zone_set(logs_zone *z, const char *spec, char *err, size_t errlen)
{
	if (!spec)
		return fail(err, errlen, VIGIL_EINVAL, "%s", "no time zone given");
	if (!strcasecmp(spec, "UTC") || !strcasecmp(spec, "Z") || !strcasecmp(spec, "GMT") ||
		!strcmp(spec, "Etc/UTC")) {
		logs__zone_clear(z);
		return 0;
	}
	if (spec[0] == '+' || spec[0] == '-') {
		const char *p = spec + 1;
		int h, m = 0;
		if (!digits(&p, 2, &h))
			return fail(err, errlen, VIGIL_EINVAL, "%s: not an offset (+HH:MM)", spec);
		if (*p == ':')
			p++;
		if (*p && !digits(&p, 2, &m))
			return fail(err, errlen, VIGIL_EINVAL, "%s: not an offset (+HH:MM)", spec);
		if (*p || h > 14 || m > 59)
			return fail(err, errlen, VIGIL_EINVAL, "%s: not an offset (+HH:MM)", spec);
		logs__zone_clear(z);
		z->fixed = (spec[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
		return 0;
	}
	logs_zone nz = {0};
	int rc = load_tzif(&nz, spec, err, errlen);
	if (rc != 0)
		return rc;
	logs__zone_clear(z);
	*z = nz;
	return 0;
}

/* ---- timestamps ----------------------------------------------------------- */

/* An optional zone designator after a time: "Z", "+01:00", "+0100", "+01".
 * Returns true and sets *off when one is there. */
static bool zone_suffix(const char **p, int32_t *off)
{
	const char *q = *p;
	int h, m = 0;
	if (*q == 'Z' || *q == 'z') {
		*p = q + 1;
		*off = 0;
		return true;
	}
	if (*q != '+' && *q != '-')
		return false;
	int sign = *q++ == '-' ? -1 : 1;
	if (!digits(&q, 2, &h) || h > 14)
		return false;
	if (*q == ':') {
		q++;
		if (!digits(&q, 2, &m))
			return false;
	} else if ((unsigned)(*q - '0') <= 9 && !digits(&q, 2, &m)) {
		return false;
	}
	if (m > 59)
		return false;
	*p = q;
	*off = sign * (h * 3600 + m * 60);
	return true;
}

bool logs__time_iso(vigil_log_reader *r, const char **p, int64_t *t)
{
	const char *q = *p;
	int y, mo, d, secs;
	if (!digits(&q, 4, &y) || *q++ != '-' || !digits(&q, 2, &mo) || *q++ != '-' ||
		!digits(&q, 2, &d) || (*q != 'T' && *q != ' ') || mo < 1 || mo > 12 || d < 1 ||
		d > logs__days_in_month(y, mo))
		return false;
	q++;
	if (!clock(&q, &secs))
		return false;
	int32_t off;
	int64_t local = stamp(y, mo, d, secs);
	if (zone_suffix(&q, &off))
		*t = local - off;
	else
		*t = logs__zone_to_utc(&r->zone, local);
	*p = q;
	return true;
}

bool logs__time_bind(vigil_log_reader *r, const char **p, int64_t *t)
{
	const char *q = *p;
	int y, d, secs;
	if (!digits(&q, 2, &d) || *q++ != '-')
		return false;
	int mo = logs__month(q);
	if (!mo || q[3] != '-')
		return false;
	q += 4;
	if (!digits(&q, 4, &y) || *q++ != ' ' || d < 1 || d > logs__days_in_month(y, mo) ||
		!clock(&q, &secs))
		return false;
	*t = logs__zone_to_utc(&r->zone, stamp(y, mo, d, secs));
	*p = q;
	return true;
}

bool logs__time_clf(const char **p, int64_t *t)
{
	const char *q = *p;
	int y, d, secs;
	int32_t off;
	if (!digits(&q, 2, &d) || *q++ != '/')
		return false;
	int mo = logs__month(q);
	if (!mo || q[3] != '/')
		return false;
	q += 4;
	if (!digits(&q, 4, &y) || *q++ != ':' || d < 1 || d > logs__days_in_month(y, mo) ||
		!clock(&q, &secs) || *q++ != ' ' || !zone_suffix(&q, &off))
		return false;
	*t = stamp(y, mo, d, secs) - off;
	*p = q;
	return true;
}

/* The year of a BSD stamp. With a year set by the caller, it is the year
 * of the first such line, and moves on when the months wrap (December to
 * January); a line a few seconds out of order across New Year takes the
 * year before without moving it back. Without one: the current year, or the
 * one before when that would put the line more than a day in the future. */
static int64_t bsd_stamp(vigil_log_reader *r, int mo, int d, int secs)
{
	if (r->year > 0) {
		int y = r->year;
		if (r->prev_month == 1 && mo == 12)
			y--;
		else {
			if (r->prev_month == 12 && mo == 1)
				y = ++r->year;
			r->prev_month = mo;
		}
		if (d > logs__days_in_month(y, mo)) /* Feb 29 of a year that has none */
			return INT64_MIN;
		return logs__zone_to_utc(&r->zone, stamp(y, mo, d, secs));
	}
	int64_t days = r->now / 86400 - (r->now % 86400 < 0);
	/* The civil year of `now` (UTC): days_from_civil inverted. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int y = (int)(yoe + era * 400 + (mp >= 10));
	for (int back = 0; back < 2; back++, y--) {
		if (d > logs__days_in_month(y, mo))
			continue;
		int64_t t = logs__zone_to_utc(&r->zone, stamp(y, mo, d, secs));
		if (t <= r->now + 86400 || back == 1)
			return t;
	}
	return INT64_MIN;
}

bool logs__time_bsd(vigil_log_reader *r, const char **p, int64_t *t)
{
	const char *q = *p;
	int d, secs;
	int mo = logs__month(q);
	if (!mo || q[3] != ' ')
		return false;
	q += 4;
	if (*q == ' ') { /* "Nov  2" */
		q++;
		if (!digits(&q, 1, &d))
			return false;
	} else if (!digits(&q, 2, &d)) {
		return false;
	}
	if (d < 1 || d > 31 || *q++ != ' ' || !clock(&q, &secs))
		return false;
	int64_t v = bsd_stamp(r, mo, d, secs);
	if (v == INT64_MIN)
		return false;
	*t = v;
	*p = q;
	return true;
}
