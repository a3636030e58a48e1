/* Unit tests for the configuration: the config file, the list formats,
 * network sets, weights and the defaults filled in by config__finish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "vigil_limits.h"
#include "testutil.h"

static char err[1024];

static const char *data(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", test_path("tests/data/config/"));
	g_strlcat(buf, name, sizeof(buf));
	return buf;
}

/* err holds "tests/.../FILE:LINE: ..." for the data file `name`. */
static void assert_err_at(const char *name, unsigned line)
{
	char want[4200];
	snprintf(want, sizeof(want), "%s:%u: ", data(name), line);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, want);
}

static vigil_config *load_ok(const char *name)
{
	vigil_config *c = config__new_default();
	assert_non_null(c);
	err[0] = '\0';
	int rc = config__load_file(c, data(name), err, sizeof(err));
	if (rc)
		fail_msg("%s: %d %s", name, rc, err);
	return c;
}

static int load_file_rc(vigil_config *c, const char *name)
{
	err[0] = '\0';
	return config__load_file(c, data(name), err, sizeof(err));
}

/* ---- the config file -------------------------------------------------- */

static void config_builtin_defaults_have_no_lists(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(c->deception_threshold, 50);
	assert_int_equal(c->malicious_threshold, 100);
	assert_null(c->path);
	assert_int_equal(c->n_members, 0);
	assert_int_equal(c->n_protected, 0);
	assert_int_equal(netset__count(c->relays), 0);
	assert_int_equal(g_hash_table_size(c->freemail), 0);
	assert_int_equal(config__finish(c), 0);
	assert_int_equal(c->n_own_domains, 0);
	assert_int_equal(config__weight(c, "tracker.hidden-image", 30), 30);
	config__free(c);
}

/* The shipped data/vigil.conf with its freemail.txt, and a trackers.txt in
 * the same folder (the shipped one when it exists, else the test one). */
