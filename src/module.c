/*
** module.c: luaopen_jobs: opens the C core in a state, then runs the Lua half
** (lua/jobs.lua, compiled into the library) over it.
*/

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "cancel.h"
#include "channel.h"
#include "control.h"
#include "frame.h"
#include "job.h"
#include "manager.h"
#include "pools.h"
#include "record.h"
#include "worker.h"

#include "jobs_lua.h"  /* generated from lua/jobs.lua: 'jobs_lua' */


/* The core's monotonic clock, in seconds, for jobs.await. */
static int now (lua_State *L) {
  lua_pushnumber(L, jobs_now());
  return 1;
}


/* What a job may call on itself; each also works outside a job. And the
** clock, which the Lua half keeps to itself. */
static const luaL_Reg control[] = {
  {"now", now},
  {"sleep", jobs_sleep},
  {"cancelled", jobs_cancelled},
  {"self", jobs_whoami},
  {"progress", jobs_progress},
  {"channel", jobs_newchannel},
  {"encode", jobs_luaencode},
  {"decode", jobs_luadecode},
  {NULL, NULL}
};


/* The rest, each a closure over the state's hub. */
static const luaL_Reg overhub[] = {
  {"manager", jobs_newmanager},
  {"wait", jobs_wait},
  {"poll", jobs_luapoll},
  {"fd", jobs_luafd},
  {"unfinished", jobs_luaunfinished},
  {NULL, NULL}
};


/*
** Puts in the core at -1 the libraries the Lua half uses: the state's own,
** or, in a job that did not open one, a copy of its own, which the job's
** code does not see (not even as the methods of strings).
*/
static void givelibs (lua_State *L) {
  static const luaL_Reg libs[] = {
    {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
    {LUA_MATHLIBNAME, luaopen_math}, {LUA_IOLIBNAME, luaopen_io},
    {NULL, NULL}
  };
  const luaL_Reg *lib;
  for (lib = libs; lib->name != NULL; lib++) {
    if (lua_getglobal(L, lib->name) != LUA_TTABLE) {
      int methods = (lua_pushliteral(L, ""), lua_getmetatable(L, -1));
      lua_pop(L, 2 + methods);
      lib->func(L);
      if (!methods) {  /* luaopen_string gave strings their methods */
        lua_pushliteral(L, "");
        lua_pushnil(L);
        lua_setmetatable(L, -2);
        lua_pop(L, 1);
      }
    }
    lua_setfield(L, -2, lib->name);
  }
}


JOBS_API int luaopen_jobs (lua_State *L) {
  luaL_checkversion(L);
  jobs_initcancel(L);
  jobs_openjob(L);
  luaL_newlib(L, control);  /* the core, handed to the Lua half */
  /* one per state: closing the state waits for its jobs */
  jobs_openhub(L, jobs_finalizeleft);
  jobs_openpools(L);
  luaL_setfuncs(L, overhub, 1);
  givelibs(L);
  lua_pushliteral(L, LUAJOBS_VERSION);
  lua_setfield(L, -2, "_VERSION");
  if (luaL_loadbufferx(L, jobs_lua, sizeof(jobs_lua), "=jobs.lua", "t")
      != LUA_OK)
    return lua_error(L);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  return 1;
}
