/*
** build.c: the receiving end of a copy: the values made in a state, for a
** walk of another state (copy.c) and for the bytes of a frame (wire.c)
** alike; and stores, the states where values wait on their way.
*/

#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "build.h"


/* Its address keys, in a store's registry, what the store keeps aside
** (jobs_openstore): [METAS] and [NAMES]. */
static const char storekey = 0;
#define METAS	1
#define NAMES	2


/*
** {======================================================
** The receiving end: what makes the copies in 'to', for a walk of another
** state and for the bytes of a frame (wire.c) alike
** =======================================================
*/

/* Makes 'copies' the list, with room for 'size' objects, unless it is:
** a copy of one object costs no list and no map. */
static void makecopies (jobs_Build *b, int size) {
  lua_State *to = b->to;
  if (b->list)
    return;
  lua_createtable(to, size, 0);
  if (b->ncopies == 1) {  /* the first copy moves in */
    lua_pushvalue(to, b->copies);
    lua_rawseti(to, -2, 1);
  }
  lua_replace(to, b->copies);
  b->list = 1;
}


void jobs_buildreserve (jobs_Build *b, int n) {
  makecopies(b, n);
}


lua_Integer jobs_buildremember (jobs_Build *b) {
  lua_State *to = b->to;
  if (b->ncopies == 0 && !b->list) {
    lua_pushvalue(to, -1);
    lua_replace(to, b->copies);
    return b->ncopies = 1;
  }
  makecopies(b, 0);
  lua_pushvalue(to, -1);
  lua_rawseti(to, b->copies, ++b->ncopies);
  return b->ncopies;
}


void jobs_buildpush (jobs_Build *b, lua_Integer n) {
  if (b->list)
    lua_rawgeti(b->to, b->copies, n);
  else
    lua_pushvalue(b->to, b->copies);  /* the first */
}


/* A store keeps the metatable aside, so that it means nothing there. */
void jobs_buildmeta (jobs_Build *b) {
  lua_State *to = b->to;
  if (b->tometa == 0) {
    lua_setmetatable(to, -2);
    return;
  }
  lua_pushvalue(to, -2);
  lua_insert(to, -2);
  lua_rawset(to, b->tometa);
}


/* Pushes onto the store 'to' a token for module 'mod' or its function
** 'field' (NULL: the module): a userdata that the store's names know,
** with the name as an index of names holds it. A store requires nothing:
** the receiver of the value does, as the token leaves. One byte, not
** none: the address of an empty block is the end of its allocation,
** where another object may begin, and 'seen' tells objects apart by
** address (lua_topointer). */
static void pushtoken (jobs_Build *b, const char *mod, const char *field) {
  lua_State *to = b->to;
  lua_newuserdatauv(to, 1, 0);
  lua_pushvalue(to, -1);
  if (field == NULL)
    lua_pushstring(to, mod);
  else {
    lua_createtable(to, 2, 0);
    lua_pushstring(to, mod);
    lua_rawseti(to, -2, 1);
    lua_pushstring(to, field);
    lua_rawseti(to, -2, 2);
  }
  lua_rawset(to, b->tonames);
}


/* Pushes onto 'to' its module 'mod', requiring it if it is not loaded and
** 'require' is set, and returns 0; else pushes why not and returns
** JOBS_NOMODULE. One that no searcher finds there is the sender's own, as
** a host's API (HAProxy's 'core') is, and it says so, not where it looked. */
static int pushmodule (jobs_Build *b, const char *mod, int require) {
  lua_State *to = b->to;
  lua_getfield(to, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(to, -1, mod) == LUA_TNIL) {
    const char *msg;
    lua_pop(to, 2);
    if (!require) {
      lua_pushfstring(to, "it is not loaded here, and a frame with no tag "
                      "requires no module");
      return JOBS_NOMODULE;
    }
    b->loaded = 1;
    lua_getglobal(to, "require");
    lua_pushstring(to, mod);
    if (lua_pcall(to, 1, 1, 0) == LUA_OK)
      return 0;
    msg = lua_tostring(to, -1);
    lua_pushfstring(to, "module '%s' not found:", mod);
    if (msg == NULL || strncmp(msg, lua_tostring(to, -1),
                               lua_rawlen(to, -1)) != 0) {
      lua_pop(to, 1);
      lua_error(to);  /* the module's own error, or out of memory (Lua
                         raises its message as a memory error again) */
    }
    lua_pop(to, 2);
    lua_pushliteral(to, "it is loaded where the value comes from but no "
                    "searcher finds it here: a host's own API lives only "
                    "in the host's state; give the job data, not the API");
    return JOBS_NOMODULE;
  }
  lua_remove(to, -2);
  return 0;
}


