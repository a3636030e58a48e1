/*
 * The scanning pipeline shared by the commands that read archives: one
 * reader (the calling thread) streams messages from the sources, N workers
 * scan and render them, and results leave in input order through a sink.
 * Cross-message correlation runs at that ordered point, so the output does
 * not depend on the number of workers. It does not parse arguments.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

/* Messages read ahead of the writer, and their bytes. Together they bound the
 * pipeline's memory (one message larger than the byte cap still goes through
 * alone). 32 per worker keeps workers busy when message sizes vary, and lets
 * the reader and workers run in long stretches rather than waking each other
 * for every message. */
#define PIPE_JOBS_PER_WORKER 32
#define PIPE_MAX_BYTES (64u * 1024 * 1024)

typedef struct job {
	uint64_t seq;
	char *data;
	size_t len;
	char *path;
	int64_t offset;
	bool truncated;
	/* filled by the worker */
	bool done;
	int rc;
	vigil_message *msg;
	char *text;
	size_t text_len;
	char *error;
	struct job *next;
} job;

typedef struct pipeline {
	const pipeline_opts *opts;
	const vigil_ctx *ctx;
	vigil_correlator *corr;

	pthread_mutex_t mu;
	pthread_cond_t work;  /* a job was queued, or the queue closed */
	pthread_cond_t space; /* a job left the pipeline */
	job *head, *tail;     /* queued, not yet taken by a worker */
	bool closed;
	size_t inflight, inflight_bytes, max_inflight;
	int idle_workers;    /* waiting on `work` */
	bool reader_waiting; /* waiting on `space` */
	job **slots; /* by seq % max_inflight: taken jobs, until written */
	uint64_t next_write;
	bool writing; /* a worker is emitting jobs (flush_ready), lock released */
	int status; /* worst CLI_* status so far */
	bool stop;  /* a fatal error: stop reading */
} pipeline;

static void set_status(pipeline *p, int status)
{
	/* CLI_FATAL > CLI_USAGE > CLI_ERRORS > CLI_OK in severity. */
	if (status > p->status)
		p->status = status;
	if (status == CLI_FATAL)
		p->stop = true;
}

static void job_free(job *j)
{
	if (!j)
		return;
	vigil_message_free(j->msg);
	free(j->data);
	free(j->path);
	free(j->text);
	free(j->error);
	free(j);
}

/* Renders a message into a new buffer (text, len). Returns 0 or an error. */
static int render(const pipeline *p, const vigil_message *msg, char **text, size_t *len)
{
	return vigil_message_render(text, len, msg, p->opts->format);
}

/* The ordered point: called for each job in input order, by one thread at a
 * time (the one holding `writing`), without the lock. Returns the job's
 * CLI_* status, applied by the caller under the lock. */
static int emit(pipeline *p, job *j)
{
	if (j->rc != 0) {
		if (!p->opts->quiet) {
			if (j->offset >= 0)
				fprintf(stderr, "vigil: %s @%lld: %s\n", j->path, (long long)j->offset,
					j->error ? j->error : vigil_strerror(j->rc));
			else
				fprintf(stderr, "vigil: %s: %s\n", j->path,
					j->error ? j->error : vigil_strerror(j->rc));
		}
		return j->rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_ERRORS;
	}
	/* Correlation sees messages in archive order; when it adds findings
	 * the verdict may change, so the speculative rendering is redone. */
	int changed = p->corr ? vigil_correlate(p->corr, j->msg) : 0;
	if (changed < 0)
		return CLI_FATAL;
	if (changed > 0) {
		free(j->text);
		j->text = NULL;
		if (render(p, j->msg, &j->text, &j->text_len) != 0)
			return CLI_FATAL;
	}
	if (p->opts->sink(p->opts->sink_data, j->msg, j->text, j->text_len) != 0) {
		fprintf(stderr, "vigil: cannot write output\n");
		return CLI_FATAL;
	}
	return CLI_OK;
}

/* Called under the lock when a job is done: writes the jobs that are next
 * in input order. One thread writes at a time, with the lock released while
 * it emits (a hunt's store inserts, the output), so the other workers and the
 * reader go on meanwhile; a job finished during that is picked up by the
 * writer's next look under the lock. */
static void flush_ready(pipeline *p)
{
	if (p->writing)
		return;
	p->writing = true;
	for (;;) {
		job **slot = &p->slots[p->next_write % p->max_inflight];
		job *j = *slot;
		if (!j || !j->done || j->seq != p->next_write)
			break;
		*slot = NULL;
		bool skip = p->stop;
		pthread_mutex_unlock(&p->mu);
		int status = skip ? CLI_OK : emit(p, j);
		size_t len = j->len;
		job_free(j);
		pthread_mutex_lock(&p->mu);
		set_status(p, status);
		p->next_write++;
		p->inflight--;
		p->inflight_bytes -= len;
		/* The reader sleeps until the pipeline is half empty, then refills
		 * it in one stretch: waking it for every message written cost more
		 * than a tenth of a scan in futex calls and context switches. */
		if (p->reader_waiting && (p->stop || (p->inflight <= p->max_inflight / 2 &&
			p->inflight_bytes <= PIPE_MAX_BYTES / 2))) {
			p->reader_waiting = false;
			pthread_cond_signal(&p->space);
		}
	}
	p->writing = false;
}

