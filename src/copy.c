/*
** copy.c: walks a value graph to copy it into another lua_State (through
** build.c) or to bytes (through wire.c). Owns what may cross (SPEC §4, §12)
** and the paths its errors name.
*/

#define _GNU_SOURCE  /* dladdr */

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "jobsconf.h"
#include "build.h"
#include "copy.h"
#include "cstack.h"
#include "wire.h"


/* Its address keys, in a state's registry, the index of names by which the
** state's module tables and C functions cross (see jobs_indexnames). */
static const char nameskey = 0;



const char jobs_jobroot[] = "argument %d";


/* One step on the way from a root value to the value being copied; the
** chain lives on the C stack and is rendered only when a copy fails. */
typedef struct Step {
  const struct Step *up;
  enum { ROOT, KEY, META, UPVAL } kind;
  int n;  /* ROOT: value number; KEY: index of the key in 'from';
             UPVAL: upvalue number */
  int fn;  /* UPVAL: index of the function in 'from' */
} Step;


/* How many string keys a copy keeps at hand: rows of a table repeat them. */
#define NKEYS	64

/* How many pairs of a table without a border wait on the stack of 'from'
** while its copy is sized: a table that small is walked once. */
#define NGATHER	16


/* An entry of the 'seen' map: a source object's address and a number. */
typedef struct Seen {
  const void *p;
  lua_Integer n;
} Seen;


typedef struct Copier {
  lua_State *from, *to;  /* 'to' is 'from' for a walk to bytes */
  jobs_Build b;  /* the end that makes the copies in 'to', or */
  jobs_Out *out;  /* the end that writes them as bytes (wire.c) */
  const char *root;
  int names;  /* index in 'from' of its index of names, or 0 if it has none */
  int frommeta, fromnames;  /* indices in 'from' of its tables aside, if it
                               is a store (jobs_openstore); else 0 */
  const void **named;  /* the addresses the index has (see 'addset') */
  size_t namemask;  /* size of 'named' - 1 */
  int intable;  /* tables being copied around the value being copied */
  int tablefns;  /* a Lua function with an '_ENV' was met inside a table */
  const void *first;  /* the first object copied, which 'seen' lacks */
  int map;  /* index in 'to' of the userdata holding 'seen' */
  Seen *seen;  /* open addressing: source object -> its number in 'copies';
                  upvalue id -> its closure's number * 256 + upvalue number;
                  (to bytes) string key -> minus its number in the frame */
  size_t mask;  /* size of 'seen' - 1 (0 until the first object) */
  size_t nseen;  /* entries in 'seen' */
  lua_Integer nkeys;  /* (to bytes) string keys written */
  int keys;  /* index in 'to' of the copies of recent string keys (nil
                until the first); 'keysof' holds their sources */
  const char *keysof[NKEYS];
  int depth;
  uintptr_t stacklimit;  /* where the C stack runs out (0: not read yet) */
} Copier;


static void copyvalue (Copier *c, int idx, const Step *at);


/*
** {======================================================
** Error paths: "argument 2.conn", "result 1[3]<metatable>"
** =======================================================
*/

