/*
** control.c: steering a running job (SPEC §6): cancel and timeouts, waits a
** cancel wakes, sleep, progress, captured output, libraries.
**
** A cancel never touches the job's state: it sets 'j->cancel' and wakes
** what the job is blocked on. The job's own thread notices, through a count
** hook it armed on itself (jobs_arm) or when its wait wakes, and raises.
*/

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "control.h"
#include "copy.h"


/* Its address keys, in a job's registry, a light userdata: its Job. */
static const char selfkey = 0;


/*
** {======================================================
** The libraries of a job's state
** =======================================================
*/

static const luaL_Reg libs[] = {  /* base and package are always opened */
  {LUA_COLIBNAME, luaopen_coroutine},
  {LUA_TABLIBNAME, luaopen_table},
  {LUA_IOLIBNAME, luaopen_io},
  {LUA_OSLIBNAME, luaopen_os},
  {LUA_STRLIBNAME, luaopen_string},
  {LUA_MATHLIBNAME, luaopen_math},
  {LUA_UTF8LIBNAME, luaopen_utf8},
  {LUA_DBLIBNAME, luaopen_debug},
  {NULL, NULL}
};

/* The bit of library 'name' in 'libs'; 0 for base and package, which every
** job opens; -1 for any other name. */
static int libbit (const char *name) {
  int k;
  if (name == NULL)
    return -1;
  for (k = 0; libs[k].name != NULL; k++)
    if (strcmp(name, libs[k].name) == 0)
      return 1 << k;
  return (strcmp(name, "base") == 0 || strcmp(name, LUA_LOADLIBNAME) == 0)
         ? 0 : -1;
}


/* The 'libs' option at 'idx' (a list of names, or nil: all), as bits. */
int jobs_checklibs (lua_State *L, int idx) {
  int i, n, bits = 0;
  if (lua_isnil(L, idx))
    return JOBS_ALLLIBS;
  luaL_argexpected(L, lua_istable(L, idx), idx, "table of library names");
  n = (int)luaL_len(L, idx);
  for (i = 1; i <= n; i++) {
    int bit;
    lua_geti(L, idx, i);
    if ((bit = libbit(lua_tostring(L, -1))) < 0)
      luaL_error(L, "bad option 'libs' to 'spawn' (unknown library '%s')",
                 luaL_tolstring(L, -1, NULL));
    bits |= bit;
    lua_pop(L, 1);
  }
  return bits;
}


/* Print and io.write of a job whose output is captured: upvalue 1 is the
** Job; they append to 'j->out' under 'j->mu'. */
static void capture (lua_State *L, Job *j, const char *s, size_t len) {
  Text *t = &j->out;
  int ok = 1;
  pthread_mutex_lock(&j->mu);
  if (t->len + len > t->size) {
    size_t size = (t->len + len) * 2;
    char *grown = (char *)realloc(t->s, size);
    if (grown == NULL)
      ok = 0;
    else {
      t->s = grown;
      t->size = size;
    }
  }
  if (ok && len > 0) {
    memcpy(t->s + t->len, s, len);
    t->len += len;
  }
  pthread_mutex_unlock(&j->mu);
  if (!ok)
    luaL_error(L, "not enough memory");
}


static int capprint (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  size_t len;
  const char *s;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  s = lua_tolstring(L, -1, &len);
  capture(L, j, s, len);
  return 0;
}


static int capwrite (lua_State *L) {
  Job *j = (Job *)lua_touserdata(L, lua_upvalueindex(1));
  int i, n = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    char num[64];
    size_t len;
    const char *s = num;
    if (lua_type(L, i) != LUA_TNUMBER)
      s = luaL_checklstring(L, i, &len);
    else if (lua_isinteger(L, i))  /* as io.write formats numbers */
      len = (size_t)snprintf(num, sizeof(num), LUA_INTEGER_FMT,
                             (LUAI_UACINT)lua_tointeger(L, i));
    else
      len = (size_t)snprintf(num, sizeof(num), LUA_NUMBER_FMT,
                             (LUAI_UACNUMBER)lua_tonumber(L, i));
    capture(L, j, s, len);
  }
  return 0;
}


/*
** A library opened at its first use. Opening them all takes five times as
** long as a state with base, package and string alone, and most jobs use
** few. Its table stands in the globals and package.loaded from the start,
** empty, with a metatable whose '__open' is its luaopen_ function: the
** first read of a field it lacks, or 'pairs', fills it (fields set before
** stay) and drops the metatable.
*/
static void fill (lua_State *L) {  /* the table at 1 */
  if (!lua_getmetatable(L, 1))
    return;
  if (lua_getfield(L, -1, "__open") != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_call(L, 0, 1);  /* the library, opened */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, 1) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, 1);
    }
    else
      lua_pop(L, 2);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  lua_setmetatable(L, 1);
  jobs_forgetnames(L);  /* its C functions now have names to cross by */
}


