/*
** oomhost.c: runs a script that starts jobs, runs a pool's tasks, sends
** values through a channel and through a frame, copying values every way,
** in a state whose allocator fails at its k-th allocation after the
** standard libraries are open, for k = 1, 2, ... until the script runs
** through. Each
** run must end in success or in a Lua error about memory: never a crash, a
** hang or (in the sanitizer builds) a leak. An argument N > 1 tries every
** Nth allocation only.
*/

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"


static const char script[] =
  "local jobs = require 'jobs'\n"
  "local t = { list = { 1, 2, 3 }, name = 'x', f = function() return 1 end }\n"
  "t.self = t\n"
  "local j = jobs.new(function(t) return t, { ('y'):rep(100), math.sqrt }, t.f end, t)\n"
  "j:wait()\n"
  "local r = { j:results() }\n"
  "local d = jobs.new(function() error({ code = 1 }) end)\n"
  "d:wait()\n"
  "local e, tb = d.error, d:traceback()\n"
  "local s = jobs.new('x .. y', { x = 'a', y = 'b' })\n"
  "local p = jobs.pool { size = 1, init = function() X = 2 end }\n"
  "local pt = p:submit(function(t) return t.list, X end, t)\n"
  "pt:wait()\n"
  "local m = p:map(function(x) return x + 1 end, { 1, 2, 3 })\n"
  "p:close()\n"
  "local ch = jobs.channel()\n"
  "ch:push(t, pt.result)\n"
  "local back = ch:pop()\n"
  "local k = { key = 'k' }\n"
  "local w = jobs.decode(k, jobs.encode(k, t, math.sqrt, string))\n"
  "return tostring(s) .. tostring(s:wait()) .. m[3] .. #back.list .. w.name\n";


/* Allocations left before one fails, and what it is set to once the
** libraries are open; only the owner's thread allocates here (the jobs'
** states have allocators of their own), so no lock is needed. */
static long budget, limit;
static int failed;

static void *alloc (void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    free(p);
    return NULL;
  }
  if ((p == NULL || nsize > osize) && budget-- <= 0) {
    failed = 1;
    return NULL;  /* Lua never needs a shrink to succeed, so only growth fails */
  }
  return realloc(p, nsize);
}


static int body (lua_State *L) {
  luaL_openlibs(L);
  budget = limit;  /* Lua's own libraries are not under test */
  luaL_requiref(L, "jobs", luaopen_jobs, 0);
  lua_pop(L, 1);
  if (luaL_loadstring(L, script) != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}


int main (int argc, char **argv) {
  long k, step = argc > 1 ? atol(argv[1]) : 1;
  for (k = 0; ; k += step > 0 ? step : 1) {
    lua_State *L;
    int st;
    budget = LONG_MAX;
    limit = k;
    failed = 0;
    if ((L = lua_newstate(alloc, NULL)) == NULL)
      continue;
    lua_pushcfunction(L, body);
    st = lua_pcall(L, 0, 1, 0);
    if (st != LUA_OK && (!lua_isstring(L, -1) ||
                         strstr(lua_tostring(L, -1), "memory") == NULL)) {
      fprintf(stderr, "run %ld: unexpected error: %s\n", k,
              lua_isstring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
      lua_close(L);
      return 1;
    }
    if (st == LUA_OK && !failed) {
      printf("failed allocation 1 to %ld, every %ld, each in a run; then: %s\n",
             k, step > 0 ? step : 1, lua_tostring(L, -1));
      lua_close(L);
      return 0;
    }
    lua_close(L);
  }
}
