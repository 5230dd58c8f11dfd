/*
** tasks.h: a pool's tasks (SPEC §10): its line, its warm states, and the
** copies of tasks in and of outcomes out, through the pool's own state.
*/
#ifndef tasks_h
#define tasks_h

#include <pthread.h>

#include "lua.h"

#include "hub.h"


/*
** A pool, shared by its object in the owner's state and by each task
** until its outcome is let go of. 'mu' owns 'Q' and 'idle'.
*/
typedef struct Pool {
  pthread_mutex_t mu;
  lua_State *Q;  /* the pool's store: Q[1] holds the functions tasks run
                    (by number), 'init' and the paths; its registry, the
                    carrier of each task (its arguments, then its outcome) */
  Job *idle;  /* records of the states between tasks, linked by 'nextdone' */
  int closed;  /* its states close as their tasks end (jobs_closepool) */
  int refs;  /* the pool's object, its functions' Tickets, and each task
                until its outcome is let go of; atomic */
  Limit *limit;  /* its line: 'size' tasks run at once */
  Hub *hub;
  int libs;  /* of its states, as jobs.spawn's 'libs' */
  size_t memory;  /* their memory limit in bytes, or 0 */
  int hasinit;
} Pool;


Pool *jobs_newpool (lua_State *L, Hub *h, int paths, int init, int names,
                    int size);
int jobs_submit (lua_State *L, Pool *p, Job *t, int base, int n, int id,
                 int names);
void jobs_renametask (lua_State *L, Pool *p, Job *t, int names, int more);
void jobs_forgetfunction (Pool *p, int id);
void jobs_closepool (Pool *p);
void jobs_refpool (Pool *p);
void jobs_unrefpool (Pool *p);

lua_State *jobs_opentask (Job *t, int *first, int *n, const char **tb,
                          size_t *tblen);
void jobs_closetask (Job *t);
void jobs_droptask (Job *t);

#endif
