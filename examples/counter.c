/*
** counter.c: an example C module whose userdata crosses between states by
** reference, through the protocol of jobs.h: one counter, shared by all;
** in a frame (jobs.encode), a counter goes as its value, a new one there.
*/

#include <pthread.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobs.h"

#define COUNTER	"counter.Counter"


/* The C object every state's userdata points to, counted by reference. */
typedef struct Shared {
  pthread_mutex_t mu;
  lua_Integer value;
  int refs;
} Shared;


static Shared *tocounter (lua_State *L) {
  return *(Shared **)luaL_checkudata(L, 1, COUNTER);
}


static int counter_add (lua_State *L) {
  Shared *s = tocounter(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  pthread_mutex_lock(&s->mu);
  n = (s->value += n);
  pthread_mutex_unlock(&s->mu);
  lua_pushinteger(L, n);
  return 1;
}


static int counter_get (lua_State *L) {
  Shared *s = tocounter(L);
  lua_Integer n;
  pthread_mutex_lock(&s->mu);
  n = s->value;
  pthread_mutex_unlock(&s->mu);
  lua_pushinteger(L, n);
  return 1;
}


static int counter_gc (lua_State *L) {
  Shared **p = (Shared **)luaL_checkudata(L, 1, COUNTER);
  Shared *s = *p;
  int last;
  if (s == NULL)
    return 0;
  *p = NULL;
  pthread_mutex_lock(&s->mu);
  last = (--s->refs == 0);
  pthread_mutex_unlock(&s->mu);
  if (last) {
    pthread_mutex_destroy(&s->mu);
    free(s);
  }
  return 0;
}


static void copy (lua_State *from, int idx, lua_State *to);
static const jobs_Copyable copyable = JOBS_COPYABLE(copy);

/* Another process has no such counter: it gets counter.new(value). */
static void put (lua_State *L, int idx) {
  Shared *s = *(Shared **)lua_touserdata(L, idx);
  lua_Integer n;
  pthread_mutex_lock(&s->mu);
  n = s->value;
  pthread_mutex_unlock(&s->mu);
  lua_pushinteger(L, n);
}
static const jobs_Bytesable bytesable = JOBS_BYTESABLE("counter.new", put);

static const luaL_Reg methods[] = {
  {"add", counter_add},
  {"get", counter_get},
  {NULL, NULL}
};


/* Pushes a userdata for 's' (NULL for now), with its metatable. */
static Shared **newcounter (lua_State *L) {
  Shared **p = (Shared **)lua_newuserdatauv(L, sizeof(Shared *), 0);
  *p = NULL;
  if (luaL_newmetatable(L, COUNTER)) {  /* first counter in this state */
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, counter_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushlightuserdata(L, (void *)&copyable);  /* the opt-in */
    lua_setfield(L, -2, JOBS_COPYFIELD);
    lua_pushlightuserdata(L, (void *)&bytesable);
    lua_setfield(L, -2, JOBS_BYTESFIELD);
  }
  lua_setmetatable(L, -2);
  return p;
}


/* Crossing: a new userdata in 'to' for the same counter, one more ref. */
static void copy (lua_State *from, int idx, lua_State *to) {
  Shared *s = *(Shared **)lua_touserdata(from, idx);
  Shared **p = newcounter(to);  /* may raise in 'to': nothing taken yet */
  pthread_mutex_lock(&s->mu);
  s->refs++;
  pthread_mutex_unlock(&s->mu);
  *p = s;
}


static int counter_new (lua_State *L) {
  lua_Integer start = luaL_optinteger(L, 1, 0);
  Shared **p = newcounter(L);
  Shared *s = (Shared *)malloc(sizeof(Shared));
  if (s == NULL)
    return luaL_error(L, "not enough memory");
  pthread_mutex_init(&s->mu, NULL);
  s->value = start;
  s->refs = 1;
  *p = s;
  return 1;
}


int luaopen_counter (lua_State *L) {
  static const luaL_Reg funcs[] = {{"new", counter_new}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
