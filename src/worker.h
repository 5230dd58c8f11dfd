/*
** worker.h: starting a job on a thread of its owner's pool or in its
** manager's line, stopping it, closing its state, and the owner's hub.
*/
#ifndef worker_h
#define worker_h

#include "lua.h"

#include "hub.h"

/* Pushes a new hub for L, whose finalizer waits for its jobs, then calls
** 'left' (the hub at 'hub') to finalize the objects Lua never will. */
void jobs_openhub (lua_State *L, void (*left) (lua_State *L, int hub));
int jobs_start (Job *j, Hub *h, Limit *lim);
void jobs_endunstarted (Hub *h, Job *j, Limit *lim, JobStatus st);
void jobs_stopjob (Job *j);
void jobs_setlimit (lua_State *L, Hub *h, Limit *lim, int max);
void jobs_closestate (Job *j);

/* Stops for good the jobs of 'lim' in line (they end cancelled) and, with
** 'all', those running too (cancelled). */
void jobs_stoplimit (Hub *h, Limit *lim, int all);

#endif
