/*
** libs.h: the standard libraries of a job's state, as its 'libs' option
** asks, opened at first use; its captured output.
*/
#ifndef libs_h
#define libs_h

#include "lua.h"

#include "record.h"

int jobs_checklibs (lua_State *L, int idx);
void jobs_openlibs (lua_State *J, Job *j);

#endif
