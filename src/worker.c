/*
** worker.c: builds a job's lua_State, runs it on a pooled thread and closes
** it there, keeps a manager's jobs in line past its limit, and lets a
** closing state wait for its jobs.
** Owns the handoffs of a job's state.
**
** Who owns a job's state 'j->L', and when:
**   1. the creating (owner's) thread, from luaL_newstate until pthread_create,
**      or until it puts the job in its manager's line under 'hub->mu'; in
**      line, the state is the line's: whichever thread takes the job out
**      under 'hub->mu' owns it (a thread whose job ended, to run it; the
**      owner raising the limit; or a cancel, making it final: step 3);
**   2. the job's thread, from pthread_create (or from being handed the job
**      under 'hub->mu' while it waits idle, or from taking the job out of
**      line) until it sets a final status under 'j->mu' (settle);
**   3. the owner's thread again, once it has read that final status under
**      'j->mu' (job.c), until it puts the state in the hub's list of
**      states to close ('hub->spent', under 'hub->mu': jobs_closestate);
**   4. the pool thread that takes it off that list under 'hub->mu', which
**      closes it (drain): a job's finalizers run on a job's thread, under
**      its cancel and timeout. The state of a job whose object is gone
**      ("orphan") is nobody else's: the thread that ran it closes it.
** The job's thread never touches the owner's state; the owner's thread
** reads a job's state only in steps 1 and 3, and closes one only if it
** never ran (its creation failed, or no thread could be had).
*/

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "control.h"
#include "copy.h"
#include "worker.h"


/* Its address keys the traceback of a job's error in the job's registry:
** reading a light-userdata key allocates nothing, so it cannot raise. */
static const char tracebackkey = 0;


double jobs_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/*
** {======================================================
** The shared record
** =======================================================
*/

Job *jobs_newjob (void) {
  Job *j = (Job *)calloc(1, sizeof(Job));
  if (j == NULL)
    return NULL;
  pthread_mutex_init(&j->mu, NULL);
  jobs_initcv(&j->cv);
  jobs_initcv(&j->wake);
  j->status = JOB_CREATED;
  j->refs = 1;
  j->opt.timeout = -1;
  j->opt.libs = JOBS_ALLLIBS;
  j->progtype = LUA_TNONE;  /* jobs.progress never called */
  return j;
}


/* Closes J, the state of 'j', and frees its heap; the calling thread owns
** J and will not read it again. */
static void closejob (Job *j, lua_State *J) {
  lua_close(J);
  jobs_freeheap(&j->heap);
}


/* Whether J is big enough for its owner to copy its outcome with its own
** collector paused and for an idle thread to close it (JOBS_BIGSTATE). */
int jobs_bigstate (lua_State *J) {
  return (size_t)lua_gc(J, LUA_GCCOUNT) >= (JOBS_BIGSTATE >> 10);
}


/* Frees a job nobody refers to any more; the caller owns its state, if it
** still has one: one that never ran. */
static void destroy (Job *j) {
  if (j->L != NULL)
    closejob(j, j->L);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  pthread_cond_destroy(&j->wake);
  free(j->name.s);
  free(j->out.s);
  free(j->progress.s);
  free(j->progmsg.s);
  free(j);
}


void jobs_release (Job *j) {
  int last;
  pthread_mutex_lock(&j->mu);
  last = (--j->refs == 0);
  pthread_mutex_unlock(&j->mu);
  if (last)
    destroy(j);
}


/* Releases each job of the list 'j', linked by 'nextdone'. */
void jobs_releaselist (Job *j) {
  while (j != NULL) {
    Job *next = j->nextdone;
    jobs_release(j);
    j = next;
  }
}

/* }====================================================== */


/*
** {======================================================
** Building a job's state (on the owner's thread, step 1)
** =======================================================
*/

typedef struct Prep {
  lua_State *from;  /* the caller, holding the job's function at 'base' */
  Job *j;
  int base, nargs;  /* the function or string, and what follows it */
  int env;  /* index in 'from' of the env table, or 0 */
  int names;  /* index in 'from' of the string's free names, or 0 */
  int paths;  /* index in 'from' of its package.path, then cpath */
} Prep;


