/*
** tasks.c: a pool's tasks (SPEC §10): the warm states that run them, and
** the copies of tasks in and of outcomes out, through the pool's store.
**
** Who owns what, and when:
**   - the store 'p->Q', its stack, Q[1] and every carrier in its registry:
**     whichever thread holds 'p->mu';
**   - a warm state: the pool's while in 'p->idle' (under 'p->mu'); then the
**     thread that took it out, which runs one task in it and gives it back,
**     or hands it to the hub's closing (jobs_closestate, worker.c);
**   - a task's carrier: its arguments go in from submit, and come out on
**     the thread that runs it; its outcome goes in there before the task's
**     final status is set, and the owner's thread reads it after reading
**     that status; all under 'p->mu';
**   - what travels in the task's record ('small', 'nsmall', 'slot',
**     'fnid'): written by the owner before the task starts (jobs_start
**     hands it over under the hub's mutex), then by the task's thread
**     before its final status is set under 'j->mu', after which only the
**     owner reads them.
** A store's slot is read and written with integer keys only, so that a
** thread holding 'p->mu' raises nothing there outside a protected call.
*/

#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "copy.h"
#include "libs.h"
#include "line.h"
#include "state.h"
#include "worker.h"
#include "tasks.h"


/* Q[1]: [number] the functions tasks run; INIT, PATH, CPATH below. A
** carrier: the function alone, for a task whose arguments travel in its
** record; or a table: [C_FN] its function's number (0: none, a string's
** chunk), [C_NAMES] the globals it names (or false), [C_CHUNK] the
** function, [C_N] how many arguments (-1: in its record), then the
** arguments; a string's, [C_MORE] the globals that functions among its
** names name, for the state's globals (or nil). An outcome: a completed task's {n, results...}, a dead
** one's {error, traceback} (or, where even that could not be made, its
** message alone). */
#define INIT		0
#define PATH		(-1)
#define CPATH		(-2)
#define INITNAMES	(-3)
#define C_FN		1
#define C_NAMES		2
#define C_CHUNK		3
#define C_N		4
#define C_MORE		0

/* Its address keys, in a warm state's registry, the functions it has
** loaded, by number. */
static const char loadedkey = 0;


static void freepool (Pool *p) {
  pthread_mutex_lock(&p->hub->mu);
  jobs_unref(p->limit);
  pthread_mutex_unlock(&p->hub->mu);
  lua_close(p->Q);
  pthread_mutex_destroy(&p->mu);
  free(p);
}


void jobs_refpool (Pool *p) {
  __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
}


void jobs_unrefpool (Pool *p) {
  if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
    freepool(p);
}


/* Copies the message on top of Q (or 'what', if no string) into 'msg'. */
static void keepmessage (lua_State *Q, char *msg, const char *what) {
  const char *s = lua_type(Q, -1) == LUA_TSTRING ? lua_tostring(Q, -1) : what;
  size_t len = strlen(s);
  if (len >= JOBS_MSGMAX)
    len = JOBS_MSGMAX - 1;
  memcpy(msg, s, len);
  msg[len] = '\0';
}


/*
** {======================================================
** The owner's thread: making a pool, submitting, reading outcomes
** =======================================================
*/

typedef struct Making {
  lua_State *L;
  int paths, init, names;
} Making;


/* Runs protected in Q, with Q[1] at 1: the paths and 'init' go there. */
static int setpool (lua_State *Q) {
  Making *m = (Making *)lua_touserdata(Q, 2);
  size_t len;
  const char *s;
  if ((s = lua_tolstring(m->L, m->paths, &len)) != NULL) {
    lua_pushlstring(Q, s, len);
    lua_rawseti(Q, 1, PATH);
  }
  if ((s = lua_tolstring(m->L, m->paths + 1, &len)) != NULL) {
    lua_pushlstring(Q, s, len);
    lua_rawseti(Q, 1, CPATH);
  }
  if (m->init != 0) {
    jobs_copy(m->L, m->init, 1, Q, "init", 0);
    lua_rawseti(Q, 1, INIT);
  }
  if (m->names != 0) {
    jobs_copy(m->L, m->names, 1, Q, "init's globals", 0);
    lua_rawseti(Q, 1, INITNAMES);
  }
  return 0;
}


static JobStatus runtask (Runner *r, Job *t);