static int isname (const char *s, size_t len) {
  size_t i;
  if (len == 0 || !(s[0] == '_' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z')))
    return 0;
  for (i = 1; i < len; i++) {
    char ch = s[i];
    if (!(ch == '_' || (ch >= '0' && ch <= '9') ||
          ((ch | 32) >= 'a' && (ch | 32) <= 'z')))
      return 0;
  }
  return 1;
}


/* Adds the rendering of key 'k' of 'from' to 'b'. Reads 'from' without
** converting anything, so nothing there can raise. */
static void addkey (Copier *c, luaL_Buffer *b, int k) {
  lua_State *to = c->to;
  size_t len;
  switch (lua_type(c->from, k)) {
    case LUA_TSTRING: {
      const char *s = lua_tolstring(c->from, k, &len);
      if (isname(s, len)) {
        luaL_addchar(b, '.');
        luaL_addlstring(b, s, len);
        return;
      }
      lua_pushfstring(to, "[\"%s\"]", s);
      break;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(c->from, k))
        lua_pushfstring(to, "[%I]", (LUAI_UACINT)lua_tointeger(c->from, k));
      else
        lua_pushfstring(to, "[%f]", (LUAI_UACNUMBER)lua_tonumber(c->from, k));
      break;
    case LUA_TBOOLEAN:
      lua_pushstring(to, lua_toboolean(c->from, k) ? "[true]" : "[false]");
      break;
    default:
      lua_pushfstring(to, "[%s]", lua_typename(c->from, lua_type(c->from, k)));
  }
  luaL_addvalue(b);
}


/* Adds step 'at' to 'b'. */
static void addstep (Copier *c, luaL_Buffer *b, const Step *at) {
  switch (at->kind) {
    case ROOT:
      if (c->root == jobs_jobroot && at->n == 0)
        lua_pushliteral(c->to, "function");
      else if (c->root != NULL)
        lua_pushfstring(c->to, c->root, at->n);
      else  /* a global's name, a string of 'from' (no conversion) */
        lua_pushfstring(c->to, "global %s", lua_tostring(c->from, at->n));
      luaL_addvalue(b);
      break;
    case KEY:
      addkey(c, b, at->n);
      break;
    case META:
      luaL_addstring(b, "<metatable>");
      break;
    case UPVAL: {
      const char *name = lua_getupvalue(c->from, at->fn, at->n);
      lua_pop(c->from, 1);
      lua_pushfstring(c->to, "<upvalue %s>", name);
      luaL_addvalue(b);
      break;
    }
  }
}


/* Adds the steps from the root to 'at' to 'b', at most JOBS_MAXPATH, then
** "...". A loop, not a recursion: a path is as deep as the copy was. */
static void addpath (Copier *c, luaL_Buffer *b, const Step *at) {
  const Step *s;
  int depth = 0, i, k;
  for (s = at; s != NULL; s = s->up)
    depth++;
  for (i = 0; i < depth && i < JOBS_MAXPATH; i++) {
    for (s = at, k = depth - 1; k > i; k--)
      s = s->up;  /* the step 'i' from the root */
    addstep(c, b, s);
  }
  if (depth > JOBS_MAXPATH)
    luaL_addstring(b, "...");
}


/* Raises "cannot copy <what> at <path><after>" in 'to' ("send", to
** bytes). */
static void failwith (Copier *c, const Step *at, const char *what,
                      const char *after) {
  luaL_Buffer b;
  lua_pushfstring(c->to, "cannot %s %s at ", c->out ? "send" : "copy", what);
  luaL_buffinit(c->to, &b);
  addpath(c, &b, at);
  luaL_pushresult(&b);
  lua_pushstring(c->to, after);
  lua_concat(c->to, 3);
  lua_error(c->to);
}


/* Raises "cannot copy <what> at <path>[: <why>]" in 'to'. */
static void fail (Copier *c, const Step *at, const char *what,
                  const char *why) {
  failwith(c, at, what, why ? lua_pushfstring(c->to, ": %s", why) : "");
}

/* }====================================================== */


/*
** {======================================================
** Shared references: the 'seen' map
** =======================================================
*/

/*
** 'seen' lives in C for speed and in a userdata of 'to' so that an error
** in mid-copy leaves nothing to free. Its hash keeps nearby addresses in
** nearby slots: objects made one after the other are looked up in order.
*/
static size_t hashp (const void *p) {
  size_t h = (size_t)(uintptr_t)p >> 4;
  return h ^ (h >> 20);
}


static Seen *slot (Copier *c, const void *p) {
  size_t h = hashp(p);
  Seen *e;
  while ((e = &c->seen[h & c->mask])->p != NULL && e->p != p)
    h++;
  return e;
}


/* The number recorded for 'p', or 0. */
static lua_Integer seenas (Copier *c, const void *p) {
  if (p == c->first)
    return 1;
  return c->mask == 0 ? 0 : slot(c, p)->n;
}


/* Makes 'seen' room for 'n' entries, half free, at least doubling it
** (from 0 to 16 slots at first), and moves its entries. */
static void grow (Copier *c, size_t n) {
  size_t i, size = c->mask == 0 ? 16 : (c->mask + 1) * 2;
  Seen *old = c->seen;
  size_t oldsize = c->mask == 0 ? 0 : c->mask + 1;
  while (size < 2 * n)
    size *= 2;
  c->seen = (Seen *)lua_newuserdatauv(c->to, size * sizeof(Seen), 0);
  memset(c->seen, 0, size * sizeof(Seen));
  c->mask = size - 1;
  for (i = 0; i < oldsize; i++)
    if (old[i].p != NULL)
      *slot(c, old[i].p) = old[i];
  lua_replace(c->to, c->map);  /* the old map is garbage now */
}


/* Records number 'n' for 'p', which has none yet. */
static void see (Copier *c, const void *p, lua_Integer n) {
  Seen *e;
  if (++c->nseen > (c->mask + 1) / 2)  /* keep it half free */
    grow(c, c->nseen);
  e = slot(c, p);
  e->p = p;
  e->n = n;
}


/* Pushes the copy of the object at 'idx' (or, to bytes, writes its number)
** and returns 1 if it was copied already; otherwise returns 0. */
static int lookup (Copier *c, int idx) {
  lua_Integer n = seenas(c, lua_topointer(c->from, idx));
  if (n == 0)
    return 0;
  if (c->out != NULL)
    jobs_putref(c->out, n);
  else
    jobs_buildpush(&c->b, n);
  return 1;
}


/* Records the copy of the object at 'idx' (on top of 'to', unless it went
** to bytes); returns its number, the same at both ends. */
static lua_Integer remember (Copier *c, int idx) {
  const void *p = lua_topointer(c->from, idx);
  lua_Integer n = (c->out != NULL) ? ++c->b.ncopies
                                   : jobs_buildremember(&c->b);
  if (n == 1)
    c->first = p;
  else
    see(c, p, n);
  return n;
}


static void toodeep (Copier *c, const Step *at, const char *what) {
  lua_pushfstring(c->to, "nested too deep for this thread's C stack "
                  "(%d levels)", c->depth);
  fail(c, at, what, lua_tostring(c->to, -1));
}


/* Entering a table or function: one level deeper, room on both stacks
** and on the C stack, whatever this thread's is. */
static void enter (Copier *c, const Step *at, const char *what) {
  if (++c->depth > JOBS_MAXDEPTH) {
    lua_pushfstring(c->to, "nested deeper than %d levels", JOBS_MAXDEPTH);
    fail(c, at, what, lua_tostring(c->to, -1));
  }
  if (c->depth >= JOBS_STACKCHECK) {  /* deep enough to look */
    if (c->stacklimit == 0)
      c->stacklimit = jobs_stacklimit(JOBS_STACKRESERVE);
    if (jobs_pastlimit(c->stacklimit))
      toodeep(c, at, what);
  }
  luaL_checkstack(c->to, 6, "copying a value");
  if (!lua_checkstack(c->from, 2 * NGATHER + 4))
    fail(c, at, what, "not enough stack space");
}

/* }====================================================== */


/*
** {======================================================
** Modules and C functions cross by name
** =======================================================
*/

/*
** Pushes onto 'from' the name by which the value at 'idx' crosses, "mod"
** for a module, {"mod", "field"} for a C function of one, and returns 1;
** or returns 0, pushing nothing. A store holds a token for each (below);
** any other state asks its index of names.
*/
static int findname (Copier *c, int idx) {
  lua_State *from = c->from;
  const void *p, *q;
  size_t h;
  if (c->fromnames != 0) {
    if (lua_type(from, idx) != LUA_TUSERDATA)
      return 0;
    lua_pushvalue(from, idx);
    if (lua_rawget(from, c->fromnames) != LUA_TNIL)
      return 1;
    lua_pop(from, 1);
    return 0;
  }
  if (c->names == 0)
    return 0;
  p = lua_topointer(from, idx);
  for (h = hashp(p); (q = c->named[h & c->namemask]) != p; h++)
    if (q == NULL)
      return 0;  /* most values: not asked of the index */
  lua_pushvalue(from, idx);
  if (lua_rawget(from, c->names) != LUA_TNIL)
    return 1;
  lua_pop(from, 1);
  return 0;
}


/*
** If the value at 'idx' crosses by name, pushes onto 'to' what has that
** name there (a token, if 'to' is a store), or writes the name, and
** returns 1; otherwise returns 0.
*/
static int byname (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from;
  int top = lua_gettop(from), missing;
  const char *field = NULL;
  if (!findname(c, idx))
    return 0;
  if (lua_istable(from, -1)) {
    lua_rawgeti(from, -1, 2);
    field = lua_tostring(from, -1);
    lua_rawgeti(from, -2, 1);
  }
  if (c->out != NULL)
    jobs_putname(c->out, lua_tostring(from, -1), field);
  else if ((missing = jobs_buildname(&c->b, lua_tostring(from, -1), field,
                                     1)) != 0) {
    const char *why = lua_tostring(c->to, -1);
    fail(c, at, missing == JOBS_NOMODULE ?
         lua_pushfstring(c->to, "module '%s'", lua_tostring(from, -1)) :
         "C function", why);
  }
  lua_settop(from, top);
  return 1;
}


/* Whether 'mod' names a standard library, which every state has. */
static int isstandard (const char *mod) {
  static const char *const std[] = {
    LUA_GNAME, LUA_LOADLIBNAME, LUA_COLIBNAME, LUA_TABLIBNAME, LUA_IOLIBNAME,
    LUA_OSLIBNAME, LUA_STRLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME,
    LUA_DBLIBNAME, NULL
  };
  int i;
  for (i = 0; std[i] != NULL; i++)
    if (strcmp(mod, std[i]) == 0)
      return 1;
  return 0;
}


/*
** Indexes module 'mod' (at -1): the table itself, its C functions. A value
** with several names keeps the first found, unless a standard library
** names it: the receiver is sure to have that one.
*/
static void indexmodule (lua_State *L, int index, int mod) {
  int standard = isstandard(lua_tostring(L, mod));
  lua_pushvalue(L, -1);
  if (standard || lua_rawget(L, index) == LUA_TNIL) {
    lua_settop(L, mod + 1);
    lua_pushvalue(L, -1);
    lua_pushvalue(L, mod);
    lua_rawset(L, index);
  }
  lua_settop(L, mod + 1);
  if (!lua_istable(L, -1))
    return;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_iscfunction(L, -1)) {
      lua_pushvalue(L, -1);
      if (standard || lua_rawget(L, index) == LUA_TNIL) {
        lua_createtable(L, 2, 0);
        lua_pushvalue(L, mod);
        lua_rawseti(L, -2, 1);
        lua_pushvalue(L, -4);
        lua_rawseti(L, -2, 2);
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, index);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}


/*
** The addresses of the keys and values of package.loaded, in the order
** lua_next gives them, when the index was built: at [1] of the index, with
** the table they come from at [0], which keeps them alive, so that an
** address met again is the same object.
*/
typedef struct Snapshot {
  size_t n;
  const void *kv[];  /* key 1, value 1, key 2, ... */
} Snapshot;


/*
** Whether the index at 2 was built from package.loaded (at 1) as it is now.
** A copy asks it at every push, so the walk compares addresses in C: a
** table nobody changed gives its pairs in the same order.
*/
static int uptodate (lua_State *L) {
  const Snapshot *s;
  size_t i = 0;
  if (!lua_istable(L, 2) || lua_rawgeti(L, 2, 1) != LUA_TUSERDATA)
    return 0;
  s = (const Snapshot *)lua_touserdata(L, 3);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (i == s->n || lua_topointer(L, -2) != s->kv[2 * i] ||
        lua_topointer(L, -1) != s->kv[2 * i + 1])
      return 0;
    i++;
    lua_pop(L, 1);
  }
  return i == s->n;
}


/* Puts at [1] of the index at 'index' the snapshot of the 'n' pairs of
** package.loaded (at 1). */
static void addsnapshot (lua_State *L, int index, size_t n) {
  Snapshot *s = (Snapshot *)lua_newuserdatauv(L, sizeof(Snapshot) +
                                              2 * n * sizeof(void *), 0);
  int top = lua_gettop(L);
  s->n = 0;
  lua_pushnil(L);
  while (s->n < n && lua_next(L, 1)) {
    s->kv[2 * s->n] = lua_topointer(L, -2);
    s->kv[2 * s->n + 1] = lua_topointer(L, -1);
    s->n++;
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  lua_rawseti(L, index, 1);
}


/*
** Puts at [2] of the index at 'index' the set of the addresses of its keys,
** open addressing in a userdata, half free: a copy asks it of each table
** and function, and the set answers "not a name" in C.
*/
static void addset (lua_State *L, int index) {
  size_t n = 0, size = 16, h;
  const void **set, *p;
  lua_pushnil(L);
  while (lua_next(L, index)) {
    lua_pop(L, 1);
    n++;
  }
  while (size < 2 * n)
    size *= 2;
  set = (const void **)lua_newuserdatauv(L, size * sizeof(void *), 0);
  memset((void *)set, 0, size * sizeof(void *));
  lua_pushnil(L);
  while (lua_next(L, index)) {
    if (lua_type(L, -2) != LUA_TNUMBER) {  /* [0] and [1] are no names */
      p = lua_topointer(L, -2);
      for (h = hashp(p); set[h & (size - 1)] != NULL; h++) {}
      set[h & (size - 1)] = p;
    }
    lua_pop(L, 1);
  }
  lua_rawseti(L, index, 2);
}


int jobs_indexnames (lua_State *L) {
  int index, snapshot;
  size_t n = 0;
  lua_settop(L, 0);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &nameskey);
  if (uptodate(L))
    return 0;
  lua_settop(L, 1);
  lua_createtable(L, 0, 256);
  index = lua_gettop(L);
  lua_newtable(L);
  snapshot = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    n++;
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, snapshot);
    if (lua_type(L, -2) == LUA_TSTRING &&
        (lua_istable(L, -1) || lua_iscfunction(L, -1)))
      indexmodule(L, index, lua_gettop(L) - 1);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, snapshot);
  lua_rawseti(L, index, 0);
  addsnapshot(L, index, n);
  addset(L, index);
  lua_pushvalue(L, index);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &nameskey);
  return 0;
}


