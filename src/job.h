/*
** job.h: the job object, as its owner's state sees it (SPEC §3).
*/
#ifndef job_h
#define job_h

#include "lua.h"

void jobs_openjob (lua_State *L);
int jobs_newmaker (lua_State *L);
void jobs_openpoll (lua_State *L);

#endif
