/*
 * vigil campaigns: the campaigns of a store, one per line, or one in detail
 * (`campaigns show ID`). Brings the grouping up to date first, so messages
 * recorded since the last scan or hunt are in it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/vigil.h"

static void campaigns_usage(FILE *fp)
{
	fputs("usage: vigil campaigns [--db FILE] [--format text|jsonl]\n"
	      "       vigil campaigns show [--db FILE] [--format text|jsonl] ID\n"
	      "\n"
	      "Groups the messages of the store that scan --db and hunt recorded into\n"
	      "campaigns (tracker host and URL template, sender infrastructure, lure\n"
	      "similarity) and lists them: id, verdict, messages, targets, opens, first\n"
	      "and last seen, name. `show ID` prints one campaign: senders, relays,\n"
	      "trackers, indicators, targets and who opened. JSON Lines: one campaign\n"
	      "document per line (docs/campaigns.md).\n"
	      "\n"
	      "options:\n"
	      "  --db FILE       the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  -f, --format    text (default on a terminal) or jsonl\n"
	      "  -h, --help      this help\n",
		fp);
}

/* Parses a campaign id: a positive decimal number. */
int cli_parse_campaign_id(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int cmd_campaigns(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH;
	vigil_format fmt = cli_default_format();
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (cli_parse_format(optarg, &fmt) != 0 || fmt == VIGIL_FORMAT_HITS) {
				fprintf(stderr, "vigil campaigns: unknown format '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'h': campaigns_usage(stdout); return CLI_OK;
		default: campaigns_usage(stderr); return CLI_USAGE;
		}
	}
	int64_t id = 0;
	if (optind < argc && strcmp(argv[optind], "show") == 0) {
		/* `show` may come before the options too: parse what follows. */
		int rest = argc - optind;
		char **rv = argv + optind;
		optind = 1;
		while ((c = getopt_long(rest, rv, "d:f:h", longopts, NULL)) != -1) {
			switch (c) {
			case 'd': db = optarg; break;
			case 'f':
				if (cli_parse_format(optarg, &fmt) != 0 || fmt == VIGIL_FORMAT_HITS) {
					fprintf(stderr, "vigil campaigns: unknown format '%s'\n", optarg);
					return CLI_USAGE;
				}
				break;
			default: campaigns_usage(stderr); return CLI_USAGE;
			}
		}
		if (optind != rest - 1 || cli_parse_campaign_id(rv[optind], &id) != 0) {
			fprintf(stderr, "vigil campaigns show: one campaign id (a number) expected\n");
			return CLI_USAGE;
		}
	} else if (optind < argc) {
		fprintf(stderr, "vigil campaigns: unexpected '%s'\n", argv[optind]);
		campaigns_usage(stderr);
		return CLI_USAGE;
	}

	vigil_store *st = NULL;
	int rc = vigil_store_open(&st, db);
	if (!rc)
		rc = vigil_store_campaigns_update(st, NULL, NULL);
	if (!rc)
		rc = vigil_store_campaigns_write(st, id, fmt, stdout);
	if (rc) {
		fprintf(stderr, "vigil campaigns: %s: %s\n", db,
			st ? vigil_store_error(st) : vigil_strerror(rc));
		vigil_store_close(st);
		return rc == VIGIL_EINVAL ? CLI_USAGE : CLI_FATAL;
	}
	vigil_store_close(st);
	return fflush(stdout) == 0 ? CLI_OK : CLI_FATAL;
}