/* Runs protected: pushes the value at 1 as a string (__tostring may raise,
** or return no string). */
static int tostring (lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}


/* Records, as the traceback of the job running in L, the stack from
** 'level' with 'msg' on top; raises only for memory. */
void jobs_keeptraceback (lua_State *L, const char *msg, int level) {
  luaL_traceback(L, L, msg, level);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tracebackkey);
}


/*
** Message handler of a job: keeps the error value as it is, so that a table
** stays a table, and records a traceback taken where the error happened;
** none for a job cancelled or timed out, which will not end dead, nor for
** one ended by os.exit, which took its own where it was called.
*/
static int msghandler (lua_State *L) {
  int t = lua_type(L, 1), named = 0;
  if (jobs_stopping(jobs_self(L)))
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


/* The traceback of a dead job's error, left on its state J; NULL if none
** was taken (as for out of memory). Only J's owner may call it, once the
** job is over (step 3); it never raises. */
const char *jobs_traceback (lua_State *J, size_t *len) {
  if (!lua_checkstack(J, 1) ||
      lua_rawgetp(J, LUA_REGISTRYINDEX, &tracebackkey) != LUA_TSTRING)
    return NULL;
  return lua_tolstring(J, -1, len);
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


/* Copies the caller's 'env' table into J's globals. */
static void setglobals (Prep *p, lua_State *J) {
  jobs_copy(p->from, p->env, 1, J, "env", 0);
  lua_rawgeti(J, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushnil(J);
  while (lua_next(J, -3)) {
    lua_pushvalue(J, -2);
    lua_insert(J, -2);
    lua_rawset(J, -4);
  }
  lua_pop(J, 2);
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
    lua_pop(L, 1);
    if (lua_getfield(J, -1, lua_tostring(L, -1)) == LUA_TNIL) {
      if (!lua_checkstack(L, 3))
        luaL_error(J, "too many names to copy");
      lua_pushvalue(L, -1);  /* keep it, below the key 'next' goes on from */
      lua_insert(L, -2);
      n++;
    }
    lua_pop(J, 1);
  }
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, first + i);
    lua_rawget(L, p->names);
  }
  jobs_copy(L, first + n, n, J, NULL, first);
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
  lua_pushcfunction(J, msghandler);
  jobs_copy(p->from, p->base, p->nargs, J, "argument %d", p->base);
  return lua_gettop(J);
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
  *(Job **)lua_getextraspace(J) = j;  /* for its coroutines (control.c) */
  /* The collector's mode of the states lua5.4 and luajobs run scripts in,
  ** set while the state is empty (entering it collects once). */
  lua_gc(J, LUA_GCGEN, 0, 0);
  lua_gc(J, LUA_GCSTOP);  /* all it holds until it runs is alive */
  lua_pushcfunction(J, prepare);  /* ...so that now only J may raise */
  lua_pushlightuserdata(J, &p);
  if ((st = lua_pcall(J, 1, LUA_MULTRET, 0)) != LUA_OK) {
    int died = (st == LUA_ERRMEM && j->heap.refused);
    if (!died)
      lua_pushstring(L, lua_type(J, -1) == LUA_TSTRING ? lua_tostring(J, -1)
                                                        : "cannot start job");
    closejob(j, J);
    j->L = NULL;
    if (!died)
      lua_error(L);
    lua_settop(L, top);
    return 1;
  }
  lua_gc(J, LUA_GCRESTART);
  lua_settop(L, top);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** The job's thread (step 2)
** =======================================================
*/

#define linksof(list, j)	((Links *)((char *)(j) + (list)->links))

/* Appends 'j' to 'list' (held under its hub's mutex). */
static void append (JobList *list, Job *j) {
  Links *l = linksof(list, j);
  l->next = NULL;
  l->prev = list->last;
  if (list->last != NULL)
    linksof(list, list->last)->next = j;
  else
    list->first = j;
  list->last = j;
}


/* Takes 'j' out of 'list' (held under its hub's mutex). */
static void detach (JobList *list, Job *j) {
  Links *l = linksof(list, j);
  if (l->prev != NULL)
    linksof(list, l->prev)->next = l->next;
  else
    list->first = l->next;
  if (l->next != NULL)
    linksof(list, l->next)->prev = l->prev;
  else
    list->last = l->prev;
}


static void initlist (JobList *list, size_t links) {
  list->first = list->last = NULL;
  list->links = links;
}


/* One thread fewer runs; 'h->mu' is held. Its closing may wait for this. */
static void leave (Hub *h) {
  if (--h->running == 0)
    pthread_cond_broadcast(&h->cv);
}


/*
** Takes the list of jobs finished since the last call, in the order they
** finished, linked by 'nextdone', each holding a reference for the caller
** to release. The hub's fd is drained first, so that a job listed later
** leaves it readable.
*/
Job *jobs_takefinished (Hub *h) {
  uint64_t n;
  Job *list, *j;
  if (read(h->fd, &n, sizeof(n)) < 0) {}  /* EAGAIN: nothing to drain */
  pthread_mutex_lock(&h->mu);
  list = h->finished.first;
  for (j = list; j != NULL; j = j->inhub.next) {
    j->listed = 0;
    j->nextdone = j->inhub.next;
  }
  h->finished.first = h->finished.last = NULL;
  pthread_mutex_unlock(&h->mu);
  return list;
}


/* Joins the threads of list 'w' (linked by 'next'), which have given up. */
static void join (Worker *w) {
  while (w != NULL) {
    Worker *next = w->next;
    pthread_join(w->thread, NULL);  /* at most the few steps after 'idle' */
    pthread_cond_destroy(&w->cv);
    free(w);
    w = next;
  }
}


/* Joins the threads that gave up waiting for jobs; called by the owner's
** thread. */
static void reap (Hub *h) {
  Worker *w;
  pthread_mutex_lock(&h->mu);
  w = h->done;
  h->done = NULL;
  pthread_mutex_unlock(&h->mu);
  join(w);
}


/*
** Counts 'j' over for its manager and for the owner's waits; 'h->mu' is
** held. A numbered job joins its manager's jobs for wait_any. A wait wakes
** only once what it waits for is over: the first of its list, a job of
** its manager, or the last of them.
*/
static void counted (Hub *h, Job *j) {
  Limit *lim = j->limit;
  int wake = 0;
  if (j->awaited && h->awaiting) {  /* the first of its list to end */
    h->awaiting = 0;
    wake = 1;
  }
  if (lim != NULL) {  /* NULL: never started */
    lim->unfinished--;
    if (lim->open && !j->orphan) {
      append(&lim->done, j);
      j->unreturned = 1;
    }
    if ((lim->waiting == JOBS_WAITANY && j->unreturned) ||
        (lim->waiting == JOBS_WAITALL && lim->unfinished == 0))
      wake = 1;
  }
  if (wake)
    pthread_cond_signal(&h->cv);
}


/*
** Settles 'j' as over with status 'st'; 'h->mu' is held and 'j' is out of
** 'h->jobs'. Wakes whoever waits for it (see 'counted'). While its
** object lives, the reference of its thread (or of its place in line) goes
** to the end of the list of finished jobs, which makes the hub's fd
** readable; returns 0. If the object is gone, no poll can report the job:
** returns 1, and the caller releases that reference once it has let go of
** 'h->mu' (the last release may close the job's state).
*/
static int settle (Hub *h, Job *j, JobStatus st) {
  static const uint64_t one = 1;
  pthread_mutex_lock(&j->mu);  /* order: 'h->mu', then 'j->mu' */
  jobs_setstatus(j, st);
  j->finished = jobs_now();
  if (j->tindex != 0)
    jobs_untime(h, j);  /* its room stays, for closing its state */
  /* Handoff (step 3): with a final status set under 'mu', the job's state
  ** belongs to the owner's thread. */
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  counted(h, j);
  if (j->orphan)
    return 1;
  append(&h->finished, j);  /* out of 'h->jobs': its links serve here now */
  j->listed = 1;
  if (write(h->fd, &one, sizeof(one)) < 0) {}  /* full: readable all the same */
  return 0;
}


/* The object of 'j' is gone (its finalizer, on the owner's thread): no
** poll can report the job any more, so it leaves the list of finished
** jobs, or is never listed when it ends. Returns 1 if it had ended: its
** state, if not yet closed, is then the owner's (step 3); otherwise the
** thread that runs it closes it (see 'finish'). Both read under 'h->mu'. */
int jobs_orphan (Job *j) {
  Hub *h = j->hub;
  int listed, ended;
  if (h == NULL)
    return 0;  /* never started: its state goes with the job (destroy) */
  pthread_mutex_lock(&h->mu);
  j->orphan = 1;
  ended = jobs_isfinal(__atomic_load_n(&j->status, __ATOMIC_ACQUIRE));
  if (j->unreturned) {  /* its manager goes in the same collection */
    detach(&j->limit->done, j);
    j->unreturned = 0;
  }
  if ((listed = j->listed)) {
    detach(&h->finished, j);
    j->listed = 0;
  }
  pthread_mutex_unlock(&h->mu);
  if (listed)
    jobs_release(j);  /* the list's reference */
  return ended;
}


/* 'j' is taking a thread: from now on its time runs, and its timeout with
** it. 'h->mu' is held, by whichever thread is handing the job's state to
** its new owner. */
static void begin (Hub *h, Job *j) {
  pthread_mutex_lock(&j->mu);
  jobs_setstatus(j, JOB_RUNNING);
  j->started = jobs_now();
  pthread_mutex_unlock(&j->mu);
  if (j->opt.timeout >= 0)
    jobs_timein(h, j);
}


/* Takes the first job in line of 'lim' if it may run now; 'h->mu' is
** held. Its place in line holds the reference its thread will hold. */
static Job *nextinline (Limit *lim) {
  Job *j = lim->first;
  if (j == NULL || (lim->max > 0 && lim->running >= lim->max))
    return NULL;
  lim->first = j->nextdone;
  if (lim->first == NULL)
    lim->last = NULL;
  lim->running++;
  return j;
}


/* Drops a reference to 'lim'; 'h->mu' is held. */
static void unref (Limit *lim) {
  if (--lim->refs == 0)
    free(lim);
}


static void shut (Hub *h, Job *j, lua_State *J);

/*
** The end of a job on its thread, under the hub's mutex, so that a poll
** after a wait finds the job listed. Returns the next job in line of its
** manager for this thread to run, if one may start.
*/
static Job *finish (Job *j, JobStatus st) {
  Hub *h = j->hub;
  Limit *lim = j->limit;
  Job *next;
  int orphan;
  pthread_mutex_lock(&h->mu);
  detach(&h->jobs, j);
  orphan = settle(h, j, st);
  lim->running--;
  next = nextinline(lim);
  unref(lim);  /* 'next', if any, holds it still */
  if (next != NULL)
    begin(h, next);  /* Handoff (step 2): 'next's state is now this thread's */
  pthread_mutex_unlock(&h->mu);
  if (orphan) {  /* nobody looks at it: its state is this thread's to close */
    shut(h, j, j->L);
    j->L = NULL;
    jobs_release(j);
  }
  return next;
}


/*
** Waits, in 'h->idle', to be handed a job (see 'handidle') or woken to close
** states (see 'wakeidle'), for JOBS_IDLETIME seconds at most, or until the
** state closes; past JOBS_IDLEMAX waiting threads, or with states to close,
** does not wait. Returns 1 with '*jp' the job handed, or NULL if states
** wait to be closed; or, having given up, 0, the thread listed to join. The
** thread then joins those listed before it, so that one at most waits to
** be joined.
*/
static int idle (Hub *h, Worker *w, Job **jp) {
  double until = jobs_now() + JOBS_IDLETIME;
  Worker *before;
  pthread_mutex_lock(&h->mu);
  w->job = NULL;
  if (h->spent == NULL && h->nidle < JOBS_IDLEMAX) {
    w->drain = 0;
    w->next = h->idle;
    h->idle = w;
    h->nidle++;
    while (w->job == NULL && !w->drain && !h->closing &&
           jobs_waitcv(&w->cv, &h->mu, until) != ETIMEDOUT) {}
    /* Handoff (step 2): a job handed over under 'h->mu' is this thread's
    ** ('handidle' took it out of 'h->idle'). */
    if (w->job == NULL && !w->drain) {  /* still in 'h->idle': leave it */
      Worker **p;
      for (p = &h->idle; *p != w; p = &(*p)->next) {}
      *p = w->next;
      h->nidle--;
    }
  }
  if (w->job != NULL || h->spent != NULL) {
    *jp = w->job;
    pthread_mutex_unlock(&h->mu);
    return 1;
  }
  before = h->done;
  w->next = NULL;
  h->done = w;
  leave(h);  /* its last touch of 'h' */
  pthread_mutex_unlock(&h->mu);
  join(before);  /* a closing state joins this thread, hence them too */
  return 0;
}


/*
** Closes J, the state of the finished job 'j', on this thread (step 4): its
** finalizers run here. Lua runs them with hooks off, so a cancel of the
** job, or its timeout if it has one and ran, reaches them only in the
** waits they make (which a cancel wakes): no hook is armed, no signal sent.
*/
static void shut (Hub *h, Job *j, lua_State *J) {
  if (j->timeroom) {
    pthread_mutex_lock(&h->mu);
    if (j->started != 0)
      jobs_timein(h, j);  /* its deadline as it ran, maybe past already */
    pthread_mutex_unlock(&h->mu);
  }
  closejob(j, J);
  if (j->timeroom) {
    pthread_mutex_lock(&h->mu);
    jobs_timeout(h, j);
    pthread_mutex_unlock(&h->mu);
  }
}


/* Closes the states of 'h->spent', each once this thread has taken it off
** the list (step 4), then lets go of the job. */
static void drain (Hub *h) {
  for (;;) {
    Job *j;
    pthread_mutex_lock(&h->mu);
    if ((j = h->spent) != NULL) {
      h->spent = j->nextspent;
      h->nspent--;
    }
    else
      h->closer = 0;  /* whoever adds one next finds it a thread */
    pthread_mutex_unlock(&h->mu);
    if (j == NULL)
      return;
    shut(h, j, j->closing);
    jobs_release(j);  /* the list's reference */
  }
}


/* Whether a value from 'idx' up may hold a module or C function: only
** then must the owner's copy find names in the index. */
static int mayname (lua_State *L, int idx) {
  int top = lua_gettop(L);
  for (; idx <= top; idx++) {
    int t = lua_type(L, idx);
    if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA)
      return 1;
  }
  return 0;
}


