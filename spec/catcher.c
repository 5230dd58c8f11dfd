/*
** catcher.c: a test helper module: a C function that catches what its
** Lua callback raises, as many C modules' lua_pcall does, and goes on.
*/

#include "lua.h"
#include "lauxlib.h"


/* catcher.swallow(f, ...): calls f(...) protected; returns false and the
** error if it raised, true if not, and nothing else. */
static int swallow (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushboolean(L, lua_pcall(L, lua_gettop(L) - 1, 0, 0) == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}


int luaopen_catcher (lua_State *L) {
  static const luaL_Reg funcs[] = {{"swallow", swallow}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