static void config_default_file_loads(void **state)
{
	char *dir = g_dir_make_tmp("vigil-cfg-XXXXXX", NULL);
	assert_non_null(dir);
	const char *files[][2] = {
		{"data/vigil.conf", "vigil.conf"},
		{"data/freemail.txt", "freemail.txt"},
		{g_file_test(test_path("data/trackers.txt"), G_FILE_TEST_EXISTS)
				? "data/trackers.txt"
				: "tests/data/config/trackers.txt",
			"trackers.txt"},
	};
	for (size_t i = 0; i < 3; i++) {
		size_t len = 0;
		char *text = test_read_file(test_path(files[i][0]), &len);
		assert_non_null(text);
		char *to = g_build_filename(dir, files[i][1], NULL);
		assert_true(g_file_set_contents(to, text, (gssize)len, NULL));
		g_free(to);
		free(text);
	}
	char *conf = g_build_filename(dir, "vigil.conf", NULL);
	vigil_config *c = config__new_default();
	int rc = config__load_file(c, conf, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(c->path, conf);
	assert_int_equal(c->deception_threshold, 50);
	assert_int_equal(c->malicious_threshold, 100);
	assert_true(g_hash_table_contains(c->freemail, "gmail.com"));
	assert_true(g_hash_table_contains(c->freemail, "proton.me"));
	assert_true(g_hash_table_size(c->freemail) >= 150);
	assert_true(g_hash_table_size(c->tracker_hosts) > 0);
	assert_int_equal(config__finish(c), 0);
	config__free(c);
	for (size_t i = 0; i < 3; i++) {
		char *p = g_build_filename(dir, files[i][1], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(dir);
	g_free(conf);
	g_free(dir);
}

/* What `vigil scan` does with no arguments. Needs data/trackers.txt, which
 * another change ships. */
static void config_shipped_default_loads_through_ctx(void **state)
{
	if (!g_file_test(test_path("data/trackers.txt"), G_FILE_TEST_EXISTS)) {
		print_message("skipped: data/trackers.txt is not in the tree yet\n");
		skip();
	}
	vigil_ctx *ctx;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	setenv("VIGIL_DATADIR", test_path("data"), 1);
	int rc = vigil_ctx_load_config(ctx, NULL);
	unsetenv("VIGIL_DATADIR");
	if (rc)
		fail_msg("%s", vigil_ctx_error(ctx));
	assert_int_equal(vigil_ctx_ready(ctx), 0);
	assert_true(g_hash_table_contains(ctx->cfg->freemail, "gmail.com"));
	assert_true(g_hash_table_size(ctx->cfg->tracker_hosts) > 0);
	vigil_ctx_free(ctx);
}

static void config_full_file_sets_every_group(void **state)
{
	vigil_config *c = load_ok("good.conf");
	assert_int_equal(config__finish(c), 0);
	/* [organisation] */
	assert_int_equal(c->n_own_domains, 2);
	assert_string_equal(c->own_domains[0], "parliament.example");
	assert_string_equal(c->own_domains[1], "senate.example"); /* www. cut */
	assert_true(config__is_own_domain(c, "senate.example"));
	assert_false(config__is_own_domain(c, "example"));
	assert_string_equal(netset__lookup(c->internal_networks, "192.0.2.77"), "192.0.2.0/24");
	assert_string_equal(netset__lookup(c->internal_networks, "2001:db8:1:2::5"),
		"2001:db8:1::/48");
	assert_int_equal(c->n_members, 4);
	/* [identities] */
	assert_int_equal(c->n_protected, 5);
	assert_true(g_hash_table_contains(c->freemail, "gmx.de"));
	/* [relays]: the list and the inline addresses */
	assert_int_equal(netset__count(c->relays), 8);
	assert_string_equal(netset__lookup(c->relays, "203.0.113.200"), "203.0.113.0/24");
	assert_string_equal(netset__lookup(c->relays, "2001:db8:ffff::1"), "2001:db8:ffff::1");
	/* [trackers] */
	assert_string_equal(g_hash_table_lookup(c->tracker_hosts, "mailtrack.io"), "Mailtrack");
	/* [weights], [verdict] */
	assert_int_equal(config__weight(c, "tracker.hidden-image", 5), 30);
	assert_int_equal(config__weight(c, "some.future-detector", 5), 7);
	assert_int_equal(c->deception_threshold, 40);
	assert_int_equal(c->malicious_threshold, 90);
	config__free(c);
}

static void config_unknown_key_is_refused_with_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "unknown-key.conf"), VIGIL_ECONFIG);
	assert_err_at("unknown-key.conf", 6);
	assert_non_null(strstr(err, "unknown key 'list' in [relays]"));
	config__free(c);
}

static void config_unknown_group_is_refused_with_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "unknown-group.conf"), VIGIL_ECONFIG);
	assert_err_at("unknown-group.conf", 5);
	assert_non_null(strstr(err, "unknown group [relay]"));
	config__free(c);
}

static void config_syntax_error_names_file(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "syntax-error.conf"), VIGIL_ECONFIG);
	/* GLib's message has no line number; we add the one we find. */
	assert_err_at("syntax-error.conf", 3);
	assert_non_null(strstr(err, "this line has no equals sign"));
	config__free(c);
}

static void config_missing_file_is_an_io_error(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "no-such.conf"), VIGIL_EIO);
	assert_non_null(strstr(err, "no-such.conf: cannot read: "));
	config__free(c);
}

static void config_missing_list_is_an_io_error_at_its_key(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "missing-list.conf"), VIGIL_EIO);
	assert_err_at("missing-list.conf", 5);
	assert_non_null(strstr(err, "no-such-list.txt: cannot read: No such file"));
	assert_int_equal(c->deception_threshold, 50); /* the file's 60 not applied */
	assert_int_equal(g_hash_table_size(c->tracker_hosts), 0);
	config__free(c);
}

static void config_comment_after_value_is_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "comment-after-value.conf"), VIGIL_ECONFIG);
	assert_err_at("comment-after-value.conf", 2);
	assert_non_null(strstr(err, "comment must be on a line of its own"));
	config__free(c);
}

static void config_relative_list_paths_resolve_against_config_dir(void **state)
{
	/* Run from elsewhere: the paths must not depend on the working dir. */
	char *cwd = g_get_current_dir();
	assert_int_equal(chdir("/"), 0);
	vigil_config *c = load_ok("sub/relative.conf");
	assert_int_equal(chdir(cwd), 0);
	g_free(cwd);
	assert_int_equal(c->n_members, 1);
	assert_string_equal(c->members[0].address, "zoe@assembly.example");
	assert_int_equal(netset__count(c->relays), 6);
	config__free(c);
}

