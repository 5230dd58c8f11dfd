/*
** frame.h: jobs.encode and jobs.decode (SPEC §12); jobs.h has their C
** twins, jobs_encode and jobs_decode.
*/
#ifndef frame_h
#define frame_h

#include "lua.h"

/* jobs.encode(options, ...) -> frame */
int jobs_luaencode (lua_State *L);

/* jobs.decode(options, frame) -> ... */
int jobs_luadecode (lua_State *L);

#endif
