/*
 * vigil hunt: retro-hunts archives with the indicators (and rules) published
 * today. Every message is scanned with all detectors; those that match an
 * indicator or a rule are recorded in the store with their hits. A summary
 * per indicator ends the hunt. An interrupted hunt restarted with the same
 * arguments skips what it had finished (per file; per message in an mbox).
 */
#include <ftw.h>
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

/* Records are committed in batches: one transaction per this many
 * messages or this many seconds, whichever comes first. A crash loses at
 * most one batch, which the resumed hunt scans again. */
#define HUNT_BATCH_MESSAGES 500
#define HUNT_BATCH_SECONDS 2.0

static void hunt_usage(FILE *fp)
{
	fputs("usage: vigil hunt [OPTIONS] --intel FEED... PATH...\n"
	      "\n"
	      "Retro-hunts the archives in PATH (as vigil scan reads them) for the\n"
	      "indicators of each FEED and the YARA rules given: every message is\n"
	      "decoded and every artifact matched (sender, Reply-To, Return-Path,\n"
	      "Received hosts and addresses, URLs, attachment hashes, body text).\n"
	      "Messages that match are recorded in the store with what matched;\n"
	      "the feeds' indicators are stored too. At the end a summary per\n"
	      "indicator: messages, recipients, first and last date.\n"
	      "Restarted with the same arguments, an interrupted hunt resumes.\n"
	      "\n"
	      "options:\n"
	      "  --intel FEED       a feed (STIX 2.1, MISP event or feed folder; by content)\n"
	      "  --freetext FEED    a text feed (CSV, report...): indicators extracted\n"
	      "  --rules FILE|DIR   YARA rules, run on decoded bodies and attachments\n"
	      "  --db FILE          the store (default: " VIGIL_STORE_DEFAULT_PATH ")\n"
	      "  --since DATE       only messages dated on or after DATE (YYYY-MM-DD)\n"
	      "  --until DATE       only messages dated before the end of DATE\n"
	      "  --validity         an indicator matches only inside its validity window\n"
	      "  -f, --format FMT   text (a summary; default on a terminal) or jsonl (one\n"
	      "                     line per matching message; the summary on stderr)\n"
	      "  -c, --config, -m, --members, -p, --protected, -r, --relays\n"
	      "                     as for vigil scan\n"
	      "  -j, --jobs N       threads (default: one per CPU)\n"
	      "  -q, --quiet        no progress, no warnings\n"
	      "  -h, --help         this help\n"
	      "\n"
	      "Progress (messages, bytes, rate, time left) is shown on stderr when it\n"
	      "is a terminal. Exit status as for vigil scan.\n",
		fp);
}

typedef struct hunt {
	vigil_store *st;     /* the writer: used only at the pipeline's ordered point */
	vigil_store *reader; /* a second handle for the reader thread's resume checks */
	int64_t id;
	bool resumed;
	vigil_format fmt;
	int64_t since, until; /* INT64_MIN / INT64_MAX when not given */
	/* batching */
	bool in_batch;
	size_t batch_messages;
	struct timespec batch_start;
	/* the source being read, for progress and resume */
	char *path;
	uint64_t path_messages;
	uint64_t path_end; /* offset after the last message of an mbox */
	/* counts */
	uint64_t messages, hits, bytes, skipped;
	int64_t total_bytes;
	bool progress;
	struct timespec start, last_progress;
	int error;
	uint64_t abort_after; /* VIGIL_TEST_HUNT_ABORT_AFTER, for tests; 0: never */
	/* resume cache of the reader thread */
	char *skip_path;
	bool skip_finished;
	uint64_t skip_bytes;
} hunt;

static double since_s(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* "2021-03-01" (UTC) or "2021-03-01T12:00:00Z" into seconds; -1 when not a date. */
static int parse_date(const char *s, bool end_of_day, int64_t *out)
{
	GDateTime *dt = NULL;
	if (strlen(s) == 10) {
		int y, m, d;
		if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3)
			dt = g_date_time_new_utc(y, m, d, 0, 0, 0);
		if (dt && end_of_day) {
			GDateTime *next = g_date_time_add_days(dt, 1);
			g_date_time_unref(dt);
			dt = next;
		}
	} else {
		GTimeZone *utc = g_time_zone_new_utc();
		dt = g_date_time_new_from_iso8601(s, utc);
		g_time_zone_unref(utc);
	}
	if (!dt)
		return -1;
	*out = g_date_time_to_unix(dt) - (end_of_day && strlen(s) == 10 ? 1 : 0);
	g_date_time_unref(dt);
	return 0;
}

