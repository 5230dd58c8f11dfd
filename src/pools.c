/*
** pools.c: the pool object in its owner's state (SPEC §10): jobs.pool,
** submit, close, #p, and the numbers its functions go by. Runs on the
** owner's thread only.
*/

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "copy.h"
#include "job.h"
#include "libs.h"
#include "manager.h"
#include "names.h"
#include "threads.h"
#include "state.h"
#include "tasks.h"
#include "worker.h"
#include "pools.h"


#define JOBS_POOL	"jobs.pool"
#define JOBS_TICKET	"jobs.pool.function"

#define UV_HUB		3
#define UV_INITSETS	4
#define NUV		4

/*
** A pool object: a full userdata holding a Box, with user values 1: a
** table with weak keys from each function submitted to the Ticket of its
** number (the number goes when the function does); 2: its name; 3: the
** hub 'hub' points at, which lives as long as the pool; 4: the set of the
** globals its 'init' assigns, which a task's function takes from the
** worker, not the caller (nil: no init).
*/
typedef struct Box {
  Pool *p;  /* NULL once closed and let go of */
  Hub *hub;
  int size;
  double timeout;  /* of each task, in seconds; negative: none */
  double grace;  /* of each task's <close> handlers as it stops */
  int num;  /* its number among the pools of its state, from 1 */
  int nextid;  /* the last number given to a function */
  lua_Integer ntasks;  /* tasks submitted */
  int closed;
} Box;


/* The number of a function submitted, while the function lives; its
** user value is the name its tasks go by. */
typedef struct Ticket {
  Pool *p;  /* a reference */
  int id;
  int tables;  /* functions in its tables name globals: its tasks' names
                  come from a walk of tables (names.c) */
} Ticket;


static Box *checkpool (lua_State *L) {
  return (Box *)luaL_checkudata(L, 1, JOBS_POOL);
}


/* Whether a value at 'from' .. 'to' of L may be or hold a module or a C
** function, which cross by name. */
static int mayname (lua_State *L, int from, int to) {
  for (; from <= to; from++) {
    int t = lua_type(L, from);
    if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA)
      return 1;
  }
  return 0;
}


static int ticket_gc (lua_State *L) {
  Ticket *k = (Ticket *)lua_touserdata(L, 1);
  if (k->p != NULL) {
    jobs_forgetfunction(k->p, k->id);
    jobs_unrefpool(k->p);
    k->p = NULL;
  }
  return 0;
}


/*
** The number of the function at 'fn' in pool 'b', its name pushed; or,
** if it is new, pushing nothing, its number to be, negated (the task that
** carries it in gives it a Ticket: 'remember').
*/
static int numberof (lua_State *L, Box *b, int fn, int *tables) {
  int id;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, fn);
  if (lua_rawget(L, -2) == LUA_TUSERDATA) {
    id = ((Ticket *)lua_touserdata(L, -1))->id;
    *tables = ((Ticket *)lua_touserdata(L, -1))->tables;
    lua_getiuservalue(L, -1, 1);
    lua_replace(L, -3);
    lua_pop(L, 1);
    return id;
  }
  if (b->nextid == INT_MAX)
    return luaL_error(L, "too many functions submitted to the pool");
  lua_pop(L, 2);
  return -(b->nextid + 1);
}


/* The function at 'fn', new to pool 'b', is number 'id' there from now,
** its tasks named as the job object at 'ud'. */
static void remember (lua_State *L, Box *b, int fn, int id, int ud,
                      int tables) {
  Ticket *k;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, fn);
  k = (Ticket *)lua_newuserdatauv(L, sizeof(Ticket), 1);
  k->p = NULL;
  k->tables = tables;
  luaL_setmetatable(L, JOBS_TICKET);
  lua_getiuservalue(L, ud, JOBS_NAMEUV);
  lua_setiuservalue(L, -2, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  /* only now that nothing can raise does it hold a reference */
  jobs_refpool(b->p);
  k->p = b->p;
  k->id = id;
  b->nextid = id;
}


