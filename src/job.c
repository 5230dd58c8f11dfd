/*
** job.c: the job object in its owner's state (SPEC §3): creating it, and its
** status, results, error, traceback and wait. Runs on the owner's thread only.
*/

#include <errno.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "cancel.h"
#include "copy.h"
#include "libs.h"
#include "state.h"
#include "worker.h"
#include "job.h"
#include "names.h"
#include "tasks.h"


/*
** A job object: a full userdata holding a Box, with user values
** 1: its name, 2: its outcome once fetched (see 'fetch'), 3: the list of
** its on_done callbacks not yet run, 4: the hub it was started with, which
** its record points at: the hub lives as long as the object.
*/
typedef struct Box {
  Job *j;  /* NULL while being built, and once finalized */
  lua_Integer num;
  int pool;  /* a pool's task: the pool's number; 0: a job */
  int polled;  /* jobs.poll() has reported it */
} Box;

#define UV_NAME		JOBS_NAMEUV
#define UV_OUTCOME	2
#define UV_ONDONE	3
#define UV_HUB		4
#define NUV		4

/* Registry fields of the owner: the job object of each Job (weak values,
** for jobs.poll), and the queue of objects whose on_done callbacks are to
** run (at 'head' .. 'tail'). */
#define OBJECTS		"jobs.objects"
#define PENDING		"jobs.pending"


const char *const jobs_statusnames[] = {
  "created", "running", "completed", "dead", "cancelled"
};


/* Raises the error of a job object used once its finalizer ran, as an
** object of another's finalizer may be (Lua runs them newest first). */
static void gone (lua_State *L, Box *b) {
  luaL_error(L, "job #%I is gone (used after its finalizer ran)",
             (LUAI_UACINT)b->num);
}


static Box *checkbox (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_JOB);
  if (b->j == NULL)
    gone(L, b);
  return b;
}


/* The job of the object at 'idx', which must be one started with hub 'h'. */
Job *jobs_checkjob (lua_State *L, int idx, Hub *h) {
  Box *b = (Box *)luaL_testudata(L, idx, JOBS_JOB);
  if (b == NULL)
    luaL_error(L, "job expected, got %s", luaL_typename(L, idx));
  if (b->j == NULL)
    gone(L, b);
  if (b->j->hub != h)
    luaL_error(L, "job #%I belongs to another jobs module",
               (LUAI_UACINT)b->num);
  return b->j;
}


/* The job of a job object known to be one; NULL once it was finalized. */
Job *jobs_tojob (lua_State *L, int idx) {
  return ((Box *)lua_touserdata(L, idx))->j;
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

/* Where the outcome of a finished job is: its results (or error) at
** 'first' .. 'first' + 'n' - 1 of J, the traceback of its error. */
typedef struct Outcome {
  Job *j;
  const Small *small;  /* or a pool's task's results, in its record */
  lua_State *J;
  int first, n;
  const char *tb;
  size_t tblen;
} Outcome;


/*
** Runs protected in the owner's state L with the Outcome at 1; returns the
** outcome table: {n = #results, ...results} for a completed job,
** {error = e, traceback = tb} for a dead one. Raises in L if a value cannot
** be copied.
*/
static int copyoutcome (lua_State *L) {
  Outcome *o = (Outcome *)lua_touserdata(L, 1);
  Job *j = o->j;
  lua_State *J = o->J;
  if (J == NULL && o->small == NULL && !j->inrecord &&
      j->status != JOB_CANCELLED)
    return luaL_error(L, "not enough memory");
  if (j->status == JOB_COMPLETED) {
    int i, n = o->n;
    int t = (lua_createtable(L, n, 1), lua_gettop(L));
    if (o->small != NULL) {
      luaL_checkstack(L, n, "too many results");
      jobs_pushsmall(L, o->small, n);
    }
    else
      jobs_copy(J, o->first, n, L, "result %d", 1);
    for (i = n; i >= 1; i--)
      lua_rawseti(L, t, i);
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
  }
  else if (j->status == JOB_CANCELLED) {  /* the reason, not what it threw */
    lua_createtable(L, 0, 1);
    lua_pushstring(L, __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) ==
                      JOBS_TIMEDOUT ? "timeout" : "cancelled");
    lua_setfield(L, -2, "error");
  }
  else {
    lua_createtable(L, 0, 2);
    if (J == NULL)  /* a message, in the record */
      lua_pushlstring(L, j->errmsg.s, j->errmsg.len);
    else
      jobs_copy(J, o->first, 1, L, "error", 1);
    lua_setfield(L, -2, "error");
    if (o->tb != NULL) {
      lua_pushlstring(L, o->tb, o->tblen);
      lua_setfield(L, -2, "traceback");
    }
  }
  return 1;
}