/*
** A new pool for the hub 'h' of L: at most 'size' tasks at once, with the
** package paths that jobs_pushpaths left at 'paths' of L, and the function
** at 'init' (0: none) to run in each state first, with the globals it
** names at 'names' (0: none). Raises in L.
*/
Pool *jobs_newpool (lua_State *L, Hub *h, int paths, int init, int names,
                    int size) {
  Making m;
  char msg[JOBS_MSGMAX];
  Pool *p = (Pool *)calloc(1, sizeof(Pool));
  if (p == NULL || (p->limit = jobs_newlimit()) == NULL ||
      (p->Q = jobs_newstore()) == NULL) {
    if (p != NULL)
      free(p->limit);
    free(p);
    luaL_error(L, "not enough memory");
  }
  jobs_initmutex(&p->mu);
  p->refs = 1;
  p->hub = h;
  p->libs = JOBS_ALLLIBS;
  p->hasinit = (init != 0);
  p->limit->max = size;
  p->limit->open = 0;  /* no wait_any: tasks go to no list as they end */
  p->limit->run = runtask;
  p->limit->drop = jobs_droptask;
  m.L = L;
  m.paths = paths;
  m.init = init;
  m.names = names;
  lua_pushcfunction(p->Q, setpool);  /* the store is new: nobody else's */
  lua_pushvalue(p->Q, 1);
  lua_pushlightuserdata(p->Q, &m);
  if (lua_pcall(p->Q, 2, 0, 0) != LUA_OK) {
    keepmessage(p->Q, msg, "cannot copy init");
    p->hub = NULL;
    lua_close(p->Q);
    pthread_mutex_destroy(&p->mu);
    free(p->limit);
    free(p);
    luaL_error(L, "%s", msg);
  }
  return p;
}


typedef struct Sub {
  lua_State *L;
  int base, n;  /* the function at 'base' of L, then 'n' arguments (-1:
                   none to copy, they travel in the record) */
  int id;  /* the function's number; 0: a string's chunk, sent each time */
  int isnew;  /* the function goes into Q[1] with this task */
  int names;  /* index in L of the globals it names, or 0 */
  int bare;  /* set: the carrier is the function alone */
  int copied;  /* what the copy reported (JOBS_COPYTABLEFNS) */
} Sub;


/* Runs protected in Q, with Q[1] at 1: pushes the reference of a new
** carrier of the task 's' asks for, its function copied only if new. */
static int pushtask (lua_State *Q) {
  Sub *s = (Sub *)lua_touserdata(Q, 2);
  int fn = (s->id == 0 || s->isnew), c, i, n = s->n < 0 ? 0 : s->n;
  if ((s->bare = (s->n < 0 && !fn && s->names == 0))) {  /* all it holds */
    lua_rawgeti(Q, 1, s->id);
    lua_pushinteger(Q, luaL_ref(Q, LUA_REGISTRYINDEX));
    return 1;
  }
  lua_createtable(Q, n + C_N, 0);
  c = lua_gettop(Q);
  luaL_checkstack(Q, n + LUA_MINSTACK, "too many arguments");
  if (n + fn > 0)
    s->copied = jobs_copy(s->L, fn ? s->base : s->base + 1, n + fn, Q,
                          jobs_jobroot, !fn);
  for (i = n; i >= 1; i--)
    lua_rawseti(Q, c, C_N + i);
  if (fn && s->id != 0) {
    lua_pushvalue(Q, -1);
    lua_rawseti(Q, 1, s->id);
  }
  else if (!fn)  /* it holds the function, which Q[1] may forget first */
    lua_rawgeti(Q, 1, s->id);
  lua_rawseti(Q, c, C_CHUNK);
  lua_pushinteger(Q, s->id);
  lua_rawseti(Q, c, C_FN);
  if (s->names != 0)
    s->copied |= jobs_copy(s->L, s->names, 1, Q, "globals", 0);
  else
    lua_pushboolean(Q, 0);
  lua_rawseti(Q, c, C_NAMES);
  lua_pushinteger(Q, s->n);
  lua_rawseti(Q, c, C_N);
  lua_pushinteger(Q, luaL_ref(Q, LUA_REGISTRYINDEX));
  return 1;
}