static void config_bad_config_changes_nothing(void **state)
{
	vigil_config *c = load_ok("good.conf");
	size_t members = c->n_members, relays = netset__count(c->relays);
	assert_int_equal(load_file_rc(c, "bad-list.conf"), VIGIL_ECONFIG);
	/* The list's own line, and where the config named it. */
	assert_err_at("bad-members.txt", 4);
	assert_non_null(strstr(err, "bad-list.conf:4"));
	assert_int_equal(c->n_members, members);
	assert_int_equal(netset__count(c->relays), relays);
	assert_null(netset__lookup(c->relays, "192.0.2.99"));
	assert_null(netset__lookup(c->internal_networks, "10.1.1.1"));
	assert_int_equal(config__weight(c, "tracker.hidden-image", 5), 30);
	assert_int_equal(c->deception_threshold, 40);
	assert_string_equal(c->path, data("good.conf"));
	config__free(c);
}

static void config_lists_from_flags_add_to_file(void **state)
{
	vigil_config *c = load_ok("sub/relative.conf");
	assert_int_equal(config__load_members(c, data("members.txt"), err, sizeof(err)), 0);
	assert_int_equal(config__load_relays(c, data("bad-relays.txt"), err, sizeof(err)),
		VIGIL_ECONFIG);
	assert_int_equal(c->n_members, 5);
	assert_int_equal(netset__count(c->relays), 6);
	assert_int_equal(config__finish(c), 0);
	assert_non_null(config__member(c, "zoe@assembly.example"));
	assert_non_null(config__member(c, "alice.fischer@parliament.example"));
	config__free(c);
}

static void config_loads_after_finish_are_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__finish(c), 0);
	assert_int_equal(config__load_members(c, data("members.txt"), err, sizeof(err)),
		VIGIL_EINVAL);
	assert_int_equal(load_file_rc(c, "good.conf"), VIGIL_EINVAL);
	assert_int_equal(c->n_members, 0);
	config__free(c);
}

/* ---- members ---------------------------------------------------------- */

static void members_parse_synthetic_format(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_members(c, data("members.txt"), err, sizeof(err)), 0);
	assert_int_equal(c->n_members, 4); /* the repeated address is kept once */
	assert_string_equal(c->members[0].address, "alice.fischer@parliament.example");
	assert_string_equal(c->members[0].name, "Alice Fischer");
	assert_string_equal(c->members[0].domain, "parliament.example");
	assert_string_equal(c->members[1].address, "bob.martin@senate.example");
	assert_null(c->members[2].name);
	assert_string_equal(c->members[3].address, "d.dupont@xn--bcher-kva.example");
	assert_string_equal(c->members[3].name, "Denis Dupont"); /* CRLF line */
	assert_int_equal(config__finish(c), 0);
	const vigil_member *m = config__member(c, "Bob.Martin@SENATE.example");
	assert_non_null(m);
	assert_string_equal(m->name, "Bob Martin");
	assert_null(config__member(c, "nobody@parliament.example"));
	config__free(c);
}

static void members_bad_address_reports_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_members(c, data("bad-members.txt"), err, sizeof(err)),
		VIGIL_ECONFIG);
	assert_err_at("bad-members.txt", 4);
	assert_non_null(strstr(err, "not-an-address"));
	assert_int_equal(c->n_members, 0); /* nothing of the file kept */
	config__free(c);
}

static void members_missing_file_is_eio(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_members(c, data("none.txt"), err, sizeof(err)), VIGIL_EIO);
	assert_non_null(strstr(err, "none.txt: cannot read"));
	config__free(c);
}

static void members_space_instead_of_tab_says_so(void **state)
{
	char *dir = g_dir_make_tmp("vigil-cfg-XXXXXX", NULL);
	char *p = g_build_filename(dir, "m.txt", NULL);
	assert_true(g_file_set_contents(p, "a@b.example Alice\n", -1, NULL));
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_members(c, p, err, sizeof(err)), VIGIL_ECONFIG);
	assert_non_null(strstr(err, ":1: "));
	assert_non_null(strstr(err, "separate the name with a TAB"));
	config__free(c);
	g_unlink(p);
	g_rmdir(dir);
	g_free(p);
	g_free(dir);
}

