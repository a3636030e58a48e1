/*
 * The scanning pipeline: sources read in order, messages scanned by worker
 * threads, results handed to a sink in input order.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include <stddef.h>
#include <stdio.h>

#include "vigil/vigil.h"

/* Called in input order for each scanned message with its rendering in
 * opts->format. Returns 0, or non-zero to stop (a fatal output error). */
typedef int (*pipeline_sink)(void *data, const vigil_message *msg, const char *text, size_t len);

typedef struct pipeline_opts {
	int jobs;            /* worker threads; 0: one per CPU */
	vigil_format format; /* how each message is rendered for the sink */
	bool quiet;          /* no reports of unreadable input on stderr */
	pipeline_sink sink;
	void *sink_data;
	/* Optional, called by the reader for each raw message before it is
	 * queued: true skips it (a resumed hunt passing what it has done). */
	bool (*skip)(void *data, const char *path, int64_t offset);
	void *skip_data;
} pipeline_opts;

/* Scans every path. Returns the CLI exit status (CLI_OK, CLI_ERRORS when some
 * input could not be read or scanned, CLI_FATAL). */
int pipeline_run(const vigil_ctx *ctx, char *const *paths, int n_paths, const pipeline_opts *opts);

int pipeline_default_jobs(void);

#endif
