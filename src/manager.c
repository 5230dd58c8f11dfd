/*
** manager.c: the C side of a manager (SPEC §5): numbers its jobs and keeps
** their order, lists them, and waits for any or all of them, or for the
** first of a list of jobs.
*/

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "job.h"
#include "line.h"
#include "manager.h"
#include "worker.h"


/* A manager's userdata. Its user values: 1, the table of its jobs by
** number, which the Lua half reads (lua/jobs.lua); 2, their numbers in
** order, an array that may hold numbers no longer kept ('holes'); 3, the
** hub, which 'hub' points at: it lives as long as the manager. */
typedef struct Manager {
  lua_Integer count;  /* jobs numbered so far: numbers are never reused */
  lua_Integer norder;  /* length of the order */
  lua_Integer holes;  /* numbers in it no longer kept */
  Hub *hub;
  Limit *limit;  /* NULL while being built, and once finalized */
} Manager;

enum { UV_NUMBERED = 1, UV_ORDER, UV_HUB, NUV = UV_HUB };


/* The manager at 'idx' of L, which must not have been finalized. */
static Manager *checkmanager (lua_State *L, int idx) {
  Manager *mg = (Manager *)lua_touserdata(L, idx);
  if (mg->limit == NULL)
    luaL_error(L, "the manager is gone (used after its finalizer ran)");
  return mg;
}


/* Numbers the job object at 'job' for the manager at 'm' and lists it
** there; may raise, before counting it. */
static lua_Integer enroll (lua_State *L, int m, int job) {
  Manager *mg = (Manager *)lua_touserdata(L, m);
  lua_getiuservalue(L, m, UV_NUMBERED);
  lua_pushvalue(L, job);
  lua_rawseti(L, -2, mg->count + 1);  /* may raise: before counting it */
  lua_getiuservalue(L, m, UV_ORDER);
  lua_pushinteger(L, mg->count + 1);
  lua_rawseti(L, -2, mg->norder + 1);  /* may raise: the next overwrites */
  lua_pop(L, 2);
  mg->norder++;
  return ++mg->count;
}


/* Unlists job number 'num', the last numbered, which could not start. */
static void unenroll (lua_State *L, int m, lua_Integer num) {
  Manager *mg = (Manager *)lua_touserdata(L, m);
  lua_getiuservalue(L, m, UV_NUMBERED);
  lua_pushnil(L);
  lua_rawseti(L, -2, num);  /* the keys exist: this cannot raise */
  lua_getiuservalue(L, m, UV_ORDER);
  lua_pushnil(L);
  lua_rawseti(L, -2, mg->norder--);
  lua_pop(L, 2);
}


/*
** Starts the job whose function or string is at 'base' (2 after an options
** table, else 1), its arguments after it. Upvalues: 1, the hub of the
** owner's state; 2, the manager that numbers and lists the job.
*/
static int make (lua_State *L, int base) {
  Hub *h = jobs_checkhub(L, lua_upvalueindex(1));
  Manager *mg = checkmanager(L, lua_upvalueindex(2));
  int died, err, ud;
  Job *j = jobs_newobject(L, base, lua_upvalueindex(1), &died);
  lua_Integer num;
  ud = lua_gettop(L);
  /* Last: the manager lists the job (this may raise, listing nothing),
  ** and it starts. */
  num = enroll(L, lua_upvalueindex(2), ud);
  jobs_setnum(L, ud, num);
  if (died) {  /* its memory limit cannot hold its state: it ends dead */
    jobs_endunstarted(h, j, mg->limit, JOB_DEAD);
    return 1;
  }
  if ((err = jobs_start(j, h, mg->limit)) != 0) {
    unenroll(L, lua_upvalueindex(2), num);
    return luaL_error(L, "cannot start a thread for the job: %s",
                      strerror(err));
  }
  return 1;
}


/* jobs.new(fn, ...) or jobs.new(string [, env]) */
static int newjob (lua_State *L) {
  return make(L, 1);
}


/* jobs.spawn(options, fn, ...) or jobs.spawn(options, string [, env]) */
static int spawnjob (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  return make(L, 2);
}


static int manager_gc (lua_State *L) {
  Manager *mg = (Manager *)lua_touserdata(L, 1);
  if (mg->limit != NULL) {
    jobs_droplimit(mg->hub, mg->limit);  /* its jobs keep it while they run */
    mg->limit = NULL;
  }
  return 0;
}


