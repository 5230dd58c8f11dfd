/*
** manager.h: a manager's C side (SPEC §5), for the module table.
*/
#ifndef manager_h
#define manager_h

#include "lua.h"

int jobs_newmanager (lua_State *L);
int jobs_wait (lua_State *L);

#endif
