/*
** threads.c: the threads of a hub (SPEC §1): started for a job, they wait idle
** a while between jobs to be handed the next, and once they give up they
** are joined by the next to give up, or by the owner.
*/

#include <errno.h>
#include <sched.h>
#include <unistd.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "threads.h"


/* One thread fewer runs; 'h->mu' is held. Its closing may wait for this. */
static void leave (Hub *h) {
  if (--h->running == 0)
    pthread_cond_broadcast(&h->cv);
}


/* Joins the threads of list 'w' (linked by 'next'), which have given up. */
static void join (Worker *w) {
  while (w != NULL) {
    Worker *next = w->next;
    pthread_join(w->thread, NULL);  /* at most the few steps after 'idle' */
    pthread_cond_destroy(&w->cv);
    free(w);
    w = next;
  }
}


/* Joins the threads that gave up waiting for jobs; called by the owner's
** thread. */
void jobs_reap (Hub *h) {
  Worker *w;
  pthread_mutex_lock(&h->mu);
  w = h->done;
  h->done = NULL;
  pthread_mutex_unlock(&h->mu);
  join(w);
}


/*
** Polls for JOBS_SPINTIME seconds at most, 'h->mu' let go of meanwhile,
** whether the idle thread 'w' is handed a job or woken: a job started
** soon after the last ended then costs no wake-up of a sleeping thread.
*/
static void spin (Hub *h, Worker *w) {
  double now = jobs_now(), end = now + JOBS_SPINTIME;
  pthread_mutex_unlock(&h->mu);
  for (; now < end; now = jobs_now()) {
    if (__atomic_load_n(&w->job, __ATOMIC_ACQUIRE) != NULL ||
        __atomic_load_n(&w->drain, __ATOMIC_ACQUIRE))
      break;
    sched_yield();  /* a thread with work to do on this core goes first */
  }
  pthread_mutex_lock(&h->mu);
}


/*
** Waits, in 'h->idle', to be handed a job (see 'handidle') or woken to close
** states (see 'wakeidle'), for JOBS_IDLETIME seconds at most, or until the
** state closes; past JOBS_IDLEMAX waiting threads, or with states to close,
** does not wait. Returns 1 with '*jp' the job handed, or NULL if states
** wait to be closed; or, having given up, 0, the thread listed to join. The
** thread then joins those listed before it, so that one at most waits to
** be joined.
*/
int jobs_idle (Hub *h, Worker *w, Job **jp) {
  double until = jobs_now() + JOBS_IDLETIME;
  Worker *before;
  pthread_mutex_lock(&h->mu);
  w->job = NULL;
  if (h->spent == NULL && h->nidle < JOBS_IDLEMAX) {
    w->drain = 0;
    w->next = h->idle;
    h->idle = w;
    h->nidle++;
    spin(h, w);
    while (w->job == NULL && !w->drain && !h->closing &&
           jobs_waitcv(&w->cv, &h->mu, until) != ETIMEDOUT) {}
    /* Handoff (step 2): a job handed over under 'h->mu' is this thread's
    ** ('handidle' took it out of 'h->idle'). */
    if (w->job == NULL && !w->drain) {  /* still in 'h->idle': leave it */
      Worker **p;
      for (p = &h->idle; *p != w; p = &(*p)->next) {}
      *p = w->next;
      h->nidle--;
    }
  }
  if (w->job != NULL || h->spent != NULL) {
    *jp = w->job;
    pthread_mutex_unlock(&h->mu);
    return 1;
  }
  before = h->done;
  w->next = NULL;
  h->done = w;
  leave(h);  /* its last touch of 'h' */
  pthread_mutex_unlock(&h->mu);
  join(before);  /* a closing state joins this thread, hence them too */
  return 0;
}


/* The CPUs online, 1 to 1024, read once (pools' default size, closers). */
int jobs_cores (void) {
  static int cores = 0;  /* the same for every thread that reads it */
  int n = __atomic_load_n(&cores, __ATOMIC_RELAXED);
  if (n == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > 0 ? (int)(cpus < 1024 ? cpus : 1024) : 1;
    __atomic_store_n(&cores, n, __ATOMIC_RELAXED);
  }
  return n;
}


/* A new thread running 'body' (given its Worker) for job 'j', or with NULL
** to close states; 'h->mu' is held. */
int jobs_newworker (Hub *h, Job *j, void *(*body) (void *)) {
  int err;
  pthread_attr_t attr;
  Worker *w = (Worker *)malloc(sizeof(Worker));
  if (w == NULL)
    return ENOMEM;
  w->hub = h;
  w->job = j;
  jobs_initcv(&w->cv);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, JOBS_STACKSIZE);
  jobs_threadmask(&attr);
  /* Handoff (step 2): from here the job's state belongs to the new thread;
  ** pthread_create makes all written above visible to it. */
  err = pthread_create(&w->thread, &attr, body, w);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    pthread_cond_destroy(&w->cv);
    free(w);
  }
  else
    h->running++;
  return err;
}


/* Takes the thread that waited last out of 'h->idle' ('h->mu' held), or
** returns NULL if none waits. */
static Worker *takeidle (Hub *h) {
  Worker *w = h->idle;
  if (w != NULL) {
    h->idle = w->next;
    h->nidle--;
  }
  return w;
}


/* Hands job 'j' to run to the thread that waited last in 'h->idle'; 'h->mu'
** is held. Returns 0 if no thread waits. */
int jobs_handidle (Hub *h, Job *j) {
  Worker *w = takeidle(h);
  if (w == NULL)
    return 0;
  /* Handoff (step 2): the state is the waiting thread's once it has
  ** 'h->mu' (a spinning one reads this without it, then takes it) */
  __atomic_store_n(&w->job, j, __ATOMIC_RELEASE);
  pthread_cond_signal(&w->cv);
  return 1;
}


/* Wakes the thread that waited last in 'h->idle' to close the states of
** 'h->spent'; 'h->mu' is held. Returns 0 if no thread waits. */
int jobs_wakeidle (Hub *h) {
  Worker *w = takeidle(h);
  if (w == NULL)
    return 0;
  __atomic_store_n(&w->drain, 1, __ATOMIC_RELEASE);
  pthread_cond_signal(&w->cv);
  return 1;
}
