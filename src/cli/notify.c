/*
 * vigil notify: tells each target of a campaign what they received and
 * what to do. A dry run (the default) prints the messages and records
 * nothing; --send hands them to an SMTP server. Who was told is the store's
 * business (vigil_store_notify); this file parses options and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vigil/vigil.h"

static void notify_usage(FILE *fp)
{
	fputs("usage: vigil notify [--db FILE] CAMPAIGN --from ADDR [--template FILE]\n"
	      "                    [--contact ADDR] [--target ADDR]... [--raw]\n"
	      "                    [--domain DOMAIN]... [--all-domains]\n"
	      "                    [--send [--smtp URL] [--smtp-starttls] [--smtp-cacert FILE]\n"
	      "                     [--smtp-user USER] [--timeout SECONDS] [--resend-unconfirmed]]\n"
	      "\n"
	      "Writes to each target of campaign CAMPAIGN, in plain language: the message\n"
	      "they received (date, sender, subject), that it was part of a campaign that\n"
	      "tracks who opens mail, whether vigil saw them open it, and what to do\n"
	      "(docs/notify.md). Without --send, prints the messages that would be sent\n"
	      "and records nothing. With --send, sends them by SMTP and records each one:\n"
	      "a target already told is never told again.\n"
	      "\n"
	      "options:\n"
	      "  --db FILE             the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  --from ADDR           the sender: \"Security team <security@example.org>\"\n"
	      "  --template FILE       the words (default: the shipped notify-template.txt)\n"
	      "  --contact ADDR        the security contact named in the text (default: --from)\n"
	      "  --target ADDR         only this target (repeatable)\n"
	      "  --domain DOMAIN       only targets at DOMAIN or below (repeatable; default:\n"
	      "                        the --from address's domain): a recon message's To\n"
	      "                        may be the attacker's own address\n"
	      "  --all-domains         every target, whatever its domain\n"
	      "  --raw                 dry run: print the exact RFC 5322 messages, as an mbox\n"
	      "  --send                send (SMTP) and record\n"
	      "  --smtp URL            smtp://HOST[:PORT] or smtps://HOST[:PORT]\n"
	      "                        (default: " VIGIL_NOTIFY_DEFAULT_SMTP ")\n"
	      "  --smtp-starttls       require STARTTLS on smtp:// (never send in clear)\n"
	      "  --smtp-cacert FILE    CA certificates (PEM) for the server's certificate\n"
	      "                        (default: the system's)\n"
	      "  --smtp-user USER      authenticate; the password is read from the\n"
	      "                        environment variable VIGIL_SMTP_PASSWORD\n"
	      "  --timeout SECONDS     per message (default 120)\n"
	      "  --resend-unconfirmed  also send to targets a stopped run left 'sending'\n"
	      "                        (it may have gone out: they may get it twice)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "Exit status: 0 all told (or would be), 1 some failed or unconfirmed,\n"
	      "2 bad arguments or template, 3 store error.\n",
		fp);
}

typedef struct printer {
	bool raw;
	bool send;
	size_t shown;
	bool failed_output;
} printer;

/* A message as a person reads it: the headers decoded, then the text. */
static void print_readable(FILE *fp, const vigil_notification *n, const char *from, size_t index)
{
	fprintf(fp, "==== notification %zu: %s\n", index, n->to);
	fprintf(fp, "From: %s\n", from);
	if (n->to_name)
		fprintf(fp, "To: %s <%s>\n", n->to_name, n->to);
	else
		fprintf(fp, "To: %s\n", n->to);
	fprintf(fp, "Subject: %s\n", n->subject);
	fprintf(fp, "Message-ID: <%s>\n\n", n->message_id);
	fputs(n->body, fp);
	fputc('\n', fp);
}

/* The exact bytes, as an mboxrd (">From " quoting), LF line ends. */
static void print_raw(FILE *fp, const vigil_notification *n, const char *from_addr)
{
	fprintf(fp, "From %s Thu Jan  1 00:00:00 1970\n", from_addr);
	const char *p = n->raw, *end = n->raw + n->raw_len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
		size_t l = len && p[len - 1] == '\r' ? len - 1 : len;
		size_t q = 0;
		while (q < l && p[q] == '>')
			q++;
		if (l - q >= 5 && memcmp(p + q, "From ", 5) == 0)
			fputc('>', fp);
		fwrite(p, 1, l, fp);
		fputc('\n', fp);
		p += len + (eol ? 1 : 0);
	}
	fputc('\n', fp);
}

typedef struct run_ctx {
	printer pr;
	const char *from;
	char from_addr[512];
	char domains[512]; /* for messages: "a.example, b.example" */
} run_ctx;