/* The manager of a C function of the Lua half: its upvalue, pushed
** with its user values at 'numbered' and 'numbered' + 1 (the order). */
static Manager *tomanager (lua_State *L, int *numbered) {
  Manager *mg = checkmanager(L, lua_upvalueindex(1));
  *numbered = lua_gettop(L) + 1;
  lua_getiuservalue(L, lua_upvalueindex(1), UV_NUMBERED);
  lua_getiuservalue(L, lua_upvalueindex(1), UV_ORDER);
  return mg;
}


/* Drops from the order (at 'numbered' + 1) the numbers no longer kept,
** keeping the rest in order. Allocates nothing: it only shortens. */
static void compact (lua_State *L, Manager *mg, int numbered) {
  int order = numbered + 1;
  lua_Integer i, kept = 0;
  for (i = 1; i <= mg->norder; i++) {
    lua_Integer num = (lua_rawgeti(L, order, i), lua_tointeger(L, -1));
    if (lua_rawgeti(L, numbered, num) != LUA_TNIL && ++kept < i) {
      lua_pushinteger(L, num);
      lua_rawseti(L, order, kept);
    }
    lua_pop(L, 2);
  }
  for (i = kept + 1; i <= mg->norder; i++) {
    lua_pushnil(L);
    lua_rawseti(L, order, i);
  }
  mg->norder = kept;
  mg->holes = 0;
}


/* Forgets job 'num' (kept: at -1), for good; compacts the order once it is
** half holes, so that walking it costs what it holds. */
static void unlist (lua_State *L, Manager *mg, int numbered,
                    lua_Integer num) {
  Job *j = jobs_tojob(L, -1);
  if (j != NULL)  /* else its finalizer did it */
    jobs_unreturn(mg->hub, j);
  lua_pushnil(L);
  lua_rawseti(L, numbered, num);
  if (++mg->holes > mg->norder / 2)
    compact(L, mg, numbered);
}


/*
** list([status]): the manager's jobs (with that status) in number order,
** and a table of their statuses, read at one moment: no more of them
** read "running" than may run at once.
*/
static int manager_list (lua_State *L) {
  const char *want = luaL_optstring(L, 1, NULL);
  int numbered, i, names;
  Manager *mg = tomanager(L, &numbered);
  lua_Integer k, n = 0;
  compact(L, mg, numbered);
  names = lua_gettop(L) + 1;
  for (i = 0; i <= JOB_CANCELLED; i++)
    lua_pushstring(L, jobs_statusnames[i]);
  lua_createtable(L, (int)mg->norder, 0);  /* room for all: no raise below */
  lua_createtable(L, (int)mg->norder, 0);
  pthread_mutex_lock(&mg->hub->mu);  /* statuses change under it */
  for (k = 1; k <= mg->norder; k++) {
    JobStatus st;
    Job *j;
    lua_rawgeti(L, numbered, (lua_rawgeti(L, numbered + 1, k),
                              lua_tointeger(L, -1)));
    j = jobs_tojob(L, -1);  /* NULL: finalized, and nobody's any more */
    st = j != NULL ? __atomic_load_n(&j->status, __ATOMIC_ACQUIRE) : 0;
    if (j != NULL &&
        (want == NULL || strcmp(want, jobs_statusnames[st]) == 0)) {
      lua_rawseti(L, -4, ++n);
      lua_pushvalue(L, names + st);
      lua_rawseti(L, -3, n);
      lua_pop(L, 1);
    }
    else
      lua_pop(L, 2);
  }
  pthread_mutex_unlock(&mg->hub->mu);
  return 2;
}


/* flush(): forgets every finished job; returns how many. */
static int manager_flush (lua_State *L) {
  int numbered;
  Manager *mg = tomanager(L, &numbered);
  lua_Integer k, n = 0;
  for (k = 1; k <= mg->norder; k++) {
    lua_Integer num = (lua_rawgeti(L, numbered + 1, k), lua_tointeger(L, -1));
    Job *j;
    if (lua_rawgeti(L, numbered, num) != LUA_TNIL &&
        ((j = jobs_tojob(L, -1)) == NULL ||  /* finalized: over for us */
         jobs_isfinal(__atomic_load_n(&j->status, __ATOMIC_ACQUIRE)))) {
      if (j != NULL)
        jobs_unreturn(mg->hub, j);
      lua_pushnil(L);
      lua_rawseti(L, numbered, num);
      mg->holes++;
      n++;
    }
    lua_pop(L, 2);
  }
  compact(L, mg, numbered);
  lua_pushinteger(L, n);
  return 1;
}


