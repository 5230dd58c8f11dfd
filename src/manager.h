/*
** manager.h: a manager's C side (SPEC §5), for the module table.
*/
#ifndef manager_h
#define manager_h

#include "lua.h"

#include "hub.h"

int jobs_newmanager (lua_State *L);
int jobs_wait (lua_State *L);

/* Waits until no job of 'lim' is left to end, or the monotonic time
** 'until' (negative: no limit); returns 0, or ETIMEDOUT, or EINTR if the
** host interrupted the wait. A cancel of the job waiting in L stops it;
** with L NULL, none does (a finalizer's wait). */
int jobs_waitall (lua_State *L, Hub *h, Limit *lim, double until);

#endif