int jobs_buildname (jobs_Build *b, const char *mod, const char *field,
                    int require) {
  lua_State *to = b->to;
  if (b->tonames != 0) {
    pushtoken(b, mod, field);
    return 0;
  }
  if (pushmodule(b, mod, require) != 0)
    return JOBS_NOMODULE;
  if (field != NULL) {
    if (lua_getfield(to, -1, field) == LUA_TNIL) {
      lua_pop(to, 2);
      lua_pushfstring(to, "no %s.%s in the receiving state", mod, field);
      return JOBS_NOFIELD;
    }
    lua_remove(to, -2);
  }
  return 0;
}


void jobs_buildfunction (jobs_Build *b, const char *code, size_t len,
                         const char *name, const char *mode) {
  if (luaL_loadbufferx(b->to, code, len, name, mode) != LUA_OK)
    lua_error(b->to);
}


int jobs_buildjoin (jobs_Build *b, int up, lua_Integer fn, int n) {
  lua_State *to = b->to;
  int ok;
  jobs_buildpush(b, fn);
  ok = lua_type(to, -1) == LUA_TFUNCTION && !lua_iscfunction(to, -1) &&
       lua_getupvalue(to, -1, n) != NULL;
  if (ok) {
    lua_pop(to, 1);
    lua_upvaluejoin(to, -2, up, -1, n);
  }
  lua_pop(to, 1);
  return ok;
}


void jobs_buildenv (jobs_Build *b, int up) {
  lua_rawgeti(b->to, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_setupvalue(b->to, -2, up);
}


void jobs_buildopen (jobs_Build *b, lua_State *to) {
  b->to = to;
  b->base = lua_gettop(to) + 1;
  b->list = b->loaded = 0;
  b->ncopies = 0;
  jobs_asideof(to, &b->tometa, &b->tonames);
  lua_pushnil(to);
  b->copies = lua_gettop(to);
}


void jobs_buildclose (jobs_Build *b, int n) {
  int helpers = lua_gettop(b->to) - n - b->base + 1;
  lua_rotate(b->to, b->base, -helpers);
  lua_pop(b->to, helpers);
}

/* }====================================================== */


/*
** {======================================================
** Stores: states that hold values on their way, running no code
** =======================================================
**
** A store (a channel's queue, a pool's) is a bare state that holds what
** crosses it until it crosses again. No code of the user's runs there,
** by construction: a table copied in gets no metatable (which may have a
** '__gc' the store's collector would call, or a '__mode' that would let
** it drop what the sender held), but an entry in the store's METAS, where
** the copy out finds it; a module or C function that crosses by name gets
** a token whose name is in NAMES, which the receiver requires or looks
** up, so a store requires nothing. Functions are loaded, never called.
** Both tables have weak keys: an entry goes with its value.
*/

void jobs_openstore (lua_State *Q) {
  int i;
  lua_createtable(Q, 2, 0);
  for (i = METAS; i <= NAMES; i++) {
    lua_newtable(Q);
    lua_createtable(Q, 0, 1);
    lua_pushliteral(Q, "k");
    lua_setfield(Q, -2, "__mode");
    lua_setmetatable(Q, -2);
    lua_rawseti(Q, -2, i);
  }
  lua_rawsetp(Q, LUA_REGISTRYINDEX, &storekey);
}


void jobs_asideof (lua_State *L, int *meta, int *names) {
  *meta = *names = 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &storekey) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  lua_rawgeti(L, -1, METAS);
  lua_rawgeti(L, -2, NAMES);
  lua_remove(L, -3);
  *meta = lua_gettop(L) - 1;
  *names = lua_gettop(L);
}

/* }====================================================== */