/*
** Gives the task 't' of pool 'p' its carrier: the function at 'base' of L
** (numbered 'id', see Sub; negative: new) and the 'n' arguments after it,
** with the globals at 'names' (0: none). Raises in L if a value cannot be
** copied, the task then holding nothing. Returns what the copy reported:
** JOBS_COPYTABLEFNS asks for the names of functions in tables (see
** jobs_renametask).
*/
int jobs_submit (lua_State *L, Pool *p, Job *t, int base, int n, int id,
                 int names) {
  Sub s;
  char msg[JOBS_MSGMAX];
  int st;
  s.L = L;
  s.base = base;
  s.copied = 0;
  t->nsmall = -1;
  if (names == 0 && jobs_tosmall(L, base + 1, n, t->small)) {
    t->nsmall = n;
    n = -1;
  }
  s.n = n;
  s.isnew = (id < 0);
  s.id = t->fnid = (id < 0 ? -id : id);
  s.names = names;
  pthread_mutex_lock(&p->mu);
  lua_pushcfunction(p->Q, pushtask);
  lua_pushvalue(p->Q, 1);
  lua_pushlightuserdata(p->Q, &s);
  if ((st = lua_pcall(p->Q, 2, 1, 0)) == LUA_OK) {
    t->slot = (int)lua_tointeger(p->Q, -1);
    t->bare = s.bare;
    t->pool = p;
    jobs_refpool(p);
  }
  else
    keepmessage(p->Q, msg, "cannot submit the task");
  lua_settop(p->Q, 1);
  pthread_mutex_unlock(&p->mu);
  if (st != LUA_OK)
    luaL_error(L, "%s", msg);
  return s.copied;
}


/* Runs protected in Q, with Q[1] at 1: the carrier of the task 's' asks
** for takes the globals at 's->names' instead of those it has, or with
** 's->n', as more globals. */
static int renametask (lua_State *Q) {
  Sub *s = (Sub *)lua_touserdata(Q, 2);
  lua_rawgeti(Q, LUA_REGISTRYINDEX, s->id);
  jobs_copy(s->L, s->names, 1, Q, "globals", 0);
  lua_rawseti(Q, -2, s->n ? C_MORE : C_NAMES);
  return 0;
}


/* The task 't', just submitted, takes the globals at 'names' of L instead
** of those it was given (a walk of its tables found more), or with
** 'more' (a string's task, whose own names are its _ENV), as globals of
** the state besides them. Raises in L. */
void jobs_renametask (lua_State *L, Pool *p, Job *t, int names, int more) {
  Sub s;
  char msg[JOBS_MSGMAX];
  int st;
  s.L = L;
  s.id = t->slot;
  s.names = names;
  s.n = more;
  pthread_mutex_lock(&p->mu);
  lua_pushcfunction(p->Q, renametask);
  lua_pushvalue(p->Q, 1);
  lua_pushlightuserdata(p->Q, &s);
  if ((st = lua_pcall(p->Q, 2, 0, 0)) != LUA_OK)
    keepmessage(p->Q, msg, "cannot submit the task");
  lua_settop(p->Q, 1);
  pthread_mutex_unlock(&p->mu);
  if (st != LUA_OK)
    luaL_error(L, "%s", msg);
}


/* The function numbered 'id' is gone from the owner's state: no task will
** ask for it again. */
void jobs_forgetfunction (Pool *p, int id) {
  pthread_mutex_lock(&p->mu);
  lua_pushnil(p->Q);
  lua_rawseti(p->Q, 1, id);  /* a key it has: no allocation */
  pthread_mutex_unlock(&p->mu);
}


/*
** Locks the store of the finished task 't' (until jobs_closetask) and
** pushes its outcome there: its results or error at '*first' .. '*first'
** + '*n' - 1, the traceback at '*tb'. Returns the store; NULL if its stack
** cannot hold the results.
*/
lua_State *jobs_opentask (Job *t, int *first, int *n, const char **tb,
                          size_t *tblen) {
  Pool *p = t->pool;
  lua_State *Q = p->Q;
  int o, i;
  pthread_mutex_lock(&p->mu);
  *first = *n = 0;
  *tb = NULL;
  o = (lua_rawgeti(Q, LUA_REGISTRYINDEX, t->slot), lua_gettop(Q));
  *first = o + 1;
  if (t->status == JOB_COMPLETED) {
    *n = (lua_rawgeti(Q, o, 1), (int)lua_tointeger(Q, -1));
    lua_pop(Q, 1);
    if (!lua_checkstack(Q, *n))
      return NULL;
    for (i = 1; i <= *n; i++)
      lua_rawgeti(Q, o, i + 1);
  }
  else if (t->status == JOB_DEAD) {
    *n = 1;
    if (t->bare)  /* a message alone */
      *first = o;
    else {
      lua_rawgeti(Q, o, 1);
      if (lua_rawgeti(Q, o, 2) == LUA_TSTRING)
        *tb = lua_tolstring(Q, -1, tblen);  /* kept by the stack */
    }
  }
  return Q;
}


