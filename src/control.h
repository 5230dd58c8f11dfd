/*
** control.h: what a job asks about its own run (SPEC §6, "Inside a job,
** and anywhere"): sleep, whether it was cancelled, who it is, progress.
*/
#ifndef control_h
#define control_h

#include "lua.h"

int jobs_sleep (lua_State *L);
int jobs_cancelled (lua_State *L);
int jobs_whoami (lua_State *L);
int jobs_progress (lua_State *L);

#endif
