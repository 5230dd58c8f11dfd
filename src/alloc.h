/*
** alloc.h: the allocator of a job's state: its small blocks from a chunk of
** its own, a count of what it holds, and its memory limit.
*/
#ifndef alloc_h
#define alloc_h

#include <stddef.h>

#include "jobsconf.h"

/* Size classes of the blocks a state's chunk serves, 16 bytes apart. */
#define JOBS_NCLASS	(JOBS_SMALLBLOCK / 16)

/* What a job's state allocates from and how much it holds; owned with the
** state, and touched only by the thread owning it. */
typedef struct Heap {
  size_t used;  /* bytes the state holds */
  size_t limit;  /* bytes it may hold ('memory_limit'); 0: no limit */
  char *chunk;  /* JOBS_CHUNKSIZE bytes, or NULL before the first block */
  char *next;  /* the part of 'chunk' never handed out starts here */
  void *free[JOBS_NCLASS];  /* blocks of 'chunk' given back, per class */
} Heap;

/* A lua_Alloc, 'ud' a zeroed Heap. The state's last free (lua_close)
** leaves the Heap zeroed again, but for 'limit'. */
void *jobs_alloc (void *ud, void *p, size_t osize, size_t nsize);

#endif