/*
** p:submit(fn_or_string, ...): a job object for the task, which waits in
** line as "created" while 'size' tasks run. A string takes no arguments;
** its free names, as a function's globals, come with each task.
*/
static int pool_submit (lua_State *L) {
  Box *b = checkpool(L);
  int n = lua_gettop(L) - 2, id = 0, names, ud, err, index, hub, skip = 0;
  int tables = 0, copied;
  Job *t;
  if (b->closed)
    return luaL_error(L, "the pool is closed");
  if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNONE)
    id = numberof(L, b, 2, &tables);
  index = mayname(L, id > 0 ? 3 : 2, n + 2);
  hub = (lua_getiuservalue(L, 1, UV_HUB), lua_gettop(L));
  jobs_checkhub(L, hub);
  t = jobs_newtask(L, 2, id > 0 ? n + 3 : 0, hub);
  ud = lua_gettop(L);
  if (lua_type(L, 2) == LUA_TSTRING) {
    luaL_argcheck(L, n == 0, 3, "no value expected after a string");
    jobs_compile(L, 2);
    names = jobs_freenames(L, 2);
  }
  else {
    skip = (lua_getiuservalue(L, 1, UV_INITSETS), lua_gettop(L));
    names = jobs_functionnames(L, 2, n + 1, tables, skip);
  }
  if (index || names != 0 || tables) {  /* what crosses by name is then up
                                           to date */
    lua_pushcfunction(L, jobs_indexnames);
    lua_call(L, 0, 0);
  }
  copied = jobs_submit(L, b->p, t, 2, n, id, names);
  if ((copied & JOBS_COPYTABLEFNS) && !tables &&
      (names = (id != 0 ? jobs_functionnames(L, 2, n + 1, 1, skip)
                        : jobs_functionnames(L, names, 1, 1, skip))) != 0)
    jobs_renametask(L, b->p, t, names, id == 0);
  if (id < 0)
    remember(L, b, 2, -id, ud, (copied & JOBS_COPYTABLEFNS) != 0);
  jobs_setnum(L, ud, ++b->ntasks);
  jobs_settaskof(L, ud, b->num);
  t->opt.timeout = b->timeout;
  t->opt.grace = b->grace;
  if ((err = jobs_start(t, b->hub, b->p->limit)) != 0) {
    jobs_droptask(t);
    return luaL_error(L, "cannot start a thread for the task: %s",
                      strerror(err));
  }
  lua_settop(L, ud);
  return 1;
}


