/*
** worker.c: a job's run, from its start on a thread of the pool (or in its
** manager's line) to its state's closing on one, and the closing of the
** owner's state, which waits for its jobs.
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
**      line) until it sets a final status under 'j->mu' (jobs_settle, hub.c),
**      or, if the job's outcome needs no state (its results, or a string
**      error and its traceback, fit its record, or it was cancelled),
**      until it puts the state in the hub's list of
**      states to close just before, in the same hold of 'hub->mu' (step 4:
**      'j->L' is then NULL, and the owner never has the state);
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
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "clock.h"
#include "copy.h"
#include "fork.h"
#include "line.h"
#include "threads.h"
#include "worker.h"


/*
** {======================================================
** The job's thread (step 2)
** =======================================================
*/


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


static void shut (Hub *h, Job *j, lua_State *J);


/* Puts the state of 'j' in the hub's list of states to close ('h->mu'
** held), with a reference to 'j' (its allocator is in 'j'). Handoff
** (step 4): the state is the list's. */
static void spend (Hub *h, Job *j) {
  pthread_mutex_lock(&j->mu);  /* order: 'h->mu', then 'j->mu' */
  j->refs++;
  pthread_mutex_unlock(&j->mu);
  j->closing = j->L;
  j->L = NULL;
  j->nextspent = h->spent;
  h->spent = j;
  h->nspent++;
}

/*
** The end of a job on its thread, under the hub's mutex, so that a poll
** after a wait finds the job listed. Returns the next job in line of its
** manager for this thread to run, if one may start.
*/
static Job *finish (Job *j, JobStatus st) {
  Hub *h = j->hub;
  Limit *lim = j->limit;
  void (*drop) (Job *j) = lim->drop;  /* 'lim' may go below */
  Job *next;
  int orphan;
  pthread_mutex_lock(&h->mu);
  jobs_unhub(h, j);
  if (j->pool != NULL)
    jobs_timeout(h, j);  /* a pool's task has no state to close: its room
                            goes too */
  else if (j->tindex != 0)
    jobs_untime(h, j);  /* its room stays, for closing its state */
  jobs_ungrace(h, j);
  if (j->L != NULL && !j->orphan && j->inrecord)
    spend(h, j);  /* its outcome needs no state: this thread closes it once
                     its line is done (drain) */
  else if (j->L != NULL && !j->orphan)  /* kept for the owner to read */
    __atomic_add_fetch(&h->keptkb, lua_gc(j->L, LUA_GCCOUNT), __ATOMIC_RELAXED);
  orphan = jobs_settle(h, j, st);
  lim->running--;
  next = jobs_nextinline(lim);
  jobs_unref(lim);  /* 'next', if any, holds it still */
  if (next != NULL)
    begin(h, next);  /* Handoff (step 2): 'next's state is now this thread's */
  pthread_mutex_unlock(&h->mu);
  if (orphan) {  /* nobody looks at it: its state is this thread's to close */
    if (j->L != NULL)
      shut(h, j, j->L);
    else if (drop != NULL)  /* a pool's task: its outcome */
      drop(j);
    j->L = NULL;
    jobs_release(j);
  }
  return next;
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
  jobs_closejob(j, J);
  if (j->timeroom || j->graced) {  /* 'graced' only by this thread now */
    pthread_mutex_lock(&h->mu);
    jobs_timeout(h, j);
    jobs_ungrace(h, j);
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
      h->nclosed++;
      if (h->throttled && h->nspent <= JOBS_SPENTBOUND / 2) {
        h->throttled = 0;  /* the owner's new job may go on (see 'throttle') */
        pthread_cond_broadcast(&h->cv);
      }
    }
    else
      h->closers = 0;  /* whoever adds one next finds it a thread */
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


/* Copies the error of the dead job 'j', if a string, and its traceback
** from its state L into its record; returns whether both are there. */
static int keeperror (Job *j, lua_State *L) {
  size_t len;
  const char *s;
  if (lua_type(L, 2) != LUA_TSTRING)
    return 0;
  s = lua_tolstring(L, 2, &len);
  jobs_settext(&j->errmsg, s, len);
  if ((s = jobs_traceback(L, &len)) != NULL) {
    jobs_settext(&j->errtb, s, len);
    if (j->errtb.s == NULL)  /* out of memory */
      return 0;
  }
  return j->errmsg.s != NULL;
}


/* Runs job 'j', whose state this thread owns (step 2), with a cancel
** reaching it through 'r'; returns its final status. */
static JobStatus execute (Runner *r, Job *j) {
  lua_State *L = j->L;
  int st;
  if (j->limit->run != NULL)  /* a pool's task */
    return j->limit->run(r, j);
  jobs_enter(r, j, L);
  st = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 1);
  jobs_leave(r, j);
  st = jobs_ended(j, st);
  /* An outcome that fits the record goes there, and the state may close
  ** at once (see 'finish'). Else the owner copies the outcome without
  ** raising in L: index L's names now, while L may raise, if anything to
  ** copy could hold a name. Failing that, C functions will not cross. */
  if (st == JOB_COMPLETED &&
      jobs_tosmall(L, 2, lua_gettop(L) - 1, j->small)) {
    j->nsmall = lua_gettop(L) - 1;
    j->inrecord = 1;
  }
  else if (st == JOB_CANCELLED || (st == JOB_DEAD && keeperror(j, L)))
    j->inrecord = 1;  /* the reason of a cancel is no value of the state */
  else if (mayname(L, 2) && lua_checkstack(L, 1)) {
    lua_pushcfunction(L, jobs_indexnames);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK)
      lua_pop(L, 1);
  }
  return (JobStatus)st;
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
  } while (jobs_idle(w->hub, w, &j));
  return NULL;
}


