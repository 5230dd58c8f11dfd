/*
** baseline.c: the bare costs the benchmarks compare luajobs with, measured
** in the same run (bench/run.lua): a state's life, a thread's wake-up, a
** copy through Lua's C API at its plainest, luajobs' own copy between
** two states (copy.c, compiled in), an HMAC-SHA256 from libcrypto, two
** threads counting, a queue of integers between threads, a task's round
** trip through a Redis stream by hiredis, clocks.
*/

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <hiredis/hiredis.h>

#include "copy.h"


static double now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* baseline.now(): seconds on the monotonic clock. */
static int l_now (lua_State *L) {
  lua_pushnumber(L, now());
  return 1;
}


/* baseline.cputime(): seconds of CPU the calling thread has used. */
static int l_cputime (lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return 1;
}


/* baseline.states(n): seconds to create n states with every standard
** library, and close them. */
static int l_states (lua_State *L) {
  lua_Integer i, n = luaL_checkinteger(L, 1);
  double t0 = now();
  for (i = 0; i < n; i++) {
    lua_State *S = luaL_newstate();
    luaL_openlibs(S);
    lua_close(S);
  }
  lua_pushnumber(L, now() - t0);
  return 1;
}


/* Two threads passing a turn back and forth under one mutex. */
typedef struct Pong {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int turn;  /* 0: the pinger's, 1: the ponger's, -1: stop */
} Pong;


static void *ponger (void *arg) {
  Pong *p = (Pong *)arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->turn == 0)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->turn < 0)
      break;
    p->turn = 0;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}


static int cmp (const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}


/* baseline.pingpong(n): the median seconds of n round trips of a
** condition-variable ping-pong between two threads. */
static int l_pingpong (lua_State *L) {
  int i, n = (int)luaL_checkinteger(L, 1);
  double *times = (double *)lua_newuserdatauv(L, sizeof(double) * n, 0);
  Pong p;
  pthread_t t;
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  p.turn = 0;
  pthread_create(&t, NULL, ponger, &p);
  for (i = 0; i < n; i++) {
    double t0 = now();
    pthread_mutex_lock(&p.mu);
    p.turn = 1;
    pthread_cond_broadcast(&p.cv);
    while (p.turn == 1)
      pthread_cond_wait(&p.cv, &p.mu);
    pthread_mutex_unlock(&p.mu);
    times[i] = now() - t0;
  }
  pthread_mutex_lock(&p.mu);
  p.turn = -1;
  pthread_cond_broadcast(&p.cv);
  pthread_mutex_unlock(&p.mu);
  pthread_join(t, NULL);
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cv);
  qsort(times, (size_t)n, sizeof(double), cmp);
  lua_pushnumber(L, times[n / 2]);
  return 1;
}


static void *spin (void *arg) {
  volatile long x = 0;
  long i, n = *(const long *)arg;
  for (i = 0; i < n; i++)
    x += i % 7;
  return NULL;
}


/* baseline.spin(n, threads): seconds for 'threads' (1 or 2) threads at once
** to count to n each, in plain C: the machine's own parallel speed. */
static int l_spin (lua_State *L) {
  long n = (long)luaL_checkinteger(L, 1);
  int two = luaL_checkinteger(L, 2) == 2;
  pthread_t t;
  double t0 = now();
  if (two)
    pthread_create(&t, NULL, spin, &n);
  spin(&n);
  if (two)
    pthread_join(t, NULL);
  lua_pushnumber(L, now() - t0);
  return 1;
}


/* A queue of integers under a mutex and two condition variables, as the
** plainest channel between threads in C. */
typedef struct Queue {
  pthread_mutex_t mu;
  pthread_cond_t notempty, notfull;
  long *items;
  int head, count, capacity;
} Queue;


static void qinit (Queue *q, int capacity) {
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->notempty, NULL);
  pthread_cond_init(&q->notfull, NULL);
  q->items = (long *)malloc(sizeof(long) * (size_t)capacity);
  q->head = q->count = 0;
  q->capacity = capacity;
}


static void qfree (Queue *q) {
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->notempty);
  pthread_cond_destroy(&q->notfull);
  free(q->items);
}


static void qpush (Queue *q, long v) {
  pthread_mutex_lock(&q->mu);
  while (q->count == q->capacity)
    pthread_cond_wait(&q->notfull, &q->mu);
  q->items[(q->head + q->count++) % q->capacity] = v;
  pthread_cond_signal(&q->notempty);
  pthread_mutex_unlock(&q->mu);
}


static long qpop (Queue *q) {
  long v;
  pthread_mutex_lock(&q->mu);
  while (q->count == 0)
    pthread_cond_wait(&q->notempty, &q->mu);
  v = q->items[q->head];
  q->head = (q->head + 1) % q->capacity;
  q->count--;
  pthread_cond_signal(&q->notfull);
  pthread_mutex_unlock(&q->mu);
  return v;
}


