/*
** channel.c: channels (SPEC §6): a queue of copied values that every state
** holding the channel shares by reference, through the protocol of jobs.h.
**
** The queued values live in the channel's own lua_State 'Q', owned by
** whichever thread holds 'ch->mu'; values are copied into Q by push and out
** of it by pop, each time under that mutex.
*/

#include <errno.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "control.h"
#include "copy.h"
#include "channel.h"


typedef struct Channel {
  pthread_mutex_t mu;
  pthread_cond_t notempty, notfull;
  lua_State *Q;  /* the values: Q[1] is the queue, a table (see push) */
  lua_Integer head, tail;  /* the queue holds Q[1][head .. tail-1] */
  lua_Integer count;  /* pushes not yet popped; atomic, as 'closed': a wait
                         polls them without the lock before it sleeps */
  lua_Integer capacity;  /* pushes it holds before push blocks; 0: no limit */
  int closed;
  int refs;  /* userdata pointing here, in any state; atomic */
} Channel;


/* A channel's userdata. One in the channel's own Q holds no count: it would
** keep the channel, and so Q itself, alive for ever. */
typedef struct Box {
  Channel *ch;
  int counted;
} Box;


static Channel *tochannel (lua_State *L) {
  return ((Box *)luaL_checkudata(L, 1, JOBS_CHANNEL))->ch;
}


static void channelfree (Channel *ch) {
  lua_close(ch->Q);
  pthread_mutex_destroy(&ch->mu);
  pthread_cond_destroy(&ch->notempty);
  pthread_cond_destroy(&ch->notfull);
  free(ch);
}


static int channel_gc (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_CHANNEL);
  if (b->counted && __atomic_sub_fetch(&b->ch->refs, 1, __ATOMIC_ACQ_REL) == 0)
    channelfree(b->ch);  /* no state holds it: nobody can lock it any more */
  b->counted = 0;
  return 0;
}


/*
** {======================================================
** Push and pop
** =======================================================
*/

/*
** Waits on 'cv' of 'ch', holding 'ch->mu', while 'blocked' says so, until
** the monotonic time 'until' (negative: no limit), polling it without the
** lock for JOBS_SPINTIME seconds first. Returns 0 with the
** channel as it may go on, still held: nothing can come between the last
** check and what the caller does. Else ETIMEDOUT, or ECANCELED for a job
** that must stop. A job blocking tells a cancel what it waits on, without
** holding 'ch->mu' (control.c takes its lock first), once: '*told'; the
** caller untells it once it has let go of 'ch->mu' (untell).
*/
static int await (Channel *ch, Job *self, pthread_cond_t *cv, double until,
                  int (*blocked) (Channel *), int *told) {
  int st = 0, spun = 0;
  while (blocked(ch)) {
    if (!spun) {  /* waking a sleeping thread costs more than a short poll */
      double now = jobs_now(), end = now + JOBS_SPINTIME;
      spun = 1;
      if (until >= 0 && until < end)
        end = until;
      pthread_mutex_unlock(&ch->mu);
      while (blocked(ch) && !jobs_pending(self) && now < end)
        now = jobs_now();
      pthread_mutex_lock(&ch->mu);
    }
    else if (self != NULL && !*told) {
      pthread_mutex_unlock(&ch->mu);
      jobs_blockon(self, &ch->mu, cv);
      *told = 1;
      pthread_mutex_lock(&ch->mu);
    }
    else if (jobs_pending(self))
      return ECANCELED;
    else if (st == ETIMEDOUT)
      return ETIMEDOUT;
    else
      st = jobs_waitcv(cv, &ch->mu, until);
  }
  return 0;
}


/* After an operation that awaited: 'ch->mu' is let go; a job that told a
** cancel what it waited on untells it, and raises if it must stop. */
static void untell (lua_State *L, Job *self, int told, int st) {
  if (told)
    jobs_blockon(self, NULL, NULL);
  if (st == ECANCELED)
    jobs_stop(L, self);
}


/* A field the polls of 'await' read without the lock. */
#define count(ch, f)	__atomic_load_n(&(ch)->f, __ATOMIC_ACQUIRE)


static int full (Channel *ch) {
  return !count(ch, closed) && ch->capacity > 0 &&
         count(ch, count) >= ch->capacity;
}


static int empty (Channel *ch) {
  return !count(ch, closed) && count(ch, count) == 0;
}


/* Runs protected in L: pushes the string atop 'ud', a lua_State. */
static int pushmessage (lua_State *L) {
  lua_State *from = (lua_State *)lua_touserdata(L, 1);
  lua_pushstring(L, lua_type(from, -1) == LUA_TSTRING ? lua_tostring(from, -1)
                                                     : "cannot copy");
  return 1;
}


/* Calls 'f(L)' with the light userdata 'ud' in protected mode, so that the
** caller, holding a channel's mutex, can unlock it before raising. */
static int protect (lua_State *L, lua_CFunction f, void *ud) {
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, ud);
  return lua_pcall(L, 1, LUA_MULTRET, 0);
}