/* Runs job 'j', whose state this thread owns (step 2), with a cancel
** reaching it through 'r'; returns its final status. */
static JobStatus execute (Runner *r, Job *j) {
  lua_State *L = j->L;
  int st;
  jobs_enter(r, j);
  st = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 1);
  jobs_leave(r, j);
  /* The owner copies the outcome without raising in L: index L's names
  ** now, while L may raise, if anything to copy could hold a name. Failing
  ** that, C functions will not cross. */
  if (mayname(L, 2) && lua_checkstack(L, 1)) {
    lua_pushcfunction(L, jobs_indexnames);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK)
      lua_pop(L, 1);
  }
  if (st == LUA_OK)
    return JOB_COMPLETED;
  st = jobs_stopping(j);
  return (st == JOBS_CANCELLED || st == JOBS_TIMEDOUT) ? JOB_CANCELLED
                                                       : JOB_DEAD;
}


/* A worker's thread: runs the job it is handed, then each job its
** manager has in line for it, then closes the states waiting to be
** closed, then waits for more. */
static void *run (void *arg) {
  Worker *w = (Worker *)arg;
  Job *j = w->job;  /* its state ours since pthread_create (step 2) */
  do {
    while (j != NULL)
      j = finish(j, execute(&w->run, j));
    drain(w->hub);
  } while (idle(w->hub, w, &j));
  return NULL;
}


