/*
** clock.h: timeouts (SPEC §2 'timeout') and graces: each hub's clock
** thread cancels a job at its deadline, and stops a stopping job's
** <close> handler at the end of its grace.
*/
#ifndef clock_h
#define clock_h

#include "hub.h"

int jobs_reservetime (Hub *h);
void jobs_timein (Hub *h, Job *j);
void jobs_untime (Hub *h, Job *j);
void jobs_timeout (Hub *h, Job *j);
void jobs_grace (Job *j);
void jobs_ungrace (Hub *h, Job *j);
void jobs_stopclock (Hub *h);

#endif