void jobs_forgetnames (lua_State *L) {
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &nameskey);
}


int jobs_byname (lua_State *L, int idx) {
  int named;
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &nameskey) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushvalue(L, idx);
  named = (lua_rawget(L, -2) != LUA_TNIL);
  lua_pop(L, 2);
  return named;
}


int jobs_pushname (lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &nameskey) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 2);
    return 0;
  }
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  lua_pushfstring(L, "%s.%s", lua_tostring(L, -2), lua_tostring(L, -1));
  lua_replace(L, -5);
  lua_pop(L, 3);
  return 1;
}

/* }====================================================== */


/* Whether the value at [i] of the table at 'idx' of 'from' is an object. */
static int isobject (lua_State *from, int idx, lua_Integer i) {
  int t = lua_rawgeti(from, idx, i);
  lua_pop(from, 1);
  return t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA;
}


/*
** The 'n' elements of the array at 'idx' are about to be copied; if they
** are objects (as the first and the last are), each will have an entry in
** 'seen' and in 'copies': make room for them all at once rather than
** doubling both again and again ('copies' only if it is still to be made).
*/
static void reserve (Copier *c, int idx, lua_Unsigned n) {
  if (n < NGATHER || c->nseen + n <= (c->mask + 1) / 2 ||
      !isobject(c->from, idx, 1) || !isobject(c->from, idx, (lua_Integer)n))
    return;
  grow(c, c->nseen + n);
  if (c->out == NULL)
    jobs_buildreserve(&c->b, (int)n + 1);  /* + the array itself */
}


