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


/*
** {======================================================
** The receiving end of a copy, for the bytes of a frame (wire.c) as for
** a walk of another state: each makes or finds a value in 'to'
** =======================================================
*/

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

/* }====================================================== */


/* Makes Q a store (a state that holds values between states, copy.c): a
** copy into it keeps aside what could run code there. Raises in Q. */
void jobs_openstore (lua_State *Q);

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
