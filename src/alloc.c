/*
** alloc.c: the allocator of a job's state. Owns the state's chunk and the
** blocks given back to it, and the count its memory limit is checked against.
**
** A state is born and dies in a burst of small blocks; taking them from a
** chunk of its own costs a pointer bump where malloc takes a lock and keeps
** headers. Blocks given back wait in a list per size class for the next
** block of that class. Past the chunk, a block costs what it costs in a
** plain state (malloc, realloc, free) plus one range test; only a state
** with a memory limit also counts its bytes.
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


/* Whether 'p' is a block of the chunk; the chunk is there for the state's
** whole life, so NULL never is. */
static int inchunk (const Heap *h, const void *p) {
  return __builtin_expect((uintptr_t)p - (uintptr_t)h->chunk < JOBS_CHUNKSIZE,
                          0);
}


/*
** A block for 'n' (> 0) bytes while the chunk has room: the last one of its
** class given back, else the chunk's next unused bytes. Once a block finds
** no room, the chunk is closed ('next' NULL): from then on every block is
** malloc's, and what the chunk's blocks give back stays unused until the
** state closes (a few KiB at most).
*/
static __attribute__((noinline)) void *fromchunk (Heap *h, size_t n) {
  int k = classof(n);
  void *b;
  if ((b = h->free[k]) != NULL) {
    unpoison(b, sizeof(void *));
    h->free[k] = *(void **)b;
  }
  else if ((size_t)(h->chunk + JOBS_CHUNKSIZE - h->next) >= classbytes(k)) {
    b = h->next;
    h->next += classbytes(k);
  }
  else {
    h->next = NULL;
    return malloc(n);
  }
  unpoison(b, n);
  return b;
}


static void *newblock (Heap *h, size_t n) {
  if (h->next != NULL && classof(n) >= 0)
    return fromchunk(h, n);
  return malloc(n);
}


/* Gives back the block 'b' of the chunk, which holds 'n' bytes. */
static void give (Heap *h, void *b, size_t n) {
  int k = classof(n);
  unpoison(b, sizeof(void *));  /* a block may hold fewer bytes */
  if (h->next != NULL) {
    *(void **)b = h->free[k];
    h->free[k] = b;
  }
  poison(b, classbytes(k));
}


/*
** A block of the chunk 'p' of 'osize' bytes resized to 'nsize' (0: freed).
** One that keeps its class stays where it is; a shrink that cannot move
** leaves it as it is too (Lua then counts it at its new size). NULL, 'p'
** untouched, if a growth fails.
*/
static __attribute__((noinline)) void *rechunk (Heap *h, void *p, size_t osize,
                                              size_t nsize) {
  int k = classof(nsize);
  void *q;
  if (nsize == 0) {
    give(h, p, osize);
    return NULL;
  }
  if (k >= 0 && k == classof(osize)) {
    poison(p, classbytes(k));
    unpoison(p, nsize);
    return p;
  }
  if ((q = newblock(h, nsize)) == NULL)
    return nsize < osize ? p : NULL;
  memcpy(q, p, osize < nsize ? osize : nsize);
  give(h, p, osize);
  return q;
}


/* The allocator of a state without a memory limit: past the chunk, a range
** test and malloc, realloc or free, as a plain state's. */
static void *plain (void *ud, void *p, size_t osize, size_t nsize) {
  Heap *h = (Heap *)ud;
  if (inchunk(h, p))
    return rechunk(h, p, osize, nsize);
  if (nsize == 0) {
    free(p);
    return NULL;
  }
  return p == NULL ? newblock(h, nsize) : realloc(p, nsize);
}


/* The allocator of a state with a memory limit: past it, a growth fails
** and Lua raises "not enough memory". 'used' follows Lua's own count. */
static void *limited (void *ud, void *p, size_t osize, size_t nsize) {
  Heap *h = (Heap *)ud;
  void *q;
  if (p == NULL)
    osize = 0;  /* then 'osize' tells the kind of object */
  if (nsize > osize && h->used + (nsize - osize) > h->limit) {
    h->refused = 1;
    return NULL;
  }
  if ((q = plain(ud, p, osize, nsize)) == NULL && nsize > 0)
    return NULL;
  h->used += nsize - osize;
  return q;
}


lua_Alloc jobs_newheap (Heap *h) {
  if ((h->chunk = h->next = (char *)malloc(JOBS_CHUNKSIZE)) == NULL)
    return NULL;
  poison(h->chunk, JOBS_CHUNKSIZE);
  return h->limit != 0 ? limited : plain;
}


void jobs_freeheap (Heap *h) {
  unpoison(h->chunk, JOBS_CHUNKSIZE);
  free(h->chunk);
  h->chunk = h->next = NULL;
  h->used = 0;
  h->refused = 0;
  memset((void *)h->free, 0, sizeof(h->free));
}
