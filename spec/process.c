/*
** process.c: a test helper module: fork(2) and waitpid(2) from Lua, as a
** host that forks (HAProxy's master-worker mode) does.
*/

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"


/* process.fork(): the child's pid in the parent, 0 in the child. */
static int pfork (lua_State *L) {
  pid_t pid = fork();
  if (pid < 0)
    return luaL_error(L, "fork failed");
  lua_pushinteger(L, pid);
  return 1;
}


/* process.wait(pid): the child's exit status, or nil and "signal N". */
static int pwait (lua_State *L) {
  int st;
  if (waitpid((pid_t)luaL_checkinteger(L, 1), &st, 0) < 0)
    return luaL_error(L, "waitpid failed");
  if (WIFEXITED(st)) {
    lua_pushinteger(L, WEXITSTATUS(st));
    return 1;
  }
  lua_pushnil(L);
  lua_pushfstring(L, "signal %d", WTERMSIG(st));
  return 2;
}


/* process.exit(code): ends the process at once, as a forked child that
** goes no further does (_exit: no state closes, no buffer is flushed). */
static int pexit (lua_State *L) {
  _exit((int)luaL_checkinteger(L, 1));
  return 0;
}


int luaopen_process (lua_State *L) {
  static const luaL_Reg funcs[] = {{"fork", pfork}, {"wait", pwait},
                                   {"exit", pexit}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