/* Lets go of the numbers of the functions of the pool at 1, whose pool 'p'
** is ending: each Ticket holds it, and one made by a finalizer as the
** state closes is never finalized itself. */
static void forgetall (lua_State *L, Pool *p) {
  lua_getiuservalue(L, 1, 1);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    Ticket *k = (Ticket *)lua_touserdata(L, -1);
    if (k->p != NULL) {
      k->p = NULL;
      jobs_unrefpool(p);  /* the pool's object holds it still */
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}


/* Lets go of the pool of 'b', whose tasks are over or end without it:
** its idle states close now, a running task's as the task ends. */
static void letgo (lua_State *L, Box *b) {
  b->closed = 1;
  jobs_closepool(b->p);
  forgetall(L, b->p);
  jobs_unrefpool(b->p);
  b->p = NULL;
}


/* p:close(), and a to-be-closed pool: waits for the tasks submitted, as
** any wait of L (a cancel of L's job, or the host, cuts it short with an
** error: the pool takes no more tasks, and is not ended yet), then ends
** the pool's states. */
static int pool_close (lua_State *L) {
  Box *b = checkpool(L);
  int st;
  b->closed = 1;
  if (b->p == NULL)
    return 0;
  if ((st = jobs_waitall(L, b->hub, b->p->limit, -1)) != 0)
    return luaL_error(L, "%s", jobs_whynot(st));
  letgo(L, b);
  return 0;
}


/* A pool collected, or in a state that closes, waits for nothing (a task
** may be waiting for its owner): the tasks in line end cancelled, and
** those running, cancelled too if L's job is stopping (as a stopping
** job's jobs stop with it), end in the background, where their states
** close on their own threads. */
static int pool_gc (lua_State *L) {
  Box *b = (Box *)lua_touserdata(L, 1);
  if (b->p == NULL)
    return 0;
  jobs_stoplimit(b->hub, b->p->limit, jobs_stopping(jobs_self(L)));
  letgo(L, b);
  return 0;
}


/* #p: its tasks queued or running. */
static int pool_len (lua_State *L) {
  Box *b = checkpool(L);
  int n = 0;
  if (b->p != NULL) {
    pthread_mutex_lock(&b->hub->mu);
    n = b->p->limit->unfinished;
    pthread_mutex_unlock(&b->hub->mu);
  }
  lua_pushinteger(L, n);
  return 1;
}


static int pool_tostring (lua_State *L) {
  Box *b = checkpool(L);
  lua_getiuservalue(L, 1, 2);
  lua_pushfstring(L, "<pool %s: %d states, %s>", lua_tostring(L, -1),
                  b->size, b->closed ? "closed" : "open");
  return 1;
}


/* core.poolsize(p): how many tasks it runs at once, for the Lua half. */
static int pool_size (lua_State *L) {
  lua_pushinteger(L, checkpool(L)->size);
  return 1;
}


/* The field 'key' of the options table at 1, pushed; its type. */
static int option (lua_State *L, const char *key) {
  return lua_getfield(L, 1, key);
}


static void badoption (lua_State *L, const char *key, const char *what) {
  luaL_error(L, "bad option '%s' to 'pool' (%s expected, got %s)", key,
             what, luaL_typename(L, -1));
}


/* The option 'key' of the options at 1, pushed: seconds, positive or
** (with 'zero') nought; 'absent' if absent, -1 past any clock we could
** wait on. */
static double readseconds (lua_State *L, const char *key, int zero,
                           double absent) {
  double secs;
  if (option(L, key) == LUA_TNIL)
    return absent;
  secs = lua_tonumber(L, -1);
  if (lua_type(L, -1) != LUA_TNUMBER || !(zero ? secs >= 0 : secs > 0))
    badoption(L, key, zero ? "non-negative number of seconds"
                           : "positive number of seconds");
  return secs > 1e9 ? -1 : secs;
}


/* The option 'size' of the options at 1: the CPUs online if absent. */
static int readsize (lua_State *L) {
  lua_Integer size;
  int isint;
  if (option(L, "size") == LUA_TNIL) {
    lua_pop(L, 1);
    return jobs_cores();
  }
  size = lua_tointegerx(L, -1, &isint);
  if (!isint || size < 1 || size > 1024)
    badoption(L, "size", "integer from 1 to 1024");
  lua_pop(L, 1);
  return (int)size;
}


/* Pushes the globals that the pool's 'init' at 'init' names (a string's
** free names; a function's, those of the functions in its tables too),
** but for the standard library's, each state's own, and a function's that
** it assigns (in 'sets'), the worker's: never looked up in your state;
** returns its index, or 0 if none (having pushed nil). */
static int initglobals (lua_State *L, int init, int string, int sets) {
  int names = string ? jobs_freenames(L, init)
                     : jobs_functionnames(L, init, 1, 1, sets);
  if (names == 0) {
    lua_pushnil(L);
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, names)) {  /* clearing a field it passed is allowed */
    lua_pop(L, 1);
    if (jobs_isstandard(lua_tostring(L, -1))) {
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, names);
    }
  }
  return names;
}


