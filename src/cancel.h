/*
** cancel.h: stopping a running job (SPEC §6): the cancel signal and the
** hook it arms, the job's own coroutine, pcall and os.exit, and the waits
** a cancel wakes.
*/
#ifndef cancel_h
#define cancel_h

#include <pthread.h>
#include <signal.h>

#include "lua.h"

#include "record.h"

#define JOBS_CANCELLED	1  /* why a job must stop: job:cancel() */
#define JOBS_TIMEDOUT	2  /* ... its 'timeout' option */
#define JOBS_EXITED	3  /* ... it called os.exit (it ends dead) */


/*
** What the cancel signal's handler needs of the thread it interrupts
** (cancel.c): written only by that thread, read by the handler there;
** 'inflight', atomic, is set by a canceller and cleared by the handler.
*/
typedef struct Runner {
  pthread_t thread;
  int inflight;  /* a cancel signal is on its way: no need for another */
  struct Job *volatile job;  /* the job whose state it runs, or NULL */
  lua_State *volatile J;  /* that job's state */
  lua_State *volatile L;  /* the coroutine of J running Lua code now */
} Runner;


int jobs_initcancel (lua_State *L);
void jobs_threadmask (pthread_attr_t *attr);
void jobs_setself (lua_State *J, Job *j);
void jobs_settask (lua_State *J, Job *rec, Job *task);
Job *jobs_self (lua_State *L);
void jobs_enter (Runner *r, Job *j, lua_State *J);
void jobs_leave (Runner *r, Job *j);
int jobs_onjobthread (void);
void jobs_cancelsignals (sigset_t *set);
void jobs_cancel (Job *j, int why, int hard);

void jobs_blockon (Job *self, pthread_mutex_t *mu, pthread_cond_t *cv);
int jobs_interrupted (void);
const char *jobs_whynot (int st);
int jobs_waitbreak (Job *self, pthread_cond_t *cv, pthread_mutex_t *mu,
                    double until);
double jobs_later (lua_State *L, int idx);
int jobs_stopping (Job *self);
JobStatus jobs_ended (Job *j, int st);
int jobs_pending (Job *self);
int jobs_stop (lua_State *L, Job *self);

/* The standard libraries as a job's state has them (libs.c opens them). */
int jobs_openbase (lua_State *L);
int jobs_opencoroutine (lua_State *L);
int jobs_openos (lua_State *L);
int jobs_opendebug (lua_State *L);

#endif