/*
** Pushes onto 'to' a table sized for the one at 'idx' of 'from': its border,
** and a slot for each other key, so that no rehash follows. A table with a
** border has the keys past it counted. One without (a record) is walked
** once if it is small: its first NGATHER pairs are left on the stack of
** 'from', and only the rest of a bigger one is counted. Returns how many
** pairs were left; sets 'walk' if the copy must walk the table, from
** after the last of them (or from the start if none).
*/
static int newtable (Copier *c, int idx, int *walk) {
  lua_State *from = c->from;
  lua_Unsigned narr = lua_rawlen(from, idx);
  int n = 0, nrec = 0;
  if (narr > 0) {
    reserve(c, idx, narr);
    lua_pushinteger(from, (lua_Integer)narr);
  }
  else {
    lua_pushnil(from);
    while (n < NGATHER && lua_next(from, idx)) {
      lua_pushvalue(from, -2);  /* the key again, for the next step */
      n++;
    }
  }
  *walk = (narr > 0 || n == NGATHER);
  if (*walk) {
    while (lua_next(from, idx)) {
      lua_pop(from, 1);
      nrec++;
    }
  }
  if (c->out != NULL)
    jobs_puttable(c->out, narr, (lua_Unsigned)(n + nrec));
  else
    lua_createtable(c->to, (int)narr, n + nrec);
  return n;
}