/*
** Copies the outcome table of the finished 'j' into L (see copyoutcome),
** or its error message if that fails; returns the status of the copy. A
** job's outcome is on its state, which closes then, or in its record (its
** state closed as it ended: see 'finish' in worker.c); a pool's task's is in
** the pool's state, locked meanwhile (its collector in L paused: a
** finalizer there may use the pool), and let go of then.
*/
static int outcome (lua_State *L, Job *j) {
  Outcome o;
  int gc, st;
  if (j->forked != 0) {  /* the parent's: its state is nowhere here */
    lua_createtable(L, 0, 1);
    lua_pushfstring(L, "job #%I ran in process %d, which forked this one "
                    "(a child has none of its parent's jobs)",
                    (LUAI_UACINT)j->num, j->forked);
    lua_setfield(L, -2, "error");
    return LUA_OK;
  }
  o.j = j;
  o.small = NULL;
  if (j->pool != NULL && j->slot != 0)
    o.J = jobs_opentask(j, &o.first, &o.n, &o.tb, &o.tblen);
  else if (j->pool == NULL && j->L != NULL) {
    o.J = j->L;
    o.first = 2;  /* results follow the message handler */
    o.n = lua_gettop(o.J) - 1;
    o.tb = jobs_traceback(o.J, &o.tblen);
  }
  else {  /* nothing in a store or state: in the record, if anywhere */
    o.J = NULL;
    o.small = j->nsmall >= 0 ? j->small : NULL;
    o.n = j->nsmall;
    o.tb = j->errtb.s;
    o.tblen = j->errtb.len;
  }
  gc = o.J != NULL && (j->pool != NULL || jobs_bigstate(o.J)) &&
       lua_gc(L, LUA_GCISRUNNING);
  if (gc)  /* what the copy makes is alive: no use looking */
    lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, copyoutcome);
  lua_pushlightuserdata(L, &o);
  st = lua_pcall(L, 1, 1, 0);
  if (gc)
    lua_gc(L, LUA_GCRESTART);
  if (j->pool != NULL)
    jobs_closetask(j);
  else if (j->L != NULL)
    jobs_closestate(j);
  return st;
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
  if (outcome(L, j) != LUA_OK) {
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "error");
    lua_insert(L, -2);
    lua_setfield(L, -2, "traceback");
    pthread_mutex_lock(&j->mu);
    jobs_setstatus(j, JOB_DEAD);
    pthread_mutex_unlock(&j->mu);
  }
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, ud, UV_OUTCOME);
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

/*
** Polls the status of 'j' for JOBS_SPINTIME seconds at most (or until
** 'until', if sooner); returns whether it became final meanwhile.
*/
static int spinfinal (Job *j, double until) {
  double now = jobs_now(), end = now + JOBS_SPINTIME;
  if (until >= 0 && until < end)
    end = until;
  for (; now < end; now = jobs_now())
    if (jobs_isfinal(__atomic_load_n(&j->status, __ATOMIC_ACQUIRE)))
      return 1;
  return 0;
}