/* A thread pushing n integers into 'to': each one it pops from 'from',
** plus one, if it has a 'from'; else 0, 1, 2 ... */
typedef struct Mover {
  Queue *from, *to;
  long n;
} Mover;


static void *mover (void *arg) {
  Mover *m = (Mover *)arg;
  long i;
  for (i = 0; i < m->n; i++)
    qpush(m->to, m->from != NULL ? qpop(m->from) + 1 : i);
  return NULL;
}


/* baseline.queuepingpong(n): the median seconds of n round trips of an
** integer through two queues, to a thread and back. */
static int l_queuepingpong (lua_State *L) {
  int i, n = (int)luaL_checkinteger(L, 1);
  double *times = (double *)lua_newuserdatauv(L, sizeof(double) * n, 0);
  Queue there, back;
  Mover m;
  pthread_t t;
  qinit(&there, 1);
  qinit(&back, 1);
  m.from = &there;
  m.to = &back;
  m.n = n;
  pthread_create(&t, NULL, mover, &m);
  for (i = 0; i < n; i++) {
    double t0 = now();
    qpush(&there, i);
    qpop(&back);
    times[i] = now() - t0;
  }
  pthread_join(t, NULL);
  qfree(&there);
  qfree(&back);
  qsort(times, (size_t)n, sizeof(double), cmp);
  lua_pushnumber(L, times[n / 2]);
  return 1;
}


/* baseline.queuethroughput(n, producers, capacity): seconds for n integers
** to go from 'producers' threads (1 or 2) to this one through a queue. */
static int l_queuethroughput (lua_State *L) {
  long i, n = (long)luaL_checkinteger(L, 1);
  int k, producers = (int)luaL_checkinteger(L, 2);
  Queue q;
  Mover p[2];
  pthread_t t[2];
  double t0;
  luaL_argcheck(L, producers == 1 || producers == 2, 2, "1 or 2");
  qinit(&q, (int)luaL_checkinteger(L, 3));
  t0 = now();
  for (k = 0; k < producers; k++) {
    p[k].from = NULL;
    p[k].to = &q;
    p[k].n = n / producers;
    pthread_create(&t[k], NULL, mover, &p[k]);
  }
  for (i = 0; i < (n / producers) * producers; i++)
    qpop(&q);
  for (k = 0; k < producers; k++)
    pthread_join(t[k], NULL);
  lua_pushnumber(L, now() - t0);
  qfree(&q);
  return 1;
}


/* Pushes onto 'to' the number or string at 'idx' of 'from'. */
static void pushscalar (lua_State *from, int idx, lua_State *to) {
  size_t len;
  const char *s;
  if (lua_type(from, idx) == LUA_TSTRING) {
    s = lua_tolstring(from, idx, &len);
    lua_pushlstring(to, s, len);
  }
  else if (lua_isinteger(from, idx))
    lua_pushinteger(to, lua_tointeger(from, idx));
  else
    lua_pushnumber(to, lua_tonumber(from, idx));
}


/* Pushes onto 'to' a copy of the array at 'idx' of 'from', whose rows are
** tables of 'nrec' numbers and strings, as plainly as Lua's C API allows:
** the shape known, no record of tables met twice, no key cache. */
static void copyrows (lua_State *from, int idx, lua_State *to, int nrec) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(from, idx);
  lua_createtable(to, (int)n, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(from, idx, i);
    lua_createtable(to, 0, nrec);
    lua_pushnil(from);
    while (lua_next(from, -2)) {
      pushscalar(from, -2, to);
      pushscalar(from, -1, to);
      lua_rawset(to, -3);
      lua_pop(from, 1);
    }
    lua_pop(from, 1);
    lua_rawseti(to, -2, i);
  }
}


/* baseline.copyrows(rows, nrec): seconds to copy 'rows' (see copyrows)
** into a fresh state and back, each receiver's collector stopped; and the
** copy that came back. */
static int l_copyrows (lua_State *L) {
  int nrec = (int)luaL_checkinteger(L, 2);
  int gc = lua_gc(L, LUA_GCISRUNNING);
  lua_State *S = luaL_newstate();
  double t0, t;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 4, NULL);
  lua_gc(S, LUA_GCSTOP);
  lua_gc(L, LUA_GCSTOP);
  t0 = now();
  copyrows(L, 1, S, nrec);
  copyrows(S, 1, L, nrec);
  t = now() - t0;
  if (gc)
    lua_gc(L, LUA_GCRESTART);
  lua_close(S);
  lua_pushnumber(L, t);
  lua_insert(L, -2);
  return 2;
}