/* }====================================================== */


/*
** {======================================================
** Starting, stopping, closing
** =======================================================
*/


/*
** Wakes or starts a thread to close the states of 'h->spent' ('h->mu'
** held); returns 0 or an error number.
*/
static int closer (Hub *h) {
  int err = 0;
  if (!jobs_wakeidle(h))
    err = jobs_newworker(h, NULL, run);
  if (err == 0)
    h->closers++;
  return err;
}


/*
** Puts the state of 'j', which the owner's thread holds (step 3) and will
** not read again, in the hub's list of states to close (step 4). A pool
** thread closes it when its job ends or it gives up waiting: in a loop of
** jobs one after another, while the owner starts the next. A big state,
** or a hub with no thread at all, wakes or starts a thread for it at once
** unless one is already on its way; so does a list longer than
** JOBS_SPENTMAX for each such thread, up to one a core: a burst of
** closings takes one thread, a backlog as many as it needs.
*/
void jobs_closestate (Job *j) {
  Hub *h = j->hub;
  lua_State *J = j->L;
  int err = 0, now = jobs_bigstate(J);
  pthread_mutex_lock(&h->mu);
  spend(h, j);
  if (((now || h->running == 0) && h->closers == 0) ||
      (h->nspent >= JOBS_SPENTMAX * (h->closers + 1) &&
       h->closers < jobs_cores()))
    err = closer(h);
  if (err != 0 && h->running == 0) {  /* no thread to be had: close here */
    h->spent = j->nextspent;
    h->nspent--;
  }
  else
    err = 0;
  pthread_mutex_unlock(&h->mu);
  if (err != 0) {
    jobs_closejob(j, J);
    jobs_release(j);
  }
}


