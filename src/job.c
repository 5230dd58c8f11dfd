/*
** job.c: the job object in its owner's state (SPEC §3): creating it, and its
** status, results, error, traceback and wait. Runs on the owner's thread only.
*/

#include <errno.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "copy.h"
#include "worker.h"
#include "job.h"


/*
** A job object: a full userdata holding a Box, with user values
** 1: its name, 2: its outcome once fetched (see 'fetch').
*/
typedef struct Box {
  Job *j;  /* NULL only while being built */
  lua_Integer num;
} Box;

#define UV_NAME		1
#define UV_OUTCOME	2


static const char *const statusnames[] = {
  "created", "running", "completed", "dead", "cancelled"
};


static Box *checkbox (lua_State *L) {
  return (Box *)luaL_checkudata(L, 1, JOBS_JOB);
}


static JobStatus getstatus (Job *j) {
  JobStatus st;
  pthread_mutex_lock(&j->mu);
  st = j->status;
  pthread_mutex_unlock(&j->mu);
  return st;
}


/*
** {======================================================
** Fetching the outcome of a finished job
** =======================================================
*/

/*
** Runs protected in the owner's state L with the job at 1; returns the
** outcome table: {n = #results, ...results} for a completed job,
** {error = e, traceback = tb} for a dead one. Raises in L if a value cannot
** be copied.
*/
static int copyoutcome (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, 1);
  lua_State *J = j->L;
  if (j->status == JOB_COMPLETED) {
    int i, n = lua_gettop(J) - 1;  /* results follow the message handler */
    int t = (lua_createtable(L, n, 1), lua_gettop(L));
    jobs_copy(J, 2, n, L, "result %d");
    for (i = n; i >= 1; i--)
      lua_rawseti(L, t, i);
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
  }
  else {
    size_t len;
    const char *tb;
    lua_createtable(L, 0, 2);
    jobs_copy(J, 2, 1, L, "error");
    lua_setfield(L, -2, "error");
    if ((tb = jobs_traceback(J, &len)) != NULL) {
      lua_pushlstring(L, tb, len);
      lua_setfield(L, -2, "traceback");
    }
  }
  return 1;
}


/*
** Pushes the outcome table of the job at 'ud', fetching it from the job's
** state on first use and then closing that state; pushes nil while the job
** has not finished. A result or error that cannot be copied makes the job
** dead with the copy's error.
*/
static void fetch (lua_State *L, int ud) {
  Box *b = (Box *)lua_touserdata(L, ud);
  Job *j = b->j;
  if (lua_getiuservalue(L, ud, UV_OUTCOME) != LUA_TNIL ||
      !jobs_isfinal(getstatus(j)))
    return;
  /* The final status was read under 'j->mu': the job's state is ours now
  ** (step 3 in worker.c). */
  lua_pop(L, 1);
  lua_pushcfunction(L, copyoutcome);
  lua_pushlightuserdata(L, j);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "error");
    lua_insert(L, -2);
    lua_setfield(L, -2, "traceback");
    pthread_mutex_lock(&j->mu);
    j->status = JOB_DEAD;
    pthread_mutex_unlock(&j->mu);
  }
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, ud, UV_OUTCOME);
  lua_close(j->L);
  j->L = NULL;
}


/* Pushes the results of a completed job's outcome table at 't'. */
static int pushresults (lua_State *L, int t) {
  int i, n;
  lua_getfield(L, t, "n");
  n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "too many results");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, t, i);
  return n;
}

/* }====================================================== */


/*
** {======================================================
** Methods and fields
** =======================================================
*/

