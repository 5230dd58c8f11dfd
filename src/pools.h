/*
** pools.h: the pool object (SPEC §10), for the module table.
*/
#ifndef pools_h
#define pools_h

#include "lua.h"

void jobs_openpools (lua_State *L);

#endif