void jobs_closetask (Job *t) {
  Pool *p = t->pool;
  if (t->slot != 0) {  /* opened: the store is locked */
    lua_settop(p->Q, 1);
    luaL_unref(p->Q, LUA_REGISTRYINDEX, t->slot);
    t->slot = 0;
    pthread_mutex_unlock(&p->mu);
  }
  t->pool = NULL;
  jobs_unrefpool(p);
}


void jobs_droptask (Job *t) {
  if (t->slot != 0)
    pthread_mutex_lock(&t->pool->mu);
  jobs_closetask(t);
}


/* Closes the states of 'p' between tasks, each on a pool thread, as a
** job's (jobs_closestate); one running a task closes as the task ends. */
void jobs_closepool (Pool *p) {
  Job *w;
  pthread_mutex_lock(&p->mu);
  p->closed = 1;
  w = p->idle;
  p->idle = NULL;
  pthread_mutex_unlock(&p->mu);
  while (w != NULL) {
    Job *next = w->nextdone;
    jobs_closestate(w);
    jobs_release(w);
    w = next;
  }
}

/* }====================================================== */


/*
** {======================================================
** The task's thread: a warm state, the task in, its run, its outcome out
** =======================================================
*/

/* Runs protected in W, the new state of record 'w' at 2 ('p->mu' held, p
** at 1): its libraries and paths, as a job's; leaves 'init' if any. */
static int openstate (lua_State *W) {
  Pool *p = (Pool *)lua_touserdata(W, 1);
  Job *w = (Job *)lua_touserdata(W, 2);
  lua_State *Q = p->Q;
  lua_settop(W, 0);
  jobs_openlibs(W, w);
  lua_rawgeti(Q, 1, PATH);
  lua_rawgeti(Q, 1, CPATH);
  jobs_inherit(Q, lua_gettop(Q) - 1, W);
  lua_settop(Q, 1);
  if (p->hasinit) {
    if (lua_rawgeti(Q, 1, INITNAMES) == LUA_TTABLE) {  /* its globals */
      jobs_copy(Q, -1, 1, W, "init's globals", 0);
      jobs_setglobals(W);
    }
    lua_rawgeti(Q, 1, INIT);
    jobs_copy(Q, -1, 1, W, "init", 0);
    lua_settop(Q, 1);
  }
  return lua_gettop(W);
}


/*
** A new state for 'p' (its record's 'L'), its stack [msghandler] and, if
** 'p' has one, 'init'; or, if that failed, [msghandler, error]. NULL if
** memory fails for it.
*/
static Job *newstate (Pool *p) {
  Job *w = jobs_newjob();
  lua_Alloc alloc;
  lua_State *W;
  if (w == NULL)
    return NULL;
  w->hub = p->hub;
  w->opt.libs = p->libs;
  w->heap.limit = p->memory;
  if ((alloc = jobs_newheap(&w->heap)) == NULL) {
    jobs_release(w);
    return NULL;
  }
  if ((W = lua_newstate(alloc, &w->heap)) == NULL) {
    jobs_freeheap(&w->heap);
    jobs_release(w);
    return NULL;
  }
  w->L = W;
  lua_gc(W, LUA_GCGEN, 0, 0);  /* as a job's state */
  lua_pushcfunction(W, jobs_msghandler);
  lua_pushcfunction(W, openstate);
  lua_pushlightuserdata(W, p);
  lua_pushlightuserdata(W, w);
  pthread_mutex_lock(&p->mu);
  lua_pcall(W, 2, LUA_MULTRET, 0);
  lua_settop(p->Q, 1);
  pthread_mutex_unlock(&p->mu);
  return w;
}


/* How many functions the set at 'loaded' of W has (at [0]), and how many
** it may have before it is pruned (at [-1]). */
static lua_Integer counted (lua_State *W, int loaded, int which) {
  lua_Integer n = (lua_rawgeti(W, loaded, which), lua_tointeger(W, -1));
  lua_pop(W, 1);
  return n;
}