/*
** Waits until 'j' is final or the monotonic time 'until' (negative: no
** limit); returns 0 if it is final, else ETIMEDOUT, or EINTR if the host
** interrupted the wait (jobs_interrupt). In a job, a cancel of that job
** interrupts the wait and raises. A job that ends within a few
** microseconds is seen without sleeping: waking a sleeping thread costs
** more.
*/
static int waitfinal (lua_State *L, Job *j, double until) {
  Job *self = jobs_self(L);
  int st = 0;
  spinfinal(j, until);
  jobs_blockon(self, &j->mu, &j->cv);
  pthread_mutex_lock(&j->mu);
  while (!jobs_isfinal(j->status) && !jobs_pending(self) &&
         st != ETIMEDOUT && st != EINTR)
    st = jobs_waitbreak(self, &j->cv, &j->mu, until);
  if (jobs_isfinal(j->status))
    st = 0;
  else if (st != EINTR)
    st = ETIMEDOUT;
  pthread_mutex_unlock(&j->mu);
  jobs_blockon(self, NULL, NULL);
  if (st != 0 && jobs_pending(self))
    jobs_stop(L, self);
  return st;
}


static int job_wait (lua_State *L) {
  Box *b = checkbox(L);
  double until = jobs_later(L, 2);
  int st;
  lua_settop(L, 1);
  if ((st = waitfinal(L, b->j, until)) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, jobs_whynot(st));
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


/* job:on_done(fn): fn(job) runs on this thread at the jobs.poll() that
** reports the job finished, or at once if one already has. */
static int job_ondone (lua_State *L) {
  Box *b = checkbox(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  if (b->polled) {
    lua_insert(L, 1);
    lua_call(L, 1, 0);
    return 0;
  }
  if (lua_getiuservalue(L, 1, UV_ONDONE) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_ONDONE);
  }
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, luaL_len(L, -2) + 1);
  return 0;
}


/* job:cancel(): true if the job was still running and is asked to stop.
** A finished one keeps its status; the cancel reaches its finalizers if
** its state is still closing. */
static int job_cancel (lua_State *L) {
  Box *b = checkbox(L);
  int running = !jobs_isfinal(getstatus(b->j));
  if (running)
    jobs_stopjob(b->j);
  else
    jobs_cancel(b->j, JOBS_CANCELLED, 0);
  lua_pushboolean(L, running);
  return 1;
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


/* Pushes what the job last gave jobs.progress: its value, or with
** 'message', its message; nil if it never called it. */
static void pushprogress (lua_State *L, Job *j, int message) {
  int t, isint;
  lua_Number n;
  pthread_mutex_lock(&j->mu);  /* the job's thread may be setting them */
  t = j->progtype;
  isint = j->progint;
  n = j->prognum;
  pthread_mutex_unlock(&j->mu);
  if (t == LUA_TNONE)
    lua_pushnil(L);
  else if (message)
    jobs_pushtext(L, j, &j->progmsg);
  else if (t == LUA_TSTRING)
    jobs_pushtext(L, j, &j->progress);
  else if (t == LUA_TNUMBER && isint)
    lua_pushinteger(L, (lua_Integer)n);
  else if (t == LUA_TNUMBER)
    lua_pushnumber(L, n);
  else if (t == LUA_TBOOLEAN)
    lua_pushboolean(L, n != 0);
  else
    lua_pushnil(L);
}


/* job.<field>: each reads the job at 1; the outcome, if fetched, is at 3. */
static int field (lua_State *L, Box *b, const char *key) {
  Job *j = b->j;
  JobStatus st = getstatus(j);
  if (strcmp(key, "num") == 0)
    lua_pushinteger(L, b->num);
  else if (strcmp(key, "pool") == 0) {  /* a task's pool, by number */
    if (b->pool != 0)
      lua_pushinteger(L, b->pool);
    else
      lua_pushnil(L);
  }
  else if (strcmp(key, "name") == 0)
    lua_getiuservalue(L, 1, UV_NAME);
  else if (strcmp(key, "status") == 0)
    lua_pushstring(L, jobs_statusnames[st]);
  else if (strcmp(key, "done") == 0)
    lua_pushboolean(L, jobs_isfinal(st));
  else if (strcmp(key, "daemon") == 0)
    lua_pushboolean(L, j->opt.daemon);  /* set before it started */
  else if (strcmp(key, "result") == 0)
    lua_rawgeti(L, 3, 1);
  else if (strcmp(key, "error") == 0)
    lua_getfield(L, 3, "error");
  else if (strcmp(key, "progress") == 0)
    pushprogress(L, j, 0);
  else if (strcmp(key, "progress_message") == 0)
    pushprogress(L, j, 1);
  else if (strcmp(key, "output") == 0) {
    if (j->opt.capture)
      jobs_pushtext(L, j, &j->out);
    else
      lua_pushnil(L);
  }
  else if (strcmp(key, "elapsed") == 0) {
    double elapsed;
    pthread_mutex_lock(&j->mu);  /* a thread taking it from line sets them */
    elapsed = (j->started == 0) ? 0.0 :  /* it never took a thread */
              (jobs_isfinal(j->status) ? j->finished : jobs_now()) - j->started;
    pthread_mutex_unlock(&j->mu);
    lua_pushnumber(L, elapsed);
  }
  else
    return 0;
  return 1;
}


static int job_index (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_JOB);
  const char *key = luaL_checkstring(L, 2);
  lua_settop(L, 2);
  if (lua_getfield(L, lua_upvalueindex(1), key) != LUA_TNIL)
    return 1;  /* a method, which checks the job in turn */
  lua_pop(L, 1);
  if (b->j == NULL)
    gone(L, b);
  fetch(L, 1);  /* first, so that 'status' tells a result that cannot cross */
  if (!lua_istable(L, 3)) {
    lua_pop(L, 1);
    lua_newtable(L);  /* no outcome yet: fields read as nil */
  }
  if (!field(L, b, key))
    lua_pushnil(L);
  return 1;
}