/* jobs.pool{engine = URL, ...}: a remote pool (SPEC §13), which
** jobs.remote makes, with the local pool's 'map'. */
static int remotepool (lua_State *L) {
  lua_settop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "jobs.remote");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "pool");
  lua_pushvalue(L, 1);
  luaL_getmetatable(L, JOBS_POOL);
  lua_getfield(L, -1, "__index");
  lua_getfield(L, -1, "map");
  lua_replace(L, -3);
  lua_pop(L, 1);
  lua_call(L, 2, 1);
  return 1;
}


/* jobs.pool{size, init, libs, memory_limit, timeout, grace, name} */
static int newpool (lua_State *L) {
  Hub *h = jobs_checkhub(L, lua_upvalueindex(1));
  static const char *const known[] = {"size", "init", "libs", "memory_limit",
                                      "timeout", "grace", "name", NULL};
  int size, init = 0, paths, libs = JOBS_ALLLIBS, t, initnames, initstring;
  int initsets;
  lua_Integer memory = 0;
  double timeout, grace;
  Box *b;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getfield(L, 1, "engine") != LUA_TNIL)
    return remotepool(L);
  lua_pop(L, 1);
  jobs_checkoptions(L, 1, known, "pool");
  size = readsize(L);
  if ((t = option(L, "init")) == LUA_TSTRING)
    jobs_compile(L, 2);
  else if (t != LUA_TNIL && t != LUA_TFUNCTION)
    badoption(L, "init", "function or string");
  init = (t != LUA_TNIL) ? 2 : 0;
  initstring = (t == LUA_TSTRING);
  if ((t = option(L, "name")) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "pool");
  }
  else if (t != LUA_TSTRING)
    badoption(L, "name", "string");
  if ((t = option(L, "libs")) == LUA_TTABLE)
    libs = jobs_checklibs(L, 4);
  else if (t != LUA_TNIL)
    badoption(L, "libs", "table");
  if ((t = option(L, "memory_limit")) != LUA_TNIL) {
    int isint;
    memory = lua_tointegerx(L, 5, &isint);
    if (!isint || memory <= 0)
      badoption(L, "memory_limit", "positive integer");
  }
  timeout = readseconds(L, "timeout", 0, -1);
  grace = readseconds(L, "grace", 1, JOBS_GRACE);
  paths = jobs_pushpaths(L);
  initsets = init != 0 ? jobs_assignednames(L, init) : 0;
  initnames = init != 0 ? initglobals(L, init, initstring, initsets) : 0;
  b = (Box *)lua_newuserdatauv(L, sizeof(Box), NUV);
  memset(b, 0, sizeof(Box));
  b->hub = h;
  b->num = ++h->npools;
  b->size = size;
  b->timeout = timeout;
  b->grace = grace;
  luaL_setmetatable(L, JOBS_POOL);
  lua_newtable(L);  /* the numbers of its functions */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setiuservalue(L, -2, UV_HUB);
  if (init != 0) {
    lua_pushvalue(L, initsets);
    lua_setiuservalue(L, -2, UV_INITSETS);
  }
  b->p = jobs_newpool(L, h, paths, init, initnames, size);
  b->p->libs = libs;
  b->p->memory = (size_t)memory;
  return 1;
}


static const luaL_Reg methods[] = {
  {"submit", pool_submit},
  {"close", pool_close},
  {NULL, NULL}
};


static const luaL_Reg metamethods[] = {
  {"__gc", pool_gc},
  {"__close", pool_close},
  {"__len", pool_len},
  {"__tostring", pool_tostring},
  {NULL, NULL}
};


/* Puts in the core at -2, with the hub at -1: 'pool', 'poolsize', and
** 'poolmethods' (the Lua half adds 'map'). */
void jobs_openpools (lua_State *L) {
  luaL_newmetatable(L, JOBS_TICKET);
  lua_pushcfunction(L, ticket_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, JOBS_POOL);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_setfield(L, -4, "poolmethods");
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, newpool, 1);
  lua_setfield(L, -3, "pool");
  lua_pushcfunction(L, pool_size);
  lua_setfield(L, -3, "poolsize");
}