static void setcount (lua_State *W, int loaded, int which, lua_Integer n) {
  lua_pushinteger(W, n);
  lua_rawseti(W, loaded, which);
}


/* Drops from the set at 'loaded' of W the functions whose owner let go of
** them (gone from Q[1], at 1 of Q); returns how many stay. */
static lua_Integer prune (lua_State *W, lua_State *Q, int loaded) {
  lua_Integer n = 0;
  lua_pushnil(W);
  while (lua_next(W, loaded)) {  /* clearing a field it passed is allowed */
    lua_pop(W, 1);
    if (lua_isinteger(W, -1) && lua_tointeger(W, -1) > 0) {
      if (lua_rawgeti(Q, 1, (lua_Integer)lua_tointeger(W, -1)) == LUA_TNIL) {
        lua_pushvalue(W, -1);
        lua_pushnil(W);
        lua_rawset(W, loaded);
      }
      else
        n++;
      lua_pop(Q, 1);
    }
  }
  return n;
}


/*
** Pushes onto W the function numbered 'id', at 'fn' of Q, loaded once and
** kept, its upvalues living on, while the owner's state holds it: when the
** set of those loaded reaches its bound, those the owner let go of leave
** it, and the bound becomes twice what stays (JOBS_POOLFUNCTIONS at
** least), so that a pool fed a new closure each time holds few of them and
** one fed the same few keeps them all.
*/
static void pushfunction (lua_State *W, lua_State *Q, int fn, int id) {
  int loaded;
  lua_Integer n;
  if (lua_rawgetp(W, LUA_REGISTRYINDEX, &loadedkey) != LUA_TTABLE) {
    lua_pop(W, 1);
    lua_newtable(W);
    lua_pushvalue(W, -1);
    lua_rawsetp(W, LUA_REGISTRYINDEX, &loadedkey);
  }
  loaded = lua_gettop(W);
  if (lua_rawgeti(W, loaded, id) == LUA_TNIL) {
    lua_pop(W, 1);
    if ((n = counted(W, loaded, 0)) >= counted(W, loaded, -1)) {
      n = prune(W, Q, loaded);
      setcount(W, loaded, -1, n < JOBS_POOLFUNCTIONS / 2 ? JOBS_POOLFUNCTIONS
                                                         : 2 * n);
    }
    jobs_copy(Q, fn, 1, W, jobs_jobroot, 0);
    lua_pushvalue(W, -1);
    lua_rawseti(W, loaded, id);
    setcount(W, loaded, 0, n + 1);
  }
  lua_remove(W, loaded);
}


/* Makes the names at 1 the _ENV of the chunk at 2, over W's globals: they
** are the chunk's alone, and what it sets goes to the globals. */
static void layer (lua_State *W) {
  lua_createtable(W, 0, 2);
  lua_pushglobaltable(W);
  lua_setfield(W, -2, "__index");
  lua_pushglobaltable(W);
  lua_setfield(W, -2, "__newindex");
  lua_setmetatable(W, 1);
  lua_pushvalue(W, 1);
  lua_setupvalue(W, 2, 1);  /* a chunk's one upvalue, its _ENV */
  lua_remove(W, 1);
}