/* baseline.copy(tries, reps, ...): the seconds that luajobs' copy engine
** takes to copy the values into a fresh state, collector stopped, each
** try the mean of 'reps' copies, the least of 'tries': the in-process
** copy that a frame's encoding and decoding stand in for, as a channel's
** push or a job's start makes it (the index of names checked, then the
** copy). */
static int l_copy (lua_State *L) {
  int tries = (int)luaL_checkinteger(L, 1), reps = (int)luaL_checkinteger(L, 2);
  int nv = lua_gettop(L) - 2, i, k;
  double best = 1e30;
  for (i = 0; i < tries; i++) {
    lua_State *S = luaL_newstate();
    double t0;
    luaL_openlibs(S);
    lua_gc(S, LUA_GCSTOP);
    t0 = now();
    for (k = 0; k < reps; k++) {
      lua_pushcfunction(L, jobs_indexnames);
      lua_call(L, 0, 0);
      jobs_copy(L, 3, nv, S, "value %d", 1);
      lua_settop(S, 0);
    }
    t0 = (now() - t0) / reps;
    if (t0 < best)
      best = t0;
    lua_close(S);
  }
  lua_pushnumber(L, best);
  return 1;
}


/* baseline.hmac(n, bytes): seconds for one HMAC-SHA256 of 'bytes' bytes,
** libcrypto's one-shot HMAC(), over 'n' of them. */
static int l_hmac (lua_State *L) {
  int n = (int)luaL_checkinteger(L, 1), i;
  size_t len = (size_t)luaL_checkinteger(L, 2);
  unsigned char *data = (unsigned char *)calloc(len, 1), md[EVP_MAX_MD_SIZE];
  unsigned int mdlen;
  double t0 = now();
  for (i = 0; i < n; i++)
    HMAC(EVP_sha256(), "key", 3, data, len, md, &mdlen);
  lua_pushnumber(L, (now() - t0) / n);
  free(data);
  return 1;
}


/* Runs a command, raising if it fails; returns its reply (to free). */
static redisReply *command (lua_State *L, redisContext *c, const char *fmt,
                            const char *arg, size_t len) {
  redisReply *r = (redisReply *)redisCommand(c, fmt, arg, len);
  if (r == NULL || r->type == REDIS_REPLY_ERROR)
    luaL_error(L, "redis: %s", r != NULL ? r->str : c->errstr);
  return r;
}


/*
** baseline.redistrips(port, n): the seconds of each of n round trips of
** a task through a Redis stream in plain C, one after the other: the
** client's XADD, the worker's XREADGROUP, its reply (RPUSH) and XACK, and
** the client's BLPOP of the reply; a table of them.
*/
static int l_redistrips (lua_State *L) {
  int port = (int)luaL_checkinteger(L, 1);
  lua_Integer i, n = luaL_checkinteger(L, 2);
  redisContext *c = redisConnect("127.0.0.1", port);
  redisContext *w = redisConnect("127.0.0.1", port);
  const char task[] = "a trivial task's frame, about this long";
  if (c == NULL || w == NULL || c->err || w->err)
    return luaL_error(L, "cannot connect to redis on port %d", port);
  freeReplyObject(command(L, w, "DEL bare:s %s", "bare:r", 6));
  freeReplyObject(command(L, w, "XGROUP CREATE bare:s g $ %s", "MKSTREAM", 8));
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    double t0 = now();
    char id[64];
    redisReply *r;
    freeReplyObject(command(L, c, "XADD bare:s * f %b", task, sizeof(task)));
    r = command(L, w, "XREADGROUP GROUP g w COUNT 1 STREAMS bare:s %s", ">", 1);
    snprintf(id, sizeof(id), "%s", r->element[0]->element[1]->element[0]->element[0]->str);
    freeReplyObject(r);
    freeReplyObject(command(L, w, "RPUSH bare:r %b", task, sizeof(task)));
    freeReplyObject(command(L, w, "XACK bare:s g %s", id, strlen(id)));
    freeReplyObject(command(L, c, "BLPOP bare:r %s", "1", 1));
    lua_pushnumber(L, now() - t0);
    lua_rawseti(L, -2, i);
  }
  freeReplyObject(command(L, w, "DEL bare:s %s", "bare:r", 6));
  redisFree(c);
  redisFree(w);
  return 1;
}


__attribute__((visibility("default")))
int luaopen_baseline (lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"now", l_now}, {"cputime", l_cputime}, {"states", l_states}, {"pingpong", l_pingpong},
    {"copyrows", l_copyrows}, {"copy", l_copy}, {"hmac", l_hmac},
    {"spin", l_spin}, {"redistrips", l_redistrips},
    {"queuepingpong", l_queuepingpong}, {"queuethroughput", l_queuethroughput},
    {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