static int batch_commit(hunt *h)
{
	if (!h->in_batch)
		return 0;
	/* Progress goes in the same transaction as the messages it covers. */
	if (h->path && h->path_end > 0 &&
		vigil_store_hunt_progress(h->st, h->id, h->path, h->path_end, h->path_messages, false))
		return -1;
	h->in_batch = false;
	return vigil_store_commit(h->st) ? -1 : 0;
}

static int batch_ensure(hunt *h)
{
	if (h->in_batch)
		return 0;
	if (vigil_store_begin(h->st) != 0)
		return -1;
	h->in_batch = true;
	h->batch_messages = 0;
	clock_gettime(CLOCK_MONOTONIC, &h->batch_start);
	return 0;
}

/* The reader moved on from h->path: it is finished. */
static int source_finished(hunt *h)
{
	if (!h->path)
		return 0;
	if (batch_ensure(h) || vigil_store_hunt_progress(h->st, h->id, h->path, h->path_end,
		h->path_messages, true))
		return -1;
	g_free(h->path);
	h->path = NULL;
	return 0;
}

static void show_progress(hunt *h, bool final)
{
	if (!h->progress || (!final && since_s(&h->last_progress) < 0.5))
		return;
	clock_gettime(CLOCK_MONOTONIC, &h->last_progress);
	double t = since_s(&h->start);
	double rate = t > 0 ? (double)h->bytes / t : 0;
	fprintf(stderr, "\r\033[K%llu messages, %.1f MB, %.1f MB/s, %llu hits",
		(unsigned long long)h->messages, (double)h->bytes / 1e6, rate / 1e6,
		(unsigned long long)h->hits);
	if (h->total_bytes > 0 && rate > 0 && !final) {
		double left = ((double)h->total_bytes - (double)h->bytes) / rate;
		if (left > 0)
			fprintf(stderr, ", about %.0f s left", left);
	}
	if (final)
		fputc('\n', stderr);
}

static int on_message(void *data, const vigil_message *msg, const char *text, size_t len)
{
	hunt *h = data;
	const char *path = vigil_message_path(msg);
	if (!h->path || strcmp(h->path, path) != 0) {
		if (source_finished(h))
			goto fail;
		h->path = g_strdup(path);
		h->path_messages = 0;
		h->path_end = 0;
	}
	h->messages++;
	h->path_messages++;
	h->bytes += vigil_message_size(msg);
	if (vigil_message_offset(msg) >= 0)
		h->path_end = (uint64_t)vigil_message_offset(msg) + 1;

	/* Every message is in a batch, hit or not, so that the progress saved
	 * with each commit covers the stretches without hits too. */
	if (batch_ensure(h))
		goto fail;
	h->batch_messages++;

	int64_t date = vigil_message_date(msg);
	bool in_range = date == INT64_MIN ? h->since == INT64_MIN && h->until == INT64_MAX :
		date >= h->since && date <= h->until;
	if (in_range && vigil_message_hits(msg) > 0) {
		h->hits++;
		if (vigil_store_record_message(h->st, msg, h->id) != 0)
			goto fail;
		if (h->fmt == VIGIL_FORMAT_HITS && fwrite(text, 1, len, stdout) != len)
			return -1;
	}
	if (h->in_batch && (h->batch_messages >= HUNT_BATCH_MESSAGES ||
		since_s(&h->batch_start) >= HUNT_BATCH_SECONDS))
		if (batch_commit(h))
			goto fail;
	/* Fault injection for the resume test: die like a killed process after
	 * N messages, with what was committed so far in the store. */
	if (h->abort_after && h->messages >= h->abort_after) {
		batch_commit(h);
		fflush(stdout);
		_exit(99);
	}
	show_progress(h, false);
	return 0;
fail:
	fprintf(stderr, "\nvigil hunt: store: %s\n", vigil_store_error(h->st));
	h->error = 1;
	return -1;
}

/* Reader thread: skip what a resumed hunt had finished. Uses its own store
 * handle (SQLite handles are not shared between threads here). */
static bool skip_done(void *data, const char *path, int64_t offset)
{
	hunt *h = data;
	if (!h->resumed)
		return false;
	if (!h->skip_path || strcmp(h->skip_path, path) != 0) {
		g_free(h->skip_path);
		h->skip_path = g_strdup(path);
		h->skip_finished = false;
		h->skip_bytes = 0;
		vigil_store_hunt_source_done(h->reader, h->id, path, &h->skip_finished, &h->skip_bytes,
			NULL);
	}
	bool skip = h->skip_finished || (offset >= 0 && (uint64_t)offset < h->skip_bytes);
	h->skipped += skip;
	return skip;
}

