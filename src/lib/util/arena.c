/*
 * Per-message bump allocator with destructors. It never frees a single
 * allocation; it frees everything at once. It does not grow blocks in place.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
/* First block size: most messages fit their whole model in 64 KiB. */
#define ARENA_BLOCK 65536

typedef struct block {
	struct block *next;
	size_t size, used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
} block;

typedef struct deferred {
	struct deferred *next;
	void (*fn)(void *);
	void *ptr;
} deferred;

struct vigil_arena {
	block *head;
	deferred *dtors;
	size_t total;
#ifdef VIGIL_ARENA_DEBUG
	void **ptrs;
	size_t n_ptrs, cap_ptrs;
#endif
};

vigil_arena *vigil_arena_new(void)
{
	return calloc(1, sizeof(vigil_arena));
}

void vigil_arena_free(vigil_arena *a)
{
	if (!a)
		return;
	/* Destructors first: they may still read arena memory. */
	for (deferred *d = a->dtors; d; d = d->next)
		d->fn(d->ptr);
	block *b = a->head;
	while (b) {
		block *next = b->next;
		free(b);
		b = next;
	}
#ifdef VIGIL_ARENA_DEBUG
	for (size_t i = 0; i < a->n_ptrs; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
#endif
	free(a);
}

void *vigil_arena_alloc(vigil_arena *a, size_t size)
{
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX / 2)
		return NULL;
#ifdef VIGIL_ARENA_DEBUG
	if (a->n_ptrs == a->cap_ptrs) {
		size_t cap = a->cap_ptrs ? a->cap_ptrs * 2 : 64;
		void **p = realloc(a->ptrs, cap * sizeof(*p));
		if (!p)
			return NULL;
		a->ptrs = p;
		a->cap_ptrs = cap;
	}
	void *m = malloc(size);
	if (!m)
		return NULL;
	a->ptrs[a->n_ptrs++] = m;
	a->total += size;
	return m;
#else
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	block *b = a->head;
	if (!b || b->size - b->used < need) {
		size_t bsize = b ? b->size * 2 : ARENA_BLOCK;
		if (bsize > 8u * 1024 * 1024)
			bsize = 8u * 1024 * 1024;
		if (bsize < need)
			bsize = need;
		block *nb = malloc(sizeof(block) + bsize);
		if (!nb)
			return NULL;
		nb->size = bsize;
		nb->used = 0;
		/* A block made for one big allocation goes behind the current one,
		 * so the current block's free space is not abandoned. */
		if (b && bsize == need && b->size - b->used > 256) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	return p;
#endif
}

void *vigil_arena_calloc(vigil_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = vigil_arena_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *vigil_arena_strndup(vigil_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = vigil_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *vigil_arena_strdup(vigil_arena *a, const char *s)
{
	return s ? vigil_arena_strndup(a, s, strlen(s)) : NULL;
}

char *vigil_arena_printf(vigil_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = vigil_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int vigil_arena_defer(vigil_arena *a, void (*fn)(void *), void *ptr)
{
	/* The node lives in the arena: it is freed with the blocks, after
	 * the destructors have run. */
	deferred *d = vigil_arena_alloc(a, sizeof(*d));
	if (!d) {
		fn(ptr);
		return -1;
	}
	d->fn = fn;
	d->ptr = ptr;
	d->next = a->dtors;
	a->dtors = d;
	return 0;
}

size_t vigil_arena_used(const vigil_arena *a)
{
	return a->total;
}

void *arena__vec_push(vigil_arena *a, void **items, size_t *len, size_t *cap, size_t size)
{
	if (*len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		if (ncap > SIZE_MAX / size)
			return NULL;
		void *n = vigil_arena_alloc(a, ncap * size);
		if (!n)
			return NULL;
		if (*len)
			memcpy(n, *items, *len * size);
		*items = n;
		*cap = ncap;
	}
	void *p = (char *)*items + *len * size;
	memset(p, 0, size);
	(*len)++;
	return p;
}
