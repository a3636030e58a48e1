/*
 * A main() for a libFuzzer target: runs LLVMFuzzerTestOneInput once over every
 * file named on the command line, directories walked recursively. It lets the
 * corpus run in the ordinary test suite with any compiler and any sanitizer.
 *
 * usage: REPLAYER [-v] [--if-exists] PATH... (--if-exists: the paths after it
 *        may be absent; each absent one is reported and skipped)
 * Environment: VIGIL_REPLAY_TIMEOUT, seconds one input may take (default 60).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Provided by ASan/UBSan when linked in (gcc and clang alike). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* Inputs larger than this are skipped: libFuzzer's own default cap is far
 * lower, and a replay must not need gigabytes. */
#define REPLAY_MAX_INPUT (64u << 20)

static const char *current; /* the input being run, for the crash report */
static unsigned timeout_s = 60;
static int verbose;
static unsigned long n_inputs, n_skipped;

static void say_current(void)
{
	/* Only async-signal-safe calls: this runs from signal handlers. */
	static const char pre[] = "\nreplay: failed on input: ";
	if (current == NULL)
		return;
	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, current, strlen(current)) < 0 ||
		write(2, "\n", 1) < 0)
		return;
}

static void on_fatal(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	static const char msg[] = "\nreplay: input took longer than VIGIL_REPLAY_TIMEOUT";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(70);
	say_current();
	signal(SIGABRT, SIG_DFL);
	abort();
}

static int run_file(const char *path)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	FILE *f = fopen(path, "rb");

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if ((unsigned long long)st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: larger than %u bytes, skipped\n", path, REPLAY_MAX_INPUT);
		fclose(f);
		n_skipped++;
		return 0;
	}
	/* An allocation of exactly the input's size, as libFuzzer makes: a read
	 * one byte past the end must land outside it for ASan to see. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		size_t n = fread(buf + got, 1, (size_t)st.st_size - got, f);
		if (n == 0)
			break;
		got += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, got);
	current = path;
	alarm(timeout_s);
	LLVMFuzzerTestOneInput(buf, got);
	alarm(0);
	current = NULL;
	free(buf);
	n_inputs++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks a directory in sorted order, so a replay's order (and therefore any
 * state carried from one input to the next) is the same on every machine.
 * Symbolic links are not followed. */
static int run_path(const char *path, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (lstat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return run_file(path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (depth > 64) {
		fprintf(stderr, "replay: %s: too deep, skipped\n", path);
		return 0;
	}
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
			if (grown == NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		size_t len = strlen(path) + 1 + strlen(e->d_name) + 1;
		if ((names[n] = malloc(len)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(names[n++], len, "%s/%s", path, e->d_name);
	}
	closedir(d);
	if (names != NULL)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && run_path(names[i], depth + 1) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	const char *t = getenv("VIGIL_REPLAY_TIMEOUT");
	int optional = 0, rc = 0, n_paths = 0;

	if (t != NULL && atoi(t) > 0)
		timeout_s = (unsigned)atoi(t);
	signal(SIGALRM, on_alarm);
	signal(SIGSEGV, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGFPE, on_fatal);
	signal(SIGILL, on_fatal);
	signal(SIGABRT, on_fatal);
	/* ASan installs its own SIGSEGV handler and exits without raising:
	 * its death callback is the only place to name the input. */
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(say_current);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "--if-exists") == 0) {
			optional = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			/* libFuzzer flags (-runs=, -max_len=, ...) mean nothing here. */
			fprintf(stderr, "replay: ignoring option %s\n", argv[i]);
		} else if (optional && access(argv[i], F_OK) != 0) {
			printf("replay: %s absent, skipped\n", argv[i]);
		} else {
			n_paths++;
			if (run_path(argv[i], 0) != 0)
				rc = 1;
		}
	}
	if (n_paths == 0 && !optional) {
		fprintf(stderr, "usage: %s [-v] [--if-exists] PATH...\n", argv[0]);
		return 2;
	}
	printf("replay: %lu inputs run, %lu skipped%s\n", n_inputs, n_skipped,
		rc ? ", some paths could not be read" : "");
	return rc;
}