/*
** Copies the string key at 'idx', taking the copy made for an earlier key
** when there is one: pushing a string hashes and interns it, fetching a
** kept one does not. The strings of 'from' stay put while it is copied
** (the roots reach them all), so their addresses tell them apart. Each
** address has two slots, the newer key first.
*/
static void copykey (Copier *c, int idx) {
  lua_State *to = c->to;
  size_t len;
  const char *s = lua_tolstring(c->from, idx, &len);
  size_t h = hashp(s) & (NKEYS - 2);
  if (c->keysof[h] == s || c->keysof[h + 1] == s) {
    lua_rawgeti(to, c->keys, (lua_Integer)h + (c->keysof[h] != s) + 1);
    return;
  }
  if (lua_isnil(to, c->keys)) {
    lua_createtable(to, NKEYS, 0);
    lua_replace(to, c->keys);
  }
  lua_rawgeti(to, c->keys, (lua_Integer)h + 1);  /* the newer one ages */
  lua_rawseti(to, c->keys, (lua_Integer)h + 2);
  c->keysof[h + 1] = c->keysof[h];
  lua_pushlstring(to, s, len);
  lua_pushvalue(to, -1);
  lua_rawseti(to, c->keys, (lua_Integer)h + 1);
  c->keysof[h] = s;
}


/* Writes the string key at 'idx': its number in the frame, after the
** first time. The strings of 'from' stay put while it is walked, as for
** copykey, and 'seen' keeps their numbers (negated: objects are > 0). */
static void putkey (Copier *c, int idx) {
  size_t len;
  const char *s = lua_tolstring(c->from, idx, &len);
  lua_Integer n = (c->mask == 0) ? 0 : slot(c, s)->n;
  if (n < 0)
    jobs_putkey(c->out, -n);
  else {
    jobs_putnewkey(c->out, s, len);
    see(c, s, -(++c->nkeys));
  }
}


/* Copies the key at 'k' of 'from' and the value above it into the table
** on top of 'to', or writes them. */
static void copypair (Copier *c, int k, Step *step) {
  lua_State *from = c->from;
  step->n = k;
  if (c->out != NULL) {
    if (lua_type(from, k) == LUA_TSTRING)
      putkey(c, k);
    else
      copyvalue(c, k, step);
    copyvalue(c, k + 1, step);
    return;
  }
  if (lua_isinteger(from, k)) {  /* an array's: no key to push */
    copyvalue(c, k + 1, step);
    lua_rawseti(c->to, -2, lua_tointeger(from, k));
    return;
  }
  if (lua_type(from, k) == LUA_TSTRING)
    copykey(c, k);
  else
    copyvalue(c, k, step);
  copyvalue(c, k + 1, step);
  lua_rawset(c->to, -3);
}


/* Pushes onto 'from' the metatable of the table at 'idx' and returns 1, or
** returns 0, pushing nothing. Raw: '__metatable' is not asked; a store
** keeps the metatables of its tables aside. */
static int getmeta (Copier *c, int idx) {
  if (c->frommeta == 0)
    return lua_getmetatable(c->from, idx);
  lua_pushvalue(c->from, idx);
  if (lua_rawget(c->from, c->frommeta) != LUA_TNIL)
    return 1;
  lua_pop(c->from, 1);
  return 0;
}


static void copytable (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from;
  int base = lua_gettop(from) + 1, n, i, walk;
  Step step;
  if (lookup(c, idx))
    return;
  if (byname(c, idx, at)) {
    remember(c, idx);
    return;
  }
  enter(c, at, "table");
  n = newtable(c, idx, &walk);
  remember(c, idx);
  c->intable++;
  step.up = at;
  step.kind = KEY;
  for (i = 0; i < n; i++)
    copypair(c, base + 2 * i, &step);
  if (walk) {
    if (n > 0)
      lua_pushvalue(from, base + 2 * n - 2);
    else
      lua_pushnil(from);
    while (lua_next(from, idx)) {
      copypair(c, lua_gettop(from) - 1, &step);
      lua_pop(from, 1);
    }
  }
  lua_settop(from, base - 1);
  if (getmeta(c, idx)) {
    step.kind = META;
    if (c->out != NULL)
      jobs_putend(c->out, 1);
    copyvalue(c, lua_gettop(from), &step);
    if (c->out == NULL)
      jobs_buildmeta(&c->b);
    lua_pop(from, 1);
  }
  else if (c->out != NULL)
    jobs_putend(c->out, 0);
  c->intable--;
  c->depth--;
}


static int writer (lua_State *L, const void *p, size_t sz, void *b) {
  (void)L;  /* the dumped state; the buffer belongs to 'to' */
  luaL_addlstring((luaL_Buffer *)b, (const char *)p, sz);
  return 0;
}


