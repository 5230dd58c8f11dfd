/*
** control.h: steering a running job (SPEC §6): cancel and timeouts, waits
** that a cancel wakes, sleep, progress, captured output and libraries.
*/
#ifndef control_h
#define control_h

#include "lua.h"

#include "worker.h"

#define JOBS_CANCELLED	1  /* why a job must stop: job:cancel() */
#define JOBS_TIMEDOUT	2  /* ... its 'timeout' option */
#define JOBS_EXITED	3  /* ... it called os.exit (it ends dead) */

#define JOBS_ALLLIBS	(~0)  /* Options.libs: every standard library */

int jobs_checklibs (lua_State *L, int idx);
void jobs_openlibs (lua_State *J, Job *j);

int jobs_initcancel (lua_State *L);
void jobs_threadmask (pthread_attr_t *attr);
void jobs_enter (Runner *r, Job *j);
void jobs_leave (Runner *r, Job *j);
Job *jobs_self (lua_State *L);
void jobs_cancel (Job *j, int why, int hard);

int jobs_reservetime (Hub *h);
void jobs_timein (Hub *h, Job *j);
void jobs_untime (Hub *h, Job *j);
void jobs_timeout (Hub *h, Job *j);
void jobs_stopclock (Hub *h);

double jobs_later (lua_State *L, int idx);
void jobs_initcv (pthread_cond_t *cv);
int jobs_waitcv (pthread_cond_t *cv, pthread_mutex_t *mu, double until);
void jobs_blockon (Job *self, pthread_mutex_t *mu, pthread_cond_t *cv);
int jobs_stopping (Job *self);
int jobs_pending (Job *self);
int jobs_stop (lua_State *L, Job *self);

void jobs_settext (Text *t, const char *s, size_t len);
void jobs_pushtext (lua_State *L, Job *j, const Text *t);

int jobs_sleep (lua_State *L);
int jobs_cancelled (lua_State *L);
int jobs_whoami (lua_State *L);
int jobs_progress (lua_State *L);

#endif
