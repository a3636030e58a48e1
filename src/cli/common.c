/*
 * Small helpers shared by the subcommands: output formats by name and the
 * default format for standard output.
 */
#include <string.h>
#include <unistd.h>

#include "cli.h"

vigil_format cli_default_format(void)
{
	return isatty(STDOUT_FILENO) ? VIGIL_FORMAT_TEXT : VIGIL_FORMAT_JSONL;
}

int cli_parse_format(const char *s, vigil_format *out)
{
	if (strcmp(s, "jsonl") == 0 || strcmp(s, "json") == 0)
		*out = VIGIL_FORMAT_JSONL;
	else if (strcmp(s, "text") == 0)
		*out = VIGIL_FORMAT_TEXT;
	else
		return -1;
	return 0;
}