static int64_t total_size;
static int add_size(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F)
		total_size += sb->st_size;
	return 0;
}

/* What identifies a hunt: its feeds and rules (by path and content size and
 * time, so an updated feed is a new hunt), its archives and its options. */
static char *fingerprint(const char **feeds, size_t n_feeds, char **archives, int n_archives,
	const char *opts)
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(c, (const guchar *)"vigil-hunt-1\n", -1);
	for (size_t i = 0; i < n_feeds; i++) {
		char *real = realpath(feeds[i], NULL);
		struct stat sb = {0};
		stat(feeds[i], &sb);
		char line[64];
		snprintf(line, sizeof(line), "\n%lld %lld\n", (long long)sb.st_size,
			(long long)sb.st_mtime);
		g_checksum_update(c, (const guchar *)(real ? real : feeds[i]), -1);
		g_checksum_update(c, (const guchar *)line, -1);
		free(real);
	}
	for (int i = 0; i < n_archives; i++) {
		char *real = realpath(archives[i], NULL);
		g_checksum_update(c, (const guchar *)"archive ", -1);
		g_checksum_update(c, (const guchar *)(real ? real : archives[i]), -1);
		g_checksum_update(c, (const guchar *)"\n", -1);
		free(real);
	}
	g_checksum_update(c, (const guchar *)opts, -1);
	char *r = g_strdup(g_checksum_get_string(c));
	g_checksum_free(c);
	return r;
}

typedef struct summary_ctx {
	FILE *fp;
	size_t rows;
} summary_ctx;

