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

int cmd_scan(int argc, char **argv);

#endif
