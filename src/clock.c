/*
** clock.c: timeouts (SPEC §2 'timeout') and graces: the jobs of a hub
** running with a timeout wait in a heap by deadline, those stopping in a
** list, and one thread cancels each in turn.
*/

#include <errno.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobsconf.h"
#include "cancel.h"
#include "clock.h"


/*
** The jobs of a hub running with a timeout wait in a heap by deadline,
** 'h->timed[1 .. h->ntimed]', each knowing its place ('tindex'), all under
** 'h->mu'. The hub's clock thread sleeps until the first deadline and
** cancels that job as job:cancel() does, with the reason "timeout".
*/

#define deadline(h, i)	((h)->timed[i]->deadline)

static void place (Hub *h, int i, Job *j) {
  h->timed[i] = j;
  j->tindex = i;
}


/* Moves the job at 'i' up the heap as far as its deadline says. */
static void siftup (Hub *h, int i) {
  Job *j = h->timed[i];
  for (; i > 1 && deadline(h, i / 2) > j->deadline; i /= 2)
    place(h, i, h->timed[i / 2]);
  place(h, i, j);
}


/* Moves the job at 'i' down the heap as far as its deadline says. */
static void siftdown (Hub *h, int i) {
  Job *j = h->timed[i];
  int c;
  while ((c = 2 * i) <= h->ntimed) {
    if (c < h->ntimed && deadline(h, c + 1) < deadline(h, c))
      c++;
    if (deadline(h, c) >= j->deadline)
      break;
    place(h, i, h->timed[c]);
    i = c;
  }
  place(h, i, j);
}


/* Takes job 'j' out of the heap, keeping its room (it may go back in
** line); 'h->mu' is held. */
void jobs_untime (Hub *h, Job *j) {
  int i = j->tindex;
  Job *last = h->timed[h->ntimed--];
  j->tindex = 0;
  if (last == j)
    return;
  place(h, i, last);
  siftup(h, i);
  siftdown(h, last->tindex);
}


/*
** Ends the graces of 'h' past at 'now': each stops the handler its job
** runs, and the next handler has a grace of its own (jobs_grace), or this
** one a grace more if the stop is not raised yet (a job in a C call).
** 'h->mu' is held. Returns when the next grace ends (negative: none).
*/
static double endgraces (Hub *h, double now) {
  double next = -1;
  Job *j;
  for (j = h->graced.first; j != NULL; j = j->ingrace.next) {
    if (j->graceuntil <= now) {
      j->graceuntil = now + (j->opt.grace > JOBS_GRACEMIN ? j->opt.grace
                                                          : JOBS_GRACEMIN);
      jobs_cancel(j, JOBS_CANCELLED, 0);  /* order: 'h->mu', then 'j->mu';
                                             the first reason stays */
    }
    if (next < 0 || j->graceuntil < next)
      next = j->graceuntil;
  }
  return next;
}


/* The clock thread of a hub: cancels each timed job at its deadline, and
** ends the graces of those stopping, until the hub stops it. */
static void *ticker (void *arg) {
  Hub *h = (Hub *)arg;
  pthread_mutex_lock(&h->mu);
  while (!h->clockstop) {
    double now = jobs_now(), next = endgraces(h, now);
    if (h->ntimed > 0 && deadline(h, 1) <= now) {
      Job *j = h->timed[1];
      jobs_untime(h, j);  /* once: its room stays, and a grace follows */
      jobs_cancel(j, JOBS_TIMEDOUT, 0);
      continue;
    }
    if (h->ntimed > 0 && (next < 0 || deadline(h, 1) < next))
      next = deadline(h, 1);
    jobs_waitcv(&h->clockcv, &h->mu, next);
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}


/* Starts the clock of 'h' if it is not running; 'h->mu' is held. Returns
** 0 or an error number. */
static int startclock (Hub *h) {
  pthread_attr_t attr;
  int err;
  if (h->clockon)
    return 0;
  pthread_attr_init(&attr);
  jobs_threadmask(&attr);
  if ((err = pthread_create(&h->clock, &attr, ticker, h)) == 0)
    h->clockon = 1;
  pthread_attr_destroy(&attr);
  return err;
}


/*
** Makes room in the heap of 'h' for one more job with a timeout, and
** starts the clock if it is not running; called by the owner's thread
** before it starts such a job. Returns 0 or an error number.
*/
int jobs_reservetime (Hub *h) {
  int err = 0;
  pthread_mutex_lock(&h->mu);
  if (h->timedjobs + 1 >= h->timedsize) {
    int size = h->timedsize == 0 ? 16 : 2 * h->timedsize;
    Job **grown = (Job **)realloc(h->timed, sizeof(Job *) * (size_t)size);
    if (grown == NULL)
      err = ENOMEM;
    else {
      h->timed = grown;
      h->timedsize = size;
    }
  }
  if (err == 0)
    err = startclock(h);
  if (err == 0)
    h->timedjobs++;
  pthread_mutex_unlock(&h->mu);
  return err;
}


/* Job 'j', with a timeout, starts now (or its state closes): its deadline
** goes in the heap of its hub (room was reserved); 'h->mu' is held. */
void jobs_timein (Hub *h, Job *j) {
  j->deadline = j->started + j->opt.timeout;
  place(h, ++h->ntimed, j);
  siftup(h, h->ntimed);
  if (j->tindex == 1)  /* the first deadline now */
    pthread_cond_signal(&h->clockcv);
}


/* Job 'j', with a timeout, is over and its state closed (or it could not
** start): out of the heap of its hub, and its room with it; 'h->mu' is
** held. */
void jobs_timeout (Hub *h, Job *j) {
  if (j->tindex != 0)
    jobs_untime(h, j);
  if (j->timeroom) {
    j->timeroom = 0;
    h->timedjobs--;
  }
}


/*
** A stop was raised in 'j', on its thread (jobs_stop): the <close> handler
** it unwinds to, if any, has the job's grace, then the clock stops it in
** turn. With no clock to be had, no grace ends: a further cancel still
** stops the handler.
*/
void jobs_grace (Job *j) {
  Hub *h = j->hub;
  if (j->opt.grace < 0 || h == NULL)
    return;
  pthread_mutex_lock(&h->mu);
  if (startclock(h) == 0) {
    j->graceuntil = jobs_now() + j->opt.grace;
    if (!j->graced)
      jobs_append(&h->graced, j);
    j->graced = 1;
    pthread_cond_signal(&h->clockcv);
  }
  pthread_mutex_unlock(&h->mu);
}


/* Job 'j' is over, or its state closed: no grace of it ends; 'h->mu' is
** held. */
void jobs_ungrace (Hub *h, Job *j) {
  if (j->graced) {
    jobs_detach(&h->graced, j);
    j->graced = 0;
  }
}


/* Stops and joins the clock of 'h', which no job needs any more. */
void jobs_stopclock (Hub *h) {
  pthread_mutex_lock(&h->mu);
  h->clockstop = 1;
  pthread_cond_signal(&h->clockcv);
  pthread_mutex_unlock(&h->mu);
  if (h->clockon)
    pthread_join(h->clock, NULL);
  free(h->timed);
}
