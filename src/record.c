/*
** record.c: the record of a job that its owner and its thread share, and
** its references; small values in it; lists of jobs; the clock and waits;
** texts; the check of an options table.
*/

#define _GNU_SOURCE  /* PTHREAD_MUTEX_ADAPTIVE_NP */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "record.h"


double jobs_now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* Initializes 'mu', a mutex that threads take often for a short while
** (a hub's, a pool's): one that a thread finds taken spins a little
** before it sleeps, where the system can, as a sleep and a wake-up cost
** more than most holds of it. */
void jobs_initmutex (pthread_mutex_t *mu) {
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
#if defined(__GLIBC__)
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(mu, &ma);
  pthread_mutexattr_destroy(&ma);
}


/* Initializes 'cv' for jobs_waitcv: its timed waits use the monotonic
** clock, which no change of the system's time disturbs. */
void jobs_initcv (pthread_cond_t *cv) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &ca);
  pthread_condattr_destroy(&ca);
}


/* Waits on 'cv' (holding 'mu') until signalled or the monotonic time
** 'until' (negative: no limit); returns ETIMEDOUT once it has passed. */
int jobs_waitcv (pthread_cond_t *cv, pthread_mutex_t *mu, double until) {
  struct timespec ts;
  if (until < 0)
    return pthread_cond_wait(cv, mu);
  ts.tv_sec = (time_t)until;
  ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
  return pthread_cond_timedwait(cv, mu, &ts);
}


/* The (light or full) userdata at registry key 'key' of L, or NULL. */
void *jobs_registered (lua_State *L, const void *key) {
  void *p;
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}


/*
** {======================================================
** The shared record and its references
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
  j->nsmall = -1;  /* its outcome is in its state until it ends */
  j->opt.timeout = -1;
  j->opt.grace = JOBS_GRACE;
  j->opt.libs = JOBS_ALLLIBS;
  j->progtype = LUA_TNONE;  /* jobs.progress never called */
  return j;
}