/* Pushes the name 's' of 'len' bytes as a line shows it: its first line,
** cut to JOBS_SHORTNAME characters, but a function's ("function
** <source:line>"), whose source is cut from the left: its line and file
** are what tell it (jobs.lua's 'shortname' cuts alike). */
static void pushshort (lua_State *L, const char *s, size_t len) {
  static const char head[] = "function <...";
  size_t cut = strcspn(s, "\n"), keep = JOBS_SHORTNAME - (sizeof(head) - 1);
  if (cut == len && len > JOBS_SHORTNAME && s[len - 1] == '>' &&
      strncmp(s, head, sizeof(head) - 4) == 0) {
    lua_pushstring(L, head);
    lua_pushlstring(L, s + len - keep, keep);
    lua_concat(L, 2);
    return;
  }
  if (cut > JOBS_SHORTNAME)
    cut = JOBS_SHORTNAME;
  lua_pushlstring(L, s, cut);
  if (cut < len) {
    lua_pushliteral(L, "...");
    lua_concat(L, 2);
  }
}


static int job_tostring (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_JOB);
  size_t len;
  const char *name;
  if (b->j == NULL) {
    lua_pushfstring(L, "<job #%I: gone>", (LUAI_UACINT)b->num);
    return 1;
  }
  lua_getiuservalue(L, 1, UV_NAME);
  name = lua_tolstring(L, -1, &len);
  fetch(L, 1);
  if (b->pool != 0)
    lua_pushfstring(L, "<task %I of pool %d %s: ", (LUAI_UACINT)b->num,
                    b->pool, jobs_statusnames[getstatus(b->j)]);
  else
    lua_pushfstring(L, "<job #%I %s: ", (LUAI_UACINT)b->num,
                    jobs_statusnames[getstatus(b->j)]);
  pushshort(L, name, len);
  lua_pushliteral(L, ">");
  lua_concat(L, 3);
  return 1;
}


static int job_gc (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_JOB);
  Job *j = b->j;
  if (j != NULL) {
    /* Whether the job had ended is read under the hub's mutex, with its
    ** orphaning: then its state is ours (step 3 in worker.c), else its
    ** thread closes it. Its memory goes back now, not when a poll or a
    ** prune lets go of the job. Closing the owner's state, this runs
    ** before the hub's finalizer: the hub was marked for finalization
    ** first, and finalizers run in reverse order. */
    if (jobs_orphan(j)) {
      if (j->L != NULL)
        jobs_closestate(j);
      else if (j->pool != NULL)  /* a pool's task: its outcome */
        jobs_droptask(j);
    }
    else if (j->hub == NULL && j->pool != NULL)
      jobs_droptask(j);  /* submitted, then a raise kept it from starting */
    jobs_release(j);  /* a running job lives on, and its thread frees it */
    b->j = NULL;
  }
  return 0;
}


