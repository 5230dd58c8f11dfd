/*
** state.h: a job's lua_State built from what the caller asks it to run
** (SPEC §2, §4).
*/
#ifndef state_h
#define state_h

#include "lua.h"

#include "record.h"

int jobs_msghandler (lua_State *L);

/* Sets in J's globals (raw) each field of the table on top, popped. */
void jobs_setglobals (lua_State *J);
int jobs_pushpaths (lua_State *L);
void jobs_inherit (lua_State *L, int paths, lua_State *J);
/*
** A new state of a channel's or a pool's own, which holds values between
** the states that pass them ("a store", jobs_openstore): bare, no library,
** with a new table at index 1 for its holder. NULL if memory fails.
*/
lua_State *jobs_newstore (void);

int jobs_prepare (lua_State *L, Job *j, int base, int nargs, int env,
                  int names);

#endif
