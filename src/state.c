/*
** state.c: builds a job's lua_State (SPEC §2, §4): its libraries, paths
** and globals, the function and arguments copied in, the message handler
** that keeps its error's traceback.
*/

#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "build.h"
#include "cancel.h"
#include "copy.h"
#include "libs.h"
#include "names.h"
#include "state.h"


typedef struct Prep {
  lua_State *from;  /* the caller, holding the job's function at 'base' */
  Job *j;
  int base, nargs;  /* the function or string, and what follows it */
  int env;  /* index in 'from' of the env table, or 0 */
  int names;  /* index in 'from' of the string's free names, or 0 */
  int paths;  /* index in 'from' of its package.path, then cpath */
  int tablefns;  /* the copy met functions in tables (JOBS_COPYTABLEFNS) */
} Prep;


/* Runs protected: pushes the value at 1 as a string (__tostring may raise,
** or return no string). */
static int tostring (lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}


/*
** Message handler of a job: keeps the error value as it is, so that a table
** stays a table, and records a traceback taken where the error happened;
** none for a job cancelled or timed out, which will not end dead, nor for
** one ended by os.exit, which took its own where it was called.
*/
int jobs_msghandler (lua_State *L) {
  int t = lua_type(L, 1), named = 0;
  if (jobs_stopping(jobs_self(L)) || jobs_presettraceback(L))
    return 1;
  if (t == LUA_TSTRING || t == LUA_TNUMBER ||
      luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
    lua_settop(L, 1);
    lua_pushcfunction(L, tostring);
    lua_pushvalue(L, 1);
    named = (lua_pcall(L, 1, 1, 0) == LUA_OK);
  }
  if (!named) {
    lua_settop(L, 1);
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  jobs_keeptraceback(L, lua_tostring(L, -1), 1);
  lua_settop(L, 1);
  return 1;
}


/* Pushes package[field] of L, or nil. */
static void pushpackage (lua_State *L, const char *field) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_LOADLIBNAME) == LUA_TTABLE)
    lua_getfield(L, -1, field);
  else
    lua_pushnil(L);
  lua_replace(L, -3);
  lua_pop(L, 1);
}


/* Pushes L's package.path and package.cpath (nil if absent) for
** jobs_inherit; returns the index of the first. May raise in L. */
int jobs_pushpaths (lua_State *L) {
  pushpackage(L, "path");
  pushpackage(L, "cpath");
  return lua_gettop(L) - 1;
}


