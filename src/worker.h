/*
** worker.h: the record a job's owner shares with the job's thread, building a
** job's lua_State, and running it on a thread of its own.
*/
#ifndef worker_h
#define worker_h

#include <pthread.h>

#include "lua.h"

typedef enum JobStatus {
  JOB_CREATED, JOB_RUNNING, JOB_COMPLETED, JOB_DEAD, JOB_CANCELLED
} JobStatus;

#define jobs_isfinal(st)	((st) >= JOB_COMPLETED)


/* A thread whose job is over, waiting for its owner to join it. */
typedef struct Reap {
  struct Reap *next;
  pthread_t thread;
} Reap;


/*
** The counterpart of one owning lua_State: its jobs' threads, so that closing
** that state can wait for every one to have exited (the module's code may
** be unloaded right after).
*/
typedef struct Hub {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int running;  /* threads not yet in 'done' */
  Reap *done;  /* threads to join */
} Hub;


/*
** A job as its owner and its thread share it; 'mu' guards every field the
** two may touch at once ('status', 'finished', 'refs'). Who owns 'L' when
** is the design's spine; see worker.c.
*/
typedef struct Job {
  pthread_mutex_t mu;
  pthread_cond_t cv;  /* broadcast when 'status' becomes final */
  lua_State *L;  /* the job's state, or NULL once closed */
  JobStatus status;
  int refs;  /* the owner's job object, plus the thread while it runs */
  double started, finished;  /* seconds on the monotonic clock */
  Hub *hub;
  Reap *reap;  /* its thread's entry for 'hub->done' */
} Job;


double jobs_now (void);

Job *jobs_newjob (void);
void jobs_release (Job *j);

void jobs_prepare (lua_State *L, Job *j, int nargs);
void jobs_start (lua_State *L, Job *j, Hub *hub);
const char *jobs_traceback (lua_State *J, size_t *len);

void jobs_newhub (lua_State *L);

#endif
