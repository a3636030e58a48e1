/*
 * Walks a directory tree depth first, entries sorted by name, and opens each
 * regular file in turn for source.c to read. Maildir tmp/ folders, loops and
 * repeats (by device and inode) and special files are passed over. It does
 * not look inside files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil_limits.h"
#include "source/source_internal.h"

typedef struct tree_dir {
	int fd;
	char *pool;      /* the entry names, each NUL-terminated */
	char **names;    /* sorted by strcmp(), pointing into pool */
	size_t count, next;
	size_t path_len; /* this directory's path is tree->path[0, path_len) */
	bool maildir;    /* has cur/ or new/: its tmp/ holds unfinished deliveries */
} tree_dir;

typedef struct dir_id {
	dev_t dev;
	ino_t ino;
	bool used;
} dir_id;

struct source_tree {
	/* The root and up to VIGIL_MAX_DIR_DEPTH levels below it. */
	tree_dir dirs[VIGIL_MAX_DIR_DEPTH + 1];
	size_t depth; /* dirs in use */
	char *path;   /* the path of the entry looked at */
	size_t path_cap;
	/* Every directory entered, so a symlink can lead neither into a loop
	 * nor into a folder read before (which would repeat its messages). */
	dir_id *seen;
	size_t seen_cap, seen_count;
};

static size_t id_hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15u) ^ (uint64_t)ino;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9u;
	return (size_t)(h ^ (h >> 29));
}

/* Records a directory. Returns 1 if new, 0 if seen before, or VIGIL_ENOMEM. */
static int remember_dir(source_tree *t, dev_t dev, ino_t ino)
{
	if (2 * (t->seen_count + 1) > t->seen_cap) {
		size_t cap = t->seen_cap ? 2 * t->seen_cap : 64;
		dir_id *seen = calloc(cap, sizeof(*seen));
		if (!seen)
			return VIGIL_ENOMEM;
		for (size_t i = 0; i < t->seen_cap; i++) {
			if (!t->seen[i].used)
				continue;
			size_t j = id_hash(t->seen[i].dev, t->seen[i].ino) & (cap - 1);
			while (seen[j].used)
				j = (j + 1) & (cap - 1);
			seen[j] = t->seen[i];
		}
		free(t->seen);
		t->seen = seen;
		t->seen_cap = cap;
	}
	size_t j = id_hash(dev, ino) & (t->seen_cap - 1);
	for (; t->seen[j].used; j = (j + 1) & (t->seen_cap - 1))
		if (t->seen[j].dev == dev && t->seen[j].ino == ino)
			return 0;
	t->seen[j] = (dir_id){.dev = dev, .ino = ino, .used = true};
	t->seen_count++;
	return 1;
}

/* Makes t->path hold at least `need` bytes. Returns 0 or VIGIL_ENOMEM. */
static int reserve_path(source_tree *t, size_t need)
{
	if (need <= t->path_cap)
		return 0;
	size_t cap = t->path_cap ? t->path_cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(t->path, cap);
	if (!p)
		return VIGIL_ENOMEM;
	t->path = p;
	t->path_cap = cap;
	return 0;
}

/* Sets t->path to its first `len` bytes (a directory) plus "/name".
 * Returns 0 or VIGIL_ENOMEM. */
static int set_path(source_tree *t, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (reserve_path(t, len + 1 + n + 1) != 0)
		return VIGIL_ENOMEM;
	if (len > 0 && t->path[len - 1] != '/')
		t->path[len++] = '/';
	memcpy(t->path + len, name, n + 1);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads and sorts the entries of d->fd. Returns 0, or an errno value. */
static int read_entries(tree_dir *d)
{
	/* closedir() closes the descriptor it reads; d->fd stays ours for openat(). */
	int fd = dup(d->fd);
	if (fd < 0)
		return errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int e = errno;
		close(fd);
		return e;
	}
	size_t used = 0, cap = 0;
	int err = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (!e) {
			err = errno;
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t n = strlen(e->d_name) + 1;
		if (used + n > cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			while (ncap < used + n)
				ncap *= 2;
			char *pool = realloc(d->pool, ncap);
			if (!pool) {
				err = ENOMEM;
				break;
			}
			d->pool = pool;
			cap = ncap;
		}
		memcpy(d->pool + used, e->d_name, n);
		used += n;
		d->count++;
		if (strcmp(e->d_name, "cur") == 0 || strcmp(e->d_name, "new") == 0)
			d->maildir = true;
	}
	closedir(dir);
	if (err)
		return err;
	if (d->count == 0)
		return 0;
	d->names = malloc(d->count * sizeof(*d->names));
	if (!d->names)
		return ENOMEM;
	for (size_t i = 0, off = 0; i < d->count; i++) {
		d->names[i] = d->pool + off;
		off += strlen(d->pool + off) + 1;
	}
	qsort(d->names, d->count, sizeof(*d->names), compare_names);
	return 0;
}

