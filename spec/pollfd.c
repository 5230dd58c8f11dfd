/*
** pollfd.c: a test helper module: pollfd.readable(fd, seconds) tells,
** through poll(2), whether a descriptor becomes readable within 'seconds'.
*/

#include <poll.h>

#include "lua.h"
#include "lauxlib.h"


static int readable (lua_State *L) {
  struct pollfd p;
  p.fd = (int)luaL_checkinteger(L, 1);
  p.events = POLLIN;
  p.revents = 0;
  lua_pushboolean(L, poll(&p, 1, (int)(luaL_optnumber(L, 2, 0) * 1000)) > 0 &&
                     (p.revents & POLLIN));
  return 1;
}


int luaopen_pollfd (lua_State *L) {
  static const luaL_Reg funcs[] = {{"readable", readable}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