/* ---- protected identities -------------------------------------------- */

static void protected_outlets_and_persons(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_protected(c, data("protected.tsv"), err, sizeof(err)), 0);
	assert_int_equal(c->n_protected, 5);
	const vigil_protected *p = c->protected_ids;
	assert_int_equal(p[0].kind, VIGIL_PROTECTED_OUTLET);
	assert_string_equal(p[0].name, "Le Monde");
	assert_string_equal(p[0].domain, "lemonde.fr");
	assert_null(p[0].address);
	assert_int_equal(p[1].kind, VIGIL_PROTECTED_OUTLET); /* "org" */
	assert_string_equal(p[1].domain, "theguardian.com"); /* registrable */
	assert_int_equal(p[2].kind, VIGIL_PROTECTED_OUTLET); /* "Organisation" */
	assert_string_equal(p[2].domain, "bbc.co.uk");
	assert_int_equal(p[3].kind, VIGIL_PROTECTED_PERSON);
	assert_string_equal(p[3].name, "Mathieu Keller");
	assert_string_equal(p[3].address, "mkeller@lemonde.fr");
	assert_string_equal(p[3].domain, "lemonde.fr");
	assert_string_equal(p[4].address, "jane@mail.nytimes.com");
	assert_string_equal(p[4].domain, "nytimes.com");
	config__free(c);
}

static void protected_bad_kind_reports_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_protected(c, data("bad-protected.tsv"), err, sizeof(err)),
		VIGIL_ECONFIG);
	assert_err_at("bad-protected.tsv", 4);
	assert_non_null(strstr(err, "unknown kind 'journalist'"));
	assert_int_equal(c->n_protected, 0);
	config__free(c);
}

/* ---- relays, free mail, trackers ------------------------------------- */

static void relays_ipv4_ipv6_cidr(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_relays(c, data("relays.txt"), err, sizeof(err)), 0);
	assert_int_equal(netset__count(c->relays), 6);
	assert_string_equal(netset__lookup(c->relays, "192.0.2.1"), "192.0.2.1");
	assert_null(netset__lookup(c->relays, "192.0.2.2"));
	assert_string_equal(netset__lookup(c->relays, "198.51.100.255"), "198.51.100.0/24");
	assert_string_equal(netset__lookup(c->relays, "2001:db8:1234::9"), "2001:db8::/32");
	assert_string_equal(netset__lookup(c->relays, "2001:db8:aa::1"), "2001:db8:aa::1");
	assert_string_equal(netset__lookup(c->relays, "203.0.113.9"), "::ffff:203.0.113.9");
	assert_string_equal(netset__lookup(c->relays, "10.200.0.1"), "10.1.2.3/8");
	assert_null(netset__lookup(c->relays, "2001:db9::1"));
	config__free(c);
}

static void relays_bad_line_reports_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_relays(c, data("bad-relays.txt"), err, sizeof(err)),
		VIGIL_ECONFIG);
	assert_err_at("bad-relays.txt", 4);
	assert_non_null(strstr(err, "192.0.2.300"));
	assert_int_equal(netset__count(c->relays), 0);
	config__free(c);
}

static void freemail_one_domain_per_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_freemail(c, data("freemail.txt"), err, sizeof(err)), 0);
	assert_int_equal(g_hash_table_size(c->freemail), 4);
	assert_true(g_hash_table_contains(c->freemail, "gmail.com"));
	assert_true(g_hash_table_contains(c->freemail, "gmx.de"));
	assert_true(g_hash_table_contains(c->freemail, "xn--mal-0ma.example"));
	assert_true(g_hash_table_contains(c->freemail, "yahoo.com"));
	config__free(c);
}

static void trackers_host_and_family(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_trackers(c, data("trackers.txt"), err, sizeof(err)), 0);
	GHashTable *t = c->tracker_hosts;
	assert_int_equal(g_hash_table_size(t), 4);
	assert_string_equal(g_hash_table_lookup(t, "mailtrack.io"), "Mailtrack");
	assert_string_equal(g_hash_table_lookup(t, "t.sidekickopen.com"), "HubSpot Sidekick");
	assert_string_equal(g_hash_table_lookup(t, "pixel.example"), "trackers"); /* list name */
	assert_string_equal(g_hash_table_lookup(t, "mltrk.io"), "Mailtrack");
	config__free(c);
}