/*
** Finalizes the job objects of the hub at 'hub' of L that Lua never will:
** those made by finalizers as L closes (Lua marks no object for
** finalization then). Called by the hub's finalizer once its threads are
** gone; any other object of the hub was finalized before it (each keeps
** the hub alive, and Lua finalizes the newest first).
*/
void jobs_finalizeleft (lua_State *L, int hub) {
  int objects;
  lua_getfield(L, LUA_REGISTRYINDEX, OBJECTS);
  objects = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, objects)) {
    Box *b = (Box *)luaL_testudata(L, -1, JOBS_JOB);
    if (b != NULL && b->j != NULL) {
      lua_getiuservalue(L, -1, UV_HUB);
      if (lua_rawequal(L, -1, hub)) {
        lua_pushcfunction(L, job_gc);  /* raises nothing */
        lua_pushvalue(L, -3);
        lua_call(L, 1, 0);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}


static const luaL_Reg methods[] = {
  {"wait", job_wait},
  {"cancel", job_cancel},
  {"on_done", job_ondone},
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
  luaL_getsubtable(L, LUA_REGISTRYINDEX, OBJECTS);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, PENDING);
  lua_pop(L, 1);
}

/* }====================================================== */


/*
** {======================================================
** Completion without blocking: jobs.poll(), jobs.fd()
** =======================================================
*/

/* The queue's 'head' or 'tail' field (of the table at 'q'), or 'none'. */
static lua_Integer queueend (lua_State *L, int q, const char *end,
                             lua_Integer none) {
  lua_Integer i = (lua_getfield(L, q, end) == LUA_TNUMBER)
                  ? lua_tointeger(L, -1) : none;
  lua_pop(L, 1);
  return i;
}


/*
** Runs protected with the hub's list of finished jobs at 1 and a table at
** 2: appends their objects to it and to the pending queue (a job whose
** object is gone is left out).
*/
static int takefinished (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, 1);
  lua_Integer tail;
  lua_settop(L, 2);  /* the list of objects at 2 */
  lua_getfield(L, LUA_REGISTRYINDEX, OBJECTS);
  lua_getfield(L, LUA_REGISTRYINDEX, PENDING);
  tail = queueend(L, 4, "tail", 0);
  for (; j != NULL; j = j->nextdone) {
    if (lua_rawgetp(L, 3, j) == LUA_TUSERDATA) {
      ((Box *)lua_touserdata(L, -1))->polled = 1;
      lua_pushvalue(L, -1);
      lua_rawseti(L, 4, ++tail);
      lua_rawseti(L, 2, luaL_len(L, 2) + 1);
    }
    else
      lua_pop(L, 1);  /* its object is gone: nothing to report */
  }
  lua_pushinteger(L, tail);
  lua_setfield(L, 4, "tail");
  return 0;
}