static void on_target(void *ud, vigil_notify_outcome what, const char *address,
	const vigil_notification *n, const char *detail)
{
	run_ctx *r = ud;
	switch (what) {
	case VIGIL_NOTIFY_DRY_RUN:
		r->pr.shown++;
		if (r->pr.raw)
			print_raw(stdout, n, r->from_addr);
		else
			print_readable(stdout, n, r->from, r->pr.shown);
		break;
	case VIGIL_NOTIFY_SENT:
		fprintf(stderr, "vigil notify: %s: sent (%s)\n", address, detail ? detail : "");
		break;
	case VIGIL_NOTIFY_FAILED:
		fprintf(stderr, "vigil notify: %s: FAILED: %s\n", address, detail ? detail : "");
		break;
	case VIGIL_NOTIFY_ALREADY:
		fprintf(stderr, "vigil notify: %s: skipped, already notified\n", address);
		break;
	case VIGIL_NOTIFY_UNCONFIRMED:
		fprintf(stderr, "vigil notify: %s: NOT SENT: %s\n", address, detail ? detail : "");
		break;
	case VIGIL_NOTIFY_OUTSIDE:
		fprintf(stderr, "vigil notify: %s: skipped, not at %s (--domain, --all-domains)\n",
			address, r->domains);
		break;
	}
}

/* The messages' Date: now, or SOURCE_DATE_EPOCH (a dry run that gives the
 * same bytes twice, for documentation and tests). */
static int64_t notify_time(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (s && *s) {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (!*end && v >= 0)
			return (int64_t)v;
	}
	return (int64_t)time(NULL);
}

/* Everything after the options: the template, the store, the summary.
 * `domains` NULL: every domain; empty: the --from address's. Returns the
 * exit status. */
static int notify_run(const char *db, int64_t id, const char *template,
	vigil_notify_options *opt, bool send, run_ctx *r, const char **targets, size_t n_targets,
	const char **domains, size_t n_domains)
{
	opt->targets = n_targets ? targets : NULL;
	opt->n_targets = n_targets;
	opt->now = notify_time();
	if (opt->smtp_user)
		opt->smtp_password = getenv("VIGIL_SMTP_PASSWORD");
	r->from = opt->from;
	/* the envelope address, for --raw's "From " lines and the default domain */
	const char *lt = strrchr(opt->from, '<');
	snprintf(r->from_addr, sizeof(r->from_addr), "%s", lt ? lt + 1 : opt->from);
	r->from_addr[strcspn(r->from_addr, "> \t")] = '\0';
	const char *at = strrchr(r->from_addr, '@');
	if (domains && !n_domains && at && at[1])
		domains[n_domains++] = at + 1;
	opt->domains = domains;
	opt->n_domains = domains ? n_domains : 0;
	for (size_t i = 0; domains && i < n_domains; i++) {
		size_t len = strlen(r->domains);
		snprintf(r->domains + len, sizeof(r->domains) - len, "%s%s", i ? ", " : "", domains[i]);
	}

	char err[1024];
	vigil_notify_template *t = NULL;
	int rc = vigil_notify_template_load(&t, template, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "vigil notify: %s\n", err[0] ? err : vigil_strerror(rc));
		return rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_USAGE;
	}
	vigil_store *st = NULL;
	vigil_notify_result res = {0};
	res.on_target = on_target;
	res.ud = r;
	rc = vigil_store_open(&st, db);
	if (!rc)
		rc = vigil_store_campaigns_update(st, NULL, NULL);
	if (!rc)
		rc = vigil_store_notify(st, id, t, opt, send, &res);
	vigil_notify_template_free(t);
	if (rc) {
		/* bad options and templates are about the command, not the file */
		if (rc == VIGIL_EINVAL || rc == VIGIL_ECONFIG)
			fprintf(stderr, "vigil notify: %s\n", st ? vigil_store_error(st) : vigil_strerror(rc));
		else
			fprintf(stderr, "vigil notify: %s: %s\n", db,
				st ? vigil_store_error(st) : vigil_strerror(rc));
		vigil_store_close(st);
		/* what went out before a store error is said all the same */
		if (res.sent)
			fprintf(stderr, "vigil notify: campaign %lld: %zu sent before the error\n",
				(long long)id, res.sent);
		return rc == VIGIL_EINVAL || rc == VIGIL_ECONFIG ? CLI_USAGE : CLI_FATAL;
	}
	vigil_store_close(st);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vigil notify: writing the messages failed\n");
		return CLI_FATAL;
	}
	char outside[600] = "";
	if (res.outside)
		snprintf(outside, sizeof(outside), ", %zu outside %s", res.outside,
			n_domains == 1 ? r->domains : "the domains");
	if (send)
		fprintf(stderr,
			"vigil notify: campaign %lld: %zu sent, %zu skipped (already notified), "
			"%zu failed, %zu unconfirmed%s\n",
			(long long)id, res.sent, res.already, res.failed, res.unconfirmed, outside);
	else
		fprintf(stderr,
			"vigil notify: campaign %lld: dry run: %zu would be sent, %zu skipped (already "
			"notified), %zu failed, %zu unconfirmed%s; nothing sent or recorded (--send "
			"sends)\n",
			(long long)id, res.dry_run, res.already, res.failed, res.unconfirmed, outside);
	return res.failed || res.unconfirmed ? CLI_ERRORS : CLI_OK;
}

