/*
** libs.c: the standard libraries of a job's state (SPEC §2 'libs'), each
** opened at its first use; print and io.write of captured output.
*/

#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "cancel.h"
#include "copy.h"
#include "libs.h"
#include "child.h"


/* The io and os libraries of a job: the processes it starts get the
** host's signal mask (child.c). */
static int openio (lua_State *L) {
  luaopen_io(L);
  lua_pushcfunction(L, jobs_popen);
  lua_setfield(L, -2, "popen");
  return 1;
}


static int openos (lua_State *L) {
  jobs_openos(L);
  lua_pushcfunction(L, jobs_execute);
  lua_setfield(L, -2, "execute");
  return 1;
}


static const luaL_Reg libs[] = {  /* base and package are always opened */
  {LUA_COLIBNAME, jobs_opencoroutine},
  {LUA_TABLIBNAME, luaopen_table},
  {LUA_IOLIBNAME, openio},
  {LUA_OSLIBNAME, openos},
  {LUA_STRLIBNAME, luaopen_string},
  {LUA_MATHLIBNAME, luaopen_math},
  {LUA_UTF8LIBNAME, luaopen_utf8},
  {LUA_DBLIBNAME, jobs_opendebug},
  {NULL, NULL}
};

/* The bit of library 'name' in 'libs'; 0 for base and package, which every
** job opens; -1 for any other name. */
static int libbit (const char *name) {
  int k;
  if (name == NULL)
    return -1;
  for (k = 0; libs[k].name != NULL; k++)
    if (strcmp(name, libs[k].name) == 0)
      return 1 << k;
  return (strcmp(name, "base") == 0 || strcmp(name, LUA_LOADLIBNAME) == 0)
         ? 0 : -1;
}


/* The 'libs' option at 'idx', a table of names, as bits. */
int jobs_checklibs (lua_State *L, int idx) {
  int i, n, bits = 0;
  n = (int)luaL_len(L, idx);
  for (i = 1; i <= n; i++) {
    int bit;
    lua_geti(L, idx, i);
    if ((bit = libbit(lua_tostring(L, -1))) < 0)
      luaL_error(L, "bad option 'libs' to 'spawn' (unknown library '%s')",
                 luaL_tolstring(L, -1, NULL));
    bits |= bit;
    lua_pop(L, 1);
  }
  return bits;
}


/* Print and io.write of a job whose output is captured: upvalue 1 is the
** Job; they append to 'j->out' under 'j->mu'. */
static void capture (lua_State *L, Job *j, const char *s, size_t len) {
  Text *t = &j->out;
  int ok = 1;
  pthread_mutex_lock(&j->mu);
  if (t->len + len > t->size) {
    size_t size = (t->len + len) * 2;
    char *grown = (char *)realloc(t->s, size);
    if (grown == NULL)
      ok = 0;
    else {
      t->s = grown;
      t->size = size;
    }
  }
  if (ok && len > 0) {
    memcpy(t->s + t->len, s, len);
    t->len += len;
  }
  pthread_mutex_unlock(&j->mu);
  if (!ok)
    luaL_error(L, "not enough memory");
}


static int capprint (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  size_t len;
  const char *s;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  s = lua_tolstring(L, -1, &len);
  capture(L, j, s, len);
  return 0;
}


static int capwrite (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    char num[64];
    size_t len;
    const char *s = num;
    if (lua_type(L, i) != LUA_TNUMBER)
      s = luaL_checklstring(L, i, &len);
    else if (lua_isinteger(L, i))  /* as io.write formats numbers */
      len = (size_t)snprintf(num, sizeof(num), LUA_INTEGER_FMT,
                             (LUAI_UACINT)lua_tointeger(L, i));
    else
      len = (size_t)snprintf(num, sizeof(num), LUA_NUMBER_FMT,
                             (LUAI_UACNUMBER)lua_tonumber(L, i));
    capture(L, j, s, len);
  }
  return 0;
}


/*
** A library opened at its first use. Opening them all takes five times as
** long as a state with base, package and string alone, and most jobs use
** few. Its table stands in the globals and package.loaded from the start,
** empty, with a metatable whose '__open' is its luaopen_ function: the
** first read of a field it lacks, or 'pairs', fills it (fields set before
** stay) and drops the metatable.
*/
static void fill (lua_State *L) {  /* the table at 1 */
  if (!lua_getmetatable(L, 1))
    return;
  if (lua_getfield(L, -1, "__open") != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_call(L, 0, 1);  /* the library, opened */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, 1) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, 1);
    }
    else
      lua_pop(L, 2);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  lua_setmetatable(L, 1);
  jobs_forgetnames(L);  /* its C functions now have names to cross by */
}


static int lazyindex (lua_State *L) {
  lua_settop(L, 2);
  fill(L);
  lua_rawget(L, 1);
  return 1;
}


/* The 'next' of pairs over a library: the job's global 'next' may be
** anything by then. */
static int rawnext (lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, 1))
    return 2;
  lua_pushnil(L);
  return 1;
}


static int lazypairs (lua_State *L) {
  lua_settop(L, 1);
  fill(L);
  lua_pushcfunction(L, rawnext);
  lua_insert(L, 1);
  lua_pushnil(L);
  return 3;
}


/* Sets global 'name' and package.loaded[name] to a library table that
** 'open' fills at its first use. */
static void lazylib (lua_State *J, const char *name, lua_CFunction open) {
  luaL_getsubtable(J, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_createtable(J, 0, 0);
  lua_createtable(J, 0, 3);
  lua_pushcfunction(J, open);
  lua_setfield(J, -2, "__open");
  lua_pushcfunction(J, lazyindex);
  lua_setfield(J, -2, "__index");
  lua_pushcfunction(J, lazypairs);
  lua_setfield(J, -2, "__pairs");
  lua_setmetatable(J, -2);
  lua_pushvalue(J, -1);
  lua_setfield(J, -3, name);
  lua_setglobal(J, name);
  lua_pop(J, 1);
}


/* Opens what 'j->opt' asks for in J (string at once, for the methods of
** strings; the others at first use); with captured output, replaces print
** and io.write there. Runs protected in J. */
void jobs_openlibs (lua_State *J, Job *j) {
  int k;
  jobs_setself(J, j);  /* first: libraries of a job guard it */
  luaL_requiref(J, LUA_GNAME, jobs_openbase, 1);
  luaL_requiref(J, LUA_LOADLIBNAME, luaopen_package, 1);
  lua_pop(J, 2);
  for (k = 0; libs[k].name != NULL; k++) {
    if (!(j->opt.libs & (1 << k)))
      continue;
    if (libs[k].func == luaopen_string) {
      luaL_requiref(J, libs[k].name, libs[k].func, 1);
      lua_pop(J, 1);
    }
    else
      lazylib(J, libs[k].name, libs[k].func);
  }
  if (j->opt.capture) {
    lua_pushlightuserdata(J, j);
    lua_pushcclosure(J, capprint, 1);
    lua_setglobal(J, "print");
    if (lua_getglobal(J, LUA_IOLIBNAME) == LUA_TTABLE) {
      lua_pushlightuserdata(J, j);
      lua_pushcclosure(J, capwrite, 1);
      lua_setfield(J, -2, "write");
    }
    lua_pop(J, 1);
  }
}
