/*
** job.h: the job object, as its owner's state sees it (SPEC §3).
*/
#ifndef job_h
#define job_h

#include "lua.h"

#include "hub.h"

/* The user value of a job object that holds its name. */
#define JOBS_NAMEUV	1

/* The names of the statuses, by JobStatus. */
extern const char *const jobs_statusnames[];

void jobs_openjob (lua_State *L);
/* Pushes a job object for the function or string at 'base' and the
** arguments above it, its record ready to start with the hub at 'hub'
** (which the object keeps alive); '*died' if its state could not be
** made. Returns its record. */
Job *jobs_newobject (lua_State *L, int base, int hub, int *died);

/* Pushes a job object for a pool's task (tasks.c) of the function or
** string at 'base': named by the string at 'name' (0: as a job would be),
** listed for jobs.poll, holding nothing yet, keeping the hub at 'hub'
** alive; returns its record. */
Job *jobs_newtask (lua_State *L, int base, int name, int hub);
void jobs_setnum (lua_State *L, int idx, lua_Integer num);
/* Makes the job object at 'idx' a task of the pool numbered 'pool': it
** says so (tostring, 'job.pool'). */
void jobs_settaskof (lua_State *L, int idx, int pool);
Job *jobs_checkjob (lua_State *L, int idx, Hub *h);
Job *jobs_tojob (lua_State *L, int idx);
void jobs_finalizeleft (lua_State *L, int hub);
int jobs_luapoll (lua_State *L);
int jobs_luafd (lua_State *L);
int jobs_luaunfinished (lua_State *L);

#endif
