/*
 * Test helper: writes a report on a file of campaign documents through
 * vigil_report_write(), so the Python checks can read every format without
 * the store. Not installed; the `vigil report` command is the real front end.
 *   report_tool stix|misp|csv|html FILE [--now N] [--tlp clear|green|amber|red]
 *               [--org NAME] [--title TEXT] [--no-targets]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: report_tool FORMAT FILE [options]\n");
		return 2;
	}
	static const char *const formats[] = {NULL, "stix", "misp", "csv", "html"};
	vigil_report_format fmt = 0;
	for (int i = 1; i <= 4; i++)
		if (strcmp(argv[1], formats[i]) == 0)
			fmt = (vigil_report_format)i;
	vigil_report_options opt = {0};
	int64_t now = 1795338000; /* 2026-11-22T09:00:00Z */
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--no-targets") == 0) {
			opt.omit_targets = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "report_tool: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--now") == 0)
			now = strtoll(v, NULL, 10);
		else if (strcmp(a, "--org") == 0)
			opt.org_name = v;
		else if (strcmp(a, "--title") == 0)
			opt.title = v;
		else if (strcmp(a, "--tlp") == 0)
			opt.tlp = strcmp(v, "clear") == 0 ? VIGIL_TLP_CLEAR
				: strcmp(v, "green") == 0 ? VIGIL_TLP_GREEN
				: strcmp(v, "red") == 0   ? VIGIL_TLP_RED
							  : VIGIL_TLP_AMBER;
		else {
			fprintf(stderr, "report_tool: unknown option %s\n", a);
			return 2;
		}
	}
	FILE *in = fopen(argv[2], "rb");
	if (!in) {
		perror(argv[2]);
		return 2;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[65536];
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				return 2;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(in);
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = '\0';
	char err[512];
	int rc = vigil_report_write(stdout, fmt, buf, now, &opt, err, sizeof(err));
	free(buf);
	if (rc) {
		fprintf(stderr, "report_tool: %s (%s)\n", err, vigil_strerror(rc));
		return 1;
	}
	return 0;
}
