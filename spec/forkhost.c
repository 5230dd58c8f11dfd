/*
** forkhost.c: a C host that forks with a job running, as HAProxy's
** master-worker mode does: the child runs a job of its own, finds the
** parent's job not its own, and closes its state without waiting for the
** parent's threads; the parent cancels its job and closes too. Exits 0
** when all of that holds.
*/

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"


/* Runs 'code' in L; says why and returns 0 if it raised. */
static int run (lua_State *L, const char *code) {
  if (luaL_dostring(L, code) == LUA_OK)
    return 1;
  fprintf(stderr, "forkhost: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 0;
}


int main (void) {
  lua_State *L = luaL_newstate();
  int ok, st;
  pid_t pid;
  luaL_openlibs(L);
  luaL_requiref(L, "jobs", luaopen_jobs, 1);
  lua_pop(L, 1);
  ok = run(L, "ready = jobs.channel()\n"
              "spin = jobs.new(function(ready) ready:push(true) while true do end end,"
              " ready)\n"
              "ready:pop()");
  fflush(NULL);
  if (ok && (pid = fork()) == 0) {
    ok = run(L, "assert(spin.status == 'dead' and not spin:cancel())\n"
                "assert(select(2, spin:wait()):find('which forked this one'))\n"
                "local j = jobs.new(function(x) return x * 2 end, 21)\n"
                "assert(select(2, j:wait(10)) == 42)");
    lua_close(L);
    _exit(ok ? 0 : 1);  /* the parent's job states are left as they were */
  }
  ok = ok && pid > 0 && run(L, "spin:cancel() assert(spin:wait(10) == false)");
  ok = ok && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  lua_close(L);
  return ok ? 0 : 1;
}