/* ---- network sets ------------------------------------------------------ */

static void add_ok(vigil_netset *s, const char *text)
{
	const char *why = NULL;
	int rc = netset__add(s, text, &why);
	if (rc)
		fail_msg("%s: %s", text, why);
}

static void netset_longest_prefix_wins(void **state)
{
	vigil_netset *s = netset__new();
	add_ok(s, "10.0.0.0/8");
	add_ok(s, "10.1.2.0/24");
	add_ok(s, "10.1.0.0/16");
	add_ok(s, "10.1.2.3");
	add_ok(s, "2001:db8::/32");
	add_ok(s, "2001:db8:5::/48");
	assert_string_equal(netset__lookup(s, "10.1.2.3"), "10.1.2.3");
	assert_string_equal(netset__lookup(s, "10.1.2.4"), "10.1.2.0/24");
	assert_string_equal(netset__lookup(s, "10.1.3.4"), "10.1.0.0/16");
	assert_string_equal(netset__lookup(s, "10.2.3.4"), "10.0.0.0/8");
	assert_null(netset__lookup(s, "11.0.0.1"));
	assert_string_equal(netset__lookup(s, "2001:db8:5::1"), "2001:db8:5::/48");
	assert_string_equal(netset__lookup(s, "2001:db8:6::1"), "2001:db8::/32");
	assert_null(netset__lookup(s, "not an ip"));
	assert_null(netset__lookup(s, "10.1.2.0/24")); /* lookups take addresses */
	assert_int_equal(netset__count(s), 6);
	netset__free(s);
}

static void netset_ipv4_mapped_ipv6_matches_ipv4(void **state)
{
	vigil_netset *s = netset__new();
	add_ok(s, "192.0.2.0/24");
	add_ok(s, "::ffff:198.51.100.0/120"); /* an IPv4 range written as IPv6 */
	add_ok(s, "::/0");
	assert_string_equal(netset__lookup(s, "::ffff:192.0.2.9"), "192.0.2.0/24");
	assert_string_equal(netset__lookup(s, "198.51.100.4"), "::ffff:198.51.100.0/120");
	/* Not in any IPv4 entry: the IPv6 catch-all still holds it. */
	assert_string_equal(netset__lookup(s, "::ffff:203.0.113.1"), "::/0");
	assert_null(netset__lookup(s, "203.0.113.1"));
	netset__free(s);
}

static void netset_host_bits_are_masked(void **state)
{
	vigil_netset *s = netset__new();
	add_ok(s, "192.0.2.77/24");
	add_ok(s, "2001:db8::1/64");
	assert_string_equal(netset__lookup(s, "192.0.2.1"), "192.0.2.77/24");
	assert_null(netset__lookup(s, "192.0.3.1"));
	assert_string_equal(netset__lookup(s, "2001:db8::ffff"), "2001:db8::1/64");
	/* The same range spelt another way is the same entry: first kept. */
	add_ok(s, "192.0.2.0/24");
	assert_int_equal(netset__count(s), 2);
	assert_string_equal(netset__lookup(s, "192.0.2.1"), "192.0.2.77/24");
	netset__free(s);
}

static void netset_zero_prefix_matches_everything(void **state)
{
	vigil_netset *s = netset__new();
	add_ok(s, "0.0.0.0/0");
	add_ok(s, "192.0.2.0/25");
	assert_string_equal(netset__lookup(s, "255.255.255.255"), "0.0.0.0/0");
	assert_string_equal(netset__lookup(s, "192.0.2.127"), "192.0.2.0/25");
	assert_string_equal(netset__lookup(s, "192.0.2.128"), "0.0.0.0/0");
	assert_null(netset__lookup(s, "2001:db8::1")); /* the other family */
	netset__free(s);
}