/* Closes J, the state of 'j', and frees its heap; the calling thread owns
** J and will not read it again. */
void jobs_closejob (Job *j, lua_State *J) {
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
    jobs_closejob(j, j->L);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  pthread_cond_destroy(&j->wake);
  free(j->name.s);
  free(j->out.s);
  free(j->progress.s);
  free(j->progmsg.s);
  free(j->errmsg.s);
  free(j->errtb.s);
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
** Small values, in a record
** =======================================================
*/

/* Puts the 'n' values at 'first' of L in 'small' and returns 1, if they
** are few and small enough (see Small); else returns 0. Raises nothing. */
int jobs_tosmall (lua_State *L, int first, int n, Small *small) {
  int i;
  if (n > JOBS_SMALLMAX)
    return 0;
  for (i = 0; i < n; i++) {
    Small *v = &small[i];
    const char *s;
    switch ((v->type = lua_type(L, first + i))) {
      case LUA_TNIL:
        break;
      case LUA_TBOOLEAN:
        v->i = lua_toboolean(L, first + i);
        break;
      case LUA_TNUMBER:
        if ((v->isint = lua_isinteger(L, first + i)))
          v->i = lua_tointeger(L, first + i);
        else
          v->n = lua_tonumber(L, first + i);
        break;
      case LUA_TSTRING:
        s = lua_tolstring(L, first + i, &v->len);
        if (v->len >= JOBS_SMALLSTRING)
          return 0;
        memcpy(v->s, s, v->len);
        break;
      default:
        return 0;
    }
  }
  return 1;
}


void jobs_pushsmall (lua_State *L, const Small *small, int n) {
  int i;
  for (i = 0; i < n; i++) {
    const Small *v = &small[i];
    switch (v->type) {
      case LUA_TBOOLEAN: lua_pushboolean(L, (int)v->i); break;
      case LUA_TNUMBER:
        if (v->isint)
          lua_pushinteger(L, v->i);
        else
          lua_pushnumber(L, v->n);
        break;
      case LUA_TSTRING: lua_pushlstring(L, v->s, v->len); break;
      default: lua_pushnil(L);
    }
  }
}


/* }====================================================== */


/*
** {======================================================
** Lists of jobs
** =======================================================
*/

#define linksof(list, j)	((Links *)((char *)(j) + (list)->links))


void jobs_initlist (JobList *list, size_t links) {
  list->first = list->last = NULL;
  list->links = links;
  list->n = 0;
}


/* Appends 'j' to 'list' (held under its hub's mutex). */
void jobs_append (JobList *list, Job *j) {
  Links *l = linksof(list, j);
  l->next = NULL;
  l->prev = list->last;
  if (list->last != NULL)
    linksof(list, list->last)->next = j;
  else
    list->first = j;
  list->last = j;
  list->n++;
}


/* Puts 'j' first in 'list' (held under its hub's mutex). */
void jobs_prepend (JobList *list, Job *j) {
  Links *l = linksof(list, j);
  l->prev = NULL;
  l->next = list->first;
  if (list->first != NULL)
    linksof(list, list->first)->prev = j;
  else
    list->last = j;
  list->first = j;
  list->n++;
}


/* Takes 'j' out of 'list' (held under its hub's mutex). */
void jobs_detach (JobList *list, Job *j) {
  Links *l = linksof(list, j);
  if (l->prev != NULL)
    linksof(list, l->prev)->next = l->next;
  else
    list->first = l->next;
  if (l->next != NULL)
    linksof(list, l->next)->prev = l->prev;
  else
    list->last = l->prev;
  list->n--;
}


/* }====================================================== */


/*
** {======================================================
** Texts a job writes and its owner reads
** =======================================================
*/


/* Sets 't' to a copy of 's'; keeps it as it was if memory runs out. */
void jobs_settext (Text *t, const char *s, size_t len) {
  if (len > t->size || t->s == NULL) {
    char *n = (char *)realloc(t->s, len + 1);
    if (n == NULL)
      return;
    t->s = n;
    t->size = len + 1;
  }
  memcpy(t->s, s, len);
  t->len = len;
}


/*
** Pushes a copy of 't', a text of 'j' that another thread may change under
** 'j->mu'. Lua may raise while it allocates, so it allocates before taking
** the lock, and again if the text grew meanwhile.
*/
void jobs_pushtext (lua_State *L, Job *j, const Text *t) {
  luaL_Buffer b;
  size_t len;
  pthread_mutex_lock(&j->mu);
  len = t->len;
  pthread_mutex_unlock(&j->mu);
  for (;;) {
    char *p = luaL_buffinitsize(L, &b, len);
    pthread_mutex_lock(&j->mu);
    if (t->len <= len) {
      len = t->len;
      if (len > 0)  /* an empty text may have no buffer yet */
        memcpy(p, t->s, len);
      pthread_mutex_unlock(&j->mu);
      luaL_pushresultsize(&b, len);
      return;
    }
    len = t->len;
    pthread_mutex_unlock(&j->mu);
    lua_pop(L, 1);  /* the buffer's box, if it has one */
  }
}


/* }====================================================== */


/*
** {======================================================
** The traceback of a job's error, in its state
** =======================================================
*/

/* Its address keys the traceback of a job's error in the job's registry:
** reading a light-userdata key allocates nothing, so it cannot raise. */
static const char tracebackkey = 0;


/* Records, as the traceback of the job running in L, the stack from
** 'level' with 'msg' on top; raises only for memory. */
void jobs_keeptraceback (lua_State *L, const char *msg, int level) {
  luaL_traceback(L, L, msg, level);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tracebackkey);
}


/* Its address keys, in a state's registry, {error, traceback} of an error
** raised with its traceback given (jobs_raisewith). */
static const char presetkey = 0;


/* Raises the value at 1 of L as an error whose traceback is the string at
** 2: a remote task's, taken where it happened. The message handler of L's
** job keeps that traceback instead of taking its own. */
int jobs_raisewith (lua_State *L) {
  luaL_checktype(L, 2, LUA_TSTRING);
  lua_settop(L, 2);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &presetkey);
  lua_settop(L, 1);
  return lua_error(L);
}


/* For the message handler, the error at 1: whether jobs_raisewith raised
** it, its traceback then kept as the one of L's error. */
int jobs_presettraceback (lua_State *L) {
  int same = 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &presetkey) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    if ((same = lua_rawequal(L, -1, 1))) {
      lua_rawgeti(L, -2, 2);
      lua_rawsetp(L, LUA_REGISTRYINDEX, &tracebackkey);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &presetkey);
  }
  lua_pop(L, 1);
  return same;
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

/* }====================================================== */


void jobs_checkoptions (lua_State *L, int idx, const char *const known[],
                        const char *fname) {
  int k;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    for (k = 0; known[k] != NULL; k++)
      if (lua_type(L, -1) == LUA_TSTRING &&
          strcmp(lua_tostring(L, -1), known[k]) == 0)
        break;
    if (known[k] == NULL)
      luaL_error(L, "unknown option '%s' to '%s'", luaL_tolstring(L, -1, NULL),
                 fname);
  }
}
