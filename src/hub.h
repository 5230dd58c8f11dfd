/*
** hub.h: the counterpart of one owning lua_State: its jobs, those finished
** since its last poll, its threads and its clock (guarded by 'mu').
*/
#ifndef hub_h
#define hub_h

#include <pthread.h>

#include "lua.h"

#include "record.h"

struct Worker;


/*
** The counterpart of one owning lua_State: its jobs' threads, so that closing
** that state can wait for every one to have exited (the module's code may
** be unloaded right after).
*/
typedef struct Hub {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int running;  /* threads not yet in 'done' */
  struct Worker *idle;  /* threads waiting for a job, the last to wait first */
  int nidle;  /* how many */
  struct Worker *done;  /* threads to join */
  int closing;  /* the state is closing: idle threads must go */
  JobList jobs;  /* jobs running or in line, to cancel them all */
  size_t daemons;  /* of those, daemons (jobs_enhub, jobs_unhub) */
  int awaiting;  /* the owner waits on 'cv' for an 'awaited' job to end */
  JobList finished;  /* jobs finished since the last jobs.poll() whose
                        objects live, in that order */
  int fd;  /* an eventfd, readable while 'finished' may not be empty */
  struct Job *spent;  /* jobs whose states wait to be closed (worker.c) */
  int nspent;  /* how many */
  int closers;  /* threads woken or started to close them (0 once a thread
                   finds none left) */
  int nclosed;  /* how many were closed, ever (wraps) */
  int throttled;  /* the owner waits on 'cv' for fewer (worker.c) */
  int keptkb;  /* KiB of finished jobs' states kept for their objects, which
                  the owner's collector has not been told of (atomic) */
  int toldkb, basekb;  /* KiB of C memory it was told of since it last
                          collected, and how much before it collects (job.c;
                          owner only) */
  struct Job **timed;  /* jobs running with a timeout, a heap (clock.c) */
  int ntimed;  /* how many */
  int timedjobs;  /* jobs with a timeout started and not over */
  int timedsize;  /* room in 'timed', more than 'timedjobs' */
  JobList graced;  /* jobs stopping, each with a grace (links 'ingrace') */
  pthread_t clock;  /* cancels each timed job at its deadline, and stops
                       each graced job's handler as its grace ends */
  pthread_cond_t clockcv;  /* wakes it: a new first deadline, or stop */
  int clockon, clockstop;
  int gone;  /* its finalizer ran: nothing new may start (owner only) */
  int atclose;  /* jobs.config's at_close: 0 "wait", 1 "cancel" (owner only) */
  int npools;  /* pools made, which numbers them (owner only) */
  struct Hub *forkprev, *forknext;  /* in the process's hubs (fork.c) */
  int forklisted;
  void (*left) (lua_State *L, int hub);  /* see jobs_openhub */
} Hub;


Hub *jobs_newhub (lua_State *L, lua_CFunction close);
Hub *jobs_hubof (lua_State *L);
Hub *jobs_checkhub (lua_State *L, int idx);
void jobs_enhub (Hub *h, Job *j);
void jobs_unhub (Hub *h, Job *j);
int jobs_settle (Hub *h, Job *j, JobStatus st);
int jobs_orphan (Job *j);
Job *jobs_takefinished (Hub *h);

#endif
