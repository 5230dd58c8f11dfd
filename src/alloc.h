/*
** alloc.h: the allocator of a job's state: its small blocks from a chunk of
** its own, and its memory limit.
*/
#ifndef alloc_h
#define alloc_h

#include <stddef.h>

#include "lua.h"

#include "jobsconf.h"

/* Size classes of the blocks a state's chunk serves, 16 bytes apart. */
#define JOBS_NCLASS	(JOBS_SMALLBLOCK / 16)

/* What a job's state allocates from; owned with the state, and touched only
** by the thread owning it. */
typedef struct Heap {
  size_t limit;  /* bytes it may hold ('memory_limit'); 0: no limit */
  size_t used;  /* bytes it holds, counted only when it has a limit */
  int refused;  /* a block was refused, past the limit */
  char *chunk;  /* JOBS_CHUNKSIZE bytes while the state lives */
  char *next;  /* its part never handed out starts here; NULL once full */
  void *free[JOBS_NCLASS];  /* blocks of 'chunk' given back, per class */
} Heap;

/* Readies the zeroed Heap 'h' (but for 'limit') for a new state; returns
** the lua_Alloc to create it with ('h' its 'ud'), or NULL if out of
** memory. */
lua_Alloc jobs_newheap (Heap *h);

/* Frees what 'h' holds once its state is closed; 'limit' stays. */
void jobs_freeheap (Heap *h);

#endif
