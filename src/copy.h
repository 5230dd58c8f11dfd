/*
** copy.h: copying values from one lua_State to another (SPEC §4).
*/
#ifndef copy_h
#define copy_h

#include "lua.h"

/*
** Copies the 'n' values at 'first', 'first'+1, ... of 'from' onto the top of
** 'to', keeping shared references, cycles and upvalue sharing among them.
** 'root' names the i-th value in errors, as a format given 'label' + i - 1
** ("argument %d"); if NULL, the i-th value is named by the string at index
** 'label' + i - 1 of 'from'.
** The calling thread must own both states. It raises errors in 'to' only,
** never in 'from', so call it in protected mode in 'to'. Returns
** JOBS_COPYREQUIRED if it required a module in 'to' (its package.loaded
** changed), or'd with JOBS_COPYTABLEFNS if it met, inside a table, a Lua
** function that names globals (whose names only a walk of tables finds:
** jobs_functionnames).
*/
#define JOBS_COPYREQUIRED	1
#define JOBS_COPYTABLEFNS	2

int jobs_copy (lua_State *from, int first, int n, lua_State *to,
               const char *root, int label);

/* Writes the 'n' values at 'first' of L to 'out' (wire.h) as copy would
** copy them, with "send" for "copy" in its errors, which it raises in L. */
struct jobs_Out;
void jobs_copytobytes (lua_State *L, int first, int n, struct jobs_Out *out,
                       const char *root, int label);


/* The 'root' that names a job's values as its caller knows them: given
** 'label' 0, the first is "function" and the rest "argument 1", "argument
** 2", ..., whatever came before them in the call that made the job. */
extern const char jobs_jobroot[];

/*
** A lua_CFunction: brings up to date L's index of the names by which its
** module tables and C functions cross (those of package.loaded). It may
** raise in L; call it before a copy from L, where L may raise.
*/
int jobs_indexnames (lua_State *L);

/* Drops L's index of names: the next copy from L builds it anew. */
void jobs_forgetnames (lua_State *L);

/* Whether the value at 'idx' of L crosses by name (a module, or a C
** function of one), as L's index of names has it now. */
int jobs_byname (lua_State *L, int idx);

/* Pushes "mod.field", the indexed name of the C function at 'idx' of L,
** and returns 1; or returns 0, pushing nothing. */
int jobs_pushname (lua_State *L, int idx);

#endif