/* A new thread for job 'j', or with NULL to close states; 'h->mu' is held. */
static int newworker (Hub *h, Job *j) {
  int err;
  pthread_attr_t attr;
  Worker *w = (Worker *)malloc(sizeof(Worker));
  if (w == NULL)
    return ENOMEM;
  w->hub = h;
  w->job = j;
  jobs_initcv(&w->cv);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, JOBS_STACKSIZE);
  jobs_threadmask(&attr);
  /* Handoff (step 2): from here the job's state belongs to the new thread;
  ** pthread_create makes all written above visible to it. */
  err = pthread_create(&w->thread, &attr, run, w);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    pthread_cond_destroy(&w->cv);
    free(w);
  }
  else
    h->running++;
  return err;
}


/* Takes the thread that waited last out of 'h->idle' ('h->mu' held), or
** returns NULL if none waits. */
static Worker *takeidle (Hub *h) {
  Worker *w = h->idle;
  if (w != NULL) {
    h->idle = w->next;
    h->nidle--;
  }
  return w;
}


/* Hands job 'j' to run to the thread that waited last in 'h->idle'; 'h->mu'
** is held. Returns 0 if no thread waits. */
static int handidle (Hub *h, Job *j) {
  Worker *w = takeidle(h);
  if (w == NULL)
    return 0;
  w->job = j;  /* Handoff (step 2): the state is the waiting thread's once
                  it has 'h->mu' */
  pthread_cond_signal(&w->cv);
  return 1;
}


