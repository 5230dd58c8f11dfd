/*
** line.c: a manager's line (SPEC §5): its jobs past 'max_threads' wait in
** order as "created", and a thread whose job ends runs the first; its jobs
** over that wait_any has not returned.
*/

#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "cancel.h"
#include "line.h"


/* Takes the first job in line of 'lim' if it may run now; 'h->mu' is
** held. Its place in line holds the reference its thread will hold. */
Job *jobs_nextinline (Limit *lim) {
  Job *j = lim->line.first;
  if (j == NULL || (lim->max > 0 && lim->running >= lim->max))
    return NULL;
  jobs_detach(&lim->line, j);
  j->queued = 0;
  lim->running++;
  return j;
}


/* Puts 'j' in the line of 'lim', last or (with 'first') first; 'h->mu'
** is held. */
void jobs_enline (Limit *lim, Job *j, int first) {
  if (first)
    jobs_prepend(&lim->line, j);
  else
    jobs_append(&lim->line, j);
  j->queued = 1;
}


/* Drops a reference to 'lim'; 'h->mu' is held. */
void jobs_unref (Limit *lim) {
  if (--lim->refs == 0)
    free(lim);
}


/* Cancels 'j'; 'h->mu' is held. A running job stops at its next
** instruction (cancel.c); one in line leaves it at once, cancelled. Returns
** 1 if 'j' left the line and its reference is the caller's to release (as
** 'settle' returns), once it has let go of 'h->mu'. 'hard': for good. */
int jobs_halt (Hub *h, Job *j, int hard) {
  Limit *lim = j->limit;
  int orphan;
  jobs_cancel(j, JOBS_CANCELLED, hard);  /* order: 'h->mu', then 'j->mu' */
  if (!j->queued)
    return 0;
  jobs_detach(&lim->line, j);
  j->queued = 0;
  jobs_unhub(h, j);
  orphan = jobs_settle(h, j, JOB_CANCELLED);  /* its state goes back to the owner */
  jobs_unref(lim);  /* after 'settle', which counts 'j' in it */
  return orphan;
}


Limit *jobs_newlimit (void) {
  Limit *lim = (Limit *)calloc(1, sizeof(Limit));
  if (lim != NULL) {
    lim->refs = 1;
    lim->open = 1;
    jobs_initlist(&lim->line, offsetof(Job, inmanager));
    jobs_initlist(&lim->done, offsetof(Job, inmanager));
  }
  return lim;
}


/* The manager lets go of 'lim'; its jobs keep it while they last. Those
** over leave its list for wait_any, and those to end never join it. */
void jobs_droplimit (Hub *h, Limit *lim) {
  Job *j;
  pthread_mutex_lock(&h->mu);
  lim->open = 0;
  while ((j = jobs_nextreturned(lim)) != NULL) {}
  jobs_unref(lim);
  pthread_mutex_unlock(&h->mu);
}


/* Job 'j' is no longer numbered: wait_any will not return it. */
void jobs_unreturn (Hub *h, Job *j) {
  pthread_mutex_lock(&h->mu);
  if (j->unreturned) {
    jobs_detach(&j->limit->done, j);
    j->unreturned = 0;
  }
  pthread_mutex_unlock(&h->mu);
}


/* Takes the job of 'lim' that finished first of those wait_any has not
** returned, or NULL if none; 'h->mu' is held. */
Job *jobs_nextreturned (Limit *lim) {
  Job *j = lim->done.first;
  if (j != NULL) {
    jobs_detach(&lim->done, j);
    j->unreturned = 0;
  }
  return j;
}
