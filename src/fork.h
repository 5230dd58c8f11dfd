/*
** fork.h: what fork() does to the module (SPEC §14): every hub of the
** process is held still across it, and the child starts afresh.
*/
#ifndef fork_h
#define fork_h

#include "hub.h"

void jobs_registerhub (Hub *h);
void jobs_unregisterhub (Hub *h);

#endif