int cmd_notify(int argc, char **argv)
{
	enum {
		OPT_FROM = 256,
		OPT_TEMPLATE,
		OPT_CONTACT,
		OPT_TARGET,
		OPT_RAW,
		OPT_SEND,
		OPT_SMTP,
		OPT_STARTTLS,
		OPT_USER,
		OPT_TIMEOUT,
		OPT_RESEND,
		OPT_DOMAIN,
		OPT_ALL_DOMAINS,
		OPT_CACERT,
	};
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"from", required_argument, NULL, OPT_FROM},
		{"template", required_argument, NULL, OPT_TEMPLATE},
		{"contact", required_argument, NULL, OPT_CONTACT},
		{"target", required_argument, NULL, OPT_TARGET},
		{"raw", no_argument, NULL, OPT_RAW},
		{"send", no_argument, NULL, OPT_SEND},
		{"smtp", required_argument, NULL, OPT_SMTP},
		{"smtp-starttls", no_argument, NULL, OPT_STARTTLS},
		{"smtp-user", required_argument, NULL, OPT_USER},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"resend-unconfirmed", no_argument, NULL, OPT_RESEND},
		{"domain", required_argument, NULL, OPT_DOMAIN},
		{"all-domains", no_argument, NULL, OPT_ALL_DOMAINS},
		{"smtp-cacert", required_argument, NULL, OPT_CACERT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH, *template = NULL;
	vigil_notify_options opt = {0};
	run_ctx r = {{0}, NULL, "", ""};
	bool send = false, all_domains = false;
	/* each option takes an argument, so argc entries always suffice */
	const char **targets = calloc((size_t)argc, sizeof(*targets));
	const char **domains = calloc((size_t)argc + 1, sizeof(*domains));
	size_t n_targets = 0, n_domains = 0;
	int c, status = CLI_USAGE;
	if (!targets || !domains) {
		free(targets);
		free(domains);
		return CLI_FATAL;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case OPT_FROM: opt.from = optarg; break;
		case OPT_TEMPLATE: template = optarg; break;
		case OPT_CONTACT: opt.contact = optarg; break;
		case OPT_TARGET: targets[n_targets++] = optarg; break;
		case OPT_DOMAIN: domains[n_domains++] = optarg; break;
		case OPT_ALL_DOMAINS: all_domains = true; break;
		case OPT_RAW: r.pr.raw = true; break;
		case OPT_SEND: send = true; break;
		case OPT_SMTP: opt.smtp_url = optarg; break;
		case OPT_STARTTLS: opt.starttls = true; break;
		case OPT_USER: opt.smtp_user = optarg; break;
		case OPT_CACERT: opt.smtp_ca_file = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v <= 0 || v > 3600) {
				fprintf(stderr, "vigil notify: --timeout: 1 to 3600 seconds\n");
				goto out;
			}
			opt.timeout_ms = v * 1000;
			break;
		}
		case OPT_RESEND: opt.resend_unconfirmed = true; break;
		case 'h':
			notify_usage(stdout);
			status = CLI_OK;
			goto out;
		default: notify_usage(stderr); goto out;
		}
	}
	int64_t id = 0;
	if (optind != argc - 1 || cli_parse_campaign_id(argv[optind], &id) != 0) {
		fprintf(stderr, "vigil notify: one campaign id (a number) expected\n");
		notify_usage(stderr);
		goto out;
	}
	if (!opt.from) {
		fprintf(stderr, "vigil notify: --from ADDR is required (the sender of the notifications)\n");
		goto out;
	}
	if (send && r.pr.raw)
		fprintf(stderr, "vigil notify: --raw shows a dry run; with --send it prints nothing\n");
	status = notify_run(db, id, template, &opt, send, &r, targets, n_targets,
		all_domains ? NULL : domains, n_domains);
out:
	free(targets);
	free(domains);
	return status;
}
