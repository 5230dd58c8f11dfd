/*
** host.c: a C application that hosts Lua and embeds luajobs (SPEC §8): it
** opens the module in its own state, starts jobs from a script, and waits
** for them in its own select loop over jobs_fd(), collecting them with
** jobs_poll(); closing the state waits for any job still running.
*/

#include <stdio.h>
#include <sys/select.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"

#define NJOBS	3

static const char script[] =
  "done = {}\n"
  "for n = 1, 3 do\n"
  "  local j = jobs.new(function(n) local s = 0 for i = 1, n * 1e5 do s = s + i end return s end, n)\n"
  "  j:on_done(function(job) done[#done + 1] = job.result end)\n"
  "end\n"
  "jobs.new('os.execute(\"true\")')  -- maybe still running at close\n";


/* How many on_done callbacks the script's jobs have run. */
static int ndone (lua_State *L) {
  int n;
  lua_getglobal(L, "done");
  n = (int)luaL_len(L, -1);
  lua_pop(L, 1);
  return n;
}


static int fail (lua_State *L) {
  fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
  lua_close(L);
  return 1;
}


int main (void) {
  int fd;
  lua_State *L = luaL_newstate();
  if (L == NULL)
    return 1;
  luaL_openlibs(L);
  luaL_requiref(L, "jobs", luaopen_jobs, 1);  /* also the global 'jobs' */
  lua_pop(L, 1);
  if (luaL_dostring(L, script) != LUA_OK)
    return fail(L);
  fd = jobs_fd(L);
  while (ndone(L) < NJOBS) {  /* the host's loop: other descriptors go here */
    fd_set readable;
    struct timeval tv = {10, 0};
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    if (select(fd + 1, &readable, NULL, NULL, &tv) <= 0) {
      lua_pushliteral(L, "no job finished within 10 s");
      return fail(L);
    }
    if (jobs_poll(L) != LUA_OK)  /* runs the callbacks of finished jobs */
      return fail(L);
    lua_pop(L, 1);  /* the list of jobs finished since the last poll */
  }
  if (luaL_dostring(L, "table.sort(done) print(table.concat(done, ' '))")
      != LUA_OK)
    return fail(L);
  lua_close(L);  /* waits for the last job */
  puts("closed");
  return 0;
}
