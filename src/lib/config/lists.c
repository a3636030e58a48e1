/*
 * The list files: members, protected identities, relays, free-mail providers
 * and tracker hosts (formats in docs/config.md). Each reader checks every
 * line and stops at the first bad one with FILE:LINE; merging is config.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_private.h"
#include "extract/extract.h"
#include "vigil/vigil.h"

int config__read_file(const char *path, char **out, size_t *len, char *err, size_t err_size)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return config__fail(err, err_size, VIGIL_EIO, "%s: cannot read: %s", path,
			strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return config__fail(err, err_size, VIGIL_EIO, "%s: cannot read: is a directory", path);
	}
	/* Read in pieces rather than trust st_size: the path may be a pipe
	 * (a process substitution) whose size is 0. */
	size_t cap = 64 * 1024, n = 0;
	char *buf = g_malloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > CONFIG_MAX_FILE_BYTES) {
				g_free(buf);
				fclose(f);
				return config__fail(err, err_size, VIGIL_ECONFIG,
					"%s: larger than %u MiB, not a list", path,
					CONFIG_MAX_FILE_BYTES / (1024 * 1024));
			}
			cap *= 2;
			buf = g_realloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	bool failed = ferror(f);
	int saved = errno;
	fclose(f);
	if (failed) {
		g_free(buf);
		return config__fail(err, err_size, VIGIL_EIO, "%s: cannot read: %s", path,
			strerror(saved));
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* ---- reading a list line by line ------------------------------------- */

typedef struct reader {
	const char *path;
	char *text;
	char *p; /* next line */
	unsigned line;
	char *err;
	size_t err_size;
} reader;

static int bad_line(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_line(reader *r, const char *fmt, ...)
{
	char msg[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return config__fail(r->err, r->err_size, VIGIL_ECONFIG, "%s:%u: %s", r->path, r->line, msg);
}

static int reader_open(reader *r, const char *path, char *err, size_t err_size)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->err = err;
	r->err_size = err_size;
	size_t len;
	int rc = config__read_file(path, &r->text, &len, err, err_size);
	if (rc)
		return rc;
	/* A NUL byte would cut a line short without anyone noticing. */
	const char *nul = memchr(r->text, '\0', len);
	if (nul) {
		r->line = 1;
		for (const char *q = r->text; q < nul; q++)
			r->line += *q == '\n';
		return bad_line(r, "NUL byte: not a text file");
	}
	r->p = r->text;
	if (memcmp(r->p, "\xEF\xBB\xBF", 3) == 0)
		r->p += 3; /* a UTF-8 byte order mark, as Windows editors write */
	return 0;
}

static void reader_close(reader *r)
{
	g_free(r->text);
	r->text = NULL;
}

/* The next line with content, blanks around it cut, in place; blank lines
 * and lines starting with '#' are skipped. Returns 1 with *line set, 0 at
 * the end, or VIGIL_ECONFIG (not UTF-8). */
static int next_line(reader *r, char **line)
{
	while (*r->p) {
		char *s = r->p;
		char *eol = strchr(s, '\n');
		if (eol) {
			*eol = '\0';
			r->p = eol + 1;
		} else {
			r->p = s + strlen(s);
		}
		r->line++;
		if (!g_utf8_validate(s, -1, NULL))
			return bad_line(r, "not valid UTF-8");
		g_strstrip(s); /* also drops the '\r' of CRLF files */
		if (*s == '\0' || *s == '#')
			continue;
		*line = s;
		return 1;
	}
	return 0;
}

/* Splits a line on TABs, in place, blanks around each field cut. Returns
 * the number of fields (at most max + 1, so that "too many" shows). */
static size_t split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *s = line;
	while (n <= max) {
		char *tab = strchr(s, '\t');
		if (tab)
			*tab = '\0';
		fields[n++] = g_strstrip(s);
		if (!tab)
			break;
		s = tab + 1;
	}
	return n;
}

/* ---- members ---------------------------------------------------------- */

int lists__members(vigil_config *c, const char *path, char *err, size_t err_size)
{
	reader r;
	int rc = reader_open(&r, path, err, err_size);
	char *line;
	while (rc == 0 && (rc = next_line(&r, &line)) > 0) {
		rc = 0;
		char *f[3];
		size_t n = split_tabs(line, f, 2);
		if (n > 2) {
			rc = bad_line(&r, "too many fields: the format is address<TAB>name");
			break;
		}
		const char *why;
		const char *addr = config__address(c->arena, f[0], &why);
		if (!addr) {
			bool spaced = strchr(f[0], ' ') != NULL;
			rc = bad_line(&r, "'%s': %s%s", f[0], why,
				spaced ? " (separate the name with a TAB)" : "");
			break;
		}
		if (g_hash_table_contains(c->member_by_address, addr))
			continue; /* listed twice: the first line stays */
		vigil_member *m = arena__vec_push(c->arena, (void **)&c->members, &c->n_members,
			&config__priv(c)->cap_members, sizeof(*m));
		if (!m) {
			rc = VIGIL_ENOMEM;
			break;
		}
		m->address = addr;
		m->domain = strchr(addr, '@') + 1;
		if (n == 2 && *f[1] && !(m->name = vigil_arena_strdup(c->arena, f[1]))) {
			rc = VIGIL_ENOMEM;
			break;
		}
		g_hash_table_add(c->member_by_address, (gpointer)addr);
	}
	reader_close(&r);
	return rc;
}

/* ---- protected identities -------------------------------------------- */

static int parse_kind(const char *s, vigil_protected_kind *out)
{
	if (g_ascii_strcasecmp(s, "outlet") == 0 || g_ascii_strcasecmp(s, "org") == 0 ||
		g_ascii_strcasecmp(s, "organisation") == 0 || g_ascii_strcasecmp(s, "organization") == 0)
		*out = VIGIL_PROTECTED_OUTLET;
	else if (g_ascii_strcasecmp(s, "person") == 0)
		*out = VIGIL_PROTECTED_PERSON;
	else
		return -1;
	return 0;
}

int lists__protected(vigil_config *c, const char *path, char *err, size_t err_size)
{
	reader r;
	int rc = reader_open(&r, path, err, err_size);
	char *line;
	while (rc == 0 && (rc = next_line(&r, &line)) > 0) {
		rc = 0;
		char *f[4];
		size_t n = split_tabs(line, f, 3);
		if (n != 3) {
			rc = bad_line(&r, "%s fields: the format is kind<TAB>name<TAB>domain-or-address",
				n < 3 ? "missing" : "too many");
			break;
		}
		vigil_protected_kind kind;
		if (parse_kind(f[0], &kind) != 0) {
			rc = bad_line(&r, "unknown kind '%s' (outlet, org or person)", f[0]);
			break;
		}
		if (!*f[1]) {
			rc = bad_line(&r, "empty name");
			break;
		}
		const char *why, *address = NULL, *domain;
		if (kind == VIGIL_PROTECTED_OUTLET) {
			if (strchr(f[2], '@')) {
				rc = bad_line(&r, "'%s': an outlet takes a domain, not an address", f[2]);
				break;
			}
			domain = domain__to_ascii(c->arena, f[2]);
			if (!domain || !config__is_hostname(domain)) {
				rc = bad_line(&r, "'%s' is not a domain name", f[2]);
				break;
			}
			const char *reg = config__registrable(domain);
			if (!reg) {
				rc = bad_line(&r, "'%s' is a public suffix, not an outlet's domain", f[2]);
				break;
			}
			domain = reg;
		} else {
			if (!(address = config__address(c->arena, f[2], &why))) {
				rc = bad_line(&r, "'%s': %s (a person takes an address)", f[2], why);
				break;
			}
			domain = strchr(address, '@') + 1;
			const char *reg = config__registrable(domain);
			domain = reg ? reg : domain;
		}
		vigil_protected *p = arena__vec_push(c->arena, (void **)&c->protected_ids,
			&c->n_protected, &config__priv(c)->cap_protected, sizeof(*p));
		if (!p || !(p->name = vigil_arena_strdup(c->arena, f[1]))) {
			rc = VIGIL_ENOMEM;
			break;
		}
		p->kind = kind;
		p->domain = domain; /* points into an arena string already */
		p->address = address;
	}
	reader_close(&r);
	return rc;
}

/* ---- relays ------------------------------------------------------------ */

int lists__relays(vigil_config *c, const char *path, char *err, size_t err_size)
{
	reader r;
	int rc = reader_open(&r, path, err, err_size);
	char *line;
	while (rc == 0 && (rc = next_line(&r, &line)) > 0) {
		const char *why = NULL;
		rc = netset__add(c->relays, line, &why);
		if (rc == VIGIL_ENOMEM)
			break;
		if (rc) {
			rc = bad_line(&r, "'%s': %s (one address or CIDR range per line)", line, why);
			break;
		}
	}
	reader_close(&r);
	return rc;
}

/* ---- free-mail providers ------------------------------------------------ */

/* A domain written in a list: lower-case A-label, NULL when not a host
 * name. "*.example.com" and ".example.com" are taken as example.com, since
 * sub-domains match anyway. */
static const char *list_domain(vigil_arena *a, const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	else if (s[0] == '.')
		s++;
	const char *d = domain__to_ascii(a, s);
	return d && config__is_hostname(d) ? d : NULL;
}

int lists__freemail(vigil_config *c, const char *path, char *err, size_t err_size)
{
	reader r;
	int rc = reader_open(&r, path, err, err_size);
	char *line;
	while (rc == 0 && (rc = next_line(&r, &line)) > 0) {
		rc = 0;
		const char *d = strpbrk(line, " \t") ? NULL : list_domain(c->arena, line);
		if (!d) {
			rc = bad_line(&r, "'%s' is not a domain name (one per line)", line);
			break;
		}
		g_hash_table_add(c->freemail, (gpointer)d);
	}
	reader_close(&r);
	return rc;
}

/* ---- tracker hosts ------------------------------------------------------ */

int lists__trackers(vigil_config *c, const char *path, char *err, size_t err_size)
{
	reader r;
	int rc = reader_open(&r, path, err, err_size);
	/* Entries without a family name are named after their list. */
	char *base = g_path_get_basename(path);
	char *dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	const char *list_name = vigil_arena_strdup(c->arena, base);
	g_free(base);
	if (rc == 0 && !list_name)
		rc = VIGIL_ENOMEM;
	char *line;
	while (rc == 0 && (rc = next_line(&r, &line)) > 0) {
		rc = 0;
		char *family = line + strcspn(line, " \t");
		if (*family)
			*family++ = '\0';
		/* "host  Family  # note": a '#' after a blank starts a comment. */
		for (char *h = family; *h; h++)
			if (*h == '#' && (h == family || h[-1] == ' ' || h[-1] == '\t')) {
				*h = '\0';
				break;
			}
		g_strstrip(family);
		const char *host = list_domain(c->arena, line);
		if (!host) {
			rc = bad_line(&r, "'%s' is not a host or domain name", line);
			break;
		}
		if (g_hash_table_contains(c->tracker_hosts, host))
			continue; /* listed twice: the first family stays */
		const char *name = *family ? vigil_arena_strdup(c->arena, family) : list_name;
		if (!name) {
			rc = VIGIL_ENOMEM;
			break;
		}
		g_hash_table_insert(c->tracker_hosts, (gpointer)host, (gpointer)name);
	}
	reader_close(&r);
	return rc;
}

/* ---- the public loaders: into a staging config, then merged ------------- */

typedef int (*list_loader)(vigil_config *, const char *, char *, size_t);

static int load_staged(vigil_config *cfg, const char *path, char *err, size_t err_size,
	list_loader fn)
{
	if (err && err_size)
		err[0] = '\0';
	if (config__priv(cfg)->finished)
		return config__fail(err, err_size, VIGIL_EINVAL,
			"%s: the configuration is already in use", path);
	vigil_config *s = config__staging(cfg);
	if (!s)
		return config__fail(err, err_size, VIGIL_ENOMEM, "%s: out of memory", path);
	int rc = fn(s, path, err, err_size);
	if (rc) {
		config__free(s);
	} else {
		rc = config__merge(cfg, s);
		if (rc)
			config__fail(err, err_size, rc, "%s: %s", path,
				rc == VIGIL_ELIMIT ? "too many entries" : "out of memory");
	}
	if (rc == VIGIL_ENOMEM && err && err_size && !err[0])
		config__fail(err, err_size, rc, "%s: out of memory", path);
	return rc;
}

int config__load_members(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	return load_staged(cfg, path, err, err_size, lists__members);
}

int config__load_protected(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	return load_staged(cfg, path, err, err_size, lists__protected);
}

int config__load_relays(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	return load_staged(cfg, path, err, err_size, lists__relays);
}

int config__load_freemail(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	return load_staged(cfg, path, err, err_size, lists__freemail);
}

int config__load_trackers(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	return load_staged(cfg, path, err, err_size, lists__trackers);
}
