/*
 * vigil intel: threat-intel feeds into the store (import) and out of it
 * (list). Each feed is read whole before anything is stored; a malformed
 * feed is refused with its file and line or object, and nothing is imported.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vigil/vigil.h"

static void intel_usage(FILE *fp)
{
	fputs("usage: vigil intel import [--db FILE] [--format auto|stix|misp|freetext]\n"
	      "                          [--freetext] FEED...\n"
	      "       vigil intel list [--db FILE] [--format jsonl|text]\n"
	      "\n"
	      "import  stores the indicators of each FEED (domains, URLs, e-mail\n"
	      "        addresses, IPv4/IPv6 addresses and CIDR ranges, MD5/SHA-1/SHA-256\n"
	      "        hashes) with their source, validity, actor and labels.\n"
	      "        FEED is a STIX 2.1 bundle or JSON Lines of STIX objects, a MISP\n"
	      "        event (JSON) or MISP feed folder (manifest.json), detected by\n"
	      "        content; --freetext (or --format freetext) reads any text (CSV,\n"
	      "        Markdown, a report) and extracts the indicators it names,\n"
	      "        refanging hxxp, [.], (.), [dot], [@]. Each feed is all or nothing.\n"
	      "list    writes every stored indicator, one per line.\n"
	      "\n"
	      "options:\n"
	      "  --db FILE       the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  --format FMT    import: the feed format; list: jsonl (default when the\n"
	      "                  output is not a terminal) or text\n"
	      "  --freetext      the same as --format freetext\n"
	      "  -q, --quiet     no warnings about skipped feed objects\n"
	      "  -h, --help      this help\n",
		fp);
}

static void warn_stderr(void *ud, const char *message)
{
	(void)ud;
	fprintf(stderr, "vigil intel: warning: %s\n", message);
}

int cli_parse_feed_format(const char *s, vigil_feed_format *out)
{
	static const struct {
		const char *name;
		vigil_feed_format f;
	} names[] = {{"auto", VIGIL_FEED_AUTO}, {"stix", VIGIL_FEED_STIX},
		{"misp", VIGIL_FEED_MISP}, {"freetext", VIGIL_FEED_FREETEXT},
		{"text", VIGIL_FEED_FREETEXT}};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

static int intel_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{"freetext", no_argument, NULL, 't'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH;
	vigil_feed_format format = VIGIL_FEED_AUTO;
	bool quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:f:tqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (cli_parse_feed_format(optarg, &format) != 0) {
				fprintf(stderr, "vigil intel: unknown feed format '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 't': format = VIGIL_FEED_FREETEXT; break;
		case 'q': quiet = true; break;
		case 'h': intel_usage(stdout); return CLI_OK;
		default: intel_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vigil intel import: no FEED given\n");
		return CLI_USAGE;
	}

	vigil_ctx *ctx = NULL;
	if (vigil_ctx_new(&ctx) != 0) {
		fprintf(stderr, "vigil intel: out of memory\n");
		return CLI_FATAL;
	}
	if (!quiet)
		vigil_ctx_set_warning_handler(ctx, warn_stderr, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Every feed is read before the store is touched: a malformed feed
	 * among several stops the import with nothing stored. */
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		int rc = vigil_ctx_load_intel(ctx, argv[i], format);
		if (rc != 0) {
			fprintf(stderr, "vigil intel: %s\n", vigil_ctx_error(ctx));
			status = rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_USAGE;
			break;
		}
	}
	vigil_store *st = NULL;
	size_t added = 0;
	if (status == CLI_OK) {
		int rc = vigil_store_open(&st, db);
		if (rc == 0)
			rc = vigil_store_import_intel(st, ctx, &added);
		if (rc != 0) {
			fprintf(stderr, "vigil intel: %s: %s\n", db,
				st ? vigil_store_error(st) : vigil_strerror(rc));
			status = CLI_FATAL;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (status == CLI_OK)
		fprintf(stderr, "vigil intel: %zu indicators read, %zu new in %s (%.2f s)\n",
			vigil_ctx_intel_count(ctx), added, db,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	vigil_store_close(st);
	vigil_ctx_free(ctx);
	return status;
}

static int intel_list(int argc, char **argv)
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
			if (cli_parse_format(optarg, &fmt) != 0) {
				fprintf(stderr, "vigil intel: unknown format '%s' (jsonl or text)\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'h': intel_usage(stdout); return CLI_OK;
		default: intel_usage(stderr); return CLI_USAGE;
		}
	}
	vigil_store *st = NULL;
	int rc = vigil_store_open(&st, db);
	if (rc == 0)
		rc = vigil_store_list_indicators(st, stdout, fmt);
	if (rc != 0)
		fprintf(stderr, "vigil intel: %s: %s\n", db, st ? vigil_store_error(st) : vigil_strerror(rc));
	vigil_store_close(st);
	return rc == 0 ? CLI_OK : CLI_FATAL;
}

int cmd_intel(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		intel_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "import") == 0)
		return intel_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return intel_list(argc - 1, argv + 1);
	fprintf(stderr, "vigil intel: unknown command '%s' (import or list)\n", argv[1]);
	return CLI_USAGE;
}
