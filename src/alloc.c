/*
** alloc.c: the allocator of a job's state. Owns the state's chunk and the
** blocks given back to it, and the count its memory limit is checked against.
**
** A state is born and dies in a burst of small blocks; taking them from a
** chunk of its own costs a pointer bump where malloc takes a lock and keeps
** headers. Blocks given back wait in a list per size class for the next
** block of that class; the chunk itself goes when the state closes.
*/

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"


/* Under AddressSanitizer, what the chunk has not handed out is poisoned and
** each block ends in a poisoned zone, so that ASan sees a job's overflows
** and uses after free as it would with malloc's blocks. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define REDZONE		16
#define poison(p, n)	ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define REDZONE		0
#define poison(p, n)	((void)0)
#define unpoison(p, n)	((void)0)
#endif


/* The class of a block holding 'n' (> 0) bytes, or -1 if the chunk does not
** serve it. A block of class k has (k + 1) * 16 bytes. */
static int classof (size_t n) {
  n += REDZONE;
  return n <= JOBS_SMALLBLOCK ? (int)((n - 1) >> 4) : -1;
}

#define classbytes(k)	((size_t)((k) + 1) << 4)


static int inchunk (const Heap *h, const void *p) {
  uintptr_t a = (uintptr_t)p, c = (uintptr_t)h->chunk;
  return h->chunk != NULL && a >= c && a - c < JOBS_CHUNKSIZE;
}


/* A block of class 'k' from the chunk, or NULL if the chunk cannot have
** one: the last given back of that class, else the next unused bytes. */
static void *take (Heap *h, int k) {
  void *b = h->free[k];
  if (b != NULL) {
    unpoison(b, sizeof(void *));
    h->free[k] = *(void **)b;
    return b;
  }
  if (h->chunk == NULL) {
    if ((h->chunk = h->next = (char *)malloc(JOBS_CHUNKSIZE)) == NULL)
      return NULL;
    poison(h->chunk, JOBS_CHUNKSIZE);
  }
  if ((size_t)(h->chunk + JOBS_CHUNKSIZE - h->next) < classbytes(k))
    return NULL;  /* used up: malloc serves the rest */
  b = h->next;
  h->next += classbytes(k);
  return b;
}


/* Gives back the block 'b' of the chunk, which holds 'n' bytes. */
static void give (Heap *h, void *b, size_t n) {
  int k = classof(n);
  unpoison(b, sizeof(void *));  /* a block may hold fewer bytes */
  *(void **)b = h->free[k];
  h->free[k] = b;
  poison(b, classbytes(k));
}


static void *newblock (Heap *h, size_t n) {
  int k = classof(n);
  void *b;
  if (k >= 0 && (b = take(h, k)) != NULL) {
    unpoison(b, n);
    return b;
  }
  return malloc(n);
}


/* Moves the block 'p' of 'osize' bytes to one of 'nsize' (both > 0); a
** block of the chunk that keeps its class stays where it is. Returns
** NULL, 'p' untouched, on failure. */
static void *resize (Heap *h, void *p, size_t osize, size_t nsize) {
  int k = classof(nsize);
  void *q;
  if (!inchunk(h, p))
    return realloc(p, nsize);
  if (k >= 0 && k == classof(osize)) {
    poison(p, classbytes(k));
    unpoison(p, nsize);
    return p;
  }
  if ((q = newblock(h, nsize)) == NULL)
    return NULL;
  memcpy(q, p, osize < nsize ? osize : nsize);
  give(h, p, osize);
  return q;
}


/* The state's last block is gone: so is its chunk. */
static void reset (Heap *h) {
  if (h->chunk != NULL) {
    unpoison(h->chunk, JOBS_CHUNKSIZE);
    free(h->chunk);
  }
  h->chunk = h->next = NULL;
  memset((void *)h->free, 0, sizeof(h->free));
}


/*
** 'used' follows Lua's own count: a shrink that cannot move its block
** leaves it as it is, and Lua then counts it at its new size. Past the
** memory limit a growth fails, and Lua raises "not enough memory".
*/
void *jobs_alloc (void *ud, void *p, size_t osize, size_t nsize) {
  Heap *h = (Heap *)ud;
  void *q;
  if (p == NULL)
    osize = 0;  /* then 'osize' tells the kind of object */
  if (nsize == 0) {
    if (p == NULL)
      return NULL;
    if (inchunk(h, p))
      give(h, p, osize);
    else
      free(p);
    if ((h->used -= osize) == 0)
      reset(h);
    return NULL;
  }
  if (nsize > osize && h->limit != 0 && h->used + (nsize - osize) > h->limit)
    return NULL;
  q = (p == NULL) ? newblock(h, nsize) : resize(h, p, osize, nsize);
  if (q == NULL) {
    if (nsize > osize)
      return NULL;
    q = p;  /* a shrink never fails for Lua */
  }
  h->used += nsize - osize;
  return q;
}
