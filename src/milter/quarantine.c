/*
 * Quarantine copies: a whole message written into a Maildir the way a
 * delivery agent does it (tmp/, fsync, rename into new/, fsync the folder),
 * so a copy is either complete or absent, also after a crash. It does not
 * decide what goes there (session.c) nor release anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "milter.h"

static int make_dir(const char *path, long uid, long gid)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((uid != -1 || gid != -1) && chown(path, (uid_t)uid, (gid_t)gid) != 0)
		return -errno;
	return 0;
}

int milter_quarantine_prepare(const char *dir, long uid, long gid)
{
	static const char *const subs[] = {"", "/cur", "/new", "/tmp"};
	char path[4096];
	for (size_t i = 0; i < sizeof(subs) / sizeof(*subs); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s", dir, subs[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		int rc = make_dir(path, uid, gid);
		if (rc)
			return rc;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int milter_quarantine_write(const char *dir, const char *head, size_t head_len,
	const char *data, size_t len, char *name, size_t name_size)
{
	/* Maildir's unique name: time, microseconds, pid and a counter, host. */
	static atomic_uint counter;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char host[128] = "localhost";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (char *h = host; *h; h++)
		if (*h == '/' || *h == ':')
			*h = '_';
	if ((size_t)snprintf(name, name_size, "%lld.M%ldP%dQ%u.%s", (long long)tv.tv_sec,
		    (long)tv.tv_usec, (int)getpid(), atomic_fetch_add(&counter, 1) + 1, host) >=
		name_size)
		return -ENAMETOOLONG;
	char tmp[4096], dst[4096], newdir[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name) >= sizeof(tmp) ||
		(size_t)snprintf(dst, sizeof(dst), "%s/new/%s", dir, name) >= sizeof(dst) ||
		(size_t)snprintf(newdir, sizeof(newdir), "%s/new", dir) >= sizeof(newdir))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, head, head_len);
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename is durable only once the folder is. */
	int dfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		unlink(dst);
		return rc;
	}
	close(dfd);
	return 0;
}
