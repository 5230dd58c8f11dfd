/*
** sigmask.c: a test helper module: sigmask.blocked(signo) tells whether the
** calling thread blocks that signal.
*/

#include <pthread.h>
#include <signal.h>

#include "lua.h"
#include "lauxlib.h"


static int blocked (lua_State *L) {
  sigset_t set;
  pthread_sigmask(SIG_BLOCK, NULL, &set);
  lua_pushboolean(L, sigismember(&set, (int)luaL_checkinteger(L, 1)) == 1);
  return 1;
}


int luaopen_sigmask (lua_State *L) {
  static const luaL_Reg funcs[] = {{"blocked", blocked}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
