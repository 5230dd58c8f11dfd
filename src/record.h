/*
** record.h: the record of a job that its owner and its thread share, and
** what every layer uses with it: lists of jobs, the clock, waits, texts.
*/
#ifndef record_h
#define record_h

#include <pthread.h>
#include <stddef.h>

#include "lua.h"

#include "jobsconf.h"
#include "alloc.h"

typedef enum JobStatus {
  JOB_CREATED, JOB_RUNNING, JOB_COMPLETED, JOB_DEAD, JOB_CANCELLED
} JobStatus;

#define jobs_isfinal(st)	((st) >= JOB_COMPLETED)

/* Sets the status of job 'j', holding 'j->mu': atomically, for a wait that
** polls it without the lock before it sleeps (job.c). */
#define jobs_setstatus(j, st)	__atomic_store_n(&(j)->status, st, __ATOMIC_RELEASE)

#define JOBS_ALLLIBS	(~0)  /* Options.libs: every standard library */

struct Hub;
struct Pool;
struct Runner;


/* Where a job sits in a JobList. */
typedef struct Links {
  struct Job *prev, *next;
} Links;


/* A list of jobs in order, linked by the Links at offset 'links' of each
** (record.c): a job may be in two lists at once. */
typedef struct JobList {
  struct Job *first, *last;
  size_t links;
  size_t n;  /* how many */
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
  JobList line;  /* jobs waiting for a thread (links 'inmanager', which
                    a job needs for 'done' only once it is over) */
  int refs;  /* the manager, and each of its jobs not yet over */
  int unfinished;  /* its jobs not over */
  int open;  /* the manager lives: its jobs go to 'done' as they end */
  JobList done;  /* jobs over and numbered that wait_any has not returned,
                    in the order they finished (links 'inmanager') */
  int waiting;  /* JOBS_WAITANY or JOBS_WAITALL: the owner waits on
                   'hub->cv' for a job in 'done', or for none unfinished */
  /* A pool's line (tasks.c): its jobs have no state of their own. 'run'
  ** runs one in a state of the pool, on the thread it took; 'drop' lets go
  ** of the outcome of one nobody will read. NULL for a manager's. */
  JobStatus (*run) (struct Runner *r, struct Job *j);
  void (*drop) (struct Job *j);
} Limit;


/* What jobs.spawn's options ask of a job's state and thread. */
typedef struct Options {
  double timeout;  /* seconds before it is cancelled; negative: never */
  double grace;  /* seconds each <close> handler of it stopping runs
                    before a stop of its own; negative: no limit */
  int capture;  /* print and io.write go to 'out' */
  int libs;  /* the standard libraries it opens, a bit each (libs.c) */
  int daemon;  /* closing the owner's state cancels it instead of waiting */
} Options;


/* A value small enough to travel in a job's record, a task's arguments
** or a job's results (record.c): nil, a boolean, a number, or a string of
** fewer than JOBS_SMALLSTRING bytes. */
typedef struct Small {
  int type;  /* LUA_TNIL, LUA_TBOOLEAN, LUA_TNUMBER, LUA_TSTRING */
  int isint;  /* a number of integer subtype */
  lua_Integer i;  /* an integer, or a boolean */
  lua_Number n;
  size_t len;
  char s[JOBS_SMALLSTRING];
} Small;


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
  int cancel;  /* 0, or why it must stop (cancel.c); atomic */
  int requests;  /* cancels asked (and timeouts due); atomic */
  int delivered;  /* of those, raised in the job (its thread only) */
  int hard;  /* stopped for good, <close> handlers too; atomic */
  int exitcode;  /* its os.exit's, with JOBS_EXITED */
  int forked;  /* in a process forked while it ran, the pid that runs it
                  (it is dead here, with no state); 0: this process's */
  double started, finished;  /* seconds on the monotonic clock ('mu') */
  double deadline;  /* when its timeout cancels it (set as it starts) */
  int tindex;  /* its place in 'hub->timed', or 0 */
  int timeroom;  /* room in 'hub->timed' is reserved for it ('hub->mu') */
  int graced;  /* stopping, in 'hub->graced' ('hub->mu') */
  double graceuntil;  /* when the clock stops the handler it runs */
  struct Runner *runner;  /* of the thread running its state, or NULL ('mu') */
  struct Job *current;  /* the job its state runs: itself, or for a pool's
                           state, the task it runs (its thread only) */
  struct Pool *pool;  /* a pool's task, until its outcome is let go of */
  int slot;  /* a pool's task: its carrier, then its outcome, in the pool's
                store; 0: none there */
  int fnid;  /* a pool's task: its function's number (0: a string's) */
  int bare;  /* a pool's task: its carrier is its function alone, its
                outcome a message alone (a user value never tells) */
  int nsmall;  /* its arguments (a pool's task), then its results, in
                  'small' (-1: none); set before it is settled */
  Small small[JOBS_SMALLMAX];
  int inrecord;  /* a job's outcome is all in its record, its state closed
                    as it ended (worker.c); set before it is settled */
  Text errmsg, errtb;  /* so, a dead job's error message and traceback */
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
  struct Hub *hub;
  Limit *limit;  /* its manager's */
  Links inhub;  /* in 'hub->jobs' until over, then in 'hub->finished' */
  Links inmanager;  /* in its limit's 'done' */
  Links ingrace;  /* in 'hub->graced' */
  int unreturned;  /* in its limit's 'done' ('hub->mu') */
  int queued;  /* in its limit's 'line' ('hub->mu') */
  int awaited;  /* the owner waits for it among others ('hub->awaiting') */
  struct Job *nextdone;  /* in a list taken (of jobs over, or halted) */
  lua_State *closing;  /* its state, in 'hub->spent' ('hub->mu') */
  struct Job *nextspent;  /* in 'hub->spent' */
} Job;


double jobs_now (void);
void jobs_initmutex (pthread_mutex_t *mu);
void jobs_initcv (pthread_cond_t *cv);
int jobs_waitcv (pthread_cond_t *cv, pthread_mutex_t *mu, double until);
void *jobs_registered (lua_State *L, const void *key);

Job *jobs_newjob (void);
void jobs_release (Job *j);
void jobs_releaselist (Job *j);
void jobs_closejob (Job *j, lua_State *J);
int jobs_bigstate (lua_State *J);

int jobs_tosmall (lua_State *L, int first, int n, Small *small);
void jobs_pushsmall (lua_State *L, const Small *small, int n);

void jobs_initlist (JobList *list, size_t links);
void jobs_append (JobList *list, Job *j);
void jobs_prepend (JobList *list, Job *j);
void jobs_detach (JobList *list, Job *j);

void jobs_keeptraceback (lua_State *L, const char *msg, int level);
const char *jobs_traceback (lua_State *J, size_t *len);
int jobs_raisewith (lua_State *L);
int jobs_presettraceback (lua_State *L);

void jobs_settext (Text *t, const char *s, size_t len);
void jobs_pushtext (lua_State *L, Job *j, const Text *t);

/* Raises "unknown option 'x' to 'fname'" for a key of the options table
** at 'idx' that is not one of 'known' (NULL-terminated). */
void jobs_checkoptions (lua_State *L, int idx, const char *const known[],
                        const char *fname);


#endif
