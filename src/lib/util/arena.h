/*
 * The per-message arena: everything derived from one message is allocated
 * here and released at once by vigil_arena_free(). Foreign objects (GMime,
 * gumbo) register a destructor. Built with -Darena_debug=true, every
 * allocation is a separate malloc so ASan and valgrind see each one.
 */
#ifndef VIGIL_ARENA_H
#define VIGIL_ARENA_H

#include <stdarg.h>
#include <stdbool.h>
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

/*
 * Scratch memory for a foreign parser (gumbo) that mallocs and frees
 * thousands of small pieces per document: a bump allocator owned by the
 * scanner (so one per thread), reset after each document. Freeing a piece
 * is a no-op; the whole scratch is recycled by vigil_scratch_reset().
 * Past `cap` bytes of blocks it falls back to malloc/free, so a hostile
 * document costs no more than it did with plain malloc. With
 * -Darena_debug=true every piece is a plain malloc so ASan sees each one.
 */
typedef struct vigil_scratch vigil_scratch;

/* A scratch that keeps at most `cap` bytes of blocks. NULL when out of memory. */
vigil_scratch *vigil_scratch_new(size_t cap);
/* Frees the blocks; pieces still malloc'd past the cap are the caller's. NULL ok. */
void vigil_scratch_free(vigil_scratch *s);
/* Memory aligned for any type, from the blocks or (past the cap) malloc; NULL
 * when out of memory. */
void *vigil_scratch_alloc(vigil_scratch *s, size_t size);
/* Frees a piece that came from malloc; a piece of the blocks is left for
 * the reset. NULL ok. */
void vigil_scratch_release(vigil_scratch *s, void *p);
/* True when every piece handed out since the last reset lives in the
 * blocks, so the caller may drop them all without releasing one by one. */
bool vigil_scratch_all_in_blocks(const vigil_scratch *s);
/* Makes all block memory free again. Blocks are kept for the next document
 * (merged into one when it grew), unless they grew past what is worth
 * keeping, then they are returned to the system. */
void vigil_scratch_reset(vigil_scratch *s);

#endif /* VIGIL_ARENA_H */
