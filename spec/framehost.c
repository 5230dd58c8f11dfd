/*
** framehost.c: a C host using jobs_encode and jobs_decode (SPEC §12): a
** frame of values made and read in protected mode, tagged with a key from
** an options table, the values read pushed and counted and nothing else;
** a cut frame and a wrong key refused with an error.
*/

#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"


/* Options at 1: { key = 'a host's key' }. */
static void pushoptions (lua_State *L, const char *key) {
  lua_createtable(L, 0, 1);
  lua_pushstring(L, key);
  lua_setfield(L, -2, "key");
}


/* A replay check that has seen no frame. */
static int unseen (lua_State *L) {
  lua_pushboolean(L, 0);
  return 1;
}


/* Encodes 42, "text" and a table holding a function, decodes them (with a
** replay check), and checks what came back: those three, pushed and
** counted, and nothing else left on the stack. */
static int roundtrip (lua_State *L) {
  size_t len;
  const char *frame;
  int top;
  pushoptions(L, "a host's key");
  lua_pushinteger(L, 42);
  lua_pushliteral(L, "text");
  if (luaL_dostring(L, "return { list = { 1, 2, 3 }, "
                       "f = function(x) return x + 1 end }") != LUA_OK)
    return lua_error(L);
  jobs_encode(L, 2, 3, 1);
  frame = lua_tolstring(L, -1, &len);
  lua_pushcfunction(L, unseen);
  lua_setfield(L, 1, "replay");
  top = lua_gettop(L);
  if (jobs_decode(L, frame, len, 1) != 3 || lua_gettop(L) != top + 3 ||
      lua_tointeger(L, -3) != 42 ||
      strcmp(lua_tostring(L, -2), "text") != 0)
    return luaL_error(L, "the values did not come back");
  lua_getfield(L, -1, "f");
  lua_pushinteger(L, 41);
  lua_call(L, 1, 1);
  if (lua_tointeger(L, -1) != 42)
    return luaL_error(L, "the function did not come back");
  return 0;
}


/* Decodes the frame at 1, cut by the integer at 2 bytes, with the key at
** 3 if it is not nil. */
static int decodecut (lua_State *L) {
  size_t len;
  const char *frame = lua_tolstring(L, 1, &len);
  int opts = 0;
  if (!lua_isnil(L, 3)) {
    pushoptions(L, lua_tostring(L, 3));
    opts = lua_gettop(L);
  }
  return jobs_decode(L, frame, len - (size_t)lua_tointeger(L, 2), opts);
}


/* Whether the frame of 7 (tagged with 'key', if not NULL), cut by 'cut'
** bytes and read with 'readkey', is refused with an error holding 'want'. */
static int refuses (lua_State *L, const char *key, int cut,
                    const char *readkey, const char *want) {
  int ok;
  lua_pushcfunction(L, decodecut);
  if (key != NULL)
    pushoptions(L, key);
  else
    lua_pushnil(L);
  lua_pushinteger(L, 7);
  jobs_encode(L, -1, 1, key != NULL ? -2 : 0);  /* function, opts, 7, frame */
  lua_replace(L, -3);
  lua_pop(L, 1);
  lua_pushinteger(L, cut);
  if (readkey != NULL)
    lua_pushstring(L, readkey);
  else
    lua_pushnil(L);
  ok = lua_pcall(L, 3, 0, 0) != LUA_OK &&
       strstr(lua_tostring(L, -1), want) != NULL;
  if (!ok)
    fprintf(stderr, "framehost: wanted '%s', got '%s'\n", want,
            lua_tostring(L, -1));
  lua_pop(L, 1);
  return ok;
}


int main (void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushcfunction(L, roundtrip);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    fprintf(stderr, "framehost: %s\n", lua_tostring(L, -1));
    return 1;
  }
  if (!refuses(L, NULL, 1, NULL, "frame cut short") ||
      !refuses(L, "a host's key", 0, "another key",
               "frame's tag does not match the key"))
    return 1;
  lua_close(L);
  puts("frames made and read");
  return 0;
}
