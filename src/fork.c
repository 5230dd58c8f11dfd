/*
** fork.c: what fork() does to the module (SPEC §14): every hub of the
** process is held still across it, and the child starts afresh.
**
** Only the thread that forks goes on in the child: the threads of jobs,
** pools and clocks stay behind in the parent. So that the child finds each
** hub whole, the fork holds the mutex of every hub (oldest first, the
** order in which a job's hub follows its owner's) while it copies the
** process. The child then takes each hub over: its jobs unfinished at the
** fork are the parent's, ended "dead" in the child with an error that says
** so (their states, which a thread of the parent was running, are left as
** they are, never touched); it has no threads, no clock and an eventfd of
** its own at the same number; and it can start new jobs, and close
** without waiting for threads it lacks.
*/

#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lua.h"

#include "cancel.h"
#include "child.h"
#include "fork.h"
#include "line.h"
#include "record.h"


/* The hubs of the process, oldest first, under 'hubsmu'. */
static pthread_mutex_t hubsmu = PTHREAD_MUTEX_INITIALIZER;
static Hub *oldest = NULL, *newest = NULL;
static pid_t parent = 0;  /* the pid that forks, as it forks */
static pthread_once_t handled = PTHREAD_ONCE_INIT;


static void prepare (void) {
  Hub *h;
  pthread_mutex_lock(&hubsmu);
  for (h = oldest; h != NULL; h = h->forknext)
    pthread_mutex_lock(&h->mu);
  parent = getpid();
}


static void inparent (void) {
  Hub *h;
  for (h = newest; h != NULL; h = h->forkprev)
    pthread_mutex_unlock(&h->mu);
  pthread_mutex_unlock(&hubsmu);
}


/* Job 'j' of 'h', unfinished at the fork, is the parent's: it ends dead
** here, with no state and no thread. */
static void disown (Hub *h, Job *j) {
  Limit *lim = j->limit;
  jobs_initmutex(&j->mu);  /* a thread of the parent's may have held it */
  jobs_initcv(&j->cv);
  jobs_initcv(&j->wake);
  j->forked = parent;
  j->runner = NULL;
  j->L = NULL;  /* left as it is: its thread was running it */
  j->pool = NULL;  /* its outcome is nowhere here */
  j->tindex = j->timeroom = j->graced = 0;
  j->waitmu = NULL;
  if (j->queued) {
    jobs_detach(&lim->line, j);
    j->queued = 0;
  }
  else
    lim->running--;
  jobs_unhub(h, j);
  jobs_settle(h, j, JOB_DEAD);
  jobs_unref(lim);
}


/* The child's own start of hub 'h', with no thread of the parent's. */
static void renew (Hub *h) {
  Job *j;
  int fd;
  jobs_initmutex(&h->mu);
  jobs_initcv(&h->cv);
  jobs_initcv(&h->clockcv);
  for (j = h->finished.first; j != NULL; j = j->inhub.next)
    jobs_initmutex(&j->mu);  /* their threads may have been letting go */
  while (h->jobs.first != NULL)
    disown(h, h->jobs.first);
  h->running = h->nidle = h->nspent = h->closers = h->throttled = 0;
  h->idle = NULL;
  h->done = NULL;  /* the parent's threads: none to join here */
  h->spent = NULL;  /* states for those threads to close: left */
  h->ntimed = h->timedjobs = 0;
  jobs_initlist(&h->graced, h->graced.links);
  h->clockon = h->clockstop = 0;
  if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) >= 0) {
    dup2(fd, h->fd);  /* the number a host may poll, its own counter */
    close(fd);
  }
}


static void inchild (void) {
  Hub *h;
  pthread_mutex_init(&hubsmu, NULL);
  for (h = oldest; h != NULL; h = h->forknext)
    renew(h);
  if (jobs_onjobthread())
    jobs_sethostmask();  /* a job forked: the child is no job's thread */
}


static void handle (void) {
  pthread_atfork(prepare, inparent, inchild);
}


/* Lists the new hub 'h' (its mutex made) for the fork. */
void jobs_registerhub (Hub *h) {
  pthread_once(&handled, handle);
  pthread_mutex_lock(&hubsmu);
  h->forknext = NULL;
  h->forkprev = newest;
  if (newest != NULL)
    newest->forknext = h;
  else
    oldest = h;
  newest = h;
  h->forklisted = 1;
  pthread_mutex_unlock(&hubsmu);
}


/* Takes 'h', closing, out of the list (if it was listed). */
void jobs_unregisterhub (Hub *h) {
  if (!h->forklisted)
    return;
  pthread_mutex_lock(&hubsmu);
  if (h->forkprev != NULL)
    h->forkprev->forknext = h->forknext;
  else
    oldest = h->forknext;
  if (h->forknext != NULL)
    h->forknext->forkprev = h->forkprev;
  else
    newest = h->forkprev;
  h->forklisted = 0;
  pthread_mutex_unlock(&hubsmu);
}
