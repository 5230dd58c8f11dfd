/*
** channel.c: channels (SPEC §6): a queue of copied values that every state
** holding the channel shares by reference, through the protocol of jobs.h.
**
** The queued values live in two lua_States of the channel's own, so that a
** pusher and a popper copy at once: pushes copy into the tail's state
** ('in', owned by whichever thread holds 'ch->mu'), pops out of the head's
** ('out', owned by whichever thread holds 'ch->outmu'). A pop that finds
** the head empty swaps the two, holding both mutexes.
*/

#include <errno.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "cancel.h"
#include "copy.h"
#include "state.h"
#include "channel.h"


typedef struct Queue {
  lua_State *Q;  /* the values: Q[1] is the queue, a table (see enqueue) */
  lua_Integer head, tail;  /* it holds Q[1][head .. tail-1] */
} Queue;


typedef struct Channel {
  pthread_mutex_t mu;  /* owns '*in', 'closed' and the waits */
  pthread_mutex_t outmu;  /* owns '*out'; taken before 'mu' */
  pthread_cond_t notempty, notfull;  /* both wait with 'mu' */
  Queue q[2];  /* their states never change hands: a copy tells them apart */
  Queue *in, *out;  /* the tail's and the head's; swapped holding both */
  lua_Integer count;  /* pushes not yet popped; atomic, as 'closed' and the
                         sleepers: a wait or a pop reads them unlocked */
  lua_Integer capacity;  /* pushes it holds before push blocks; 0: no limit */
  int closed;
  int poppers, pushers;  /* threads asleep on 'notempty', 'notfull' */
  int refs;  /* userdata pointing here, in any state; atomic */
} Channel;


/* A channel's userdata. One in the channel's own states holds no count: it
** would keep the channel, and so those states, alive for ever. */
typedef struct Box {
  Channel *ch;  /* NULL once finalized */
  int counted;
} Box;


#define GONE	"channel is gone (used after its finalizer ran)"


/* The channel at 1, which must not have been finalized: an object of
** another's finalizer may be (Lua runs them newest first). */
static Channel *tochannel (lua_State *L) {
  Channel *ch = ((Box *)luaL_checkudata(L, 1, JOBS_CHANNEL))->ch;
  if (ch == NULL)
    luaL_error(L, GONE);
  return ch;
}


static void channelfree (Channel *ch) {
  lua_close(ch->q[0].Q);
  lua_close(ch->q[1].Q);
  pthread_mutex_destroy(&ch->mu);
  pthread_mutex_destroy(&ch->outmu);
  pthread_cond_destroy(&ch->notempty);
  pthread_cond_destroy(&ch->notfull);
  free(ch);
}


static int channel_gc (lua_State *L) {
  Box *b = (Box *)luaL_checkudata(L, 1, JOBS_CHANNEL);
  if (b->counted && __atomic_sub_fetch(&b->ch->refs, 1, __ATOMIC_ACQ_REL) == 0)
    channelfree(b->ch);  /* no state holds it: nobody can lock it any more */
  b->counted = 0;
  b->ch = NULL;
  return 0;
}


/*
** {======================================================
** Push and pop
** =======================================================
*/

/* A field the polls of 'await' and the pops read without a lock. Sequential
** consistency: a sleeper counts itself before it reads the count, a popper
** writes the count before it reads the sleepers (see 'channel_pop'). */
#define count(ch, f)	__atomic_load_n(&(ch)->f, __ATOMIC_SEQ_CST)


/* Who waits in a push or pop, and until when. */
typedef struct Waiter {
  Job *self;  /* the job waiting, or NULL */
  double until;  /* monotonic time; negative: no limit */
  int told;  /* a cancel of 'self' knows what it waits on */
} Waiter;


static void initwaiter (lua_State *L, Waiter *w, double until) {
  w->self = jobs_self(L);
  w->until = until;
  w->told = 0;
}


/*
** Waits on 'cv' of 'ch', holding 'ch->mu', while 'blocked' says so, until
** 'w->until', polling it without the lock for JOBS_SPINTIME seconds
** first; '*sleepers' counts it while it sleeps, so that nobody signals a
** condition nobody waits on. Returns 0 with the channel as it may go on,
** still held. Else ETIMEDOUT, ECANCELED for a job that must stop, or EINTR
** if the host interrupted the wait. A job blocking tells a cancel what it
** waits on, without holding 'ch->mu' (cancel.c takes its lock first),
** once ('w->told'); 'untell' undoes that once 'ch->mu' is let go.
*/
static int await (Channel *ch, Waiter *w, pthread_cond_t *cv,
                  int (*blocked) (Channel *), int *sleepers) {
  Job *self = w->self;
  double until = w->until;
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
    else if (self != NULL && !w->told) {
      pthread_mutex_unlock(&ch->mu);
      jobs_blockon(self, &ch->mu, cv);
      w->told = 1;
      pthread_mutex_lock(&ch->mu);
    }
    else if (jobs_pending(self))
      return ECANCELED;
    else if (st == ETIMEDOUT || st == EINTR)
      return st;
    else {
      __atomic_add_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
      if (blocked(ch))  /* again, now that it counts */
        st = jobs_waitbreak(self, cv, &ch->mu, until);
      __atomic_sub_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
    }
  }
  return 0;
}


