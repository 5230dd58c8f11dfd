/*
** worker.h: the record a job's owner shares with the job's thread, building a
** job's lua_State, and running it on a thread of the owner's pool.
*/
#ifndef worker_h
#define worker_h

#include <pthread.h>

#include "lua.h"

#include "alloc.h"

typedef enum JobStatus {
  JOB_CREATED, JOB_RUNNING, JOB_COMPLETED, JOB_DEAD, JOB_CANCELLED
} JobStatus;

#define jobs_isfinal(st)	((st) >= JOB_COMPLETED)

/* Sets the status of job 'j', holding 'j->mu': atomically, for a wait that
** polls it without the lock before it sleeps (job.c). */
#define jobs_setstatus(j, st)	__atomic_store_n(&(j)->status, st, __ATOMIC_RELEASE)


/*
** What the cancel signal's handler needs of the thread it interrupts
** (control.c): written only by that thread, read by the handler there;
** 'inflight', atomic, is set by a canceller and cleared by the handler.
*/
typedef struct Runner {
  pthread_t thread;
  int inflight;  /* a cancel signal is on its way: no need for another */
  struct Job *volatile job;  /* the job whose state it runs, or NULL */
  lua_State *volatile J;  /* that job's state */
  lua_State *volatile L;  /* the coroutine of J running Lua code now */
} Runner;


/*
** A thread that runs jobs: between them it waits a while in 'hub->idle' to
** be handed the next; once it gives up, it waits in 'hub->done' to be
** joined by the next thread to give up, or by its owner. Guarded by the
** hub's mutex.
*/
typedef struct Worker {
  struct Worker *next;  /* in 'hub->idle', then in 'hub->done' */
  pthread_t thread;
  pthread_cond_t cv;  /* signalled when it is handed a job or must go */
  struct Hub *hub;
  struct Job *job;  /* the job it is handed; NULL while it waits */
  int drain;  /* or woken to close the states of 'hub->spent' */
  Runner run;
} Worker;


/* Where a job sits in a JobList. */
typedef struct Links {
  struct Job *prev, *next;
} Links;


/* A list of jobs in order, linked by the Links at offset 'links' of each
** (worker.c): a job may be in two lists at once. */
typedef struct JobList {
  struct Job *first, *last;
  size_t links;
} JobList;


/* What the owner's thread waits for in a manager (see 'Limit'). */
enum { JOBS_NOWAIT, JOBS_WAITANY, JOBS_WAITALL };


/*
** The C side of one manager: how many of its jobs run at once (past 'max',
** jobs wait in line as "created", and a thread whose job ends runs the
** first in line), and its jobs as they finish, for wait_any and wait_all.
** Guarded by the hub's mutex; freed when 'refs' drops to 0.
*/
typedef struct Limit {
  int max;  /* 0: no limit */
  int running;  /* jobs of the manager holding a thread */
  struct Job *first, *last;  /* the line, linked by 'nextdone' */
  int refs;  /* the manager, and each of its jobs not yet over */
  int unfinished;  /* its jobs not over */
  int open;  /* the manager lives: its jobs go to 'done' as they end */
  JobList done;  /* jobs over and numbered that wait_any has not returned,
                    in the order they finished (links 'inmanager') */
  int waiting;  /* JOBS_WAITANY or JOBS_WAITALL: the owner waits on
                   'hub->cv' for a job in 'done', or for none unfinished */
} Limit;


/*
** The counterpart of one owning lua_State: its jobs' threads, so that closing
** that state can wait for every one to have exited (the module's code may
** be unloaded right after).
*/
typedef struct Hub {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int running;  /* threads not yet in 'done' */
  Worker *idle;  /* threads waiting for a job, the last to wait first */
  int nidle;  /* how many */
  Worker *done;  /* threads to join */
  int closing;  /* the state is closing: idle threads must go */
  JobList jobs;  /* jobs running or in line, to cancel them all */
  int awaiting;  /* the owner waits on 'cv' for an 'awaited' job to end */
  JobList finished;  /* jobs finished since the last jobs.poll() whose
                        objects live, in that order */
  int fd;  /* an eventfd, readable while 'finished' may not be empty */
  struct Job *spent;  /* jobs whose states wait to be closed (worker.c) */
  int nspent;  /* how many */
  int closer;  /* a thread is woken or started to close them */
  struct Job **timed;  /* jobs running with a timeout, a heap (control.c) */
  int ntimed;  /* how many */
  int timedjobs;  /* jobs with a timeout started and not over */
  int timedsize;  /* room in 'timed', more than 'timedjobs' */
  pthread_t clock;  /* cancels each timed job at its deadline */
  pthread_cond_t clockcv;  /* wakes it: a new first deadline, or stop */
  int clockon, clockstop;
} Hub;