/* unlist(n): forgets job 'n', which the Lua half checked is finished. */
static int manager_unlist (lua_State *L) {
  lua_Integer num = luaL_checkinteger(L, 1);
  int numbered;
  Manager *mg = tomanager(L, &numbered);
  if (lua_rawgeti(L, numbered, num) != LUA_TNIL)
    unlist(L, mg, numbered, num);
  return 0;
}


/* setlimit(max): sets how many of the manager's jobs run at once (0: any
** number), starting those in line that now may. */
static int manager_setlimit (lua_State *L) {
  Manager *mg = checkmanager(L, lua_upvalueindex(1));
  lua_Integer max = luaL_checkinteger(L, 1);
  luaL_argcheck(L, max >= 0 && max <= INT_MAX, 1,
                "max_threads out of range");
  jobs_setlimit(L, mg->hub, mg->limit, (int)max);
  return 0;
}


/*
** Waits on the hub's condition variable for the jobs of 'lim' ('h->mu'
** held), telling their ends what it waits for ('how'), until 'ready' says
** so, the time 'until' passes, or a cancel of the job waiting. Returns
** whether 'ready' said so.
*/
static int await (Hub *h, Limit *lim, Job *self, int how, double until,
                  int (*ready) (Limit *, Job **), Job **jp) {
  int ok, st = 0;
  lim->waiting = how;
  while (!(ok = ready(lim, jp)) && st != ETIMEDOUT && st != EINTR &&
         !jobs_pending(self))
    st = jobs_waitbreak(self, &h->cv, &h->mu, until);
  lim->waiting = JOBS_NOWAIT;
  return ok ? 0 : st == EINTR ? EINTR : ETIMEDOUT;
}


/* Ready when a job of 'lim' is over that wait_any has not returned
** (taken, at '*jp'), or none is left to end. */
static int anyready (Limit *lim, Job **jp) {
  return (*jp = jobs_nextreturned(lim)) != NULL || lim->unfinished == 0;
}


static int allready (Limit *lim, Job **jp) {
  (void)jp;
  return lim->unfinished == 0;
}


/* Runs 'ready' through 'await' until 'until' for the Lua half: the job
** waiting is stopped if cancelled; returns 0 if 'ready' said so, else
** ETIMEDOUT or EINTR (the host interrupted the wait). */
static int waitfor (lua_State *L, Hub *h, Limit *lim, double until, int how,
                    int (*ready) (Limit *, Job **), Job **jp) {
  Job *self = (L != NULL) ? jobs_self(L) : NULL;
  int st;
  jobs_blockon(self, &h->mu, &h->cv);
  pthread_mutex_lock(&h->mu);
  st = await(h, lim, self, how, until, ready, jp);
  pthread_mutex_unlock(&h->mu);
  jobs_blockon(self, NULL, NULL);
  if (st != 0 && self != NULL && jobs_pending(self))
    jobs_stop(L, self);
  return st;
}


/* waitany([seconds]): the job of the manager to finish first of those not
** returned yet; nil and "timeout", or nil and "no job to wait for". */
static int manager_waitany (lua_State *L) {
  int numbered;
  Manager *mg = tomanager(L, &numbered);
  Job *j = NULL;
  int st = waitfor(L, mg->hub, mg->limit, jobs_later(L, 1), JOBS_WAITANY,
                   anyready, &j);
  if (j != NULL) {
    lua_rawgeti(L, numbered, j->num);
    return 1;
  }
  luaL_pushfail(L);
  lua_pushstring(L, st == 0 ? "no job to wait for" : jobs_whynot(st));
  return 2;
}


int jobs_waitall (lua_State *L, Hub *h, Limit *lim, double until) {
  return waitfor(L, h, lim, until, JOBS_WAITALL, allready, NULL);
}