static void *worker_main(void *arg)
{
	pipeline *p = arg;
	vigil_scanner *sc = NULL;
	int src = vigil_scanner_new(&sc, p->ctx);

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->closed) {
			p->idle_workers++;
			pthread_cond_wait(&p->work, &p->mu);
			p->idle_workers--;
		}
		job *j = p->head;
		if (!j)
			break; /* closed and drained */
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);

		if (src != 0) {
			j->rc = src;
		} else if (!p->stop) {
			vigil_raw_message raw = {.data = j->data, .len = j->len, .path = j->path,
				.offset = j->offset, .truncated = j->truncated};
			j->rc = vigil_scan(&j->msg, sc, &raw);
			if (j->rc != 0)
				j->error = strdup(vigil_scanner_error(sc));
			else
				j->rc = render(p, j->msg, &j->text, &j->text_len);
		}
		/* The raw bytes are not needed past the scan. */
		free(j->data);
		j->data = NULL;

		pthread_mutex_lock(&p->mu);
		j->done = true;
		flush_ready(p);
	}
	pthread_mutex_unlock(&p->mu);
	vigil_scanner_free(sc);
	return NULL;
}

/* Queues a copy of one raw message; waits while the pipeline is full. */
static int push(pipeline *p, uint64_t seq, const vigil_raw_message *raw)
{
	job *j = calloc(1, sizeof(*j));
	if (!j)
		return VIGIL_ENOMEM;
	j->seq = seq;
	j->len = raw->len;
	j->offset = raw->offset;
	j->truncated = raw->truncated;
	j->data = malloc(raw->len + 1);
	j->path = strdup(raw->path ? raw->path : "-");
	if (!j->data || !j->path) {
		job_free(j);
		return VIGIL_ENOMEM;
	}
	memcpy(j->data, raw->data, raw->len);
	j->data[raw->len] = '\0';

	pthread_mutex_lock(&p->mu);
	while (!p->stop && (p->inflight >= p->max_inflight ||
		(p->inflight > 0 && p->inflight_bytes + raw->len > PIPE_MAX_BYTES))) {
		p->reader_waiting = true;
		pthread_cond_wait(&p->space, &p->mu);
	}
	if (p->stop) {
		pthread_mutex_unlock(&p->mu);
		job_free(j);
		return 0;
	}
	p->inflight++;
	p->inflight_bytes += raw->len;
	p->slots[seq % p->max_inflight] = j;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	if (p->idle_workers > 0)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static bool stopped(pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	bool s = p->stop;
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void reader_error(pipeline *p, int status)
{
	pthread_mutex_lock(&p->mu);
	set_status(p, status);
	pthread_mutex_unlock(&p->mu);
}

int pipeline_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

int pipeline_run(const vigil_ctx *ctx, char *const *paths, int n_paths, const pipeline_opts *o)
{
	pipeline p = {.opts = o, .ctx = ctx, .status = CLI_OK};
	int jobs = o->jobs > 0 ? o->jobs : pipeline_default_jobs();
	p.max_inflight = (size_t)jobs * PIPE_JOBS_PER_WORKER;
	p.slots = calloc(p.max_inflight, sizeof(*p.slots));
	pthread_t *threads = calloc((size_t)jobs, sizeof(*threads));
	if (!p.slots || !threads || vigil_correlator_new(&p.corr, ctx) != 0) {
		fprintf(stderr, "vigil: out of memory\n");
		free(p.slots);
		free(threads);
		return CLI_FATAL;
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.space, NULL);

	int started = 0;
	for (; started < jobs; started++)
		if (pthread_create(&threads[started], NULL, worker_main, &p) != 0)
			break;
	if (started == 0) {
		fprintf(stderr, "vigil: cannot start a worker thread\n");
		p.status = CLI_FATAL;
	}

	uint64_t seq = 0;
	for (int i = 0; i < n_paths && started > 0 && !stopped(&p); i++) {
		vigil_source *src = NULL;
		int rc = vigil_source_open(&src, paths[i]);
		if (rc != 0) {
			if (!o->quiet)
				fprintf(stderr, "vigil: %s\n", src ? vigil_source_error(src) : vigil_strerror(rc));
			vigil_source_free(src);
			reader_error(&p, rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_ERRORS);
			continue;
		}
		vigil_raw_message raw;
		while (!stopped(&p) && (rc = vigil_source_next(src, &raw)) != VIGIL_EDONE) {
			if (rc != 0) {
				if (!o->quiet)
					fprintf(stderr, "vigil: %s\n", vigil_source_error(src));
				reader_error(&p, rc == VIGIL_ENOMEM ? CLI_FATAL : CLI_ERRORS);
				continue;
			}
			if (o->skip && o->skip(o->skip_data, raw.path ? raw.path : "-", raw.offset))
				continue;
			if (push(&p, seq++, &raw) != 0) {
				fprintf(stderr, "vigil: out of memory\n");
				reader_error(&p, CLI_FATAL);
			}
		}
		vigil_source_free(src);
	}

	pthread_mutex_lock(&p.mu);
	p.closed = true;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	/* After a fatal error the workers skipped scanning; free what is left. */
	for (size_t i = 0; i < p.max_inflight; i++)
		job_free(p.slots[i]);
	free(p.slots);
	free(threads);
	vigil_correlator_free(p.corr);
	pthread_cond_destroy(&p.space);
	pthread_cond_destroy(&p.work);
	pthread_mutex_destroy(&p.mu);
	return p.status;
}
