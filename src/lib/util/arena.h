/*
 * The per-message arena: everything derived from one message is allocated
 * here and released at once by vigil_arena_free(). Foreign objects (GMime,
 * gumbo) register a destructor. Built with -Darena_debug=true, every
 * allocation is a separate malloc so ASan and valgrind see each one.
 */
#ifndef VIGIL_ARENA_H
#define VIGIL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct vigil_arena vigil_arena;

/* Returns NULL when out of memory. */
vigil_arena *vigil_arena_new(void);
/* Runs the destructors (last registered first), then frees all memory. NULL ok. */
void vigil_arena_free(vigil_arena *a);

/* Uninitialised memory aligned for any type; NULL when out of memory. */
void *vigil_arena_alloc(vigil_arena *a, size_t size);
/* Zeroed memory; NULL when out of memory or on overflow of n * size. */
void *vigil_arena_calloc(vigil_arena *a, size_t n, size_t size);
/* Copies; NULL in gives NULL out. */
char *vigil_arena_strdup(vigil_arena *a, const char *s);
char *vigil_arena_strndup(vigil_arena *a, const char *s, size_t n);
char *vigil_arena_printf(vigil_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Returns 0, or -1 when out of memory (the destructor has then been run). */
int vigil_arena_defer(vigil_arena *a, void (*fn)(void *), void *ptr);

/* Bytes handed out so far (for limits and tests). */
size_t vigil_arena_used(const vigil_arena *a);

/*
 * A growable array in the arena. `items` moves when it grows; don't keep
 * pointers to elements across a push. Usage:
 *   VIGIL_VEC(vigil_url) urls;  ...  vigil_url *u = VIGIL_VEC_PUSH(a, &urls);
 */
#define VIGIL_VEC(type) struct { type *items; size_t len, cap; }
/* Appends one zeroed element and returns it, or NULL when out of memory. */
#define VIGIL_VEC_PUSH(arena, vec) \
	((__typeof__((vec)->items))arena__vec_push((arena), (void **)&(vec)->items, \
		&(vec)->len, &(vec)->cap, sizeof(*(vec)->items)))
void *arena__vec_push(vigil_arena *a, void **items, size_t *len, size_t *cap, size_t size);

#endif /* VIGIL_ARENA_H */
