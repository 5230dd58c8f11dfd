/*
** control.c: what a job asks about its own run (SPEC §6): jobs.sleep,
** jobs.cancelled, jobs.self, jobs.progress; outside a job they do nothing.
*/

#include <errno.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "control.h"


/* jobs.sleep(seconds): math.huge sleeps until the job is cancelled. */
int jobs_sleep (lua_State *L) {
  Job *self = jobs_self(L);
  double until;
  luaL_checknumber(L, 1);
  until = jobs_later(L, 1);
  if (self == NULL) {  /* not a job: only the host can cut it short */
    while (!jobs_interrupted()) {  /* the host's interrupt ends it */
      double secs = JOBS_BREAKTIME;
      struct timespec ts;
      if (until >= 0) {
        double left = until - jobs_now();
        if (left <= 0)
          break;
        if (left < secs)
          secs = left;
      }
      ts.tv_sec = (time_t)secs;
      ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
      nanosleep(&ts, NULL);
    }
    return 0;
  }
  pthread_mutex_lock(&self->mu);  /* 'wake' is broadcast under it */
  while (!jobs_pending(self) &&
         jobs_waitcv(&self->wake, &self->mu, until) != ETIMEDOUT) {}
  pthread_mutex_unlock(&self->mu);
  if (jobs_pending(self))
    return jobs_stop(L, self);
  return 0;
}


int jobs_cancelled (lua_State *L) {
  int why = jobs_stopping(jobs_self(L));
  lua_pushboolean(L, why == JOBS_CANCELLED || why == JOBS_TIMEDOUT);
  return 1;
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