/* Waits until 'j' is final or 'secs' pass (forever if negative); returns
** whether it is final. */
static int waitfinal (Job *j, double secs) {
  struct timespec ts;
  int forever = secs < 0 || secs > 1e9;
  if (!forever) {
    time_t whole = (time_t)secs;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += whole;
    ts.tv_nsec += (long)((secs - (double)whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&j->mu);
  while (!jobs_isfinal(j->status)) {
    if (forever)
      pthread_cond_wait(&j->cv, &j->mu);
    else if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&j->mu);
  return jobs_isfinal(getstatus(j));
}


static int job_wait (lua_State *L) {
  Box *b = checkbox(L);
  double secs = luaL_optnumber(L, 2, -1);
  luaL_argcheck(L, lua_isnoneornil(L, 2) || secs >= 0, 2,
                "non-negative number expected");
  lua_settop(L, 1);
  if (!waitfinal(b->j, secs)) {
    luaL_pushfail(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  fetch(L, 1);
  if (getstatus(b->j) == JOB_COMPLETED) {
    lua_pushboolean(L, 1);
    return 1 + pushresults(L, 2);
  }
  lua_pushboolean(L, 0);
  lua_getfield(L, 2, "error");
  return 2;
}


static int job_results (lua_State *L) {
  Box *b = checkbox(L);
  lua_settop(L, 1);
  fetch(L, 1);
  return getstatus(b->j) == JOB_COMPLETED ? pushresults(L, 2) : 0;
}


static int job_traceback (lua_State *L) {
  Box *b = checkbox(L);
  lua_settop(L, 1);
  fetch(L, 1);
  if (getstatus(b->j) != JOB_DEAD)
    return 0;
  lua_getfield(L, 2, "traceback");
  return 1;
}


/* job.<field>: each reads the job at 1; the outcome, if fetched, is at 3. */
static int field (lua_State *L, Box *b, const char *key) {
  Job *j = b->j;
  JobStatus st = getstatus(j);
  if (strcmp(key, "num") == 0)
    lua_pushinteger(L, b->num);
  else if (strcmp(key, "name") == 0)
    lua_getiuservalue(L, 1, UV_NAME);
  else if (strcmp(key, "status") == 0)
    lua_pushstring(L, statusnames[st]);
  else if (strcmp(key, "done") == 0)
    lua_pushboolean(L, jobs_isfinal(st));
  else if (strcmp(key, "result") == 0)
    lua_rawgeti(L, 3, 1);
  else if (strcmp(key, "error") == 0)
    lua_getfield(L, 3, "error");
  else if (strcmp(key, "elapsed") == 0) {
    double end;
    pthread_mutex_lock(&j->mu);
    end = jobs_isfinal(j->status) ? j->finished : jobs_now();
    pthread_mutex_unlock(&j->mu);
    lua_pushnumber(L, st == JOB_CREATED ? 0.0 : end - j->started);
  }
  else
    return 0;
  return 1;
}


static int job_index (lua_State *L) {
  Box *b = checkbox(L);
  const char *key = luaL_checkstring(L, 2);
  lua_settop(L, 2);
  if (lua_getfield(L, lua_upvalueindex(1), key) != LUA_TNIL)
    return 1;  /* a method */
  lua_pop(L, 1);
  fetch(L, 1);  /* first, so that 'status' tells a result that cannot cross */
  if (!lua_istable(L, 3)) {
    lua_pop(L, 1);
    lua_newtable(L);  /* no outcome yet: fields read as nil */
  }
  if (!field(L, b, key))
    lua_pushnil(L);
  return 1;
}


static int job_tostring (lua_State *L) {
  Box *b = checkbox(L);
  size_t len, cut;
  const char *name;
  lua_getiuservalue(L, 1, UV_NAME);
  name = lua_tolstring(L, -1, &len);
  cut = strcspn(name, "\n");
  if (cut > JOBS_SHORTNAME)
    cut = JOBS_SHORTNAME;
  fetch(L, 1);
  lua_pushfstring(L, "<job #%I %s: ", (LUAI_UACINT)b->num,
                  statusnames[getstatus(b->j)]);
  lua_pushlstring(L, name, cut);
  lua_pushstring(L, cut < len ? "...>" : ">");
  lua_concat(L, 3);
  return 1;
}


static int job_gc (lua_State *L) {
  Box *b = checkbox(L);
  if (b->j != NULL) {
    jobs_release(b->j);  /* a running job's thread frees it when done */
    b->j = NULL;
  }
  return 0;
}


static const luaL_Reg methods[] = {
  {"wait", job_wait},
  {"results", job_results},
  {"traceback", job_traceback},
  {NULL, NULL}
};


static const luaL_Reg metamethods[] = {
  {"__index", NULL},  /* placeholder: a closure over 'methods' */
  {"__tostring", job_tostring},
  {"__gc", job_gc},
  {NULL, NULL}
};


void jobs_openjob (lua_State *L) {
  luaL_newmetatable(L, JOBS_JOB);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_pushcclosure(L, job_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

/* }====================================================== */


/*
** {======================================================
** Creating jobs
** =======================================================
*/

/* Pushes the default name of the job whose function or string is at 1:
** the string, "function <source:line>", "math.sqrt", "callable table". */
static void pushname (lua_State *L) {
  lua_Debug ar;
  switch (lua_type(L, 1)) {
    case LUA_TSTRING:
      lua_pushvalue(L, 1);
      break;
    case LUA_TFUNCTION:
      if (jobs_pushname(L, 1))
        break;
      lua_pushvalue(L, 1);
      lua_getinfo(L, ">S", &ar);
      lua_pushfstring(L, "function <%s:%d>", ar.short_src, ar.linedefined);
      break;
    default:
      lua_pushfstring(L, "callable %s", luaL_typename(L, 1));
  }
}


/* Whether the value at 1 can be called: a function or has '__call'. */
static int callable (lua_State *L) {
  if (lua_isfunction(L, 1))
    return 1;
  if (luaL_getmetafield(L, 1, "__call") == LUA_TNIL)
    return 0;
  lua_pop(L, 1);
  return 1;
}


/*
** jobs.new(fn, ...) or jobs.new(string [, env]): a closure over
** 1: the hub of the owner's state, 2: its manager's function numbering jobs.
*/
static int newjob (lua_State *L) {
  int nargs = lua_gettop(L);
  int t = lua_type(L, 1);
  Box *b;
  luaL_argexpected(L, t == LUA_TSTRING || callable(L), 1,
                   "function or string");
  if (t == LUA_TSTRING) {
    luaL_argexpected(L, lua_isnoneornil(L, 2) || lua_istable(L, 2), 2,
                     "table");
    luaL_argcheck(L, nargs <= 2, 3, "no value expected after a string's env");
  }
  lua_pushcfunction(L, jobs_indexnames);  /* L may raise here, not later */
  lua_call(L, 0, 0);
  b = (Box *)lua_newuserdatauv(L, sizeof(Box), 2);
  b->j = NULL;
  b->num = 0;
  luaL_setmetatable(L, JOBS_JOB);
  /* From here the job object's finalizer frees whatever a raise leaves. */
  if ((b->j = jobs_newjob()) == NULL)
    luaL_error(L, "not enough memory");
  pushname(L);
  lua_setiuservalue(L, -2, UV_NAME);
  jobs_prepare(L, b->j, nargs);
  jobs_start(L, b->j, (Hub *)lua_touserdata(L, lua_upvalueindex(1)));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  b->num = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return 1;
}


/* core.newjob(number): the 'new' of a manager whose 'number(job)' gives
** each job it starts its number. Upvalue 1: the hub of this state. */
int jobs_newmaker (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, newjob, 2);
  return 1;
}

/* }====================================================== */
