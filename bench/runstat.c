/*
 * Runs one command and reports its wall time, CPU time and peak resident set
 * as one JSON line written to a file: the measuring shim of the benchmarks.
 * It does no other work, so it adds nothing to what it measures.
 *
 * Why not measure from the Python harness directly: Linux carries the peak RSS
 * of the memory image a process had before exec() into its ru_maxrss, and a
 * child forked (or vforked) from Python starts as a copy of the interpreter.
 * Every command would then report at least the harness's own ~25 MB. Forked
 * from this small program, the floor is about one megabyte.
 *
 * usage: runstat OUTFILE COMMAND [ARG...]
 * Exit status: the command's, or 128 + signal number when a signal ended it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status = 0;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTFILE COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	/* Opened before the run so a bad path fails before spending minutes. */
	out = fopen(argv[1], "w");
	if (out == NULL) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		/* The child must not inherit the result file. */
		fclose(out);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* ru_maxrss is in KiB on Linux. */
	fprintf(out,
		"{\"wall\": %.6f, \"user\": %.6f, \"sys\": %.6f, \"maxrss_bytes\": %lld, "
		"\"exit\": %d, \"signal\": %d}\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		seconds(&ru.ru_utime), seconds(&ru.ru_stime), (long long)ru.ru_maxrss * 1024,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