/* Runs protected in W ('p->mu' held; the pool at 1, the task at 2):
** leaves the task's function and arguments, its globals set. */
static int loadtask (lua_State *W) {
  Pool *p = (Pool *)lua_touserdata(W, 1);
  Job *t = (Job *)lua_touserdata(W, 2);
  lua_State *Q = p->Q;
  int c, id, n, i;
  lua_settop(W, 0);
  c = (lua_rawgeti(Q, LUA_REGISTRYINDEX, t->slot), lua_gettop(Q));
  if (t->bare) {  /* and its arguments in its record */
    n = t->nsmall;
    luaL_checkstack(W, n + LUA_MINSTACK, "too many arguments");
    pushfunction(W, Q, c, t->fnid);
    jobs_pushsmall(W, t->small, n);
    lua_settop(Q, 1);
    lua_pushboolean(Q, 0);  /* its place stays, for its outcome */
    lua_rawseti(Q, LUA_REGISTRYINDEX, t->slot);
    return n + 1;
  }
  id = (lua_rawgeti(Q, c, C_FN), (int)lua_tointeger(Q, -1));
  n = (lua_rawgeti(Q, c, C_N), (int)lua_tointeger(Q, -1));
  if (!lua_checkstack(Q, (n < 0 ? 0 : n) + LUA_MINSTACK))
    luaL_error(W, "not enough memory");
  if (lua_rawgeti(Q, c, C_NAMES) == LUA_TTABLE) {
    int more = (lua_rawgeti(Q, c, C_MORE) == LUA_TTABLE);
    if (!more)
      lua_pop(Q, 1);
    jobs_copy(Q, -1 - more, 1 + more, W, "globals", 0);  /* one copy: what
                                                            they share stays
                                                            shared */
    if (more)  /* the names of a string's names' functions: the state's */
      jobs_setglobals(W);
    if (id != 0)  /* a function's: they stay, as its own globals */
      jobs_setglobals(W);
  }
  lua_rawgeti(Q, c, C_CHUNK);
  if (id == 0) {
    jobs_copy(Q, -1, 1, W, jobs_jobroot, 0);
    if (lua_gettop(W) == 2)  /* a string's names, over the globals */
      layer(W);
  }
  else
    pushfunction(W, Q, lua_gettop(Q), id);
  if (n < 0) {  /* they travel in the record */
    n = t->nsmall;
    luaL_checkstack(W, n + LUA_MINSTACK, "too many arguments");
    jobs_pushsmall(W, t->small, n);
  }
  else {
    luaL_checkstack(W, n + LUA_MINSTACK, "too many arguments");
    for (i = 1; i <= n; i++)
      lua_rawgeti(Q, c, C_N + i);
    jobs_copy(Q, -n, n, W, jobs_jobroot, 1);
  }
  lua_settop(Q, 1);
  lua_pushboolean(Q, 0);  /* what it carried is the task's now */
  lua_rawseti(Q, LUA_REGISTRYINDEX, t->slot);
  return n + 1;
}


typedef struct Store {
  Job *t;
  lua_State *W;  /* the task's state, its results or error from 2 up */
  JobStatus st;
  int traced;  /* its error went through the message handler */
  int init;  /* it is the error of 'init' */
} Store;


/* Runs protected in Q: the outcome 's' describes goes into the task's
** carrier. */
static int storeoutcome (lua_State *Q) {
  Store *s = (Store *)lua_touserdata(Q, 1);
  lua_State *W = s->W;
  int n = lua_gettop(W) - 1, i;
  size_t len;
  const char *tb;
  lua_createtable(Q, s->st == JOB_COMPLETED ? n + 1 : 2, 0);
  if (s->st == JOB_COMPLETED) {
    luaL_checkstack(Q, n + LUA_MINSTACK, "too many results");
    lua_pushinteger(Q, n);
    lua_rawseti(Q, 2, 1);
    jobs_copy(W, 2, n, Q, "result %d", 1);
    for (i = n; i >= 1; i--)
      lua_rawseti(Q, 2, i + 1);
  }
  else if (s->st == JOB_DEAD) {
    jobs_copy(W, 2, 1, Q, "error", 1);
    if (s->init && lua_type(Q, -1) == LUA_TSTRING) {
      lua_pushfstring(Q, "pool init: %s", lua_tostring(Q, -1));
      lua_remove(Q, -2);
    }
    lua_rawseti(Q, 2, 1);
    if (s->traced && (tb = jobs_traceback(W, &len)) != NULL) {
      lua_pushlstring(Q, tb, len);
      lua_rawseti(Q, 2, 2);
    }
  }
  lua_rawseti(Q, LUA_REGISTRYINDEX, s->t->slot);
  return 0;
}


/* Runs 't' in W ([msghandler, function, args...]), the state of 'w', on
** the thread of 'r': a cancel of 't' reaches it. */
static int call (Runner *r, Job *t, Job *w, int nargs, int nres) {
  int st;
  jobs_settask(w->L, w, t);
  jobs_enter(r, t, w->L);
  st = lua_pcall(w->L, nargs, nres, 1);
  jobs_leave(r, t);
  return st;
}


/* Runs protected in W, the state of 'w', the loading of 't' ('p->mu'
** held); on W's stack [msghandler], it leaves [msghandler, function,
** arguments...], or [msghandler, error]. */
static int load (Pool *p, Job *w, Job *t) {
  int st;
  lua_pushcfunction(w->L, loadtask);
  lua_pushlightuserdata(w->L, p);
  lua_pushlightuserdata(w->L, t);
  st = lua_pcall(w->L, 2, LUA_MULTRET, 0);
  lua_settop(p->Q, 1);
  return st;
}