static int lazyindex (lua_State *L) {
  lua_settop(L, 2);
  fill(L);
  lua_rawget(L, 1);
  return 1;
}


/* The 'next' of pairs over a library: the job's global 'next' may be
** anything by then. */
static int rawnext (lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, 1))
    return 2;
  lua_pushnil(L);
  return 1;
}


static int lazypairs (lua_State *L) {
  lua_settop(L, 1);
  fill(L);
  lua_pushcfunction(L, rawnext);
  lua_insert(L, 1);
  lua_pushnil(L);
  return 3;
}


/* Sets global 'name' and package.loaded[name] to a library table that
** 'open' fills at its first use. */
static void lazylib (lua_State *J, const char *name, lua_CFunction open) {
  luaL_getsubtable(J, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_createtable(J, 0, 0);
  lua_createtable(J, 0, 3);
  lua_pushcfunction(J, open);
  lua_setfield(J, -2, "__open");
  lua_pushcfunction(J, lazyindex);
  lua_setfield(J, -2, "__index");
  lua_pushcfunction(J, lazypairs);
  lua_setfield(J, -2, "__pairs");
  lua_setmetatable(J, -2);
  lua_pushvalue(J, -1);
  lua_setfield(J, -3, name);
  lua_setglobal(J, name);
  lua_pop(J, 1);
}


/* Opens what 'j->opt' asks for in J (string at once, for the methods of
** strings; the others at first use); with captured output, replaces print
** and io.write there. Runs protected in J. */
void jobs_openlibs (lua_State *J, Job *j) {
  int k;
  luaL_requiref(J, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(J, LUA_LOADLIBNAME, luaopen_package, 1);
  lua_pop(J, 2);
  for (k = 0; libs[k].name != NULL; k++) {
    if (!(j->opt.libs & (1 << k)))
      continue;
    if (libs[k].func == luaopen_string) {
      luaL_requiref(J, libs[k].name, libs[k].func, 1);
      lua_pop(J, 1);
    }
    else
      lazylib(J, libs[k].name, libs[k].func);
  }
  if (j->opt.capture) {
    lua_pushlightuserdata(J, j);
    lua_pushcclosure(J, capprint, 1);
    lua_setglobal(J, "print");
    if (lua_getglobal(J, LUA_IOLIBNAME) == LUA_TTABLE) {
      lua_pushlightuserdata(J, j);
      lua_pushcclosure(J, capwrite, 1);
      lua_setfield(J, -2, "write");
    }
    lua_pop(J, 1);
  }
  lua_pushlightuserdata(J, j);
  lua_rawsetp(J, LUA_REGISTRYINDEX, &selfkey);
}

/* }====================================================== */


/*
** {======================================================
** Cancel
** =======================================================
*/

Job *jobs_self (lua_State *L) {
  return (Job *)jobs_registered(L, &selfkey);
}


/* Whether 'self' must stop: cancelled, or its timeout has passed. */
int jobs_stopping (Job *self) {
  if (self == NULL)
    return 0;
  if (__atomic_load_n(&self->cancel, __ATOMIC_ACQUIRE))
    return 1;
  if (self->deadline > 0 && jobs_now() >= self->deadline) {
    int none = 0;
    __atomic_compare_exchange_n(&self->cancel, &none, JOBS_TIMEDOUT, 0,
                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return 1;
  }
  return 0;
}


static void hook (lua_State *L, lua_Debug *ar);

/*
** Raises, in the stopping job's state L, "cancelled" or "timeout"; and from
** now on the hook raises again before every instruction, so that a pcall
** in the job cannot swallow the stop.
*/
int jobs_stop (lua_State *L, Job *self) {
  lua_sethook(L, hook, LUA_MASKCOUNT, 1);
  if (__atomic_load_n(&self->cancel, __ATOMIC_ACQUIRE) == JOBS_TIMEDOUT)
    lua_pushliteral(L, "timeout");
  else
    lua_pushliteral(L, "cancelled");
  return lua_error(L);
}


static void hook (lua_State *L, lua_Debug *ar) {
  Job *self = jobs_self(L);
  (void)ar;
  if (jobs_stopping(self))
    jobs_stop(L, self);
}


/* Arms a job's state, on its own thread, to notice a cancel or a timeout. */
void jobs_arm (lua_State *J) {
  lua_sethook(J, hook, LUA_MASKCOUNT, JOBS_HOOKCOUNT);
}


/* Asks 'j' to stop (the first reason given stays) and wakes its waits. */
void jobs_cancel (Job *j, int why) {
  int none = 0;
  __atomic_compare_exchange_n(&j->cancel, &none, why, 0, __ATOMIC_ACQ_REL,
                              __ATOMIC_ACQUIRE);
  pthread_mutex_lock(&j->mu);  /* order: 'j->mu', then what it waits on */
  pthread_cond_broadcast(&j->wake);
  if (j->waitmu != NULL) {
    pthread_mutex_lock(j->waitmu);
    pthread_cond_broadcast(j->waitcv);
    pthread_mutex_unlock(j->waitmu);
  }
  pthread_mutex_unlock(&j->mu);
}

/* }====================================================== */


/*
** {======================================================
** Waits that a cancel wakes
** =======================================================
*/

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


/*
** Tells a cancel of 'self' (NULL outside a job) what it blocks on: 'cv'
** under 'mu', or nothing (NULL). Call it without holding 'mu', before
** waiting and after; while waiting, check jobs_stopping(self) under 'mu'.
*/
void jobs_blockon (Job *self, pthread_mutex_t *mu, pthread_cond_t *cv) {
  if (self == NULL)
    return;
  pthread_mutex_lock(&self->mu);
  self->waitmu = mu;
  self->waitcv = cv;
  pthread_mutex_unlock(&self->mu);
}


/* 'until' cut to the timeout of 'self', if it has one (negative: none). */
double jobs_until (Job *self, double until) {
  if (self == NULL || self->deadline <= 0)
    return until;
  return (until < 0 || self->deadline < until) ? self->deadline : until;
}


/* The monotonic time the number of seconds at 'idx' from now; negative
** (no limit) if absent or huge. */
double jobs_later (lua_State *L, int idx) {
  double secs = luaL_optnumber(L, idx, -1);
  luaL_argcheck(L, lua_isnoneornil(L, idx) || secs >= 0, idx,
                "non-negative number expected");
  return (secs < 0 || secs > 1e9) ? -1 : jobs_now() + secs;
}


/* jobs.sleep(seconds): math.huge sleeps until the job is cancelled. */
int jobs_sleep (lua_State *L) {
  Job *self = jobs_self(L);
  double until;
  luaL_checknumber(L, 1);
  until = jobs_later(L, 1);
  if (self == NULL) {  /* not a job: nothing can cancel the sleep */
    double secs = until < 0 ? 1e9 : until - jobs_now();
    struct timespec ts;
    do {
      if (secs <= 0)
        break;
      ts.tv_sec = (time_t)secs;
      ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
      while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
    } while (until < 0);
    return 0;
  }
  until = jobs_until(self, until);
  pthread_mutex_lock(&self->mu);  /* 'wake' is broadcast under it */
  while (!jobs_stopping(self) &&
         jobs_waitcv(&self->wake, &self->mu, until) != ETIMEDOUT) {}
  pthread_mutex_unlock(&self->mu);
  if (jobs_stopping(self))
    return jobs_stop(L, self);
  return 0;
}


int jobs_cancelled (lua_State *L) {
  Job *self = jobs_self(L);
  lua_pushboolean(L, self != NULL &&
                     __atomic_load_n(&self->cancel, __ATOMIC_ACQUIRE) != 0);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** What a job tells its owner: self, progress
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


int jobs_whoami (lua_State *L) {
  Job *self = jobs_self(L);
  if (self == NULL)
    return 0;
  lua_pushinteger(L, self->num);  /* both set before its thread started */
  lua_pushlstring(L, self->name.s, self->name.len);
  return 2;
}


int jobs_progress (lua_State *L) {
  Job *self = jobs_self(L);
  int t = lua_type(L, 1);
  size_t len = 0, mlen = 0;
  const char *s = NULL;
  const char *msg = luaL_optlstring(L, 2, NULL, &mlen);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TBOOLEAN ||
                   t == LUA_TNUMBER || t == LUA_TSTRING, 1,
                   "nil, boolean, number or string");
  if (self == NULL)
    return 0;  /* not a job: nobody to tell */
  if (t == LUA_TSTRING)
    s = lua_tolstring(L, 1, &len);
  pthread_mutex_lock(&self->mu);
  self->progtype = t;
  self->progint = lua_isinteger(L, 1);
  self->prognum = t == LUA_TBOOLEAN ? lua_toboolean(L, 1) : lua_tonumber(L, 1);
  jobs_settext(&self->progress, s ? s : "", len);
  jobs_settext(&self->progmsg, msg ? msg : "", mlen);
  pthread_mutex_unlock(&self->mu);
  return 0;
}

/* }====================================================== */
