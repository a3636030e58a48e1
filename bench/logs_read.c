/*
 * Log reading speed: reads a log N times with vigil_log_open/next (format
 * detected) and prints events, bytes, and MB/s of wall and CPU time. It
 * measures the reader alone; matching events to campaigns is not timed.
 * usage: logs_read LOG [N]   (e.g. the corpus's proxy.log 750 times: ~300 MB)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/vigil.h"

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s LOG [N]\n", argv[0]);
		return 2;
	}
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
	struct stat st;
	if (stat(argv[1], &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	uint64_t events = 0, malformed = 0;
	const char *fmt = "auto";
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++) {
		vigil_log_reader *r = NULL;
		vigil_log_event ev;
		int rc = vigil_log_open(&r, argv[1], VIGIL_LOG_AUTO);
		if (rc != 0) {
			fprintf(stderr, "%s\n", r ? vigil_log_error(r) : vigil_strerror(rc));
			vigil_log_free(r);
			return 1;
		}
		while ((rc = vigil_log_next(r, &ev)) == 0)
			events++;
		if (rc != VIGIL_EDONE) {
			fprintf(stderr, "%s\n", vigil_log_error(r));
			vigil_log_free(r);
			return 1;
		}
		malformed += vigil_log_malformed(r);
		fmt = vigil_log_format_name(vigil_log_detected(r));
		vigil_log_free(r);
	}
	double wall = now(CLOCK_MONOTONIC) - w0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	double mb = (double)st.st_size * (double)n / 1e6;
	printf("format %s: %" PRIu64 " events, %" PRIu64 " malformed, %.1f MB (file bytes) in "
	       "%.2f s wall, %.2f s CPU: %.0f MB/s wall, %.0f MB/s CPU, %.2f M events/s CPU\n",
		fmt, events, malformed, mb, wall, cpu, mb / wall, mb / cpu, (double)events / cpu / 1e6);
	return 0;
}