/* Wakes the thread that waited last in 'h->idle' to close the states of
** 'h->spent'; 'h->mu' is held. Returns 0 if no thread waits. */
static int wakeidle (Hub *h) {
  Worker *w = takeidle(h);
  if (w == NULL)
    return 0;
  w->drain = 1;
  pthread_cond_signal(&w->cv);
  return 1;
}


/*
** Puts the state of 'j', which the owner's thread holds (step 3) and will
** not read again, in the hub's list of states to close (step 4), with a
** reference to 'j' (its allocator is in 'j'). A pool thread closes it when
** its job ends or it gives up waiting: in a loop of jobs one after another,
** while the owner starts the next. A big state, a long list, or a hub with
** no thread at all wakes or starts a thread for it at once, unless one is
** already on its way ('h->closer'): a burst of closings takes one thread.
*/
void jobs_closestate (Job *j) {
  Hub *h = j->hub;
  lua_State *J = j->L;
  int err = 0, now = jobs_bigstate(J);
  j->L = NULL;
  pthread_mutex_lock(&j->mu);
  j->refs++;
  pthread_mutex_unlock(&j->mu);
  pthread_mutex_lock(&h->mu);
  j->closing = J;
  j->nextspent = h->spent;
  h->spent = j;
  h->nspent++;
  if ((now || h->nspent >= JOBS_SPENTMAX || h->running == 0) &&
      !h->closer) {
    if (!wakeidle(h))
      err = newworker(h, NULL);
    h->closer = (err == 0);
  }
  if (err != 0 && h->running == 0) {  /* no thread to be had: close here */
    h->spent = j->nextspent;
    h->nspent--;
  }
  else
    err = 0;
  pthread_mutex_unlock(&h->mu);
  if (err != 0) {
    closejob(j, J);
    jobs_release(j);
  }
}


