/*
 * vigil report: one campaign (or all) of a store as a STIX 2.1 bundle, a
 * MISP event, CSV or a self-contained HTML page, for a CERT or an analyst.
 * The documents come from the store, the formats from vigil_report_write();
 * this file only parses options and writes the file whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vigil/vigil.h"

static void report_usage(FILE *fp)
{
	fputs("usage: vigil report [--db FILE] (ID | --all) --format stix|misp|csv|html\n"
	      "                    [-o FILE] [--tlp clear|green|amber|red] [--org NAME]\n"
	      "                    [--title TEXT] [--no-targets]\n"
	      "\n"
	      "Writes campaign ID (or every campaign) of the store for others to use\n"
	      "(docs/reports.md):\n"
	      "  stix  a STIX 2.1 bundle: the campaign, indicators with patterns, sightings,\n"
	      "        the targeted people, a report object (OpenCTI, MISP, TAXII servers)\n"
	      "  misp  a MISP event per campaign (MISP's \"Import from MISP JSON\")\n"
	      "  csv   one row per message and recipient, for a spreadsheet\n"
	      "  html  one page that opens offline and loads nothing: timeline, targets,\n"
	      "        who opened, indicators (defanged), the lure\n"
	      "\n"
	      "options:\n"
	      "  --db FILE       the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  --all           every campaign instead of one ID\n"
	      "  -f, --format    stix, misp, csv or html (required)\n"
	      "  -o, --output    write to FILE (whole, or not at all) instead of stdout\n"
	      "  --tlp LEVEL     the Traffic Light Protocol marking (default amber)\n"
	      "  --org NAME      the reporting organisation (STIX identity, MISP Orgc)\n"
	      "  --title TEXT    the report's title (default: from the campaign)\n"
	      "  --no-targets    leave the targeted people out of STIX and MISP\n"
	      "  -h, --help      this help\n"
	      "\n"
	      "The report's time is now, or SOURCE_DATE_EPOCH when set (reproducible).\n",
		fp);
}

static int parse_report_format(const char *s, vigil_report_format *out)
{
	static const struct {
		const char *name;
		vigil_report_format f;
	} names[] = {{"stix", VIGIL_REPORT_STIX}, {"misp", VIGIL_REPORT_MISP},
		{"csv", VIGIL_REPORT_CSV}, {"html", VIGIL_REPORT_HTML}};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

static int parse_tlp(const char *s, vigil_report_tlp *out)
{
	static const struct {
		const char *name;
		vigil_report_tlp t;
	} names[] = {{"clear", VIGIL_TLP_CLEAR}, {"white", VIGIL_TLP_CLEAR},
		{"green", VIGIL_TLP_GREEN}, {"amber", VIGIL_TLP_AMBER}, {"red", VIGIL_TLP_RED}};
	const char *name = strncasecmp(s, "tlp:", 4) == 0 ? s + 4 : s;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].t;
			return 0;
		}
	return -1;
}

/* The report's time: SOURCE_DATE_EPOCH (reproducible-builds.org) when it is
 * a number, so that the same store gives the same bytes; else now. */
static int64_t report_time(void)
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

/* A temporary file next to `path`, renamed over it once the report is
 * whole: a failed report never leaves a truncated file for a CERT to get. */
static FILE *open_temp(const char *path, char **tmp_out)
{
	size_t n = strlen(path) + sizeof(".XXXXXX");
	char *tmp = malloc(n);
	if (!tmp)
		return NULL;
	snprintf(tmp, n, "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return NULL;
	}
	/* mkstemp makes 0600; a report gets the mode of any new file. */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	FILE *fp = fdopen(fd, "w");
	if (!fp) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	*tmp_out = tmp;
	return fp;
}

int cmd_report(int argc, char **argv)
{
	enum { OPT_ALL = 256, OPT_TLP, OPT_ORG, OPT_TITLE, OPT_NO_TARGETS };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"all", no_argument, NULL, OPT_ALL},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"tlp", required_argument, NULL, OPT_TLP},
		{"org", required_argument, NULL, OPT_ORG},
		{"title", required_argument, NULL, OPT_TITLE},
		{"no-targets", no_argument, NULL, OPT_NO_TARGETS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH, *output = NULL;
	vigil_report_format fmt = 0;
	vigil_report_options opt = {0};
	bool all = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (parse_report_format(optarg, &fmt) != 0) {
				fprintf(stderr, "vigil report: unknown format '%s' (stix, misp, csv, html)\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'o': output = optarg; break;
		case OPT_ALL: all = true; break;
		case OPT_TLP:
			if (parse_tlp(optarg, &opt.tlp) != 0) {
				fprintf(stderr, "vigil report: unknown TLP level '%s' (clear, green, amber, red)\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_ORG: opt.org_name = optarg; break;
		case OPT_TITLE: opt.title = optarg; break;
		case OPT_NO_TARGETS: opt.omit_targets = true; break;
		case 'h': report_usage(stdout); return CLI_OK;
		default: report_usage(stderr); return CLI_USAGE;
		}
	}
	int64_t id = 0;
	if (all ? optind != argc
		: optind != argc - 1 || cli_parse_campaign_id(argv[optind], &id) != 0) {
		fprintf(stderr, "vigil report: one campaign id (a number) or --all expected\n");
		report_usage(stderr);
		return CLI_USAGE;
	}
	if (!fmt) {
		fprintf(stderr, "vigil report: --format stix|misp|csv|html is required\n");
		return CLI_USAGE;
	}

	vigil_store *st = NULL;
	char *json = NULL;
	int rc = vigil_store_open(&st, db);
	if (!rc)
		rc = vigil_store_campaigns_update(st, NULL, NULL);
	if (!rc)
		rc = vigil_store_campaigns_json(st, id, &json);
	if (rc) {
		if (rc == VIGIL_EINVAL && id)
			fprintf(stderr, "vigil report: %s: no campaign %lld\n", db, (long long)id);
		else
			fprintf(stderr, "vigil report: %s: %s\n", db,
				st ? vigil_store_error(st) : vigil_strerror(rc));
		vigil_store_close(st);
		return rc == VIGIL_EINVAL ? CLI_USAGE : CLI_FATAL;
	}
	vigil_store_close(st);

	char *tmp = NULL;
	FILE *fp = stdout;
	if (output && strcmp(output, "-") != 0) {
		fp = open_temp(output, &tmp);
		if (!fp) {
			fprintf(stderr, "vigil report: %s: %s\n", output, strerror(errno));
			free(json);
			return CLI_FATAL;
		}
	}
	char err[512];
	rc = vigil_report_write(fp, fmt, json, report_time(), &opt, err, sizeof(err));
	free(json);
	if (tmp) {
		/* The data must be on disk before the name points at it. */
		if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
			rc = rc ? rc : VIGIL_EIO;
		if (fclose(fp) != 0)
			rc = rc ? rc : VIGIL_EIO;
		if (!rc && rename(tmp, output) != 0) {
			fprintf(stderr, "vigil report: %s: %s\n", output, strerror(errno));
			unlink(tmp);
			free(tmp);
			return CLI_FATAL;
		}
		if (rc)
			unlink(tmp);
		free(tmp);
	} else if (!rc && fflush(stdout) != 0) {
		rc = VIGIL_EIO;
		snprintf(err, sizeof(err), "writing the report: %s", vigil_strerror(rc));
	}
	if (rc) {
		fprintf(stderr, "vigil report: %s\n", err[0] ? err : vigil_strerror(rc));
		return CLI_FATAL;
	}
	return CLI_OK;
}