static void pop_dir(source_tree *t)
{
	tree_dir *d = &t->dirs[--t->depth];
	close(d->fd);
	free(d->names);
	free(d->pool);
	*d = (tree_dir){.fd = -1};
}

/* Enters the directory open as `fd`, whose path is t->path. Takes `fd`.
 * Returns 0 (also when it was seen before and is passed over), or an error. */
static int push_dir(vigil_source *src, int fd)
{
	source_tree *t = src->tree;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return source__fail_errno(src, e, t->path);
	}
	int rc = remember_dir(t, st.st_dev, st.st_ino);
	if (rc <= 0) {
		close(fd);
		return rc == 0 ? 0 : source__fail(src, rc, "%s: out of memory", t->path);
	}
	tree_dir *d = &t->dirs[t->depth++];
	*d = (tree_dir){.fd = fd, .path_len = strlen(t->path)};
	int e = read_entries(d);
	if (e) {
		pop_dir(t);
		return e == ENOMEM ? source__fail(src, VIGIL_ENOMEM, "%s: out of memory", t->path)
				   : source__fail_errno(src, e, t->path);
	}
	return 0;
}

int source__tree_open(vigil_source *src, const char *path)
{
	source_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
	src->tree = t;
	size_t n = strlen(path);
	if (reserve_path(t, n + 1) != 0)
		return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
	memcpy(t->path, path, n + 1);

	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return source__fail_errno(src, errno, path);
	return push_dir(src, fd);
}

int source__tree_next(vigil_source *src)
{
	source_tree *t = src->tree;
	while (t->depth > 0) {
		tree_dir *d = &t->dirs[t->depth - 1];
		if (d->next == d->count) {
			pop_dir(t);
			continue;
		}
		const char *name = d->names[d->next++];
		if (set_path(t, d->path_len, name) != 0)
			return source__fail(src, VIGIL_ENOMEM, "out of memory");

		/* Follows symlinks: a dangling one or a loop (ELOOP) is reported
		 * like any file that cannot be read. */
		struct stat st;
		if (fstatat(d->fd, name, &st, 0) != 0)
			return source__fail_errno(src, errno, t->path);

		if (S_ISDIR(st.st_mode)) {
			if (d->maildir && strcmp(name, "tmp") == 0)
				continue;
			if (t->depth > VIGIL_MAX_DIR_DEPTH)
				return source__fail(src, VIGIL_ELIMIT,
					"%s: more than %d directories deep, not entered", t->path,
					VIGIL_MAX_DIR_DEPTH);
			int fd = openat(d->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return source__fail_errno(src, errno, t->path);
			int rc = push_dir(src, fd);
			if (rc)
				return rc;
			continue;
		}
		/* FIFOs, sockets and devices are not mail, and opening some of them
		 * blocks or has effects. */
		if (!S_ISREG(st.st_mode))
			continue;
		/* O_NONBLOCK: should the entry have become a FIFO since fstatat(),
		 * open() must not wait for a writer. It does nothing to a file. */
		int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return source__fail_errno(src, errno, t->path);
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		return source__begin_file(src, fd, t->path, (int64_t)st.st_size, true, true);
	}
	return VIGIL_EDONE;
}

void source__tree_free(source_tree *t)
{
	if (!t)
		return;
	while (t->depth > 0)
		pop_dir(t);
	free(t->seen);
	free(t->path);
	free(t);
}
