/*
** cstack.c: the C stack left to the calling thread, from the bounds the
** system gave it (the main thread's from its rlimit, by the C library).
*/

#define _GNU_SOURCE  /* pthread_getattr_np */

#include <pthread.h>

#include "cstack.h"


uintptr_t jobs_stacklimit (size_t reserve) {
  /* The frame, not a local's address: a sanitizer may keep locals apart. */
  uintptr_t here = (uintptr_t)__builtin_frame_address(0), low = 0, high = 0;
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return 1;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    low = (uintptr_t)addr;
    high = low + size;
  }
  pthread_attr_destroy(&attr);
  if (here < low || here >= high)
    return 1;  /* not the system's stack for this thread */
  return low + reserve;
}
