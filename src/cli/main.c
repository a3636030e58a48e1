/*
 * The vigil command: dispatches to subcommands (scan, ...). Argument parsing
 * of each subcommand lives with it; this file only routes and prints help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vigil/vigil.h"

static void usage(FILE *fp)
{
	fputs("usage: vigil COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "vigil hunts reconnaissance mail: hidden trackers, recipient tokens,\n"
	      "impersonation. It never fetches a URL found in a message and opens\n"
	      "archives read-only.\n"
	      "\n"
	      "commands:\n"
	      "  scan PATH...   parse messages (.eml, mbox, Maildir, trees, - for stdin),\n"
	      "                 judge them, and print every artifact and finding\n"
	      "  hunt --intel FEED... PATH...\n"
	      "                 retro-hunt archives for published indicators, recording\n"
	      "                 hits in the store; resumable\n"
	      "  intel import FEED...   store threat-intel indicators (STIX, MISP, text)\n"
	      "  intel list             show the stored indicators\n"
	      "  milter         judge mail inline for Postfix or Sendmail (libmilter):\n"
	      "                 tag, quarantine or reject by verdict\n"
	      "  campaigns [show ID]    group stored messages into campaigns and list them\n"
	      "  logs LOG...            opens of campaign trackers and logins from relays,\n"
	      "                         from proxy, DNS and mail server logs\n"
	      "  report (ID | --all) --format stix|misp|csv|html\n"
	      "                         a campaign for a CERT: STIX 2.1, MISP, CSV, HTML\n"
	      "  notify ID --from ADDR [--send]\n"
	      "                         tell each target what they received and what to do\n"
	      "                         (a dry run unless --send; nobody told twice)\n"
	      "\n"
	      "  vigil COMMAND --help   options of one command\n"
	      "  vigil --version        the version\n",
		fp);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("vigil %s (JSON schema %d)\n", VIGIL_VERSION, VIGIL_SCHEMA_VERSION);
		return CLI_OK;
	}
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(cmd, "hunt") == 0)
		return cmd_hunt(argc - 1, argv + 1);
	if (strcmp(cmd, "intel") == 0)
		return cmd_intel(argc - 1, argv + 1);
	if (strcmp(cmd, "milter") == 0)
		return cmd_milter(argc - 1, argv + 1);
	if (strcmp(cmd, "campaigns") == 0)
		return cmd_campaigns(argc - 1, argv + 1);
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "notify") == 0)
		return cmd_notify(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return CLI_USAGE;
}
