/*
** manager.h: what job creation asks of a manager (manager.c).
*/
#ifndef manager_h
#define manager_h

#include "lua.h"

#include "worker.h"

/* Numbers the job object at 'job' for the manager at 'm' and lists it
** there; may raise, before counting it. */
lua_Integer jobs_enroll (lua_State *L, int m, int job);

/* Unlists job number 'num' of the manager at 'm' that could not start. */
void jobs_unenroll (lua_State *L, int m, lua_Integer num);

Limit *jobs_limitof (lua_State *L, int m);
int jobs_newmanager (lua_State *L);
int jobs_wait (lua_State *L);

#endif
