/*
 * What config.c, lists.c and netset.c share and nobody else needs: the
 * private part of a vigil_config, the staging/merge machinery that makes a
 * failed load change nothing, and the list readers.
 */
#ifndef VIGIL_CONFIG_PRIVATE_H
#define VIGIL_CONFIG_PRIVATE_H

#include <libpsl.h>
#include <stdarg.h>

#include "config/config.h"

/* Entries in one network set. CERT relay lists and blocklists of single
 * addresses reach a few hundred thousand; 4 million keeps every real list
 * while bounding the tree to 8 million nodes (256 MB) for a hostile one. */
#define NETSET_MAX_ENTRIES (4u * 1000 * 1000)

/* Bytes of one list or config file. The largest real lists (relay and
 * tracker lists) are a few MB; 256 MiB is far past that and stops a wrong
 * path (a disk image, /dev/zero) from being read into memory. */
#define CONFIG_MAX_FILE_BYTES (256u * 1024 * 1024)

/* Every vigil_config made by config__new_default() is the first member of
 * this struct: the public fields stay what config.h says, and what only the
 * loaders need (growth capacities, the own-domain set) stays here. */
typedef struct config_priv {
	vigil_config pub;
	size_t cap_own_domains, cap_members, cap_protected;
	GHashTable *own_domain_set; /* registrable domain -> itself; built by config__finish */
	bool own_domains_given;     /* from the file or a merge, not the members' default */
	bool finished;              /* config__finish ran: read-only from now on */
} config_priv;

static inline config_priv *config__priv(vigil_config *cfg)
{
	return (config_priv *)cfg;
}

/* A fresh, empty config to load into, with cfg's scalar settings (verdict
 * thresholds) so that a file which does not set them keeps them. NULL when
 * out of memory. */
vigil_config *config__staging(const vigil_config *cfg);

/* Moves everything `src` holds into `dst` (lists appended, first entry of a
 * duplicate kept; weights and thresholds of src win) and frees src, whatever
 * the outcome. Returns 0 or VIGIL_ENOMEM / VIGIL_ELIMIT, and then dst is as
 * it was. */
int config__merge(vigil_config *dst, vigil_config *src);

/* Loaders into a staging config (lists.c). They append and are not atomic:
 * the caller throws the staging config away on error. Same returns and err
 * format as the public config__load_*(). */
int lists__members(vigil_config *cfg, const char *path, char *err, size_t err_size);
int lists__protected(vigil_config *cfg, const char *path, char *err, size_t err_size);
int lists__relays(vigil_config *cfg, const char *path, char *err, size_t err_size);
int lists__freemail(vigil_config *cfg, const char *path, char *err, size_t err_size);
int lists__trackers(vigil_config *cfg, const char *path, char *err, size_t err_size);

/* The public suffix list used for registrable domains. The config has no
 * context to borrow one from, so it loads its own once per process, the way
 * vigil_ctx_new() does: psl_latest() (the newer of the built-in list and
 * Debian's publicsuffix package), else psl_builtin(). Never freed; never
 * NULL unless libpsl has no list at all. */
const psl_ctx_t *config__psl(void);

/* Registrable domain of a lower-case A-label: a pointer into `domain`, NULL
 * when it has none (it is a public suffix, or a single label). */
const char *config__registrable(const char *domain);

/* An address in the form members are keyed by: local part lower-cased
 * (Unicode-aware), domain as lower-case A-label. NULL when it is not an
 * address (one '@', non-empty local part, a valid domain name); *why says
 * what is wrong. In the arena. */
const char *config__address(vigil_arena *a, const char *address, const char **why);

/* True when `d` (lower-case A-label) is a host name: dot-separated labels
 * of letters, digits, '-' and '_', 1-63 bytes each, 253 in all. */
bool config__is_hostname(const char *d);

/* Makes room in s for `entries` more entries, so that a netset__merge() of
 * that many cannot fail. Returns 0, VIGIL_ENOMEM or VIGIL_ELIMIT. */
int netset__reserve(vigil_netset *s, size_t entries);

/* Merges the entries of src into dst (first spelling of a range kept) and
 * takes src's texts; src must then only be freed. Returns 0, VIGIL_ENOMEM
 * or VIGIL_ELIMIT, and then dst is unchanged. */
int netset__merge(vigil_netset *dst, vigil_netset *src);

/* Reads a whole file (at most CONFIG_MAX_FILE_BYTES) into a NUL-terminated
 * g_malloc'd buffer. Returns 0, VIGIL_EIO ("PATH: cannot read: reason") or
 * VIGIL_ECONFIG (too large). */
int config__read_file(const char *path, char **out, size_t *len, char *err, size_t err_size);

/* Writes "fmt..." into err and returns `code`. */
int config__fail(char *err, size_t err_size, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* VIGIL_CONFIG_PRIVATE_H */
