/*
** hub.c: the hub of an owning state: how a job's end is settled there and
** counted for its manager's waits, and the jobs finished since its last
** poll (jobs.poll, jobs.fd).
*/

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "fork.h"
#include "hub.h"


/* Its address keys, in the registry, the state's hub, for C hosts. */
static const char hubkey = 0;


/* Pushes a new hub, a userdata whose finalizer is 'close', and makes it
** the state's. */
Hub *jobs_newhub (lua_State *L, lua_CFunction close) {
  Hub *h = (Hub *)lua_newuserdatauv(L, sizeof(Hub), 0);
  jobs_initmutex(&h->mu);
  jobs_initcv(&h->cv);  /* timed waits: jobs.wait_any and wait_all */
  h->running = 0;
  h->idle = NULL;
  h->nidle = 0;
  h->done = NULL;
  h->closing = 0;
  jobs_initlist(&h->jobs, offsetof(Job, inhub));
  jobs_initlist(&h->finished, offsetof(Job, inhub));
  jobs_initlist(&h->graced, offsetof(Job, ingrace));
  h->awaiting = 0;
  h->spent = NULL;
  h->nspent = h->closers = h->nclosed = h->throttled = h->keptkb = 0;
  h->toldkb = 0;
  h->basekb = JOBS_GCBASE;
  h->timed = NULL;
  h->ntimed = h->timedjobs = h->timedsize = 0;
  jobs_initcv(&h->clockcv);
  h->clockon = h->clockstop = 0;
  h->gone = h->atclose = h->forklisted = h->npools = h->daemons = 0;
  h->left = NULL;
  h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (luaL_newmetatable(L, JOBS_HUB)) {
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (h->fd < 0)
    luaL_error(L, "cannot create an eventfd: %s", strerror(errno));
  jobs_registerhub(h);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hubkey);
  return h;
}


/* The hub of L, or NULL if the module is not open there (or its hub was
** finalized: the state is closing). */
Hub *jobs_hubof (lua_State *L) {
  Hub *h = (Hub *)jobs_registered(L, &hubkey);
  return (h != NULL && !h->gone) ? h : NULL;
}


/* The hub at 'idx' of L (an upvalue, or a user value pushed), which must
** not have been finalized: an object whose finalizer runs after the
** hub's (Lua runs them newest first) finds the module closed. */
Hub *jobs_checkhub (lua_State *L, int idx) {
  Hub *h = (Hub *)lua_touserdata(L, idx);
  if (h->gone)
    luaL_error(L, "the jobs module is closed in this state (its hub was "
               "finalized)");
  return h;
}


/* Lists 'j' among the jobs of 'h' running or in line ('h->mu' held), and
** counts it if a daemon. */
void jobs_enhub (Hub *h, Job *j) {
  jobs_append(&h->jobs, j);
  h->daemons += (j->opt.daemon != 0);
}


/* Takes 'j' out of the jobs of 'h' running or in line ('h->mu' held). */
void jobs_unhub (Hub *h, Job *j) {
  jobs_detach(&h->jobs, j);
  h->daemons -= (j->opt.daemon != 0);
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
      jobs_append(&lim->done, j);
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
int jobs_settle (Hub *h, Job *j, JobStatus st) {
  static const uint64_t one = 1;
  pthread_mutex_lock(&j->mu);  /* order: 'h->mu', then 'j->mu' */
  jobs_setstatus(j, st);
  j->finished = jobs_now();
  /* Handoff (step 3): with a final status set under 'mu', the job's state
  ** belongs to the owner's thread. */
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  counted(h, j);
  if (j->orphan)
    return 1;
  /* The fd turns readable as the list turns non-empty: a poll reads the
  ** fd before it takes the list, so neither can miss the other. */
  if (h->finished.first == NULL &&
      write(h->fd, &one, sizeof(one)) < 0) {}  /* full: readable all the same */
  jobs_append(&h->finished, j);  /* out of 'h->jobs': its links serve here now */
  j->listed = 1;
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
    jobs_detach(&j->limit->done, j);
    j->unreturned = 0;
  }
  if ((listed = j->listed)) {
    jobs_detach(&h->finished, j);
    j->listed = 0;
  }
  pthread_mutex_unlock(&h->mu);
  if (listed)
    jobs_release(j);  /* the list's reference */
  return ended;
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
