/*
** jobs.h: what a C host or another C module may call (SPEC §8).
** Every function here is called on the thread that owns the lua_State given.
*/
#ifndef jobs_h
#define jobs_h

#include "lua.h"

#define LUAJOBS_VERSION	"luajobs 0.1"

#if !defined(JOBS_API)
#define JOBS_API	__attribute__((visibility("default")))
#endif

/*
** Opens the module in L and pushes its table, as 'require "jobs"' does.
** Call it (or luaL_requiref(L, "jobs", luaopen_jobs, 1)) on the thread that
** owns L, once per state. Jobs started from L run on threads of their own;
** lua_close(L) waits for those still running before it returns.
*/
JOBS_API int luaopen_jobs (lua_State *L);

#endif