/* Runs the pending on_done callbacks, oldest first. Each job leaves the
** queue before its callbacks run: one that raises stops the run, and the
** rest run at the next poll. */
static void runpending (lua_State *L) {
  int q, i, n;
  lua_Integer head;
  lua_getfield(L, LUA_REGISTRYINDEX, PENDING);
  q = lua_gettop(L);
  while ((head = queueend(L, q, "head", 1)) <= queueend(L, q, "tail", 0)) {
    lua_rawgeti(L, q, head);
    lua_pushnil(L);
    lua_rawseti(L, q, head);
    lua_pushinteger(L, head + 1);
    lua_setfield(L, q, "head");
    if (lua_getiuservalue(L, -1, UV_ONDONE) == LUA_TTABLE) {
      lua_pushnil(L);
      lua_setiuservalue(L, -3, UV_ONDONE);
      n = (int)luaL_len(L, -1);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_pushvalue(L, -3);
        lua_call(L, 1, 0);
      }
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}


/* jobs.poll(): a list of the jobs finished since the last poll, after
** running their on_done callbacks. Upvalue: the hub. */
int jobs_luapoll (lua_State *L) {
  Job *j;
  int st;
  lua_newtable(L);  /* the result: allocated before any reference is taken */
  lua_pushcfunction(L, takefinished);
  j = jobs_takefinished(jobs_checkhub(L, lua_upvalueindex(1)));
  lua_pushlightuserdata(L, j);
  lua_pushvalue(L, -3);
  st = lua_pcall(L, 2, 0, 0);
  jobs_releaselist(j);  /* the list's references go, whatever happened */
  if (st != LUA_OK)
    return lua_error(L);
  runpending(L);
  return 1;
}


/* jobs.fd(): a descriptor readable when jobs.poll() has news. Upvalue: the
** hub. */
int jobs_luafd (lua_State *L) {
  lua_pushinteger(L, jobs_checkhub(L, lua_upvalueindex(1))->fd);
  return 1;
}


/* jobs.unfinished(): how many jobs of this state (of any manager, and
** pools' tasks) run or wait for a thread, and how many of those are
** daemons. Upvalue: the hub. */
int jobs_luaunfinished (lua_State *L) {
  Hub *h = jobs_checkhub(L, lua_upvalueindex(1));
  size_t n, daemons;
  pthread_mutex_lock(&h->mu);
  n = h->jobs.n;
  daemons = h->daemons;
  pthread_mutex_unlock(&h->mu);
  lua_pushinteger(L, (lua_Integer)n);
  lua_pushinteger(L, (lua_Integer)daemons);
  return 2;
}


JOBS_API int jobs_fd (lua_State *L) {
  Hub *h = jobs_hubof(L);
  return h != NULL ? h->fd : -1;
}


JOBS_API int jobs_poll (lua_State *L) {
  Hub *h = jobs_hubof(L);
  if (h == NULL) {
    lua_pushliteral(L, "the jobs module is not open in this state");
    return LUA_ERRRUN;
  }
  lua_pushlightuserdata(L, h);
  lua_pushcclosure(L, jobs_luapoll, 1);
  return lua_pcall(L, 0, 1, 0);
}

/* }====================================================== */


/*
** {======================================================
** Creating jobs
** =======================================================
*/

/* Pushes the default name of the job whose function or string is at
** 'idx': the string, "function <source:line>", "math.sqrt", "callable table". */
static void pushname (lua_State *L, int idx) {
  lua_Debug ar;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      lua_pushvalue(L, idx);
      break;
    case LUA_TFUNCTION:
      if (jobs_pushname(L, idx))
        break;
      lua_pushvalue(L, idx);
      lua_getinfo(L, ">S", &ar);
      lua_pushfstring(L, "function <%s:%d>", ar.short_src, ar.linedefined);
      break;
    default:
      lua_pushfstring(L, "callable %s", luaL_typename(L, idx));
  }
}


/* Whether the value at 'idx' can be called: a function or has '__call'. */
static int callable (lua_State *L, int idx) {
  if (lua_isfunction(L, idx))
    return 1;
  if (luaL_getmetafield(L, idx, "__call") == LUA_TNIL)
    return 0;
  lua_pop(L, 1);
  return 1;
}


/* Reads field 'key' of the options table at 1, leaving it on the stack
** when present; returns whether it was. */
static int option (lua_State *L, const char *key) {
  if (lua_getfield(L, 1, key) != LUA_TNIL)
    return 1;
  lua_pop(L, 1);
  return 0;
}


/* Raises "bad option 'key' to 'spawn' (<what> expected, got <x>)" for the
** option on top: <x> is its value when it is of type 't', else its type. */
static void optionerror (lua_State *L, const char *key, const char *what,
                         int t) {
  const char *got = luaL_typename(L, -1);
  if (lua_type(L, -1) == LUA_TSTRING && t == LUA_TSTRING)
    got = lua_pushfstring(L, "'%s'", lua_tostring(L, -1));
  else if (lua_type(L, -1) == t)
    got = luaL_tolstring(L, -1, NULL);
  luaL_error(L, "bad option '%s' to 'spawn' (%s expected, got %s)", key, what,
             got);
}


/* Checks that option 'key', if present, is of type 't'; leaves it on the
** stack and returns whether it is present. */
static int typed (lua_State *L, const char *key, int t, const char *what) {
  if (!option(L, key))
    return 0;
  if (lua_type(L, -1) != t)
    optionerror(L, key, what, t);
  return 1;
}