/* Starts 'j', just out of line or new, on a waiting thread or a new one;
** 'h->mu' is held. Returns 0 or an error number, the job's state then
** still the caller's. */
static int launch (Hub *h, Job *j) {
  int err = 0;
  begin(h, j);
  if (!handidle(h, j) && (err = newworker(h, j)) != 0) {
    pthread_mutex_lock(&j->mu);
    jobs_setstatus(j, JOB_CREATED);
    pthread_mutex_unlock(&j->mu);
    if (j->tindex != 0)
      jobs_untime(h, j);
  }
  return err;
}


/*
** Starts 'j' now on a thread of its own, or puts it in line if its
** manager's limit 'lim' is reached. Returns 0, or an error number if no
** thread is to be had (the job's state is then still the caller's).
*/
int jobs_start (Job *j, Hub *h, Limit *lim) {
  int err = 0;
  reap(h);
  if (j->opt.timeout >= 0) {
    if ((err = jobs_reservetime(h)) != 0)
      return err;
    j->timeroom = 1;
  }
  j->hub = h;
  j->limit = lim;
  j->refs++;  /* its thread's, or its place in line's */
  pthread_mutex_lock(&h->mu);
  lim->refs++;
  lim->unfinished++;
  append(&h->jobs, j);
  if (lim->max > 0 && lim->running >= lim->max) {
    /* Handoff: the state in line belongs to whichever thread takes it out
    ** under 'h->mu' (nextinline, or 'stop' making it final). */
    j->nextdone = NULL;
    if (lim->last != NULL)
      lim->last->nextdone = j;
    else
      lim->first = j;
    lim->last = j;
  }
  else if ((err = launch(h, j)) == 0)
    lim->running++;
  else {
    detach(&h->jobs, j);
    lim->unfinished--;
    unref(lim);
    j->refs--;
    if (j->timeroom)
      jobs_timeout(h, j);
  }
  pthread_mutex_unlock(&h->mu);
  return err;
}


