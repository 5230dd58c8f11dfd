/*
** manager.c: the C side of a manager (SPEC §5): numbers and lists its jobs,
** limits how many run at once, and waits for any or all of a list of jobs.
*/

#include <errno.h>
#include <limits.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "control.h"
#include "job.h"
#include "manager.h"
#include "worker.h"


/* A manager's userdata; its user value is the table of its jobs by number,
** which the Lua half reads and prunes (lua/jobs.lua). */
typedef struct Manager {
  lua_Integer count;  /* jobs numbered so far: numbers are never reused */
  Hub *hub;
  Limit *limit;  /* NULL only while being built */
} Manager;


lua_Integer jobs_enroll (lua_State *L, int m, int job) {
  Manager *mg = (Manager *)lua_touserdata(L, m);
  lua_getiuservalue(L, m, 1);
  lua_pushvalue(L, job);
  lua_rawseti(L, -2, mg->count + 1);  /* may raise: before counting it */
  lua_pop(L, 1);
  return ++mg->count;
}


void jobs_unenroll (lua_State *L, int m, lua_Integer num) {
  lua_getiuservalue(L, m, 1);
  lua_pushnil(L);
  lua_rawseti(L, -2, num);  /* the key exists: this cannot raise */
  lua_pop(L, 1);
}


Limit *jobs_limitof (lua_State *L, int m) {
  return ((Manager *)lua_touserdata(L, m))->limit;
}


static int manager_gc (lua_State *L) {
  Manager *mg = (Manager *)lua_touserdata(L, 1);
  if (mg->limit != NULL) {
    jobs_droplimit(mg->hub, mg->limit);  /* its jobs keep it while they run */
    mg->limit = NULL;
  }
  return 0;
}


/* setlimit(max): sets how many of the manager's jobs run at once (0: any
** number), starting those in line that now may. Upvalue: the manager. */
static int setlimit (lua_State *L) {
  Manager *mg = (Manager *)lua_touserdata(L, lua_upvalueindex(1));
  lua_Integer max = luaL_checkinteger(L, 1);
  luaL_argcheck(L, max >= 0 && max <= INT_MAX, 1,
                "max_threads out of range");
  jobs_setlimit(L, mg->hub, mg->limit, (int)max);
  return 0;
}


/*
** core.manager(): a new manager's 'new', 'spawn', table of jobs by number
** and limit setter. Upvalue: the hub.
*/
int jobs_newmanager (lua_State *L) {
  Manager *mg = (Manager *)lua_newuserdatauv(L, sizeof(Manager), 1);
  int m = lua_gettop(L);
  mg->count = 0;
  mg->hub = (Hub *)lua_touserdata(L, lua_upvalueindex(1));
  mg->limit = NULL;
  if (luaL_newmetatable(L, JOBS_MANAGER)) {
    lua_pushcfunction(L, manager_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, m);
  if ((mg->limit = jobs_newlimit()) == NULL)
    return luaL_error(L, "not enough memory");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, m);
  jobs_pushmakers(L);  /* new, spawn */
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, m, 1);
  lua_pushvalue(L, m);
  lua_pushcclosure(L, setlimit, 1);
  return 4;
}


/*
** {======================================================
** Waiting for several jobs
** =======================================================
*/

/* Whether the 'n' jobs of 'list' are all over, or with 'any', one of them;
** '*first' is the index of the first to have finished (0: none has).
** 'h->mu' is held. */
static int over (Job **list, int n, int any, int *first) {
  int i, all = 1;
  double when = 0;
  *first = 0;
  for (i = 0; i < n; i++) {
    Job *j = list[i];
    pthread_mutex_lock(&j->mu);  /* order: 'h->mu', then 'j->mu' */
    if (!jobs_isfinal(j->status))
      all = 0;
    else if (*first == 0 || j->finished < when) {
      *first = i + 1;
      when = j->finished;
    }
    pthread_mutex_unlock(&j->mu);
  }
  return any ? *first > 0 : all;
}


/*
** core.wait(list, seconds, any): waits until every job of 'list' is over
** (true), or with 'any' one of them (that job; the first to have finished
** if several have); nil and "timeout" past 'seconds', or nil and "no job
** to wait for". A job that waits here is still cancelled at once.
** Upvalue: the hub, whose jobs these are.
*/
int jobs_wait (lua_State *L) {
  Hub *h = (Hub *)lua_touserdata(L, lua_upvalueindex(1));
  double until = jobs_later(L, 2);
  int any = lua_toboolean(L, 3), n, i, first, done;
  Job **list, *self = jobs_self(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  list = (Job **)lua_newuserdatauv(L, sizeof(Job *) * (size_t)n, 0);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    list[i] = jobs_checkjob(L, -1, h);
    lua_pop(L, 1);
  }
  if (n == 0 && !any) {  /* all of none are over */
    lua_pushboolean(L, 1);
    return 1;
  }
  if (n == 0) {
    luaL_pushfail(L);
    lua_pushliteral(L, "no job to wait for");
    return 2;
  }
  jobs_blockon(self, &h->mu, &h->cv);
  pthread_mutex_lock(&h->mu);
  while (!(done = over(list, n, any, &first)) && !jobs_pending(self) &&
         jobs_waitcv(&h->cv, &h->mu, until) != ETIMEDOUT) {}
  if (!done)
    done = over(list, n, any, &first);
  pthread_mutex_unlock(&h->mu);
  jobs_blockon(self, NULL, NULL);
  if (done) {
    if (any)
      lua_rawgeti(L, 1, first);
    else
      lua_pushboolean(L, 1);
    return 1;
  }
  if (jobs_pending(self))
    return jobs_stop(L, self);
  luaL_pushfail(L);
  lua_pushliteral(L, "timeout");
  return 2;
}

/* }====================================================== */