/* What jobs.spawn's options ask of a job's state and thread. */
typedef struct Options {
  double timeout;  /* seconds before it is cancelled; negative: never */
  int capture;  /* print and io.write go to 'out' */
  int libs;  /* the standard libraries it opens, a bit each (control.c) */
  int daemon;  /* closing the owner's state cancels it instead of waiting */
} Options;


/* A string a job's thread writes and its owner reads, under 'mu'. */
typedef struct Text {
  char *s;
  size_t len, size;
} Text;


/*
** A job as its owner and its thread share it; 'mu' guards every field the
** two may touch at once. Who owns 'L' when is the design's spine; see
** worker.c.
*/
typedef struct Job {
  pthread_mutex_t mu;
  pthread_cond_t cv;  /* broadcast when 'status' becomes final */
  pthread_cond_t wake;  /* wakes the job's own sleeps on cancel */
  lua_State *L;  /* the job's state, or NULL once closed */
  JobStatus status;
  int refs;  /* the owner's job object; its thread, then 'hub->finished' */
  int orphan;  /* its object is gone: no poll can report it ('hub->mu') */
  int listed;  /* in 'hub->finished' ('hub->mu') */
  int cancel;  /* 0, or why it must stop (control.c); atomic */
  int requests;  /* cancels asked (and timeouts due); atomic */
  int delivered;  /* of those, raised in the job (its thread only) */
  int hard;  /* stopped for good, <close> handlers too; atomic */
  int exitcode;  /* its os.exit's, with JOBS_EXITED */
  double started, finished;  /* seconds on the monotonic clock ('mu') */
  double deadline;  /* when its timeout cancels it (set as it starts) */
  int tindex;  /* its place in 'hub->timed', or 0 */
  int timeroom;  /* room in 'hub->timed' is reserved for it ('hub->mu') */
  Runner *runner;  /* of the thread running its state, or NULL ('mu') */
  Options opt;
  Heap heap;  /* of 'L', owned with it */
  pthread_mutex_t *waitmu;  /* what it is blocked on, if anything: a */
  pthread_cond_t *waitcv;   /* cancel broadcasts 'waitcv' under 'waitmu' */
  lua_Integer num;  /* what jobs.self() says (set before it starts) */
  Text name;
  Text out;  /* captured output */
  int progtype;  /* LUA_TNONE (never told), LUA_TNIL, LUA_TBOOLEAN, ... */
  int progint;  /* a number of integer subtype (exact below 2^53) */
  lua_Number prognum;
  Text progress, progmsg;
  Hub *hub;
  Limit *limit;  /* its manager's */
  Links inhub;  /* in 'hub->jobs' until over, then in 'hub->finished' */
  Links inmanager;  /* in its limit's 'done' */
  int unreturned;  /* in its limit's 'done' ('hub->mu') */
  int awaited;  /* the owner waits for it among others ('hub->awaiting') */
  struct Job *nextdone;  /* in its limit's line, or in a list taken */
  lua_State *closing;  /* its state, in 'hub->spent' ('hub->mu') */
  struct Job *nextspent;  /* in 'hub->spent' */
} Job;


double jobs_now (void);
void *jobs_registered (lua_State *L, const void *key);

Job *jobs_newjob (void);
void jobs_release (Job *j);
void jobs_releaselist (Job *j);
int jobs_orphan (Job *j);
void jobs_closestate (Job *j);
int jobs_bigstate (lua_State *J);

int jobs_pushpaths (lua_State *L);
void jobs_inherit (lua_State *L, int paths, lua_State *J);
int jobs_prepare (lua_State *L, Job *j, int base, int nargs, int env,
                  int names);
void jobs_endunstarted (Hub *h, Job *j, Limit *lim, JobStatus st);
int jobs_start (Job *j, Hub *h, Limit *lim);
void jobs_stopjob (Job *j);
Limit *jobs_newlimit (void);
void jobs_droplimit (Hub *h, Limit *lim);
void jobs_unreturn (Hub *h, Job *j);
Job *jobs_nextreturned (Limit *lim);
void jobs_setlimit (lua_State *L, Hub *h, Limit *lim, int max);
const char *jobs_traceback (lua_State *J, size_t *len);
void jobs_keeptraceback (lua_State *L, const char *msg, int level);

void jobs_newhub (lua_State *L);
Hub *jobs_hubof (lua_State *L);
Job *jobs_takefinished (Hub *h);

#endif