/* Settles 'j', which never started, as over with status 'st' in 'h': it
** is listed for jobs.poll() as any job that ended. */
void jobs_endunstarted (Hub *h, Job *j, Limit *lim, JobStatus st) {
  pthread_mutex_lock(&h->mu);
  j->hub = h;
  j->limit = lim;  /* the manager, which numbered it, holds 'lim' */
  lim->unfinished++;
  j->refs++;  /* the list of finished jobs', the object being there */
  settle(h, j, st);
  pthread_mutex_unlock(&h->mu);
}


/* Cancels 'j'; 'h->mu' is held. A running job stops at its next
** instruction (control.c); one in line leaves it at once, cancelled. Returns
** 1 if 'j' left the line and its reference is the caller's to release (as
** 'settle' returns), once it has let go of 'h->mu'. 'hard': for good. */
static int stop (Hub *h, Job *j, int hard) {
  Limit *lim = j->limit;
  Job *q, *prev = NULL;
  int orphan;
  jobs_cancel(j, JOBS_CANCELLED, hard);  /* order: 'h->mu', then 'j->mu' */
  for (q = lim->first; q != NULL && q != j; q = q->nextdone)
    prev = q;
  if (q == NULL)
    return 0;  /* not in line */
  if (prev != NULL)
    prev->nextdone = j->nextdone;
  else
    lim->first = j->nextdone;
  if (lim->last == j)
    lim->last = prev;
  detach(&h->jobs, j);
  orphan = settle(h, j, JOB_CANCELLED);  /* its state goes back to the owner */
  unref(lim);  /* after 'settle', which counts 'j' in it */
  return orphan;
}


void jobs_stopjob (Job *j) {
  Hub *h = j->hub;
  if (h == NULL) {  /* never started */
    jobs_cancel(j, JOBS_CANCELLED, 0);
    return;
  }
  pthread_mutex_lock(&h->mu);
  stop(h, j, 0);  /* never an orphan: the caller holds its object */
  pthread_mutex_unlock(&h->mu);
}


Limit *jobs_newlimit (void) {
  Limit *lim = (Limit *)calloc(1, sizeof(Limit));
  if (lim != NULL) {
    lim->refs = 1;
    lim->open = 1;
    initlist(&lim->done, offsetof(Job, inmanager));
  }
  return lim;
}


/* The manager lets go of 'lim'; its jobs keep it while they last. Those
** over leave its list for wait_any, and those to end never join it. */
void jobs_droplimit (Hub *h, Limit *lim) {
  Job *j;
  pthread_mutex_lock(&h->mu);
  lim->open = 0;
  while ((j = jobs_nextreturned(lim)) != NULL) {}
  unref(lim);
  pthread_mutex_unlock(&h->mu);
}


/* Job 'j' is no longer numbered: wait_any will not return it. */
void jobs_unreturn (Hub *h, Job *j) {
  pthread_mutex_lock(&h->mu);
  if (j->unreturned) {
    detach(&j->limit->done, j);
    j->unreturned = 0;
  }
  pthread_mutex_unlock(&h->mu);
}


/* Takes the job of 'lim' that finished first of those wait_any has not
** returned, or NULL if none; 'h->mu' is held. */
Job *jobs_nextreturned (Limit *lim) {
  Job *j = lim->done.first;
  if (j != NULL) {
    detach(&lim->done, j);
    j->unreturned = 0;
  }
  return j;
}


