/*
** names.h: a job's string compiled, and its free names, from the caller's
** frame.
*/
#ifndef names_h
#define names_h

#include "lua.h"

/*
** Replaces the string at 'base' of L with its compiled chunk: as an
** expression ("return " .. s), else as statements, in text mode only, the
** string its name. Raises the chunk's syntax error in L.
*/
int jobs_compile (lua_State *L, int base);

/*
** Pushes a table from name to value of the globals the chunk at 'base'
** (compiled by jobs_compile) names that the function calling the C
** function running in L can see: its locals shadow its upvalues, which
** shadow its globals. Returns the table's index. May raise in L.
*/
int jobs_freenames (lua_State *L, int base);

#endif
