/*
** copy.h: copying values from one lua_State to another (SPEC §4).
*/
#ifndef copy_h
#define copy_h

#include "lua.h"

/*
** Copies the 'n' values at 'first', 'first'+1, ... of 'from' onto the top of
** 'to', keeping shared references, cycles and upvalue sharing among them.
** 'root' names the i-th value in errors, as a format given i ("argument %d").
** The calling thread must own both states. It raises errors in 'to' only,
** never in 'from', so call it in protected mode in 'to'.
*/
void jobs_copy (lua_State *from, int first, int n, lua_State *to,
                const char *root);

#endif
