/*
 * What the subcommands share: output formats by name, the default format
 * for standard output, and the options that make a context (config, lists,
 * rules, feeds) with the context they make.
 */
#include <stdio.h>
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

int cli_ctx_option(cli_ctx_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'c': o->config = arg; return 1;
	case 'V': o->validity = true; return 1;
	case 'm':
	case 'p':
	case 'r':
		if (o->n_lists == sizeof(o->lists) / sizeof(*o->lists))
			break;
		o->lists[o->n_lists].kind = opt == 'm' ? VIGIL_LIST_MEMBERS :
			opt == 'p' ? VIGIL_LIST_PROTECTED : VIGIL_LIST_RELAYS;
		o->lists[o->n_lists++].path = arg;
		return 1;
	case 'Y':
		if (o->n_rules == sizeof(o->rules) / sizeof(*o->rules))
			break;
		o->rules[o->n_rules++] = arg;
		return 1;
	case 'I':
	case 'T':
		if (o->n_feeds == sizeof(o->feeds) / sizeof(*o->feeds))
			break;
		o->feed_fmt[o->n_feeds] = opt == 'T' ? VIGIL_FEED_FREETEXT : VIGIL_FEED_AUTO;
		o->feeds[o->n_feeds++] = arg;
		return 1;
	default: return 0;
	}
	fprintf(stderr, "vigil %s: too many lists, rules or feeds\n", o->command);
	return -1;
}

static void warn_stderr(void *ud, const char *message)
{
	fprintf(stderr, "vigil %s: warning: %s\n", (const char *)ud, message);
}

int cli_ctx_open(vigil_ctx **out, const cli_ctx_opts *o)
{
	*out = NULL;
	vigil_ctx *ctx = NULL;
	int rc = vigil_ctx_new(&ctx);
	if (rc != 0) {
		fprintf(stderr, "vigil %s: cannot start: %s\n", o->command, vigil_strerror(rc));
		return CLI_FATAL;
	}
	if (o->report)
		vigil_ctx_set_warning_handler(ctx, o->report, NULL);
	else if (!o->quiet)
		vigil_ctx_set_warning_handler(ctx, warn_stderr, (void *)o->command);
	vigil_ctx_set_intel_validity(ctx, o->validity);
	vigil_ctx_set_hunt_mode(ctx, o->hunt_mode);
	/* A bad config, list, rule or feed stops everything: scanning with a
	 * list silently missing would report members' mail as clean. */
	rc = vigil_ctx_load_config(ctx, o->config);
	for (size_t i = 0; rc == 0 && i < o->n_lists; i++)
		rc = vigil_ctx_load_list(ctx, o->lists[i].kind, o->lists[i].path);
	for (size_t i = 0; rc == 0 && i < o->n_rules; i++)
		rc = vigil_ctx_load_rules(ctx, o->rules[i]);
	for (size_t i = 0; rc == 0 && i < o->n_feeds; i++)
		rc = vigil_ctx_load_intel(ctx, o->feeds[i], o->feed_fmt[i]);
	if (rc == 0 && o->intel_store)
		rc = vigil_ctx_load_intel_from_store(ctx, o->intel_store);
	if (rc == 0)
		rc = vigil_ctx_ready(ctx);
	if (rc != 0) {
		const char *why = *vigil_ctx_error(ctx) ? vigil_ctx_error(ctx) : vigil_strerror(rc);
		if (o->report)
			o->report(NULL, why);
		else
			fprintf(stderr, "vigil %s: %s\n", o->command, why);
		vigil_ctx_free(ctx);
		return rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_USAGE;
	}
	*out = ctx;
	return 0;
}
