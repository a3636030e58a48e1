/*
 * vigil logs: reads proxy, web server, DNS and mail login logs against the
 * store's campaigns; prints and records who opened which tracker, and
 * which logins came from relay addresses. Reading formats is the library's
 * (vigil_log_*); matching and recording too (vigil_store_logs_ingest).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vigil/vigil.h"

static void logs_usage(FILE *fp)
{
	fputs("usage: vigil logs [--db FILE] [--format text|jsonl] [--log-format FMT]\n"
	      "                  [--timezone ZONE] [--year YEAR] [--relays FILE]\n"
	      "                  [--intel FEED] [--config FILE] LOG...\n"
	      "\n"
	      "Reads each LOG (a path, - for standard input; gzip is read as is) and\n"
	      "finds:\n"
	      "  opens         requests and DNS look-ups of a campaign's tracker (run\n"
	      "                scan --db or hunt first), attributed to the recipient by\n"
	      "                the URL or its token (exact), else by the client address\n"
	      "                of an exact open nearby in time (probable), else to\n"
	      "                nobody (possible);\n"
	      "  relay logins  Postfix/Dovecot logins from relay-list addresses or intel\n"
	      "                IP indicators (given here or stored by vigil intel import).\n"
	      "Both are recorded in the store (reading a log twice adds nothing) and\n"
	      "shown by vigil campaigns. Output: one line per open and login.\n"
	      "\n"
	      "Formats, detected by content: squid (native access.log), combined\n"
	      "(Apache, nginx), bind (query log), dnsmasq, postfix, dovecot, syslog (a\n"
	      "file mixing those). Details: docs/logs.md.\n"
	      "\n"
	      "options:\n"
	      "  --db FILE          the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  -f, --format FMT   text (default on a terminal) or jsonl\n"
	      "  --log-format FMT   force a log format instead of detecting it\n"
	      "  --timezone ZONE    zone of times written without one: UTC (default),\n"
	      "                     +01:00, Europe/Paris\n"
	      "  --year YEAR        year of syslog stamps, which have none\n"
	      "  -c, --config FILE  configuration ([relays] and lists)\n"
	      "  -r, --relays FILE  relay addresses and ranges, one per line\n"
	      "  --intel FEED       indicators whose IP addresses mark relay logins\n"
	      "  -q, --quiet        no summary on stderr\n"
	      "  -h, --help         this help\n",
		fp);
}

typedef struct out_ctx {
	vigil_format fmt;
	FILE *fp;
} out_ctx;

static void iso(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(out, 32, "%lld", (long long)t);
}

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static void print_json(FILE *fp, json_t *o)
{
	json_dumpf(o, fp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', fp);
	json_decref(o);
}

static void on_open(void *ud, const vigil_open_info *o)
{
	out_ctx *oc = ud;
	char when[32];
	iso(when, o->time);
	if (oc->fmt == VIGIL_FORMAT_JSONL) {
		json_t *j = json_object();
		json_object_set_new(j, "type", json_string("open"));
		json_object_set_new(j, "recipient", str_or_null(o->recipient));
		json_object_set_new(j, "campaign", json_integer(o->campaign));
		json_object_set_new(j, "message_id", str_or_null(o->message_id));
		json_object_set_new(j, "time", json_string(when));
		json_object_set_new(j, "client_ip", str_or_null(o->client_ip));
		json_object_set_new(j, "url", str_or_null(o->url));
		json_object_set_new(j, "kind", str_or_null(o->kind));
		json_object_set_new(j, "confidence", str_or_null(o->confidence));
		print_json(oc->fp, j);
		return;
	}
	fprintf(oc->fp, "open   %s  campaign %lld  %-40s from %-15s %s (%s)\n", when,
		(long long)o->campaign, o->recipient ? o->recipient : "(unknown recipient)",
		o->client_ip ? o->client_ip : "-", o->confidence, o->kind);
}

static void on_login(void *ud, const vigil_log_event *ev, const char *matched)
{
	out_ctx *oc = ud;
	char when[32];
	iso(when, ev->time);
	if (oc->fmt == VIGIL_FORMAT_JSONL) {
		json_t *j = json_object();
		json_object_set_new(j, "type", json_string("relay_login"));
		json_object_set_new(j, "time", json_string(when));
		json_object_set_new(j, "client_ip", str_or_null(ev->client_ip));
		json_object_set_new(j, "account", str_or_null(ev->account));
		json_object_set_new(j, "service", str_or_null(ev->service));
		json_object_set_new(j, "success", json_boolean(ev->success));
		json_object_set_new(j, "matched", str_or_null(matched));
		json_object_set_new(j, "line", json_integer((json_int_t)ev->line));
		print_json(oc->fp, j);
		return;
	}
	fprintf(oc->fp, "login  %s  %-15s %s %s %s  (%s)\n", when, ev->client_ip,
		ev->service ? ev->service : "-", ev->account ? ev->account : "(unknown account)",
		ev->success ? "succeeded" : "failed", matched);
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'D'},
		{"format", required_argument, NULL, 'f'},
		{"log-format", required_argument, NULL, 'L'},
		{"timezone", required_argument, NULL, 'Z'},
		{"year", required_argument, NULL, 'y'},
		{"config", required_argument, NULL, 'c'},
		{"relays", required_argument, NULL, 'r'},
		{"intel", required_argument, NULL, 'I'},
		{"freetext", required_argument, NULL, 'T'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH, *zone = NULL;
	vigil_log_format lfmt = VIGIL_LOG_AUTO;
	int year = 0;
	bool quiet = false;
	out_ctx oc = {cli_default_format(), stdout};
	cli_ctx_opts copts = {.command = "logs"};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:c:r:qh", longopts, NULL)) != -1) {
		int taken = cli_ctx_option(&copts, c, optarg);
		if (taken < 0)
			return CLI_USAGE;
		if (taken)
			continue;
		switch (c) {
		case 'D': db = optarg; break;
		case 'f':
			if (cli_parse_format(optarg, &oc.fmt) != 0 || oc.fmt == VIGIL_FORMAT_HITS) {
				fprintf(stderr, "vigil logs: unknown format '%s' (text or jsonl)\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'L':
			lfmt = vigil_log_format_from_name(optarg);
			if ((int)lfmt < 0) {
				fprintf(stderr, "vigil logs: unknown log format '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'Z': zone = optarg; break;
		case 'y': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 9999) {
				fprintf(stderr, "vigil logs: --year wants a year (1 to 9999)\n");
				return CLI_USAGE;
			}
			year = (int)v;
			break;
		}
		case 'q':
			quiet = true;
			copts.quiet = true;
			break;
		case 'h': logs_usage(stdout); return CLI_OK;
		default: logs_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vigil logs: no LOG given\n\n");
		logs_usage(stderr);
		return CLI_USAGE;
	}

	vigil_store *st = NULL;
	int rc = vigil_store_open(&st, db);
	if (rc) {
		fprintf(stderr, "vigil logs: %s: %s\n", db,
			st ? vigil_store_error(st) : vigil_strerror(rc));
		vigil_store_close(st);
		return CLI_USAGE;
	}
	copts.intel_store = st;
	vigil_ctx *ctx = NULL;
	if ((rc = cli_ctx_open(&ctx, &copts)) != 0) {
		vigil_store_close(st);
		return rc;
	}
	/* Messages recorded since the last grouping belong in it first. */
	if (vigil_store_campaigns_update(st, NULL, NULL) != 0) {
		fprintf(stderr, "vigil logs: %s: %s\n", db, vigil_store_error(st));
		vigil_store_close(st);
		vigil_ctx_free(ctx);
		return CLI_FATAL;
	}
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		vigil_log_reader *r = NULL;
		rc = vigil_log_open(&r, argv[i], lfmt);
		if (!rc && zone)
			rc = vigil_log_set_timezone(r, zone);
		if (!rc && year)
			rc = vigil_log_set_year(r, year);
		if (rc) {
			fprintf(stderr, "vigil logs: %s\n",
				r && *vigil_log_error(r) ? vigil_log_error(r) : vigil_strerror(rc));
			vigil_log_free(r);
			if (rc == VIGIL_ENOMEM)
				status = CLI_FATAL;
			else if (status == CLI_OK)
				status = rc == VIGIL_EIO ? CLI_ERRORS : CLI_USAGE;
			continue;
		}
		vigil_logs_result res = {.on_open = on_open, .on_login = on_login, .ud = &oc};
		rc = vigil_store_logs_ingest(st, ctx, r, argv[i], &res);
		if (rc) {
			fprintf(stderr, "vigil logs: %s: %s (nothing of it recorded)\n", argv[i],
				vigil_store_error(st));
			status = status == CLI_FATAL || rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_ERRORS;
		} else if (!quiet) {
			vigil_log_format f = vigil_log_detected(r);
			fprintf(stderr,
				"vigil logs: %s: %s, %llu lines, %llu events, %llu malformed; %llu opens"
				" (%llu new), %llu relay logins\n",
				argv[i], f == VIGIL_LOG_AUTO ? "no known format" : vigil_log_format_name(f),
				(unsigned long long)vigil_log_lines(r), (unsigned long long)res.events,
				(unsigned long long)vigil_log_malformed(r), (unsigned long long)res.opens,
				(unsigned long long)res.new_opens, (unsigned long long)res.relay_logins);
			if (f == VIGIL_LOG_AUTO && vigil_log_lines(r) > 0 && status == CLI_OK)
				status = CLI_ERRORS;
		}
		vigil_log_free(r);
	}
	vigil_store_close(st);
	vigil_ctx_free(ctx);
	if (fflush(stdout) != 0)
		status = CLI_FATAL;
	return status;
}
