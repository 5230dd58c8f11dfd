/*
** host.c: a C application that hosts Lua and embeds luajobs (SPEC §8):
** it opens the module in its own state, runs a script that starts a job,
** and closes the state, which waits for jobs still running.
*/

#include <stdio.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"


static const char script[] =
  "local j = jobs.new(function(n) return n * 2 end, 21)\n"
  "local ok, value = j:wait()\n"
  "print(('job %d %s: %s'):format(j.num, j.status, value))\n"
  "jobs.new('os.execute(\"true\")')  -- still running, maybe, at close\n";


int main (void) {
  lua_State *L = luaL_newstate();
  if (L == NULL)
    return 1;
  luaL_openlibs(L);
  luaL_requiref(L, "jobs", luaopen_jobs, 1);  /* also the global 'jobs' */
  lua_pop(L, 1);
  if (luaL_dostring(L, script) != LUA_OK) {
    fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_close(L);  /* waits for the second job */
  puts("closed");
  return 0;
}