/* waitall([seconds]): true once every job of the manager is over; nil
** and "timeout". */
static int manager_waitall (lua_State *L) {
  Manager *mg = checkmanager(L, lua_upvalueindex(1));
  int st = jobs_waitall(L, mg->hub, mg->limit, jobs_later(L, 1));
  if (st == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  luaL_pushfail(L);
  lua_pushstring(L, jobs_whynot(st));
  return 2;
}


/* atclose([policy]): what closing the state does with the jobs still
** running (all managers', pools' tasks too): "wait" for them or "cancel"
** them; sets 'policy', if given (checked by the Lua half), and returns the
** policy in force. */
static int manager_atclose (lua_State *L) {
  static const char *const policies[] = {"wait", "cancel", NULL};
  Manager *mg = checkmanager(L, lua_upvalueindex(1));
  if (!lua_isnoneornil(L, 1))
    mg->hub->atclose = luaL_checkoption(L, 1, NULL, policies);
  lua_pushstring(L, policies[mg->hub->atclose]);
  return 1;
}


static const luaL_Reg functions[] = {
  {"list", manager_list},
  {"atclose", manager_atclose},
  {"flush", manager_flush},
  {"unlist", manager_unlist},
  {"setlimit", manager_setlimit},
  {"waitany", manager_waitany},
  {"waitall", manager_waitall},
  {NULL, NULL}
};


/*
** core.manager(): a table of a new manager's C functions ('new', 'spawn'
** and 'functions' above) and its table of jobs by number ('jobs').
** Upvalue: the hub.
*/
int jobs_newmanager (lua_State *L) {
  Manager *mg = (Manager *)lua_newuserdatauv(L, sizeof(Manager), NUV);
  int m = lua_gettop(L);
  mg->count = mg->norder = mg->holes = 0;
  mg->hub = jobs_checkhub(L, lua_upvalueindex(1));
  mg->limit = NULL;
  if (luaL_newmetatable(L, JOBS_MANAGER)) {
    lua_pushcfunction(L, manager_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, m);
  if ((mg->limit = jobs_newlimit()) == NULL)
    return luaL_error(L, "not enough memory");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setiuservalue(L, m, UV_HUB);
  lua_newtable(L);
  lua_setiuservalue(L, m, UV_ORDER);
  lua_createtable(L, 0, 8);
  lua_pushvalue(L, m);
  luaL_setfuncs(L, functions, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, m, UV_NUMBERED);
  lua_setfield(L, -2, "jobs");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, m);
  lua_pushcclosure(L, newjob, 2);
  lua_setfield(L, -2, "new");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, m);
  lua_pushcclosure(L, spawnjob, 2);
  lua_setfield(L, -2, "spawn");
  return 1;
}


/*
** {======================================================
** Waiting for several jobs
** =======================================================
*/

/* The index (from 1) of the job of 'list' that finished first, or 0 if
** none has; 'h->mu' is held. */
static int firstover (Job **list, int n) {
  int i, first = 0;
  double when = 0;
  for (i = 0; i < n; i++) {
    Job *j = list[i];
    pthread_mutex_lock(&j->mu);  /* order: 'h->mu', then 'j->mu' */
    if (jobs_isfinal(j->status) && (first == 0 || j->finished < when)) {
      first = i + 1;
      when = j->finished;
    }
    pthread_mutex_unlock(&j->mu);
  }
  return first;
}


/*
** core.wait(list, seconds): the job of 'list' to finish first (if several
** have, the earliest); nil and "timeout" past 'seconds', or nil and "no job
** to wait for" for an empty list. It reads the list once, then sleeps
** until one of its jobs ends: each job marked 'awaited' wakes it as it
** ends, and no other does. A job that waits here is still cancelled at
** once. Upvalue: the hub, whose jobs these are.
*/
int jobs_wait (lua_State *L) {
  Hub *h = jobs_checkhub(L, lua_upvalueindex(1));
  double until = jobs_later(L, 2);
  int n, i, first, st = 0;
  Job **list, *self = jobs_self(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)luaL_len(L, 1);
  list = (Job **)lua_newuserdatauv(L, sizeof(Job *) * (size_t)n, 0);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    list[i] = jobs_checkjob(L, -1, h);
    lua_pop(L, 1);
  }
  if (n == 0) {
    luaL_pushfail(L);
    lua_pushliteral(L, "no job to wait for");
    return 2;
  }
  jobs_blockon(self, &h->mu, &h->cv);
  pthread_mutex_lock(&h->mu);
  if ((first = firstover(list, n)) == 0) {  /* none ends while we mark */
    for (i = 0; i < n; i++)
      list[i]->awaited = 1;
    h->awaiting = 1;
    while (h->awaiting && !jobs_pending(self) && st != ETIMEDOUT &&
           st != EINTR)
      st = jobs_waitbreak(self, &h->cv, &h->mu, until);
    for (i = 0; i < n; i++)
      list[i]->awaited = 0;
    h->awaiting = 0;
    first = firstover(list, n);
  }
  pthread_mutex_unlock(&h->mu);
  jobs_blockon(self, NULL, NULL);
  if (first > 0) {
    lua_rawgeti(L, 1, first);
    return 1;
  }
  if (jobs_pending(self))
    return jobs_stop(L, self);
  luaL_pushfail(L);
  lua_pushstring(L, jobs_whynot(st));
  return 2;
}

/* }====================================================== */
