/*
** cstack.h: the C stack left to the calling thread, so that a walk that
** recurses stops with an error before it overflows, whatever the stack.
*/
#ifndef cstack_h
#define cstack_h

#include <stdint.h>

/*
** The address below which the calling thread's C stack has 'reserve'
** bytes left or fewer; 1 if it cannot be known (a host's coroutine stack,
** say): its walks are then bounded by their depth limits alone. It reads
** the system's bounds, which costs a few microseconds (the main thread's,
** from /proc): a walk asks once, when it is deep enough to matter.
*/
uintptr_t jobs_stacklimit (size_t reserve);

/* Whether the caller's frame is below 'limit'. */
#define jobs_pastlimit(limit) \
  ((uintptr_t)__builtin_frame_address(0) < (limit))

#endif
