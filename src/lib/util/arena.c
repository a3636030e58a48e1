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

/* ---- scratch ---------------------------------------------------------- */

/* First scratch block: a typical mail HTML part (~10 KB) makes gumbo ask for
 * ~150 KB in all, so one block serves most documents. */
#define SCRATCH_BLOCK (256u * 1024)
/* Block bytes kept from one document to the next. A bigger document's blocks
 * go back to the system: one hostile part must not pin its memory for the
 * rest of the run in every thread. */
#define SCRATCH_KEEP (16u * 1024 * 1024)

struct vigil_scratch {
	block *head;        /* the block being filled first */
	size_t cap;         /* most block bytes held at once */
	size_t bytes;       /* block bytes held */
	size_t next_first;  /* size of the first block after a reset, 0 for the default */
	size_t outstanding; /* pieces malloc'd (past the cap, or in debug mode) not released */
};

vigil_scratch *vigil_scratch_new(size_t cap)
{
	vigil_scratch *s = calloc(1, sizeof(*s));
	if (s)
		s->cap = cap;
	return s;
}

static void scratch_drop_blocks(vigil_scratch *s)
{
	block *b = s->head;
	while (b) {
		block *next = b->next;
		free(b);
		b = next;
	}
	s->head = NULL;
	s->bytes = 0;
}

void vigil_scratch_free(vigil_scratch *s)
{
	if (!s)
		return;
	scratch_drop_blocks(s);
	free(s);
}

void *vigil_scratch_alloc(vigil_scratch *s, size_t size)
{
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX / 2)
		return NULL;
#ifndef VIGIL_ARENA_DEBUG
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	block *b = s->head;
	if (b && b->size - b->used >= need) {
		void *p = b->data + b->used;
		b->used += need;
		return p;
	}
	/* A new block, twice what is held (so a document needs few blocks),
	 * within the cap. */
	size_t bsize = s->bytes ? s->bytes : (s->next_first ? s->next_first : SCRATCH_BLOCK);
	if (bsize < need)
		bsize = need;
	if (s->bytes + bsize > s->cap && s->bytes + need <= s->cap)
		bsize = s->cap - s->bytes;
	if (s->bytes + bsize <= s->cap) {
		block *nb = malloc(sizeof(block) + bsize);
		if (nb) {
			nb->size = bsize;
			nb->used = need;
			nb->next = b;
			s->head = nb;
			s->bytes += bsize;
			return nb->data;
		}
	}
#endif
	/* Past the cap (or debug mode): plain malloc, released one by one. */
	void *p = malloc(size);
	if (p)
		s->outstanding++;
	return p;
}

void vigil_scratch_release(vigil_scratch *s, void *p)
{
	/* Nothing was malloc'd since the reset: p is in a block (the common
	 * case, checked without walking the blocks). */
	if (!p || !s->outstanding)
		return;
#ifndef VIGIL_ARENA_DEBUG
	for (const block *b = s->head; b; b = b->next)
		if ((const unsigned char *)p >= b->data && (const unsigned char *)p < b->data + b->size)
			return;
#endif
	s->outstanding--;
	free(p);
}

bool vigil_scratch_all_in_blocks(const vigil_scratch *s)
{
	return s->outstanding == 0;
}

void vigil_scratch_reset(vigil_scratch *s)
{
	/* Pieces malloc'd past the cap are released by their owner (gumbo's
	 * destroy), never here: we don't track them. */
	s->outstanding = 0;
	if (!s->head)
		return;
	if (!s->head->next && s->bytes <= SCRATCH_KEEP) {
		s->head->used = 0;
		return;
	}
	/* Grown into several blocks: next time start with one block of the
	 * size this document needed (when worth keeping). */
	s->next_first = s->bytes <= SCRATCH_KEEP ? s->bytes : 0;
	scratch_drop_blocks(s);
}