typedef struct Transfer {
  lua_State *L;  /* the pushing or popping state */
  Channel *ch;
  int n;  /* values pushed or popped */
} Transfer;


/*
** Runs protected in Q (the queue at 1), holding 'ch->mu': copies the
** pusher's values 2..n+1 to the queue's tail as n, v1, ..., vn, and brings
** Q's index of names up to date for the copies out if the copy changed it.
*/
static int enqueue (lua_State *Q) {
  Transfer *t = (Transfer *)lua_touserdata(Q, 2);
  lua_Integer at = t->ch->tail;
  int i, loaded = jobs_copy(t->L, 2, t->n, Q, "argument %d", 2);
  lua_pushinteger(Q, t->n);
  lua_rawseti(Q, 1, at);
  for (i = 1; i <= t->n; i++) {
    lua_pushvalue(Q, 2 + i);
    lua_rawseti(Q, 1, at + i);
  }
  if (loaded) {  /* only a copy changes what Q has loaded */
    lua_pushcfunction(Q, jobs_indexnames);
    lua_call(Q, 0, 0);
  }
  return 0;
}


/*
** Runs protected in the popping state L, holding 'ch->mu': copies the
** values at the queue's head (Q[1]) from Q onto L. Reads Q raise-free.
*/
static int dequeue (lua_State *L) {
  Transfer *t = (Transfer *)lua_touserdata(L, 1);
  lua_State *Q = t->ch->Q;
  lua_Integer at = t->ch->head;
  int i;
  lua_rawgeti(Q, 1, at);
  t->n = (int)lua_tointeger(Q, -1);
  if (!lua_checkstack(Q, t->n) || !lua_checkstack(L, t->n))
    luaL_error(L, "not enough memory");
  for (i = 1; i <= t->n; i++)
    lua_rawgeti(Q, 1, at + i);
  jobs_copy(Q, -t->n, t->n, L, "value %d", 1);
  return t->n;
}


static int channel_push (lua_State *L) {
  Channel *ch = tochannel(L);
  lua_State *Q = ch->Q;
  Job *self = jobs_self(L);
  Transfer t;
  int st, told = 0;
  luaL_checkany(L, 2);
  t.L = L;
  t.ch = ch;
  t.n = lua_gettop(L) - 1;
  lua_pushcfunction(L, jobs_indexnames);  /* L may raise here, not later */
  lua_call(L, 0, 0);
  pthread_mutex_lock(&ch->mu);  /* Q is ours until we unlock */
  if ((st = await(ch, self, &ch->notfull, -1, full, &told)) != 0) {
    pthread_mutex_unlock(&ch->mu);
    untell(L, self, told, st);
  }
  if (ch->closed) {
    pthread_mutex_unlock(&ch->mu);
    untell(L, self, told, 0);
    return luaL_error(L, "push to a closed channel");
  }
  if (!lua_checkstack(Q, 3))
    st = LUA_ERRMEM;
  else {
    lua_pushcfunction(Q, enqueue);
    lua_pushvalue(Q, 1);
    lua_pushlightuserdata(Q, &t);
    st = lua_pcall(Q, 2, 0, 0);
  }
  if (st == LUA_OK) {
    ch->tail += t.n + 1;
    __atomic_add_fetch(&ch->count, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&ch->notempty);
  }
  else
    protect(L, pushmessage, Q);  /* Q's message, or L's memory error */
  lua_settop(Q, 1);
  pthread_mutex_unlock(&ch->mu);
  untell(L, self, told, 0);
  if (st != LUA_OK)
    return lua_error(L);
  return 0;
}


static int channel_pop (lua_State *L) {
  Channel *ch = tochannel(L);
  double until = jobs_later(L, 2);
  Job *self = jobs_self(L);
  Transfer t;
  int st, i, told = 0;
  lua_settop(L, 1);
  pthread_mutex_lock(&ch->mu);  /* Q is ours until we unlock */
  if ((st = await(ch, self, &ch->notempty, until, empty, &told)) != 0 ||
      ch->count == 0) {  /* timed out, stopping, or closed with nothing left */
    pthread_mutex_unlock(&ch->mu);
    untell(L, self, told, st);
    luaL_pushfail(L);
    lua_pushstring(L, st == ETIMEDOUT ? "timeout" : "closed");
    return 2;
  }
  t.ch = ch;
  t.n = 0;
  st = protect(L, dequeue, &t);
  if (st == LUA_OK) {  /* only now the values leave the queue */
    for (i = 0; i <= t.n; i++) {
      lua_pushnil(ch->Q);
      lua_rawseti(ch->Q, 1, ch->head + i);  /* an existing key: no memory */
    }
    ch->head += t.n + 1;
    __atomic_sub_fetch(&ch->count, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&ch->notfull);
  }
  lua_settop(ch->Q, 1);
  pthread_mutex_unlock(&ch->mu);
  untell(L, self, told, 0);
  if (st != LUA_OK)
    return lua_error(L);
  return lua_gettop(L) - 1;
}