/*
** Puts the outcome 's' describes in its task's carrier; returns the task's
** final status: dead, if its results cannot be copied. In the same hold
** of 'p->mu', the state of 'w' goes back to the pool's, if 'keep' and the
** pool is open; else it closes (a task stopped, out of memory, or an
** 'init' that failed leaves nothing in it for the next), the jobs it
** started cancelled with a task stopped.
*/
static JobStatus store (Pool *p, Store *s, Job *w, int keep) {
  lua_State *W = s->W, *Q = p->Q;
  jobs_settask(W, w, NULL);
  s->t->nsmall = -1;
  if (s->st == JOB_COMPLETED &&
      jobs_tosmall(W, 2, lua_gettop(W) - 1, s->t->small))
    s->t->nsmall = lua_gettop(W) - 1;
  else if (lua_checkstack(W, 2)) {  /* the names its results may cross by */
    lua_pushcfunction(W, jobs_indexnames);
    if (lua_pcall(W, 0, 0, 0) != LUA_OK)
      lua_pop(W, 1);
  }
  pthread_mutex_lock(&p->mu);
  if (s->t->nsmall >= 0) {  /* its results are in its record */
    luaL_unref(Q, LUA_REGISTRYINDEX, s->t->slot);
    s->t->slot = 0;
  }
  else {
    lua_pushcfunction(Q, storeoutcome);
    lua_pushlightuserdata(Q, s);
    s->t->bare = 0;
    if (lua_pcall(Q, 1, 0, 0) != LUA_OK) {  /* its message is the outcome */
      lua_rawseti(Q, LUA_REGISTRYINDEX, s->t->slot);
      s->t->bare = 1;
      s->st = JOB_DEAD;
    }
    lua_settop(Q, 1);
  }
  keep = keep && !p->closed;
  if (keep) {
    lua_settop(W, 0);
    w->nextdone = p->idle;
    p->idle = w;  /* Handoff: the state is the pool's again */
  }
  pthread_mutex_unlock(&p->mu);
  if (!keep) {
    int why = jobs_stopping(s->t);
    if (why != 0)  /* its jobs stop as the state closes, as a job's do */
      __atomic_store_n(&w->cancel, why, __ATOMIC_RELEASE);
    jobs_closestate(w);
    jobs_release(w);
  }
  return s->st;
}


/* A pool's Limit 'run': runs 't' on the thread of 'r' in a state of its
** pool, making one first if none is free. */
static JobStatus runtask (Runner *r, Job *t) {
  Pool *p = t->pool;
  Store s;
  Job *w;
  int st = LUA_OK, opened = 1;
  s.init = 0;
  s.traced = 0;
  pthread_mutex_lock(&p->mu);
  if ((w = p->idle) != NULL) {
    /* Handoff: the state taken out of 'p->idle' is this thread's */
    p->idle = w->nextdone;
    lua_pushcfunction(w->L, jobs_msghandler);
    st = load(p, w, t);
  }
  pthread_mutex_unlock(&p->mu);
  if (w == NULL) {
    if ((w = newstate(p)) == NULL) {
      pthread_mutex_lock(&p->mu);
      lua_pushliteral(p->Q, "not enough memory");  /* a fixed string */
      lua_rawseti(p->Q, LUA_REGISTRYINDEX, t->slot);
      t->bare = 1;
      pthread_mutex_unlock(&p->mu);
      return JOB_DEAD;
    }
    if (lua_gettop(w->L) == 2 && !lua_isfunction(w->L, 2)) {
      st = LUA_ERRRUN;  /* its libraries could not be opened (no 'init') */
      opened = 0;
    }
    else if (lua_gettop(w->L) == 2) {
      st = call(r, t, w, 0, 0);
      s.init = s.traced = (st != LUA_OK);
    }
    if (st == LUA_OK) {
      pthread_mutex_lock(&p->mu);
      st = load(p, w, t);
      pthread_mutex_unlock(&p->mu);
    }
  }
  if (st == LUA_OK) {
    st = call(r, t, w, lua_gettop(w->L) - 2, LUA_MULTRET);
    s.traced = 1;
  }
  s.t = t;
  s.W = w->L;
  s.st = jobs_ended(t, st);
  return store(p, &s, w, s.st != JOB_CANCELLED && opened && !s.init &&
                         !jobs_stopping(t) && !w->heap.refused);
}

/* }====================================================== */