/* Reads option 'key', if given, into 'secs': a non-negative number of
** seconds, none (negative) past any clock we could wait on. */
static void seconds (lua_State *L, const char *key, double *secs) {
  static const char *const what = "non-negative number of seconds";
  if (typed(L, key, LUA_TNUMBER, what)) {
    *secs = lua_tonumber(L, -1);
    if (!(*secs >= 0))
      optionerror(L, key, what, LUA_TNUMBER);
    if (*secs > 1e9)
      *secs = -1;
    lua_pop(L, 1);
  }
}


/* Reads the options table at 1 into 'j', checking that each is known and
** of its type and value; pushes the 'env' and 'name' options (nil when
** absent). */
static void readoptions (lua_State *L, Job *j) {
  static const char *const known[] = {"name", "env", "timeout", "grace",
                                      "libs", "memory_limit", "output",
                                      "on_done", "daemon", NULL};
  static const char *const outputs = "\"inherit\" or \"capture\"";
  int isint;
  jobs_checkoptions(L, 1, known, "spawn");
  seconds(L, "timeout", &j->opt.timeout);
  seconds(L, "grace", &j->opt.grace);
  if (typed(L, "memory_limit", LUA_TNUMBER, "positive integer of bytes")) {
    lua_Integer limit = lua_tointegerx(L, -1, &isint);
    if (!isint || limit <= 0)
      optionerror(L, "memory_limit", "positive integer of bytes", LUA_TNUMBER);
    j->heap.limit = (size_t)limit;
    lua_pop(L, 1);
  }
  if (typed(L, "daemon", LUA_TBOOLEAN, "boolean")) {
    j->opt.daemon = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (typed(L, "output", LUA_TSTRING, outputs)) {
    const char *out = lua_tostring(L, -1);
    if (strcmp(out, "capture") != 0 && strcmp(out, "inherit") != 0)
      optionerror(L, "output", outputs, LUA_TSTRING);
    j->opt.capture = (out[0] == 'c');
    lua_pop(L, 1);
  }
  if (typed(L, "libs", LUA_TTABLE, "table of library names")) {
    j->opt.libs = jobs_checklibs(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  if (typed(L, "on_done", LUA_TFUNCTION, "function"))
    lua_pop(L, 1);
  if (!typed(L, "env", LUA_TTABLE, "table"))
    lua_pushnil(L);
  if (!typed(L, "name", LUA_TSTRING, "string"))
    lua_pushnil(L);
}


/*
** The collector sees a job object, not the record it keeps alive, nor the
** state of a finished job whose results wait there to be read: C memory it
** is told of here, the record's as the object is made, the states' since
** the last time (worker.c counts them). Once it was told of as much as its
** heap held after its last collection (JOBS_GCBASE at least), it collects,
** as the generational collector of lua.c does when its heap doubles: a
** script making millions of jobs collects their objects at the pace it
** makes them. A collector stopped stays so (in a finalizer, ISRUNNING is
** -1).
*/
static void tellcollector (lua_State *L, Hub *h) {
  h->toldkb += (int)((sizeof(Job) + 1023) >> 10) +
               __atomic_exchange_n(&h->keptkb, 0, __ATOMIC_RELAXED);
  if (h->toldkb > h->basekb && lua_gc(L, LUA_GCISRUNNING) == 1) {
    lua_gc(L, LUA_GCCOLLECT);
    h->toldkb = 0;
    h->basekb = lua_gc(L, LUA_GCCOUNT);
    if (h->basekb < JOBS_GCBASE)
      h->basekb = JOBS_GCBASE;
  }
}


/* Pushes a new job object holding a new record, which it returns; checks
** first that 'base' holds something to run. With 'index', brings L's
** index of names up to date first, for a copy from L (which raises only
** in the receiver). The object keeps the hub at 'hub' alive. */
static Job *newbox (lua_State *L, int base, int index, int hub) {
  int t = lua_type(L, base);
  Box *b;
  luaL_argexpected(L, t == LUA_TSTRING || callable(L, base), base,
                   "function or string");
  if (index) {
    lua_pushcfunction(L, jobs_indexnames);  /* L may raise here, not later */
    lua_call(L, 0, 0);
  }
  lua_pushvalue(L, hub);
  b = (Box *)lua_newuserdatauv(L, sizeof(Box), NUV);
  b->j = NULL;
  b->num = 0;
  b->pool = 0;
  b->polled = 0;
  luaL_setmetatable(L, JOBS_JOB);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, UV_HUB);
  /* From here the job object's finalizer frees whatever a raise leaves. */
  if ((b->j = jobs_newjob()) == NULL)
    luaL_error(L, "not enough memory");
  tellcollector(L, (Hub *)lua_touserdata(L, hub));
  return b->j;
}


/* Names the job 'j' of the object at 'ud' by the value on top (popped),
** and lists the object for jobs.poll. */
static void enlist (lua_State *L, int ud, Job *j) {
  size_t len;
  const char *name = lua_tolstring(L, -1, &len);
  jobs_settext(&j->name, name, len);  /* what jobs.self() will say */
  lua_setiuservalue(L, ud, UV_NAME);
  lua_getfield(L, LUA_REGISTRYINDEX, OBJECTS);
  lua_pushvalue(L, ud);
  lua_rawsetp(L, -2, j);
  lua_pop(L, 1);
}


Job *jobs_newtask (lua_State *L, int base, int name, int hub) {
  Job *j = newbox(L, base, 0, hub);
  int ud = lua_gettop(L);
  if (name != 0)
    lua_pushvalue(L, name);
  else
    pushname(L, base);
  enlist(L, ud, j);
  return j;
}


/*
** Pushes a new job object for the function or string at 'base' (2 after an
** options table, else 1), its arguments after it, and returns its job,
** ready to start, or (with '*died') dead already: its memory limit cannot
** hold its state. Raises on bad input, creating nothing the caller sees.
*/
Job *jobs_newobject (lua_State *L, int base, int hub, int *died) {
  int nargs = lua_gettop(L) - base + 1;
  int t = lua_type(L, base), env = 0, names = 0, ud;
  Job *j = newbox(L, base, 1, hub);
  if (t == LUA_TSTRING && nargs >= 2) {  /* new(string, env) */
    luaL_argexpected(L, lua_isnil(L, base + 1) || lua_istable(L, base + 1),
                     base + 1, "table");
    luaL_argcheck(L, nargs <= 2, base + 2,
                  "no value expected after a string's env");
    env = lua_istable(L, base + 1) ? base + 1 : 0;
  }
  ud = lua_gettop(L);
  if (base == 2)
    readoptions(L, j);
  else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  if (env == 0 && lua_istable(L, -2))
    env = lua_gettop(L) - 1;
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    pushname(L, base);
  }
  lua_pushvalue(L, -1);
  enlist(L, ud, j);
  lua_pop(L, 1);
  if (t == LUA_TSTRING) {  /* compiled here: a syntax error is raised here */
    jobs_compile(L, base);
    nargs = 1;  /* its env, if any, is no argument */
    if (env == 0)
      names = jobs_freenames(L, base);
  }
  else if (env == 0)  /* the globals its functions name go with them */
    names = jobs_functionnames(L, base, nargs, 0, 0);
  *died = jobs_prepare(L, j, base, nargs, env, names);
  if (base == 2 && option(L, "on_done")) {
    lua_pushcfunction(L, job_ondone);
    lua_pushvalue(L, ud);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 0);
  }
  if (*died) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "not enough memory");
    lua_setfield(L, -2, "error");
    lua_setiuservalue(L, ud, UV_OUTCOME);
  }
  lua_settop(L, ud);
  return j;
}


/* Numbers the job object at 'idx' 'num': its manager's number for it. */
void jobs_setnum (lua_State *L, int idx, lua_Integer num) {
  Box *b = (Box *)lua_touserdata(L, idx);
  b->num = b->j->num = num;
}


void jobs_settaskof (lua_State *L, int idx, int pool) {
  ((Box *)lua_touserdata(L, idx))->pool = pool;
}

/* }====================================================== */