static int channel_close (lua_State *L) {
  Channel *ch = tochannel(L);
  pthread_mutex_lock(&ch->mu);
  __atomic_store_n(&ch->closed, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&ch->notempty);
  pthread_cond_broadcast(&ch->notfull);
  pthread_mutex_unlock(&ch->mu);
  return 0;
}


static int channel_len (lua_State *L) {
  Channel *ch = tochannel(L);
  lua_Integer n;
  pthread_mutex_lock(&ch->mu);
  n = ch->count;
  pthread_mutex_unlock(&ch->mu);
  lua_pushinteger(L, n);
  return 1;
}


/* Two userdata for one channel are equal, wherever each came from. */
static int channel_eq (lua_State *L) {
  Box *a = (Box *)luaL_testudata(L, 1, JOBS_CHANNEL);
  Box *b = (Box *)luaL_testudata(L, 2, JOBS_CHANNEL);
  lua_pushboolean(L, a != NULL && b != NULL && a->ch == b->ch);
  return 1;
}


static int channel_tostring (lua_State *L) {
  Channel *ch = tochannel(L);
  lua_Integer n;
  int closed;
  pthread_mutex_lock(&ch->mu);
  n = ch->count;
  closed = ch->closed;
  pthread_mutex_unlock(&ch->mu);
  lua_pushfstring(L, "<channel %p: %I queued%s>", (void *)ch, (LUAI_UACINT)n,
                  closed ? ", closed" : "");
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Channels as values: creating, crossing
** =======================================================
*/

static void copychannel (lua_State *from, int idx, lua_State *to);
static const jobs_Copyable copyable = JOBS_COPYABLE(copychannel);

static const luaL_Reg methods[] = {
  {"push", channel_push},
  {"pop", channel_pop},
  {"close", channel_close},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__len", channel_len},
  {"__eq", channel_eq},
  {"__tostring", channel_tostring},
  {"__gc", channel_gc},
  {NULL, NULL}
};


/* Pushes a userdata for a channel (none yet), with its metatable. */
static Box *newbox (lua_State *L) {
  Box *p = (Box *)lua_newuserdatauv(L, sizeof(Box), 0);
  p->ch = NULL;
  p->counted = 0;
  if (luaL_newmetatable(L, JOBS_CHANNEL)) {
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushlightuserdata(L, (void *)&copyable);
    lua_setfield(L, -2, JOBS_COPYFIELD);
  }
  lua_setmetatable(L, -2);
  return p;
}


/* Crossing: one more userdata in 'to' for the same channel. Takes no lock,
** so a channel can be pushed into itself. */
static void copychannel (lua_State *from, int idx, lua_State *to) {
  Channel *ch = ((Box *)lua_touserdata(from, idx))->ch;
  Box *p = newbox(to);  /* may raise in 'to': nothing taken yet */
  p->ch = ch;
  p->counted = (to != ch->Q);
  if (p->counted)
    __atomic_add_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL);
}


typedef struct Setup {
  lua_State *from;
  int paths;
} Setup;


/* Runs protected in a new channel's Q: its libraries, for values that
** cross by name, and the queue, left at Q[1]. */
static int setupq (lua_State *Q) {
  Setup *s = (Setup *)lua_touserdata(Q, 1);
  luaL_openlibs(Q);
  jobs_inherit(s->from, s->paths, Q);
  lua_settop(Q, 0);
  jobs_indexnames(Q);  /* for the copies out; copies in keep it up to date */
  lua_newtable(Q);
  return 1;
}


/* jobs.channel([capacity]) */
int jobs_newchannel (lua_State *L) {
  lua_Integer capacity = luaL_optinteger(L, 1, 0);
  Box *p;
  Channel *ch;
  Setup s;
  luaL_argcheck(L, lua_isnoneornil(L, 1) || capacity > 0, 1,
                "positive capacity expected");
  s.from = L;
  s.paths = jobs_pushpaths(L);
  p = newbox(L);
  if ((ch = (Channel *)calloc(1, sizeof(Channel))) == NULL)
    return luaL_error(L, "not enough memory");
  if ((ch->Q = luaL_newstate()) == NULL) {
    free(ch);
    return luaL_error(L, "not enough memory");
  }
  lua_pushcfunction(ch->Q, setupq);
  lua_pushlightuserdata(ch->Q, &s);
  if (lua_pcall(ch->Q, 1, 1, 0) != LUA_OK) {
    lua_close(ch->Q);
    free(ch);
    return luaL_error(L, "not enough memory");
  }
  pthread_mutex_init(&ch->mu, NULL);
  jobs_initcv(&ch->notempty);
  jobs_initcv(&ch->notfull);
  ch->head = ch->tail = 1;
  ch->capacity = capacity;
  ch->refs = 1;
  p->ch = ch;
  p->counted = 1;
  return 1;
}

/* }====================================================== */