static void netset_refuses_what_is_not_an_address(void **state)
{
	static const char *const bad[] = {"", "10.1", "010.0.0.1", "192.0.2.1/33", "::1/129",
		"192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/ 8", "[::1]", "fe80::1%eth0",
		"192.0.2.1 # note", "example.com", "1.2.3.4/8/8"};
	vigil_netset *s = netset__new();
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *why = NULL;
		if (netset__add(s, bad[i], &why) != VIGIL_EPARSE || !why)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(netset__count(s), 0);
	netset__free(s);
}

static void netset_100k_entries_lookup(void **state)
{
	vigil_netset *s = netset__new();
	char buf[64];
	/* 50,000 IPv4 hosts and /28s, 50,000 IPv6 /64s and hosts, spread out
	 * by a multiplicative hash so the tree branches everywhere. */
	for (uint32_t i = 0; i < 50000; i++) {
		uint32_t v = i * 2654435761u;
		if (i % 2)
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
				(v >> 8) & 255, v & 255);
		else
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u/28", v >> 24, (v >> 16) & 255,
				(v >> 8) & 255, v & 0xf0);
		add_ok(s, buf);
		if (i % 2)
			snprintf(buf, sizeof(buf), "2001:db8:%x:%x::/64", v >> 16, v & 0xffff);
		else
			snprintf(buf, sizeof(buf), "2001:db8:%x:%x::%x", v >> 16, v & 0xffff, i);
		add_ok(s, buf);
	}
	assert_true(netset__count(s) >= 99000); /* a few /28s may coincide */
	for (uint32_t i = 0; i < 50000; i++) {
		uint32_t v = i * 2654435761u;
		char want[64];
		if (i % 2) {
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
				(v >> 8) & 255, v & 255);
			assert_non_null(netset__lookup(s, buf));
			snprintf(want, sizeof(want), "2001:db8:%x:%x::/64", v >> 16, v & 0xffff);
			snprintf(buf, sizeof(buf), "2001:db8:%x:%x:1:2:3:4", v >> 16, v & 0xffff);
			const char *hit = netset__lookup(s, buf);
			assert_non_null(hit);
			assert_string_equal(hit, want);
		} else {
			snprintf(buf, sizeof(buf), "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
				(v >> 8) & 255, (v & 0xf0) | 0x7);
			assert_non_null(netset__lookup(s, buf));
			snprintf(buf, sizeof(buf), "2001:db8:%x:%x::%x", v >> 16, v & 0xffff, i);
			const char *hit = netset__lookup(s, buf);
			assert_non_null(hit);
			/* A host, or the /64 of an odd i that shares its prefix. */
			assert_true(strcmp(hit, buf) == 0 || strstr(hit, "::/64"));
		}
	}
	assert_null(netset__lookup(s, "2001:db9::1"));
	netset__free(s);
}

/* ---- weights ------------------------------------------------------------ */

static void weights_override_and_zero_disables(void **state)
{
	vigil_config *c = load_ok("good.conf");
	assert_int_equal(config__weight(c, "tracker.hidden-image", 10), 30);
	assert_int_equal(config__weight(c, "relay.listed-hop", 60), 0);
	assert_int_equal(config__weight(c, "auth.dmarc-fail", 30), 30); /* not set */
	config__free(c);
}

static void weights_non_integer_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "bad-weight.conf"), VIGIL_ECONFIG);
	assert_err_at("bad-weight.conf", 3);
	assert_non_null(strstr(err, "'high' is not a whole number"));
	assert_int_equal(config__weight(c, "tracker.hidden-image", 10), 10);
	config__free(c);
}

static void weights_bad_finding_id_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "bad-weight-id.conf"), VIGIL_ECONFIG);
	assert_err_at("bad-weight-id.conf", 2);
	assert_non_null(strstr(err, "'Tracker_Hidden' is not a finding id"));
	config__free(c);
}

/* ---- [milter] ------------------------------------------------------------ */

