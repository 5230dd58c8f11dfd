/*
** state.h: a job's lua_State built from what the caller asks it to run
** (SPEC §2, §4).
*/
#ifndef state_h
#define state_h

#include "lua.h"

#include "record.h"

int jobs_pushpaths (lua_State *L);
void jobs_inherit (lua_State *L, int paths, lua_State *J);
int jobs_prepare (lua_State *L, Job *j, int base, int nargs, int env,
                  int names);

#endif
