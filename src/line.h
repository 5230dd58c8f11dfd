/*
** line.h: a manager's jobs past its 'max_threads', in line as "created",
** and its jobs over that wait_any has not returned (SPEC §5).
*/
#ifndef line_h
#define line_h

#include "hub.h"

Limit *jobs_newlimit (void);
void jobs_droplimit (Hub *h, Limit *lim);
void jobs_unref (Limit *lim);
Job *jobs_nextinline (Limit *lim);
void jobs_enline (Limit *lim, Job *j, int first);
int jobs_halt (Hub *h, Job *j, int hard);
void jobs_unreturn (Hub *h, Job *j);
Job *jobs_nextreturned (Limit *lim);

#endif