int cmd_hunt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"intel", required_argument, NULL, 'I'},
		{"freetext", required_argument, NULL, 'T'},
		{"rules", required_argument, NULL, 'Y'},
		{"db", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"validity", no_argument, NULL, 'V'},
		{"format", required_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"members", required_argument, NULL, 'm'},
		{"protected", required_argument, NULL, 'p'},
		{"relays", required_argument, NULL, 'r'},
		{"jobs", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = VIGIL_STORE_DEFAULT_PATH;
	vigil_format fmt = cli_default_format();
	int jobs = 0;
	bool quiet = false;
	int64_t since = INT64_MIN, until = INT64_MAX;
	/* Only messages that match are kept: the other detectors skip the rest. */
	cli_ctx_opts copts = {.command = "hunt", .hunt_mode = true};
	GString *opts = g_string_new("");
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:c:m:p:r:j:qh", longopts, NULL)) != -1) {
		int taken = cli_ctx_option(&copts, c, optarg);
		if (taken < 0)
			goto usage;
		if (taken) {
			/* Feeds and the validity choice make the hunt what it is:
			 * they go into its fingerprint, in order. */
			if (c == 'I' || c == 'T')
				g_string_append_printf(opts, "feed %c\n", c);
			else if (c == 'V')
				g_string_append(opts, "validity\n");
			continue;
		}
		switch (c) {
		case 'd': db = optarg; break;
		case 's':
		case 'u':
			if (parse_date(optarg, c == 'u', c == 's' ? &since : &until) != 0) {
				fprintf(stderr, "vigil hunt: '%s' is not a date (YYYY-MM-DD)\n", optarg);
				goto usage;
			}
			g_string_append_printf(opts, "%c %s\n", c, optarg);
			break;
		case 'f':
			if (cli_parse_format(optarg, &fmt) != 0) {
				fprintf(stderr, "vigil hunt: unknown format '%s' (text or jsonl)\n", optarg);
				goto usage;
			}
			break;
		case 'j':
			jobs = atoi(optarg);
			if (jobs < 1 || jobs > 256) {
				fprintf(stderr, "vigil hunt: --jobs wants a number from 1 to 256\n");
				goto usage;
			}
			break;
		case 'q':
			quiet = copts.quiet = true;
			break;
		case 'h':
			hunt_usage(stdout);
			g_string_free(opts, TRUE);
			return CLI_OK;
		default: goto usage;
		}
	}
	if (optind >= argc || (copts.n_feeds == 0 && copts.n_rules == 0)) {
		fprintf(stderr, "vigil hunt: %s\n\n", optind >= argc ? "no PATH given" :
			"nothing to hunt for: give --intel, --freetext or --rules");
		goto usage;
	}

	vigil_ctx *ctx = NULL;
	int rc = cli_ctx_open(&ctx, &copts);
	if (rc != 0) {
		g_string_free(opts, TRUE);
		return rc;
	}

	/* Messages are rendered as hit lines (nothing for the many that match
	 * nothing); they are printed only with --format jsonl. */
	hunt h = {.fmt = fmt == VIGIL_FORMAT_JSONL ? VIGIL_FORMAT_HITS : fmt, .since = since,
		.until = until, .progress = !quiet && isatty(STDERR_FILENO)};
	const char *abort_env = getenv("VIGIL_TEST_HUNT_ABORT_AFTER");
	if (abort_env)
		h.abort_after = strtoull(abort_env, NULL, 10);
	int status = CLI_OK;
	size_t added = 0;
	char *fp = NULL;
	rc = vigil_store_open(&h.st, db);
	if (rc == 0)
		rc = vigil_store_import_intel(h.st, ctx, &added);
	if (rc == 0) {
		const char **all = g_new0(const char *, copts.n_feeds + copts.n_rules + 1);
		for (size_t i = 0; i < copts.n_feeds; i++)
			all[i] = copts.feeds[i];
		for (size_t i = 0; i < copts.n_rules; i++)
			all[copts.n_feeds + i] = copts.rules[i];
		fp = fingerprint(all, copts.n_feeds + copts.n_rules, argv + optind, argc - optind,
			opts->str);
		g_free(all);
		char *desc = g_strdup_printf("{\"feeds\":%zu,\"rules\":%zu,\"archives\":%d}",
			copts.n_feeds, copts.n_rules, argc - optind);
		rc = vigil_store_hunt_begin(h.st, fp, desc, &h.id, &h.resumed);
		g_free(desc);
	}
	if (rc == 0)
		rc = vigil_store_open(&h.reader, db);
	if (rc != 0) {
		fprintf(stderr, "vigil hunt: %s: %s\n", db,
			h.reader ? vigil_store_error(h.reader) :
			h.st ? vigil_store_error(h.st) : vigil_strerror(rc));
		status = CLI_FATAL;
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "vigil hunt: %s hunt %lld with %zu indicators (%zu new in %s)%s\n",
			h.resumed ? "resuming" : "starting", (long long)h.id, vigil_ctx_intel_count(ctx),
			added, db, copts.n_rules ? " and YARA rules" : "");
	if (h.progress)
		for (int i = optind; i < argc; i++)
			if (strcmp(argv[i], "-") != 0)
				nftw(argv[i], add_size, 16, FTW_PHYS);
	h.total_bytes = total_size;
	clock_gettime(CLOCK_MONOTONIC, &h.start);

	pipeline_opts popts = {.jobs = jobs, .format = VIGIL_FORMAT_HITS, .quiet = quiet, .sink = on_message,
		.sink_data = &h, .skip = skip_done, .skip_data = &h};
	status = pipeline_run(ctx, argv + optind, argc - optind, &popts);
	if (h.error) {
		status = CLI_FATAL;
		goto out;
	}
	/* The hits join (or make) campaigns, as a scan's recon mail does. */
	if (source_finished(&h) || batch_commit(&h) || vigil_store_hunt_end(h.st, h.id) ||
		vigil_store_campaigns_update(h.st, NULL, NULL)) {
		fprintf(stderr, "vigil hunt: store: %s\n", vigil_store_error(h.st));
		status = CLI_FATAL;
		goto out;
	}
	show_progress(&h, true);
	if (fflush(stdout) != 0)
		status = CLI_FATAL;
	/* The summary: on stdout for people, on stderr when stdout carries
	 * JSON Lines. */
	FILE *sum = h.fmt == VIGIL_FORMAT_HITS ? stderr : stdout;
	if (!quiet || sum == stdout) {
		fprintf(sum, "hunt %lld: %llu messages scanned, %llu matched%s\n", (long long)h.id,
			(unsigned long long)h.messages, (unsigned long long)h.hits,
			h.skipped ? " (resumed: earlier work skipped)" : "");
		if (vigil_store_hunt_summary_write(h.st, h.id, sum, VIGIL_FORMAT_TEXT) != 0)
			status = CLI_FATAL;
	}
out:
	if (h.in_batch)
		vigil_store_rollback(h.st);
	g_free(h.path);
	g_free(h.skip_path);
	g_free(fp);
	vigil_store_close(h.reader);
	vigil_store_close(h.st);
	vigil_ctx_free(ctx);
	g_string_free(opts, TRUE);
	return status;
usage:
	hunt_usage(stderr);
	g_string_free(opts, TRUE);
	return CLI_USAGE;
}
