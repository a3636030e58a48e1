/*
 * For fuzz targets that hand their input to vigil as a file: one temporary
 * file per process, rewritten for each input (a file per input would cost
 * more than what is fuzzed), removed at exit. A real file, not a memfd: vigil
 * may rightly treat /proc/self/fd symlinks differently from files.
 */
#ifndef VIGIL_FUZZ_FILE_H
#define VIGIL_FUZZ_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path[4096];
static int fuzz_fd = -1;

static void fuzz_file_cleanup(void)
{
	if (fuzz_fd >= 0)
		unlink(fuzz_path);
}

/* Writes the input to the temporary file (made on first use) and returns
 * its path. Aborts when the file cannot be written: nothing to fuzz then. */
static const char *fuzz_file_write(const char *name, const unsigned char *data, size_t size)
{
	if (fuzz_fd < 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/vigil-%s-XXXXXX",
			tmp && *tmp ? tmp : "/tmp", name);
		fuzz_fd = mkstemp(fuzz_path);
		if (fuzz_fd < 0) {
			perror(name);
			abort();
		}
		atexit(fuzz_file_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) != 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(fuzz_fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	return fuzz_path;
}

#endif /* VIGIL_FUZZ_FILE_H */
