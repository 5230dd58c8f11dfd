/*
** sigmask.c: a test helper module: which signals the calling thread
** blocks, and signals taken by a handler before luajobs chooses its own.
*/

#include <pthread.h>
#include <signal.h>

#include "lua.h"
#include "lauxlib.h"


/* sigmask.blocked(signo): whether the calling thread blocks it. */
static int blocked (lua_State *L) {
  sigset_t set;
  pthread_sigmask(SIG_BLOCK, NULL, &set);
  lua_pushboolean(L, sigismember(&set, (int)luaL_checkinteger(L, 1)) == 1);
  return 1;
}


/* sigmask.unblocked(): the signals up to SIGRTMAX the calling thread lets
** through, as a list. */
static int unblocked (lua_State *L) {
  sigset_t set;
  int sig, n = 0;
  pthread_sigmask(SIG_BLOCK, NULL, &set);
  lua_newtable(L);
  for (sig = 1; sig <= SIGRTMAX; sig++)
    if (sigismember(&set, sig) == 0) {
      lua_pushinteger(L, sig);
      lua_rawseti(L, -2, ++n);
    }
  return 1;
}


static void ignore (int sig) {
  (void)sig;
}


/* sigmask.take(signo): gives the signal a handler of the host's own. */
static int take (lua_State *L) {
  struct sigaction sa;
  sa.sa_handler = ignore;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  lua_pushboolean(L, sigaction((int)luaL_checkinteger(L, 1), &sa, NULL) == 0);
  return 1;
}


/* sigmask.realtime(): SIGRTMIN and SIGRTMAX. */
static int realtime (lua_State *L) {
  lua_pushinteger(L, SIGRTMIN);
  lua_pushinteger(L, SIGRTMAX);
  return 2;
}


int luaopen_sigmask (lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"blocked", blocked}, {"unblocked", unblocked}, {"take", take},
    {"realtime", realtime}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