/* After an operation that awaited: its locks are let go; a job that told a
** cancel what it waited on untells it, and raises if it must stop. */
static void untell (lua_State *L, Waiter *w, int st) {
  if (w->told)
    jobs_blockon(w->self, NULL, NULL);
  if (st == ECANCELED)
    jobs_stop(L, w->self);
}


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
  Queue *q;
  int n;  /* values pushed or popped */
} Transfer;


/*
** Runs protected in Q (the queue at 1), holding 'ch->mu': copies the
** pusher's values 2..n+1 to the queue's tail as n, v1, ..., vn.
*/
static int enqueue (lua_State *Q) {
  Transfer *t = (Transfer *)lua_touserdata(Q, 2);
  lua_Integer at = t->q->tail;
  int i;
  jobs_copy(t->L, 2, t->n, Q, "argument %d", 2);
  lua_pushinteger(Q, t->n);
  lua_rawseti(Q, 1, at);
  for (i = 1; i <= t->n; i++) {
    lua_pushvalue(Q, 2 + i);
    lua_rawseti(Q, 1, at + i);
  }
  return 0;
}


/*
** Runs protected in the popping state L, holding 'ch->outmu': copies the
** values at the queue's head from Q onto L. Reads Q raise-free.
*/
static int dequeue (lua_State *L) {
  Transfer *t = (Transfer *)lua_touserdata(L, 1);
  lua_State *Q = t->q->Q;
  lua_Integer at = t->q->head;
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
  Waiter w;
  Transfer t;
  lua_State *Q;
  int st;
  luaL_checkany(L, 2);
  initwaiter(L, &w, -1);
  t.L = L;
  t.n = lua_gettop(L) - 1;
  lua_pushcfunction(L, jobs_indexnames);  /* L may raise here, not later */
  lua_call(L, 0, 0);
  pthread_mutex_lock(&ch->mu);  /* '*ch->in' is ours until we unlock */
  if ((st = await(ch, &w, &ch->notfull, full, &ch->pushers)) != 0) {
    pthread_mutex_unlock(&ch->mu);
    untell(L, &w, st);  /* raises for a job that must stop */
    luaL_pushfail(L);
    lua_pushliteral(L, "interrupted");
    return 2;
  }
  if (ch->closed) {
    pthread_mutex_unlock(&ch->mu);
    untell(L, &w, 0);
    return luaL_error(L, "push to a closed channel");
  }
  t.q = ch->in;
  Q = t.q->Q;
  if (!lua_checkstack(Q, 3))
    st = LUA_ERRMEM;
  else {
    lua_pushcfunction(Q, enqueue);
    lua_pushvalue(Q, 1);
    lua_pushlightuserdata(Q, &t);
    st = lua_pcall(Q, 2, 0, 0);
  }
  if (st == LUA_OK) {
    t.q->tail += t.n + 1;
    __atomic_add_fetch(&ch->count, 1, __ATOMIC_SEQ_CST);
    if (count(ch, poppers) > 0)  /* they count themselves under 'mu' */
      pthread_cond_signal(&ch->notempty);
  }
  else
    protect(L, pushmessage, Q);  /* Q's message, or L's memory error */
  lua_settop(Q, 1);
  pthread_mutex_unlock(&ch->mu);
  untell(L, &w, 0);
  if (st != LUA_OK)
    return lua_error(L);
  return 0;
}


/*
** Called by a pop holding 'ch->outmu' with '*ch->out' empty: swaps in the
** tail's values, or waits for some. Returns 0 holding 'ch->outmu' again
** (the head may have been taken meanwhile: ask again), or, having let go
** of it, ETIMEDOUT, ECANCELED, EINTR, or EPIPE for a channel closed and
** empty.
*/
static int refill (Channel *ch, Waiter *w) {
  int st = EPIPE;
  pthread_mutex_lock(&ch->mu);  /* order: 'ch->outmu', then 'ch->mu' */
  if (ch->in->head < ch->in->tail) {  /* Handoff: each state goes with its
                                         queue to the other mutex */
    Queue *q = ch->out;
    ch->out = ch->in;
    ch->in = q;
    q->head = q->tail = 1;  /* empty: the tail's table fills from 1 again */
    pthread_mutex_unlock(&ch->mu);
    return 0;
  }
  pthread_mutex_unlock(&ch->outmu);  /* poppers queue on 'mu' meanwhile */
  if (!ch->closed)
    st = await(ch, w, &ch->notempty, empty, &ch->poppers);
  pthread_mutex_unlock(&ch->mu);
  if (st == 0)
    pthread_mutex_lock(&ch->outmu);
  return st;
}