/* Starts 'j', just out of line or new, on a waiting thread or a new one;
** 'h->mu' is held. Returns 0 or an error number, the job's state then
** still the caller's. */
static int launch (Hub *h, Job *j) {
  int err = 0;
  begin(h, j);
  if (!jobs_handidle(h, j) && (err = jobs_newworker(h, j, run)) != 0) {
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
/*
** Holds back the owner's new job while JOBS_SPENTBOUND states wait to be
** closed, until half of them are ('h->mu' held): whatever the rate of
** creation, the backlog stays bounded. States whose closing waits for
** their own jobs may hold up every closer: past a JOBS_BREAKTIME with none
** closed, it goes on.
*/
static void throttle (Hub *h) {
  while (h->nspent >= JOBS_SPENTBOUND) {
    int closed = h->nclosed;
    if (h->closers < jobs_cores() && closer(h) != 0 && h->closers == 0)
      return;  /* no thread to be had: the list's threads close it */
    h->throttled = 1;
    if (jobs_waitcv(&h->cv, &h->mu, jobs_now() + JOBS_BREAKTIME) == ETIMEDOUT
        && h->nclosed == closed)
      return;
  }
}


int jobs_start (Job *j, Hub *h, Limit *lim) {
  int err = 0;
  jobs_reap(h);
  if (j->opt.timeout >= 0) {
    if ((err = jobs_reservetime(h)) != 0)
      return err;
    j->timeroom = 1;
  }
  j->hub = h;
  j->limit = lim;
  j->refs++;  /* its thread's, or its place in line's */
  pthread_mutex_lock(&h->mu);
  throttle(h);
  lim->refs++;
  lim->unfinished++;
  jobs_enhub(h, j);
  if (lim->max > 0 && lim->running >= lim->max) {
    /* Handoff: the state in line belongs to whichever thread takes it out
    ** under 'h->mu' (nextinline, or 'stop' making it final). */
    jobs_enline(lim, j, 0);
  }
  else if ((err = launch(h, j)) == 0)
    lim->running++;
  else {
    jobs_unhub(h, j);
    lim->unfinished--;
    jobs_unref(lim);
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
  jobs_settle(h, j, st);
  pthread_mutex_unlock(&h->mu);
}


void jobs_stopjob (Job *j) {
  Hub *h = j->hub;
  if (h == NULL) {  /* never started */
    jobs_cancel(j, JOBS_CANCELLED, 0);
    return;
  }
  pthread_mutex_lock(&h->mu);
  jobs_halt(h, j, 0);  /* never an orphan: the caller holds its object */
  pthread_mutex_unlock(&h->mu);
}


/* Sets how many jobs of 'lim' may run at once (0: no limit), starting
** those in line that now may; raises in L if no thread is to be had. */
void jobs_setlimit (lua_State *L, Hub *h, Limit *lim, int max) {
  Job *j;
  int err = 0;
  pthread_mutex_lock(&h->mu);
  lim->max = max;
  while (err == 0 && (j = jobs_nextinline(lim)) != NULL) {
    if ((err = launch(h, j)) != 0) {  /* back at the head of the line */
      lim->running--;
      jobs_enline(lim, j, 1);
    }
  }
  pthread_mutex_unlock(&h->mu);
  if (err != 0)
    luaL_error(L, "cannot start a thread for a job: %s", strerror(err));
}


/* }====================================================== */


/*
** {======================================================
** The owner's state closing waits for its jobs
** =======================================================
*/


/*
** Stops the jobs of 'h' that are of 'lim', all of them or, without 'all',
** those in line; or, 'lim' NULL, every job with 'all', else its daemons;
** 'hard': for good, <close> handlers too. 'h->mu' is held. Returns those
** taken out of line, for 'letgo' once 'h->mu' is let go of.
*/
static Job *haltall (Hub *h, Limit *lim, int all, int hard) {
  Job *j, *next, *gone = NULL;
  for (j = h->jobs.first; j != NULL; j = next) {
    next = j->inhub.next;  /* 'stop' may unlist 'j', never another */
    if ((lim != NULL ? j->limit == lim && (all || j->queued)
                     : (all || j->opt.daemon)) &&
        jobs_halt(h, j, hard)) {
      j->nextdone = gone;  /* out of line: the link is free */
      gone = j;
    }
  }
  return gone;
}


/* Lets go of the jobs 'haltall' took out of line, which never ran. */
static void letgo (Job *gone) {
  Job *j, *next;
  for (j = gone; j != NULL; j = next) {  /* closed by a thread */
    next = j->nextdone;
    if (j->L != NULL)
      jobs_closestate(j);
    else if (j->limit->drop != NULL)  /* a pool's task: its pool holds
                                         'limit' while it holds the task */
      j->limit->drop(j);
    jobs_release(j);
  }
}


void jobs_stoplimit (Hub *h, Limit *lim, int all) {
  Job *gone;
  pthread_mutex_lock(&h->mu);
  gone = haltall(h, lim, all, 1);
  pthread_mutex_unlock(&h->mu);
  letgo(gone);
}


/* Waits for every thread of 'h' to have left its jobs. */
static void waitthreads (Hub *h) {
  pthread_mutex_lock(&h->mu);
  while (h->running > 0)
    pthread_cond_wait(&h->cv, &h->mu);
  pthread_mutex_unlock(&h->mu);
}


/*
** Closing the state: cancels its daemon jobs for good, or, with at_close
** "cancel", every job, each <close> handler in its grace (every job for
** good if the state is that of a job that is itself stopping); then waits
** for every job to end, jobs in line starting as threads free up.
*/
static int hubgc (lua_State *L) {
  Hub *h = (Hub *)lua_touserdata(L, 1);
  int stopping = jobs_stopping(jobs_self(L)) != 0;
  Job *gone;
  Worker *w;
  h->gone = 1;  /* what runs after this finds the module closed */
  jobs_unregisterhub(h);  /* a fork from now on leaves it as it is */
  pthread_mutex_lock(&h->mu);
  h->closing = 1;
  for (w = h->idle; w != NULL; w = w->next)
    pthread_cond_signal(&w->cv);
  gone = haltall(h, NULL, stopping || h->atclose, stopping || !h->atclose);
  pthread_mutex_unlock(&h->mu);
  letgo(gone);
  waitthreads(h);
  h->left(L, 1);  /* their states go to threads to close */
  waitthreads(h);
  jobs_stopclock(h);
  jobs_reap(h);  /* every thread has left the module's code */
  jobs_releaselist(jobs_takefinished(h));
  close(h->fd);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  pthread_cond_destroy(&h->clockcv);
  return 0;
}


/* Pushes the state's hub, whose finalizer waits for its jobs. */
void jobs_openhub (lua_State *L, void (*left) (lua_State *L, int hub)) {
  jobs_newhub(L, hubgc)->left = left;
}


/* }====================================================== */