/*
** Copies the upvalues of the function at 'idx' of 'from' into the fresh
** closure on top of 'to', number 'fn' in 'copies'. An upvalue met before
** is joined to its first copy (each is recorded in 'seen' as fn * 256 + n).
** An '_ENV' is never copied: it becomes the receiver's globals (a job's
** function takes the globals it names along: jobs_functionnames).
*/
static void copyupvalues (Copier *c, int idx, lua_Integer fn,
                          const Step *at) {
  lua_State *from = c->from, *to = c->to;
  const char *name;
  Step step;
  step.up = at;
  step.kind = UPVAL;
  step.fn = idx;
  for (step.n = 1; (name = lua_getupvalue(from, idx, step.n)) != NULL;
       step.n++) {
    void *id = lua_upvalueid(from, idx, step.n);
    lua_Integer code = seenas(c, id);
    if (code != 0) {  /* shared */
      if (c->out != NULL)
        jobs_putjoin(c->out, code / 256, (int)(code % 256));
      else
        jobs_buildjoin(&c->b, step.n, code / 256, (int)(code % 256));
    }
    else {
      see(c, id, fn * 256 + step.n);
      if (strcmp(name, "_ENV") == 0) {  /* its names go too (names.c) */
        if (c->out != NULL)
          jobs_putenv(c->out);
        else
          jobs_buildenv(&c->b, step.n);
        c->tablefns |= (c->intable > 0);  /* found by a walk of tables */
      }
      else {
        copyvalue(c, lua_gettop(from), &step);
        if (c->out == NULL)
          lua_setupvalue(to, -2, step.n);
      }
    }
    lua_pop(from, 1);
  }
}


/*
** Pushes onto 'to' the Lua function at 'idx' of 'from', from its bytecode
** with debug information (so that tracebacks keep their lines and '_ENV'
** is found by name), its upvalues not set yet. Apart from the recursion
** of a copy: its buffer is a kilobyte of C stack, which each level would
** hold otherwise (a chain of closures 450 deep overflowed a job's stack).
*/
static __attribute__((noinline)) void loaddump (Copier *c, int idx) {
  lua_State *from = c->from, *to = c->to;
  luaL_Buffer b;
  size_t len;
  const char *code;
  lua_pushvalue(from, idx);
  luaL_buffinit(to, &b);
  lua_dump(from, writer, &b, 0);
  lua_pop(from, 1);
  luaL_pushresult(&b);
  code = lua_tolstring(to, -1, &len);
  jobs_buildfunction(&c->b, code, len, "=copy", "b");  /* out of memory */
  lua_remove(to, -2);
}


/*
** Pushes onto 'to' what names the C function at 'idx' of 'from' when no
** module holds it: its symbol, if it exports one, and the file it is in
** ("C function (luaopen_x in x.so)"), as far as the dynamic linker knows.
*/
static const char *cfunctionname (Copier *c, int idx) {
  union { lua_CFunction f; void *p; } fn;
  Dl_info info;
  const char *file;
  fn.f = lua_tocfunction(c->from, idx);
  if (!dladdr(fn.p, &info) || info.dli_fname == NULL)
    return lua_pushliteral(c->to, "C function");
  file = strrchr(info.dli_fname, '/');
  file = file != NULL ? file + 1 : info.dli_fname;
  if (info.dli_sname != NULL && info.dli_saddr == fn.p)
    return lua_pushfstring(c->to, "C function (%s in %s)", info.dli_sname,
                           file);
  return lua_pushfstring(c->to, "C function (in %s)", file);
}


/* Pushes onto 'from' the stripped bytecode of the function at 'idx'. */
static void pushstripped (lua_State *from, int idx) {
  luaL_Buffer b;
  lua_pushvalue(from, idx);
  luaL_buffinit(from, &b);
  lua_dump(from, writer, &b, 1);
  luaL_pushresult(&b);
  lua_remove(from, -2);
}


/*
** Whether the Lua function at 'idx' of 'from' (a walk to bytes, so 'from'
** may raise) is what its source, loaded as text, makes: a chunk loaded
** from a string keeps it as its 'source', unless a name was given; the
** stripped bytecode of both tells. Pushes the source if so.
*/
static int sourceof (Copier *c, int idx) {
  lua_State *from = c->from;
  lua_Debug ar;
  int same;
  lua_pushvalue(from, idx);
  lua_getinfo(from, ">S", &ar);
  if (strcmp(ar.what, "main") != 0 || ar.source[0] == '@' ||
      ar.source[0] == '=')
    return 0;
  lua_pushlstring(from, ar.source, ar.srclen);
  if (luaL_loadbufferx(from, ar.source, ar.srclen, "=source", "t") != LUA_OK)
    same = 0;
  else {
    pushstripped(from, -1);
    pushstripped(from, idx);
    same = lua_rawequal(from, -1, -2);
    lua_pop(from, 2);
  }
  lua_pop(from, 1);  /* the load's function or error */
  if (!same)
    lua_pop(from, 1);
  return same;
}