static int channel_pop (lua_State *L) {
  Channel *ch = tochannel(L);
  Waiter w;
  Transfer t;
  int st = 0, i;
  initwaiter(L, &w, jobs_later(L, 2));
  lua_settop(L, 1);
  pthread_mutex_lock(&ch->outmu);  /* '*ch->out' is ours until we unlock */
  while (ch->out->head == ch->out->tail && (st = refill(ch, &w)) == 0) {}
  if (st != 0) {  /* timed out, stopping, interrupted, or closed and empty */
    untell(L, &w, st);
    luaL_pushfail(L);
    lua_pushstring(L, st == EPIPE ? "closed" : jobs_whynot(st));
    return 2;
  }
  t.q = ch->out;
  t.n = 0;
  st = protect(L, dequeue, &t);
  if (st == LUA_OK) {  /* only now the values leave the queue */
    for (i = 0; i <= t.n; i++) {
      lua_pushnil(t.q->Q);
      lua_rawseti(t.q->Q, 1, t.q->head + i);  /* an existing key: no memory */
    }
    t.q->head += t.n + 1;
    __atomic_sub_fetch(&ch->count, 1, __ATOMIC_SEQ_CST);
  }
  lua_settop(t.q->Q, 1);
  pthread_mutex_unlock(&ch->outmu);
  if (st == LUA_OK && count(ch, pushers) > 0) {  /* read after the count */
    pthread_mutex_lock(&ch->mu);  /* a pusher counted is in its wait then */
    pthread_cond_signal(&ch->notfull);
    pthread_mutex_unlock(&ch->mu);
  }
  untell(L, &w, 0);
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
  lua_pushinteger(L, count(tochannel(L), count));
  return 1;
}


/* Two userdata for one channel are equal, wherever each came from. */
static int channel_eq (lua_State *L) {
  Box *a = (Box *)luaL_testudata(L, 1, JOBS_CHANNEL);
  Box *b = (Box *)luaL_testudata(L, 2, JOBS_CHANNEL);
  lua_pushboolean(L, a != NULL && b != NULL &&
                     (a == b || (a->ch != NULL && a->ch == b->ch)));
  return 1;
}


static int channel_tostring (lua_State *L) {
  Channel *ch = ((Box *)luaL_checkudata(L, 1, JOBS_CHANNEL))->ch;
  if (ch == NULL) {
    lua_pushliteral(L, "<channel: gone>");
    return 1;
  }
  lua_pushfstring(L, "<channel %p: %I queued%s>", (void *)ch,
                  (LUAI_UACINT)count(ch, count),
                  count(ch, closed) ? ", closed" : "");
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
  Box *p;
  if (ch == NULL)
    luaL_error(to, "cannot copy a channel after its finalizer ran");
  p = newbox(to);  /* may raise in 'to': nothing taken yet */
  p->ch = ch;
  p->counted = (to != ch->q[0].Q && to != ch->q[1].Q);
  if (p->counted)
    __atomic_add_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL);
}


/* Gives 'q' a new state holding the queue, Q[1]; returns 0 if memory
** fails. */
static int newqueue (Queue *q) {
  if ((q->Q = jobs_newstore()) == NULL)
    return 0;
  q->head = q->tail = 1;
  return 1;
}


/* jobs.channel([capacity]) */
int jobs_newchannel (lua_State *L) {
  lua_Integer capacity = luaL_optinteger(L, 1, 0);
  Box *p;
  Channel *ch;
  luaL_argcheck(L, lua_isnoneornil(L, 1) || capacity > 0, 1,
                "positive capacity expected");
  p = newbox(L);
  if ((ch = (Channel *)calloc(1, sizeof(Channel))) == NULL)
    return luaL_error(L, "not enough memory");
  if (!newqueue(&ch->q[0]) || !newqueue(&ch->q[1])) {
    if (ch->q[0].Q != NULL)
      lua_close(ch->q[0].Q);
    free(ch);
    return luaL_error(L, "not enough memory");
  }
  pthread_mutex_init(&ch->mu, NULL);
  pthread_mutex_init(&ch->outmu, NULL);
  jobs_initcv(&ch->notempty);
  jobs_initcv(&ch->notfull);
  ch->in = &ch->q[0];
  ch->out = &ch->q[1];
  ch->capacity = capacity;
  ch->refs = 1;
  p->ch = ch;
  p->counted = 1;
  return 1;
}

/* }====================================================== */
