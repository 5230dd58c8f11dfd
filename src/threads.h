/*
** threads.h: the threads of a hub: each runs a body of the layer above, waits
** idle between jobs, and is joined once it gives up.
*/
#ifndef threads_h
#define threads_h

#include <pthread.h>

#include "cancel.h"
#include "hub.h"


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


int jobs_cores (void);
int jobs_newworker (Hub *h, Job *j, void *(*body) (void *));
int jobs_idle (Hub *h, Worker *w, Job **jp);
int jobs_handidle (Hub *h, Job *j);
int jobs_wakeidle (Hub *h);
void jobs_reap (Hub *h);

#endif
