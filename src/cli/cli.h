/*
 * The vigil command's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status.
 */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

/* Exit statuses shared by every subcommand. */
enum {
	CLI_OK = 0,       /* everything read and written */
	CLI_ERRORS = 1,   /* some input could not be read or scanned; the rest was */
	CLI_USAGE = 2,    /* bad arguments or configuration: nothing was done */
	CLI_FATAL = 3,    /* could not go on (out of memory, output failed) */
};

#include "vigil/vigil.h"

int cmd_scan(int argc, char **argv);
int cmd_intel(int argc, char **argv);
int cmd_hunt(int argc, char **argv);
int cmd_milter(int argc, char **argv); /* src/milter/milter.c */
int cmd_campaigns(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_notify(int argc, char **argv);

/* common.c */
vigil_format cli_default_format(void); /* text on a terminal, else jsonl */
int cli_parse_format(const char *s, vigil_format *out); /* 0, or -1 when unknown */
/* What a command's options say about the context: the config file, lists,
 * rules and feeds, each kept in the order given (lists after the file). */
typedef struct cli_ctx_opts {
	const char *command; /* "scan", "hunt": for messages */
	const char *config;
	struct {
		vigil_list kind;
		const char *path;
	} lists[64];
	size_t n_lists;
	const char *rules[64];
	size_t n_rules;
	const char *feeds[256];
	vigil_feed_format feed_fmt[256];
	size_t n_feeds;
	bool validity, quiet, hunt_mode;
	/* When set, its stored indicators are loaded too (vigil logs). */
	vigil_store *intel_store;
	/* When set, errors and warnings go here instead of stderr (a daemon's
	 * log: the milter's reload). */
	void (*report)(void *ud, const char *message);
} cli_ctx_opts;

/* Takes one option of the shared set: -c/--config, -m/-p/-r lists,
 * --rules ('Y'), --intel ('I'), --freetext ('T'), --validity ('V').
 * Returns 1 when taken, 0 when `opt` is not one of them, -1 (with a
 * message) when there are too many of a kind. */
int cli_ctx_option(cli_ctx_opts *o, int opt, const char *arg);
/* A context made ready from `o`: config, lists, rules, feeds. A bad one is
 * reported on stderr and gives the exit status (CLI_USAGE, or CLI_FATAL
 * when out of memory); 0 on success. */
int cli_ctx_open(vigil_ctx **out, const cli_ctx_opts *o);

/* campaigns.c: a campaign id (a positive number); 0 or -1 */
int cli_parse_campaign_id(const char *s, int64_t *out);

/* intel.c: "auto", "stix", "misp", "freetext"; 0 or -1 */
int cli_parse_feed_format(const char *s, vigil_feed_format *out);

#endif
