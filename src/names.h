/*
** names.h: the free names of a job's string, from the caller's frame.
*/
#ifndef names_h
#define names_h

#include "lua.h"

/*
** Pushes a table from name to value of the variables the string at 'base'
** uses that the function calling the C function running in L can see:
** its locals shadow its upvalues, which shadow its globals. Returns the
** table's index. May raise in L.
*/
int jobs_freenames (lua_State *L, int base);

#endif
