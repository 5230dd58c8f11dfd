/*
** channel.h: channels, queues of copied values any state may hold (SPEC §6).
*/
#ifndef channel_h
#define channel_h

#include "lua.h"

int jobs_newchannel (lua_State *L);

#endif