/* Writes the Lua function at 'idx' as the frame's code mode has it. */
static void putfunction (Copier *c, int idx, const Step *at) {
  int nups = 0;
  while (lua_getupvalue(c->from, idx, nups + 1) != NULL) {
    lua_pop(c->from, 1);
    nups++;
  }
  if (c->out->code == JOBS_CODEBYTECODE) {
    jobs_putfunction(c->out, c->from, idx, nups);
    return;
  }
  if (!sourceof(c, idx))
    fail(c, at, "function", "with code = \"source\" only a chunk loaded "
         "from a string travels (a function defined in a chunk has no "
         "text of its own): send the chunk, or send bytecode with a key");
  jobs_putsource(c->out, lua_tostring(c->from, -1), lua_rawlen(c->from, -1),
                 nups);
  lua_pop(c->from, 1);
}


/* A function (or what a function remakes) goes to bytes only in a frame
** that may carry code. */
static void mayputcode (Copier *c, const Step *at, const char *what) {
  if (c->out->code == JOBS_CODENONE)
    fail(c, at, what, "this frame carries no code (code = \"none\")");
  if (!c->out->keyed)
    fail(c, at, what, "a frame that carries code needs a key, which tags "
         "it (give the key, or send data only)");
}


static void copyfunction (Copier *c, int idx, const Step *at) {
  if (lookup(c, idx))
    return;
  if (c->out != NULL)
    mayputcode(c, at, "function");
  if (lua_iscfunction(c->from, idx)) {
    if (!byname(c, idx, at))
      fail(c, at, cfunctionname(c, idx), "make it inside the job (only C "
           "functions of modules in package.loaded cross, by name; a host's "
           "own API lives only in the host's state: give the job data, "
           "not the API)");
    remember(c, idx);
    return;
  }
  enter(c, at, "function");
  if (c->out != NULL)
    putfunction(c, idx, at);
  else
    loaddump(c, idx);
  copyupvalues(c, idx, remember(c, idx), at);
  c->depth--;
}


/*
** Pushes the field 'key' of the metatable of the value at 'idx' of L and
** returns 1 if it has one of type 't'; else returns 0, pushing nothing.
** Walks the metatable raw and interns no string, so nothing can raise in
** L (the copy raises in the receiver only).
*/
static int metafield (lua_State *L, int idx, const char *key, int t) {
  int found = 0;
  if (!lua_getmetatable(L, idx))
    return 0;
  lua_pushnil(L);
  while (!found && lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == t &&
        strcmp(lua_tostring(L, -2), key) == 0)
      found = 1;
    else
      lua_pop(L, 1);
  }
  if (found) {  /* metatable, key, value: the value stays */
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  else
    lua_pop(L, 1);
  return found;
}


/* The opt-in of the userdata at 'idx' of 'from' under 'field' of its
** metatable (see jobs.h), or NULL; a light userdata there that is no
** opt-in is none: each kind begins with its own 'magic'. */
static const void *optin (lua_State *from, int idx, const char *field,
                          unsigned long long magic) {
  const unsigned long long *how = NULL;
  if (metafield(from, idx, field, LUA_TLIGHTUSERDATA)) {
    how = (const unsigned long long *)lua_touserdata(from, -1);
    lua_pop(from, 1);
  }
  return (how != NULL && *how == magic) ? how : NULL;
}


/* The '__name' of the metatable of the userdata at 'idx' of L, or NULL. */
static const char *nameof (lua_State *L, int idx) {
  const char *name = NULL;
  if (metafield(L, idx, "__name", LUA_TSTRING)) {
    name = lua_tostring(L, -1);  /* the metatable keeps it */
    lua_pop(L, 1);
  }
  return name;
}


/* Writes the userdata at 'idx' as its opt-in 'how' has it: the name of
** its maker, then the data that 'how' gives for it. */
static void putuserdata (Copier *c, int idx, const jobs_Bytesable *how,
                         const Step *at) {
  int top;
  if (c->out->code == JOBS_CODENONE || !c->out->keyed) {  /* it raises */
    const char *name = nameof(c->from, idx);
    mayputcode(c, at, name != NULL ? lua_pushfstring(c->to, "userdata (%s)",
                                                     name) : "userdata");
  }
  enter(c, at, "userdata");
  luaL_checkstack(c->from, LUA_MINSTACK, "sending a userdata");
  jobs_putmaker(c->out, how->maker);
  top = lua_gettop(c->from);
  how->put(c->from, idx);
  if (lua_gettop(c->from) != top + 1)
    fail(c, at, "userdata", "its module's 'put' (jobs.h) must push one value");
  copyvalue(c, top + 1, at);
  lua_pop(c->from, 1);
  remember(c, idx);
  c->depth--;
}


/* A userdata stands for memory of this process: "cannot send channel at
** argument 2.out to another process". */
static void cannotsend (Copier *c, const Step *at, const char *name) {
  const char *what = "userdata";
  if (name != NULL && strncmp(name, "jobs.", 5) == 0)
    what = name + 5;  /* the module's own: a channel, a job, a pool */
  else if (name != NULL)
    what = lua_pushfstring(c->to, "userdata (%s)", name);
  failwith(c, at, what, " to another process (a userdata stands for memory "
           "of this one)");
}