/* Sets how many jobs of 'lim' may run at once (0: no limit), starting
** those in line that now may; raises in L if no thread is to be had. */
void jobs_setlimit (lua_State *L, Hub *h, Limit *lim, int max) {
  Job *j;
  int err = 0;
  pthread_mutex_lock(&h->mu);
  lim->max = max;
  while (err == 0 && (j = nextinline(lim)) != NULL) {
    if ((err = launch(h, j)) != 0) {  /* back at the head of the line */
      lim->running--;
      j->nextdone = lim->first;
      lim->first = j;
      if (lim->last == NULL)
        lim->last = j;
    }
  }
  pthread_mutex_unlock(&h->mu);
  if (err != 0)
    luaL_error(L, "cannot start a thread for a job: %s", strerror(err));
}

/* }====================================================== */


/*
** {======================================================
** The hub: closing the owner's state waits for its jobs
** =======================================================
*/

/* Closing the state: cancels its daemon jobs (all of them if the state is
** that of a job that is itself stopping) and waits for every job to end;
** jobs in line start as threads free up. */
static int hubgc (lua_State *L) {
  Hub *h = (Hub *)lua_touserdata(L, 1);
  int all = jobs_stopping(jobs_self(L));
  Job *j, *next, *gone = NULL;
  Worker *w;
  pthread_mutex_lock(&h->mu);
  h->closing = 1;
  for (w = h->idle; w != NULL; w = w->next)
    pthread_cond_signal(&w->cv);
  for (j = h->jobs.first; j != NULL; j = next) {
    next = j->inhub.next;  /* 'stop' may unlist 'j', never another */
    if ((all || j->opt.daemon) && stop(h, j, 1)) {
      j->nextdone = gone;  /* out of line: the link is free */
      gone = j;
    }
  }
  pthread_mutex_unlock(&h->mu);
  for (j = gone; j != NULL; j = next) {  /* never ran: closed by a thread */
    next = j->nextdone;
    jobs_closestate(j);
    jobs_release(j);
  }
  pthread_mutex_lock(&h->mu);
  while (h->running > 0)
    pthread_cond_wait(&h->cv, &h->mu);
  pthread_mutex_unlock(&h->mu);
  jobs_stopclock(h);
  reap(h);  /* every thread has left the module's code */
  jobs_releaselist(jobs_takefinished(h));
  close(h->fd);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  pthread_cond_destroy(&h->clockcv);
  return 0;
}


/* Its address keys, in the registry, the state's hub, for C hosts. */
static const char hubkey = 0;


/* The (light or full) userdata at registry key 'key' of L, or NULL. */
void *jobs_registered (lua_State *L, const void *key) {
  void *p;
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}


/* The hub of L, or NULL if the module is not open there. */
Hub *jobs_hubof (lua_State *L) {
  return (Hub *)jobs_registered(L, &hubkey);
}


/* Pushes a new hub, a userdata whose finalizer waits for its jobs, and
** makes it the state's. */
void jobs_newhub (lua_State *L) {
  Hub *h = (Hub *)lua_newuserdatauv(L, sizeof(Hub), 0);
  pthread_mutex_init(&h->mu, NULL);
  jobs_initcv(&h->cv);  /* timed waits: jobs.wait_any and wait_all */
  h->running = 0;
  h->idle = NULL;
  h->nidle = 0;
  h->done = NULL;
  h->closing = 0;
  initlist(&h->jobs, offsetof(Job, inhub));
  initlist(&h->finished, offsetof(Job, inhub));
  h->awaiting = 0;
  h->spent = NULL;
  h->nspent = h->closer = 0;
  h->timed = NULL;
  h->ntimed = h->timedjobs = h->timedsize = 0;
  jobs_initcv(&h->clockcv);
  h->clockon = h->clockstop = 0;
  h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (luaL_newmetatable(L, JOBS_HUB)) {
    lua_pushcfunction(L, hubgc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (h->fd < 0)
    luaL_error(L, "cannot create an eventfd: %s", strerror(errno));
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hubkey);
}

/* }====================================================== */
