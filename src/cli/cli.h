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

/* common.c */
vigil_format cli_default_format(void); /* text on a terminal, else jsonl */
int cli_parse_format(const char *s, vigil_format *out); /* 0, or -1 when unknown */
/* intel.c: "auto", "stix", "misp", "freetext"; 0 or -1 */
int cli_parse_feed_format(const char *s, vigil_feed_format *out);

#endif