static void milter_defaults_quarantine_recon_and_tag_suspicious(void **state)
{
	vigil_config *c = config__new_default();
	const vigil_milter_settings *m = &c->milter;
	assert_int_equal(m->action[VIGIL_VERDICT_CLEAN], VIGIL_MILTER_ACCEPT);
	assert_int_equal(m->action[VIGIL_VERDICT_TRACKING], VIGIL_MILTER_ACCEPT);
	assert_int_equal(m->action[VIGIL_VERDICT_SUSPICIOUS], VIGIL_MILTER_TAG);
	assert_int_equal(m->action[VIGIL_VERDICT_RECON], VIGIL_MILTER_QUARANTINE);
	assert_int_equal(m->action[VIGIL_VERDICT_MALICIOUS], VIGIL_MILTER_QUARANTINE);
	assert_false(m->fallback_accept);
	assert_false(m->quarantine_hold);
	assert_int_equal(m->max_message_bytes, VIGIL_MILTER_DEFAULT_MAX_BYTES);
	assert_int_equal(m->time_budget_ms, VIGIL_MILTER_DEFAULT_BUDGET_MS);
	assert_string_equal(m->subject_prefix, "");
	config__free(c);
}

static void milter_file_sets_every_key(void **state)
{
	vigil_config *c = load_ok("milter.conf");
	const vigil_milter_settings *m = &c->milter;
	assert_int_equal(m->action[VIGIL_VERDICT_TRACKING], VIGIL_MILTER_TAG);
	assert_int_equal(m->action[VIGIL_VERDICT_SUSPICIOUS], VIGIL_MILTER_REJECT);
	assert_int_equal(m->action[VIGIL_VERDICT_RECON], VIGIL_MILTER_REJECT);
	assert_int_equal(m->action[VIGIL_VERDICT_MALICIOUS], VIGIL_MILTER_QUARANTINE);
	assert_string_equal(m->subject_prefix, "[VIGIL]");
	/* relative to the config file's folder, like lists */
	assert_string_equal(m->quarantine_dir, data("quarantine-here"));
	assert_true(m->quarantine_hold);
	assert_true(m->fallback_accept);
	assert_int_equal(m->max_message_bytes, 1048576);
	assert_int_equal(m->time_budget_ms, 2500);
	assert_string_equal(m->reject_reply, "Refused here");
	assert_string_equal(m->socket, "unix:/run/vigil/milter.sock");
	assert_int_equal(m->log, 2);
	config__free(c);
}

static void milter_settings_kept_by_a_later_file_without_them(void **state)
{
	vigil_config *c = load_ok("milter.conf");
	assert_int_equal(load_file_rc(c, "good.conf"), 0);
	assert_int_equal(c->milter.action[VIGIL_VERDICT_RECON], VIGIL_MILTER_REJECT);
	assert_string_equal(c->milter.subject_prefix, "[VIGIL]");
	config__free(c);
}

static void milter_bad_action_refused_with_line(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "milter-bad-action.conf"), VIGIL_ECONFIG);
	assert_err_at("milter-bad-action.conf", 4);
	assert_non_null(strstr(err, "'drop' is not accept, tag, quarantine or reject"));
	assert_int_equal(c->milter.action[VIGIL_VERDICT_RECON], VIGIL_MILTER_QUARANTINE);
	config__free(c);
}

static void milter_max_size_below_64k_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "milter-bad-size.conf"), VIGIL_ECONFIG);
	assert_err_at("milter-bad-size.conf", 2);
	assert_non_null(strstr(err, "from 65536 to 134217728"));
	assert_int_equal(c->milter.max_message_bytes, VIGIL_MILTER_DEFAULT_MAX_BYTES);
	config__free(c);
}

static void milter_bad_socket_and_long_prefix_refused(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(load_file_rc(c, "milter-bad-socket.conf"), VIGIL_ECONFIG);
	assert_err_at("milter-bad-socket.conf", 3);
	assert_int_equal(load_file_rc(c, "milter-long-prefix.conf"), VIGIL_ECONFIG);
	assert_err_at("milter-long-prefix.conf", 2);
	assert_non_null(strstr(err, "longer than 64 bytes"));
	config__free(c);
}

/* ---- own domains, members ---------------------------------------------- */

static void own_domains_default_to_members_domains(void **state)
{
	vigil_config *c = config__new_default();
	assert_int_equal(config__load_members(c, data("members.txt"), err, sizeof(err)), 0);
	assert_int_equal(config__finish(c), 0);
	/* Unique and sorted. */
	assert_int_equal(c->n_own_domains, 3);
	assert_string_equal(c->own_domains[0], "parliament.example");
	assert_string_equal(c->own_domains[1], "senate.example");
	assert_string_equal(c->own_domains[2], "xn--bcher-kva.example");
	assert_true(config__is_own_domain(c, "senate.example"));
	assert_false(config__is_own_domain(c, "lemonde.fr"));
	config__free(c);
}

