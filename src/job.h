/*
** job.h: the job object, as its owner's state sees it (SPEC §3).
*/
#ifndef job_h
#define job_h

#include "lua.h"

#include "hub.h"

/* The names of the statuses, by JobStatus. */
extern const char *const jobs_statusnames[];

void jobs_openjob (lua_State *L);
Job *jobs_newobject (lua_State *L, int base, int *died);
void jobs_setnum (lua_State *L, int idx, lua_Integer num);
Job *jobs_checkjob (lua_State *L, int idx, Hub *h);
Job *jobs_tojob (lua_State *L, int idx);
int jobs_luapoll (lua_State *L);
int jobs_luafd (lua_State *L);
int jobs_luaunfinished (lua_State *L);

#endif
