/*
 * libFuzzer target: logs. Writes the input to a temporary file and reads it
 * through vigil_log_open/next, once detecting the format and once forcing
 * the one the first byte picks, checking the reader's contract on every
 * event. It does not match events to anything (that is `vigil logs`).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void die(const char *what, const vigil_log_event *e)
{
	fprintf(stderr, "fuzz_logs: %s (line %llu, kind %d)\n", what,
		e ? (unsigned long long)e->line : 0ULL, e ? (int)e->kind : 0);
	abort();
}

/* Every string of an event is readable to its NUL (ASan sees the rest). */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static void read_log(const char *path, vigil_log_format fmt, size_t size, bool plain, int year,
	const char *zone)
{
	vigil_log_reader *r = NULL;
	vigil_log_event e;
	int rc = vigil_log_open(&r, path, fmt);
	if (rc != 0) {
		/* The file is there and readable: only memory may fail. */
		if (rc != VIGIL_ENOMEM)
			die("vigil_log_open failed on a readable file", NULL);
		vigil_log_free(r);
		return;
	}
	if (year && vigil_log_set_year(r, year) != 0)
		die("vigil_log_set_year refused a valid year", NULL);
	if (zone && vigil_log_set_timezone(r, zone) != 0)
		die("vigil_log_set_timezone refused a fixed offset", NULL);
	uint64_t events = 0, prev_line = 0;
	volatile size_t sink = 0;
	for (;;) {
		memset(&e, 0xa5, sizeof(e));
		rc = vigil_log_next(r, &e);
		if (rc == VIGIL_EDONE)
			break;
		if (rc == VIGIL_EPARSE || rc == VIGIL_EIO)
			continue; /* damaged gzip: reported once, then the end */
		if (rc != 0)
			die("vigil_log_next returned an unexpected code", NULL);
		events++;
		/* One event per line at most, lines in order, within the input
		 * (a gzip input may inflate to more lines than it has bytes). */
		if (e.line <= prev_line || e.line > vigil_log_lines(r))
			die("line numbers out of order", &e);
		prev_line = e.line;
		switch (e.kind) {
		case VIGIL_LOG_EVENT_HTTP:
			if (!e.url || !e.method || !e.success || e.status < 0 || e.status > 999)
				die("an HTTP event without url or method", &e);
			break;
		case VIGIL_LOG_EVENT_DNS:
			if (!e.host || !e.method || !e.client_ip || !e.success)
				die("a DNS event without name, type or client", &e);
			break;
		case VIGIL_LOG_EVENT_LOGIN:
			if (!e.service || !e.client_ip)
				die("a login without service or client", &e);
			break;
		default:
			die("an event of no kind", &e);
		}
		if (e.host && (!*e.host || (strlen(e.host) > 1 && e.host[strlen(e.host) - 1] == '.')))
			die("a host empty or with its trailing dot", &e);
		for (const char *h = e.host; h && *h; h++)
			if (*h >= 'A' && *h <= 'Z')
				die("a host not in lower case", &e);
		sink += touch(e.client_ip) + touch(e.url) + touch(e.host) + touch(e.method) +
			touch(e.user_agent) + touch(e.account) + touch(e.service);
	}
	if (vigil_log_next(r, &e) != VIGIL_EDONE)
		die("the end did not stay the end", NULL);
	if (events + vigil_log_malformed(r) > vigil_log_lines(r))
		die("more events and malformed lines than lines", NULL);
	if (plain && vigil_log_lines(r) > size + 1)
		die("more lines than bytes", NULL);
	(void)vigil_log_format_name(vigil_log_detected(r));
	vigil_log_free(r);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *path = fuzz_file_write("fuzz-logs", data, size);
	bool plain = size < 2 || data[0] != 0x1f || data[1] != 0x8b;
	read_log(path, VIGIL_LOG_AUTO, size, plain, 0, NULL);
	if (size > 0) {
		/* The first byte picks a forced format, a year and a zone: the
		 * paths detection would not take for this input. */
		vigil_log_format fmt = (vigil_log_format)(1 + data[0] % VIGIL_LOG_SYSLOG);
		read_log(path, fmt, size, plain, data[0] & 0x80 ? 2020 : 0,
			data[0] & 0x40 ? "-09:30" : NULL);
	}
	return 0;
}
