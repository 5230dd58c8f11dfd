/*
** clock.h: timeouts (SPEC §2 'timeout'): each hub's clock thread cancels
** a job at its deadline.
*/
#ifndef clock_h
#define clock_h

#include "hub.h"

int jobs_reservetime (Hub *h);
void jobs_timein (Hub *h, Job *j);
void jobs_untime (Hub *h, Job *j);
void jobs_timeout (Hub *h, Job *j);
void jobs_stopclock (Hub *h);

#endif