/* Gives the new state J the package.path and package.cpath that
** jobs_pushpaths left at 'paths' of L, and 'jobs' to require. Raises in J
** only; J is opened. */
void jobs_inherit (lua_State *L, int paths, lua_State *J) {
  static const char *const fields[] = {"path", "cpath"};
  int i;
  lua_getfield(J, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(J, -1, LUA_LOADLIBNAME);
  for (i = 0; i < 2; i++) {
    size_t len;
    const char *s = lua_tolstring(L, paths + i, &len);
    if (s != NULL) {  /* a string: lua_tolstring converts nothing */
      lua_pushlstring(J, s, len);
      lua_setfield(J, -2, fields[i]);
    }
  }
  lua_getfield(J, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(J, luaopen_jobs);
  lua_setfield(J, -2, "jobs");
  lua_pop(J, 3);
}


/* Runs protected in a new store: a table for its holder at Q[1]. */
static int setupstore (lua_State *Q) {
  jobs_openstore(Q);
  lua_newtable(Q);
  return 1;
}


lua_State *jobs_newstore (void) {
  lua_State *Q = luaL_newstate();
  if (Q == NULL)
    return NULL;
  lua_pushcfunction(Q, setupstore);
  if (lua_pcall(Q, 0, 1, 0) != LUA_OK) {
    lua_close(Q);
    return NULL;
  }
  return Q;
}


void jobs_setglobals (lua_State *J) {
  lua_rawgeti(J, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushnil(J);
  while (lua_next(J, -3)) {
    lua_pushvalue(J, -2);
    lua_insert(J, -2);
    lua_rawset(J, -4);
  }
  lua_pop(J, 2);
}


/* Copies the caller's 'env' table into J's globals. */
static void setglobals (Prep *p, lua_State *J) {
  jobs_copy(p->from, p->env, 1, J, "env", 0);
  jobs_setglobals(J);
}


/*
** Copies into J's globals the string's free names (a table of 'from' from
** name to value) that J's libraries do not define already, in one copy so
** that values they share stay shared. Reads 'from' without raising there:
** the names to copy, then their values, go on its stack.
*/
static void setnames (Prep *p, lua_State *J) {
  lua_State *L = p->from;
  int first = lua_gettop(L) + 1, n = 0, i;
  lua_rawgeti(J, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  if (!lua_checkstack(L, 1))
    luaL_error(J, "not enough stack space to copy");
  lua_pushnil(L);
  while (lua_next(L, p->names)) {
    const char *name;
    lua_pop(L, 1);
    if (jobs_isstandard(name = lua_tostring(L, -1)))
      continue;
    if (lua_getfield(J, -1, name) == LUA_TNIL) {  /* not the job's own */
      if (!lua_checkstack(L, 3))
        luaL_error(J, "too many names to copy");
      lua_pushvalue(L, -1);  /* keep it, below the key 'next' goes on from */
      lua_insert(L, -2);
      n++;
    }
    lua_pop(J, 1);
  }
  if (!lua_checkstack(L, n + LUA_MINSTACK))
    luaL_error(J, "too many names to copy");
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, first + i);
    lua_rawget(L, p->names);
  }
  p->tablefns |= jobs_copy(L, first + n, n, J, NULL, first);
  for (i = n - 1; i >= 0; i--)
    lua_setfield(J, -2 - i, lua_tostring(L, first + i));
  lua_pop(J, 1);
}


/* Runs protected in the job's state; leaves [msghandler, function, args...]
** (a string's chunk is compiled already, in the caller: it crosses as any
** function). */
static int prepare (lua_State *J) {
  Prep *p = (Prep *)lua_touserdata(J, 1);
  lua_pop(J, 1);
  jobs_openlibs(J, p->j);
  jobs_inherit(p->from, p->paths, J);
  if (p->env != 0)
    setglobals(p, J);
  else if (p->names != 0)
    setnames(p, J);
  lua_pushcfunction(J, jobs_msghandler);
  p->tablefns |= jobs_copy(p->from, p->base, p->nargs, J, jobs_jobroot, 0);
  return lua_gettop(J);
}


/* Runs protected in the job's state, [msghandler, function, args...]
** below: adds the free names of the functions in tables ('p->names'). */
static int addnames (lua_State *J) {
  Prep *p = (Prep *)lua_touserdata(J, -1);
  lua_pop(J, 1);
  setnames(p, J);
  return 0;
}


/*
** The names of the functions that the copy met in tables, which the pass
** before it does not walk (its cost would be a walk of every table given
** to a job): walked now, only for a copy that met such a function, from
** the job's values and the names given it already (a table among them may
** hold such functions too). Pushes the table of names, or returns 0.
*/
static int tablenames (lua_State *L, Prep *p) {
  int i, n = p->nargs + (p->names != 0), first = lua_gettop(L) + 1;
  luaL_checkstack(L, n + 1, "reading the globals a function names");
  for (i = 0; i < p->nargs; i++)
    lua_pushvalue(L, p->base + i);
  if (p->names != 0)
    lua_pushvalue(L, p->names);
  p->names = jobs_functionnames(L, first, n, 1, 0);
  if (p->names == 0) {
    lua_settop(L, first - 1);
    return 0;
  }
  lua_replace(L, first);
  lua_settop(L, first);
  return p->names = first;
}


/* Runs 'fn' protected in J with 'p' as a light userdata; returns its
** status, the state's error message, if any, raised in L unless J's
** memory limit refused a block (then 1: the job dies of it). The
** state, on an error, is closed. */
static int inprepared (lua_State *L, lua_State *J, lua_CFunction fn, Prep *p,
                       int nresults) {
  Job *j = p->j;
  int st, died;
  lua_pushcfunction(J, fn);
  lua_pushlightuserdata(J, p);
  if ((st = lua_pcall(J, 1, nresults, 0)) == LUA_OK)
    return 0;
  died = (st == LUA_ERRMEM && j->heap.refused);
  if (!died)
    lua_pushstring(L, lua_type(J, -1) == LUA_TSTRING ? lua_tostring(J, -1)
                                                      : "cannot start job");
  jobs_closejob(j, J);
  j->L = NULL;
  if (!died)
    lua_error(L);
  return 1;
}


/*
** Gives 'j' a fresh state holding what the caller's function or string at
** 'base' and the 'nargs' - 1 values after it ask it to run, with the globals
** of the table at 'env' (0: none) or the free names at 'names' (0: none).
** Returns 0; or 1 if the state could not hold that within the job's memory
** limit: the job dies of it, as it would running (no state is left). Raises
** in L on any other failure (syntax error, a value that cannot be copied,
** out of memory), leaving 'j->L' for the job object to close.
*/
int jobs_prepare (lua_State *L, Job *j, int base, int nargs, int env,
                  int names) {
  Prep p;
  lua_State *J;
  lua_Alloc alloc;
  int top = lua_gettop(L), st;
  p.from = L;
  p.j = j;
  p.base = base;
  p.nargs = nargs;
  p.env = env;
  p.names = names;
  p.paths = jobs_pushpaths(L);  /* reads of L that may raise come first... */
  if ((alloc = jobs_newheap(&j->heap)) == NULL)
    luaL_error(L, "not enough memory");
  if ((j->L = J = lua_newstate(alloc, &j->heap)) == NULL) {
    st = j->heap.refused;
    jobs_freeheap(&j->heap);
    if (!st)
      luaL_error(L, "not enough memory");
    lua_settop(L, top);
    return 1;
  }
  /* The collector's mode of the states lua5.4 and luajobs run scripts in,
  ** set while the state is empty (entering it collects once). */
  lua_gc(J, LUA_GCGEN, 0, 0);
  lua_gc(J, LUA_GCSTOP);  /* all it holds until it runs is alive */
  p.tablefns = 0;
  if (inprepared(L, J, prepare, &p, LUA_MULTRET) ||  /* now only J raises */
      (p.env == 0 && (p.tablefns & JOBS_COPYTABLEFNS) &&
       tablenames(L, &p) != 0 && inprepared(L, J, addnames, &p, 0))) {
    lua_settop(L, top);
    return 1;
  }
  lua_gc(J, LUA_GCRESTART);
  lua_settop(L, top);
  return 0;
}