static void own_domains_from_file_replace_the_default(void **state)
{
	vigil_config *c = load_ok("good.conf"); /* domains and members given */
	assert_int_equal(config__finish(c), 0);
	assert_int_equal(c->n_own_domains, 2);
	assert_false(config__is_own_domain(c, "xn--bcher-kva.example"));
	config__free(c);
}

/* The corpus next to the repository, when it is there. */
static void corpus_members_and_protected_load(void **state)
{
	const char *members = "/work/shared/corpus/synthetic/members.txt";
	const char *protected = "/work/shared/corpus/synthetic/protected.tsv";
	if (!g_file_test(members, G_FILE_TEST_EXISTS) ||
		!g_file_test(protected, G_FILE_TEST_EXISTS)) {
		print_message("skipped: the synthetic corpus is not in /work/shared/corpus\n");
		skip();
	}
	vigil_config *c = config__new_default();
	if (config__load_members(c, members, err, sizeof(err)) ||
		config__load_protected(c, protected, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(c->n_members > 0);
	assert_true(c->n_protected > 0);
	assert_int_equal(config__finish(c), 0);
	assert_true(c->n_own_domains > 0);
	assert_non_null(config__member(c, c->members[0].address));
	config__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_builtin_defaults_have_no_lists),
		cmocka_unit_test(milter_defaults_quarantine_recon_and_tag_suspicious),
		cmocka_unit_test(milter_file_sets_every_key),
		cmocka_unit_test(milter_settings_kept_by_a_later_file_without_them),
		cmocka_unit_test(milter_bad_action_refused_with_line),
		cmocka_unit_test(milter_max_size_below_64k_refused),
		cmocka_unit_test(milter_bad_socket_and_long_prefix_refused),
		cmocka_unit_test(config_default_file_loads),
		cmocka_unit_test(config_shipped_default_loads_through_ctx),
		cmocka_unit_test(config_full_file_sets_every_group),
		cmocka_unit_test(config_unknown_key_is_refused_with_line),
		cmocka_unit_test(config_unknown_group_is_refused_with_line),
		cmocka_unit_test(config_syntax_error_names_file),
		cmocka_unit_test(config_missing_file_is_an_io_error),
		cmocka_unit_test(config_missing_list_is_an_io_error_at_its_key),
		cmocka_unit_test(config_comment_after_value_is_refused),
		cmocka_unit_test(config_relative_list_paths_resolve_against_config_dir),
		cmocka_unit_test(config_bad_config_changes_nothing),
		cmocka_unit_test(config_lists_from_flags_add_to_file),
		cmocka_unit_test(config_loads_after_finish_are_refused),
		cmocka_unit_test(members_parse_synthetic_format),
		cmocka_unit_test(members_bad_address_reports_line),
		cmocka_unit_test(members_missing_file_is_eio),
		cmocka_unit_test(members_space_instead_of_tab_says_so),
		cmocka_unit_test(protected_outlets_and_persons),
		cmocka_unit_test(protected_bad_kind_reports_line),
		cmocka_unit_test(relays_ipv4_ipv6_cidr),
		cmocka_unit_test(relays_bad_line_reports_line),
		cmocka_unit_test(freemail_one_domain_per_line),
		cmocka_unit_test(trackers_host_and_family),
		cmocka_unit_test(netset_longest_prefix_wins),
		cmocka_unit_test(netset_ipv4_mapped_ipv6_matches_ipv4),
		cmocka_unit_test(netset_host_bits_are_masked),
		cmocka_unit_test(netset_zero_prefix_matches_everything),
		cmocka_unit_test(netset_refuses_what_is_not_an_address),
		cmocka_unit_test(netset_100k_entries_lookup),
		cmocka_unit_test(weights_override_and_zero_disables),
		cmocka_unit_test(weights_non_integer_refused),
		cmocka_unit_test(weights_bad_finding_id_refused),
		cmocka_unit_test(own_domains_default_to_members_domains),
		cmocka_unit_test(own_domains_from_file_replace_the_default),
		cmocka_unit_test(corpus_members_and_protected_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
