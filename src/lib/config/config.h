/*
 * The configuration as the library sees it once loaded: the organisation
 * (own domains, internal networks, members), the identities attackers borrow,
 * relay lists, data lists (free-mail providers, tracker hosts), detector
 * weights and verdict thresholds. Immutable after loading; shared by threads.
 * The file format is documented in docs/config.md.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "vigil/vigil.h"

/* ---- sets of networks (netset.c) ------------------------------------- */

/* IPv4 and IPv6 addresses and CIDR ranges, looked up in time independent of
 * the number of entries (a binary prefix tree per family). */
typedef struct vigil_netset vigil_netset;

vigil_netset *netset__new(void);
void netset__free(vigil_netset *s);
/* Adds "192.0.2.1", "192.0.2.0/24", "2001:db8::/32" (an IPv4-mapped IPv6
 * address counts as IPv4). Returns 0, VIGIL_EPARSE (bad text; *why says what)
 * or VIGIL_ENOMEM. */
int netset__add(vigil_netset *s, const char *text, const char **why);
/* The entry (as it was added) that contains `ip`, the most specific one;
 * NULL when none does or `ip` is not an address. */
const char *netset__lookup(const vigil_netset *s, const char *ip);
size_t netset__count(const vigil_netset *s);

/* ---- the configuration (config.c, lists.c) --------------------------- */

typedef struct vigil_member {
	const char *address; /* lower case */
	const char *name;    /* "Marie Martin", NULL when the list gives none */
	const char *domain;  /* lower-case A-label of the address's domain */
} vigil_member;

typedef enum vigil_protected_kind {
	VIGIL_PROTECTED_OUTLET = 1, /* a news outlet or organisation: name and domain */
	VIGIL_PROTECTED_PERSON = 2, /* a person: name and address */
} vigil_protected_kind;

typedef struct vigil_protected {
	vigil_protected_kind kind;
	const char *name;    /* as written: "Le Monde", "Mathieu Keller" */
	const char *domain;  /* registrable domain (lower-case A-label): "lemonde.fr" */
	const char *address; /* persons only, lower case: "mkeller@lemonde.fr" */
} vigil_protected;

typedef struct vigil_config {
	vigil_arena *arena;  /* everything below lives here or is freed with it */
	const char *path;    /* the file loaded, NULL for built-in defaults */

	/* [organisation] */
	const char **own_domains; /* registrable domains; default: the members' domains */
	size_t n_own_domains;
	vigil_netset *internal_networks;
	vigil_member *members;
	size_t n_members;
	GHashTable *member_by_address; /* lower-case address -> vigil_member * */

	/* [identities] */
	vigil_protected *protected_ids;
	size_t n_protected;
	GHashTable *freemail; /* registrable domain -> non-NULL: free-mail providers */

	/* [relays] */
	vigil_netset *relays;

	/* [trackers] */
	GHashTable *tracker_hosts; /* host or registrable domain -> list/family name */

	/* [rules]: YARA rule files and directories, relative ones already
	 * joined to the config file's folder; compiled by rules/rules.c */
	const char **rule_paths;
	size_t n_rule_paths;

	/* [weights]: finding id -> score; absent ids keep their detector's default */
	GHashTable *weights;

	/* [verdict] */
	int deception_threshold; /* deception score that makes a message deceptive */
	/* the same for a message whose URLs carry its recipient's address (a
	 * recipient token): lower, since newsletters rarely lie and attackers
	 * who encode the target in a tracker rarely tell the truth */
	int token_deception_threshold;
	int malicious_threshold; /* score of malicious findings that makes it malicious */
	bool intel_recon;        /* threat-intel hits make a message recon, not malicious */

	/* [milter]: read only by the milter front end; strings in the arena
	 * or static */
	vigil_milter_settings milter;
} vigil_config;

/* The built-in defaults with no lists; never NULL unless out of memory. */
vigil_config *config__new_default(void);
void config__free(vigil_config *cfg);

/* Loads a config file over `cfg`. Relative list paths are taken relative to
 * the file. Returns 0, or VIGIL_ECONFIG / VIGIL_EIO with "FILE:LINE: reason"
 * written to err. Nothing of a failed file is kept. */
int config__load_file(vigil_config *cfg, const char *path, char *err, size_t err_size);

/* Loads one list (the format of each in docs/config.md). Same errors. */
int config__load_members(vigil_config *cfg, const char *path, char *err, size_t err_size);
int config__load_protected(vigil_config *cfg, const char *path, char *err, size_t err_size);
int config__load_relays(vigil_config *cfg, const char *path, char *err, size_t err_size);
int config__load_freemail(vigil_config *cfg, const char *path, char *err, size_t err_size);
int config__load_trackers(vigil_config *cfg, const char *path, char *err, size_t err_size);

/* After loading: fills defaults that depend on lists (own domains from the
 * members when none were given). */
int config__finish(vigil_config *cfg);

/* Weight of a finding: the configured one, else `default_score`. */
int config__weight(const vigil_config *cfg, const char *finding_id, int default_score);

bool config__is_own_domain(const vigil_config *cfg, const char *registrable_domain);
const vigil_member *config__member(const vigil_config *cfg, const char *address);

#endif /* VIGIL_CONFIG_H */