static void copyuserdata (Copier *c, int idx, const Step *at) {
  const jobs_Copyable *how;
  if (lookup(c, idx))
    return;
  if (byname(c, idx, at)) {  /* a store's token */
    remember(c, idx);
    return;
  }
  if (c->out != NULL) {
    const jobs_Bytesable *bytes = optin(c->from, idx, JOBS_BYTESFIELD,
                                       JOBS_BYTESMAGIC);
    if (bytes == NULL)
      cannotsend(c, at, nameof(c->from, idx));
    putuserdata(c, idx, bytes, at);
    return;
  }
  if ((how = optin(c->from, idx, JOBS_COPYFIELD, JOBS_COPYMAGIC)) == NULL) {
    const char *name = nameof(c->from, idx);
    lua_pushfstring(c->to, name != NULL ? "userdata (%s)" : "userdata",
                    name);
    fail(c, at, lua_tostring(c->to, -1), "open it inside the job (userdata "
         "crosses only if its module opts in through jobs.h)");
  }
  luaL_checkstack(c->to, LUA_MINSTACK, "copying a userdata");
  how->copy(c->from, idx, c->to);
  remember(c, idx);
}


static void copyvalue (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from, *to = c->to;
  int t = lua_type(from, idx);
  if (c->out != NULL && t != LUA_TTABLE && t != LUA_TFUNCTION &&
      t != LUA_TUSERDATA) {
    if (t == LUA_TLIGHTUSERDATA)
      failwith(c, at, "light userdata", " to another process (an address "
               "means nothing there)");
    if (t == LUA_TTHREAD)
      failwith(c, at, "thread", "");
    jobs_putscalar(c->out, from, idx);
    return;
  }
  switch (t) {
    case LUA_TNIL:
      lua_pushnil(to);
      break;
    case LUA_TBOOLEAN:
      lua_pushboolean(to, lua_toboolean(from, idx));
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(from, idx))
        lua_pushinteger(to, lua_tointeger(from, idx));
      else  /* a C double carries NaN payloads, infinities and -0.0 */
        lua_pushnumber(to, lua_tonumber(from, idx));
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(from, idx, &len);
      lua_pushlstring(to, s, len);
      break;
    }
    case LUA_TLIGHTUSERDATA:
      lua_pushlightuserdata(to, lua_touserdata(from, idx));
      break;
    case LUA_TTABLE:
      copytable(c, idx, at);
      break;
    case LUA_TFUNCTION:
      copyfunction(c, idx, at);
      break;
    case LUA_TUSERDATA:
      copyuserdata(c, idx, at);
      break;
    default:
      fail(c, at, lua_typename(from, lua_type(from, idx)), NULL);
  }
}




/*
** Walks the 'n' values at 'first' of 'from' to the end set in 'c': a
** state to copy them into (c->b open in c->to), or bytes (c->out, with
** c->to being 'from'). Leaves 'from' as it found it.
*/
static void walk (Copier *c, int first, int n, const char *root,
                  int label) {
  lua_State *from = c->from, *to = c->to;
  Step step;
  int i, fromtop = lua_gettop(from);
  c->root = root;
  c->seen = NULL;
  c->mask = 0;
  c->nseen = 0;
  c->nkeys = 0;
  c->intable = c->tablefns = 0;
  c->first = NULL;
  c->depth = 0;
  c->stacklimit = 0;
  first = lua_absindex(from, first);
  if (!lua_checkstack(from, 6))  /* and the map and 'keys', to bytes */
    luaL_error(to, "not enough stack space to copy");
  if (lua_rawgetp(from, LUA_REGISTRYINDEX, &nameskey) == LUA_TTABLE) {
    c->names = lua_gettop(from);
    lua_rawgeti(from, c->names, 2);  /* the index keeps it */
    c->named = (const void **)lua_touserdata(from, -1);
    c->namemask = lua_rawlen(from, -1) / sizeof(void *) - 1;
    lua_pop(from, 1);
  }
  else {
    lua_pop(from, 1);
    c->names = 0;
  }
  jobs_asideof(from, &c->frommeta, &c->fromnames);
  lua_pushnil(to);
  c->map = lua_gettop(to);
  lua_pushnil(to);
  c->keys = lua_gettop(to);
  memset((void *)c->keysof, 0, sizeof(c->keysof));
  step.up = NULL;
  step.kind = ROOT;
  for (i = 0; i < n; i++) {
    step.n = label + i;
    copyvalue(c, first + i, &step);
  }
  lua_settop(from, fromtop);  /* to bytes, the map and 'keys' go too */
}


int jobs_copy (lua_State *from, int first, int n, lua_State *to,
               const char *root, int label) {
  Copier c;
  c.from = from;
  c.to = to;
  c.out = NULL;
  luaL_checkstack(to, n + 9, "too many values to copy");
  jobs_buildopen(&c.b, to);
  walk(&c, first, n, root, label);
  jobs_buildclose(&c.b, n);
  return (c.b.loaded ? JOBS_COPYREQUIRED : 0) |
         (c.tablefns ? JOBS_COPYTABLEFNS : 0);
}


void jobs_copytobytes (lua_State *L, int first, int n, jobs_Out *out,
                       const char *root, int label) {
  Copier c;
  c.from = c.to = L;
  c.out = out;
  c.b.ncopies = 0;  /* numbers the objects written */
  walk(&c, first, n, root, label);
}
