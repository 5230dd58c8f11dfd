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

/*
** Pushes a table from name to value of the globals that the Lua functions
** among the 'n' values at 'base' of L (a job's function and its arguments),
** the functions in them and the Lua functions among their upvalues name
** through their _ENV, each read from its own _ENV as it would read it, and
** returns its index; or returns 0, pushing nothing, if they name none.
** With 'tables', the functions in tables among those values too (keys,
** values, metatables, as a copy walks them: for a copy that reported
** JOBS_COPYTABLEFNS). A name that the table at 'skip' (0: none) has is
** not looked up (a pool's 'init' sets it in the worker). May raise in L
** (an _ENV's metamethods run).
*/
int jobs_functionnames (lua_State *L, int base, int n, int tables,
                        int skip);

/* Pushes a table whose keys are the globals that the Lua function at 'fn'
** of L (or a chunk of jobs_compile) and the functions in it assign through
** its _ENV, and returns its index. May raise in L. */
int jobs_assignednames (lua_State *L, int fn);

/* Whether 'name' is a global of Lua's standard library, which a job's
** free names never bring: the job has its own, or 'libs' left it out. */
int jobs_isstandard (const char *name);

#endif
