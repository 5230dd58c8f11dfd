/*
** build.h: the receiving end of a copy (build.c): each call makes or finds
** a value in 'to', for copy.c's walk and for a frame's reader (wire.c).
*/
#ifndef build_h
#define build_h

#include <stddef.h>

#include "lua.h"

typedef struct jobs_Build {
  lua_State *to;
  int base;  /* the first index of 'to' the copy uses */
  int tometa, tonames;  /* indices of the tables a store keeps aside; 0 */
  int copies;  /* index of the list of objects made so far, so that a
                  second reference finds one: nil until the first; the
                  first object itself until a second ('list') */
  int list;  /* 'copies' holds the list */
  int loaded;  /* a module was required in 'to' */
  lua_Integer ncopies;
} jobs_Build;

/* Begins a copy into 'to', pushing what it keeps at hand. */
void jobs_buildopen (jobs_Build *b, lua_State *to);

/* Ends it: the 'n' values on top stay, what it kept goes. */
void jobs_buildclose (jobs_Build *b, int n);

/* Makes room for 'n' objects in all, unless the list of them is made. */
void jobs_buildreserve (jobs_Build *b, int n);

/* Records the object on top as the next made; returns its number (1...). */
lua_Integer jobs_buildremember (jobs_Build *b);

/* Pushes object number 'n' (1 to b->ncopies). */
void jobs_buildpush (jobs_Build *b, lua_Integer n);

/* Gives the table below the top the metatable on top, popped. */
void jobs_buildmeta (jobs_Build *b);

/* Pushes the module 'mod' of 'to', or its function 'field' (if not NULL),
** and returns 0; requires the module if it is not loaded and 'require' is
** set. Else pushes why not and returns which was missing. Raises what a
** module raises as it loads. */
#define JOBS_NOMODULE	1
#define JOBS_NOFIELD	2
int jobs_buildname (jobs_Build *b, const char *mod, const char *field,
                    int require);

/* Pushes the function that 'code' loads (luaL_loadbufferx), or raises. */
void jobs_buildfunction (jobs_Build *b, const char *code, size_t len,
                         const char *name, const char *mode);

/* Joins upvalue 'up' of the function on top to upvalue 'n' of object 'fn'
** and returns 1; returns 0 if that is no Lua function with such an
** upvalue. */
int jobs_buildjoin (jobs_Build *b, int up, lua_Integer fn, int n);

/* Sets upvalue 'up' of the function on top to the globals of 'to'. */
void jobs_buildenv (jobs_Build *b, int up);


/* Makes Q a store (a state that holds values between states, copy.c): a
** copy into it keeps aside what could run code there. Raises in Q. */
void jobs_openstore (lua_State *Q);

/* Pushes onto L the tables a store keeps aside, setting 'meta' and 'names'
** to their indices, if L is a store; else sets them to 0, pushing
** nothing. Raises nothing. */
void jobs_asideof (lua_State *L, int *meta, int *names);

#endif
