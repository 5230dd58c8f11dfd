/*
** names.c: the free names of a job's string (SPEC §2): the globals its
** compiled chunk names, valued from the calling function's locals,
** upvalues and globals.
*/

#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "copy.h"
#include "cstack.h"
#include "names.h"


/*
** {======================================================
** The globals a compiled chunk names, read from its bytecode
** =======================================================
**
** Lua's own compiler is the lexer: a global name is a constant key of a
** GETTABUP or SETTABUP on the chunk's _ENV, in the chunk or a function in
** it. The dump (the binary chunk of ldump.c, format 0 of Lua 5.4) is read
** as far as that needs. Names through a local _ENV, or dynamic ones
** (_ENV[k]), are not seen.
*/

/* Opcodes of Lua 5.4 (lopcodes.h), and their arguments. */
#define OP_GETTABUP	11  /* R[A] := UpValue[B][K[C]:shortstring] */
#define OP_SETTABUP	15  /* UpValue[A][K[B]:shortstring] := RK(C) */
#define opcode(i)	((int)((i) & 0x7F))
#define argA(i)		((int)(((i) >> 7) & 0xFF))
#define argB(i)		((int)(((i) >> 16) & 0xFF))
#define argC(i)		((int)(((i) >> 24) & 0xFF))

/* Tags of constants (lobject.h: type | variant << 4). */
#define KFLOAT		(3 | (1 << 4))
#define KINT		3
#define KSHORT		4
#define KLONG		(4 | (1 << 4))

#define MAXUPVALUES	256  /* upvalues a function may have, at most */


typedef struct Reader {
  const unsigned char *p, *end;
  int assigned;  /* only the globals it assigns, not those it reads */
  int depth;  /* of the function being read, in the dump's nesting */
  uintptr_t stacklimit;  /* where the C stack runs out (0: not read yet) */
} Reader;


static void skip (Reader *r, size_t n) {
  r->p = (n <= (size_t)(r->end - r->p)) ? r->p + n : r->end;
}


static int byte (Reader *r) {
  return r->p < r->end ? *r->p++ : 0;
}


/* A size, 7 bits a byte, the last marked (ldump.c's dumpSize). */
static size_t size (Reader *r) {
  size_t x = 0;
  int b;
  do {
    b = byte(r);
    x = (x << 7) | (size_t)(b & 0x7F);
  } while (!(b & 0x80) && r->p < r->end);
  return x;
}


/* A string (NULL for none), its length at '*len'. */
static const char *string (Reader *r, size_t *len) {
  size_t n = size(r);
  const char *s = (const char *)r->p;
  if (n == 0)
    return NULL;
  *len = n - 1;
  skip(r, n - 1);
  return s;
}


static void wantkey (lua_State *L, int want, const char *s, size_t len) {
  if (s != NULL) {
    lua_pushlstring(L, s, len);
    lua_pushboolean(L, 1);
    lua_rawset(L, want);
  }
}


/*
** Reads a function of the dump at 'r' and the functions in it; the
** upvalues that hold the _ENV whose names are sought are those flagged in
** 'own' for the dumped function itself, and for a function in it, those
** coming from the flagged upvalues of its enclosing function ('up'). Sets
** want[name] in the table at 'want' for each global they name.
*/
static void readfunction (lua_State *L, Reader *r, const char *up,
                          const char *own, int want) {
  const unsigned char *code;
  const char **keys;
  size_t *lens, i, ncode, nk, n;
  char env[MAXUPVALUES];  /* which of its own upvalues hold _ENV */
  int top = lua_gettop(L);
  size_t ignored;
  if (r->depth >= JOBS_STACKCHECK) {  /* deep enough to look */
    if (r->stacklimit == 0)
      r->stacklimit = jobs_stacklimit(JOBS_STACKRESERVE);
    if (jobs_pastlimit(r->stacklimit))
      luaL_error(L, "functions nested too deep to read the globals they name");
  }
  luaL_checkstack(L, 4, "reading the globals a function names");
  string(r, &ignored);  /* source */
  size(r);  /* lines it spans */
  size(r);
  skip(r, 3);  /* parameters, vararg, stack size */
  ncode = size(r);
  code = r->p;
  skip(r, ncode * 4);
  nk = size(r);
  keys = (const char **)lua_newuserdatauv(L, (nk + 1) * sizeof(char *), 0);
  lens = (size_t *)lua_newuserdatauv(L, (nk + 1) * sizeof(size_t), 0);
  for (i = 0; i < nk && r->p < r->end; i++) {
    int tag = byte(r);
    keys[i] = NULL;
    if (tag == KSHORT || tag == KLONG)
      keys[i] = string(r, &lens[i]);
    else if (tag == KFLOAT)
      skip(r, sizeof(lua_Number));
    else if (tag == KINT)
      skip(r, sizeof(lua_Integer));
  }
  n = size(r);  /* upvalues: in the enclosing function's stack, its index */
  if (own != NULL)
    memcpy(env, own, sizeof(env));
  else
    memset(env, 0, sizeof(env));
  for (i = 0; i < n && i < MAXUPVALUES; i++) {
    int instack = byte(r), idx = byte(r);
    byte(r);  /* kind */
    if (up != NULL)  /* from a local of it: a local _ENV, not the chunk's */
      env[i] = !instack && up[idx];
  }
  for (i = 0; i + 4 <= ncode * 4 && code + i + 4 <= r->end; i += 4) {
    unsigned long ins = (unsigned long)code[i] |
                        (unsigned long)code[i + 1] << 8 |
                        (unsigned long)code[i + 2] << 16 |
                        (unsigned long)code[i + 3] << 24;
    if (opcode(ins) == OP_GETTABUP && !r->assigned && env[argB(ins)] &&
        (size_t)argC(ins) < nk)
      wantkey(L, want, keys[argC(ins)], lens[argC(ins)]);
    else if (opcode(ins) == OP_SETTABUP && env[argA(ins)] &&
             (size_t)argB(ins) < nk)
      wantkey(L, want, keys[argB(ins)], lens[argB(ins)]);
  }
  r->depth++;
  for (i = size(r); i > 0 && r->p < r->end; i--)
    readfunction(L, r, env, NULL, want);
  r->depth--;
  for (i = size(r); i > 0; i--)  /* debug information: lines */
    byte(r);
  for (i = size(r); i > 0 && r->p < r->end; i--) {
    size(r);
    size(r);
  }
  for (i = size(r); i > 0 && r->p < r->end; i--) {  /* locals */
    string(r, &ignored);
    size(r);
    size(r);
  }
  for (i = size(r); i > 0 && r->p < r->end; i--)  /* upvalue names */
    string(r, &ignored);
  lua_settop(L, top);
}


static int writer (lua_State *L, const void *p, size_t sz, void *b) {
  (void)L;  /* the thread dumped; the buffer is its owner's */
  luaL_addlstring((luaL_Buffer *)b, (const char *)p, sz);
  return 0;
}


/* Its address keys, in a state's registry, a thread kept to dump functions
** while the state holds the buffer: making one for each costs more. */
static const char dumperkey = 0;


/* Pushes the state's dumping thread, and returns it, empty. */
static lua_State *dumper (lua_State *L) {
  lua_State *T;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &dumperkey) == LUA_TTHREAD)
    T = lua_tothread(L, -1);
  else {
    lua_pop(L, 1);
    T = lua_newthread(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &dumperkey);
  }
  lua_settop(T, 0);  /* what an error left */
  return T;
}


/* Sets want[name] in the table at 'want' for each global the function at
** 'f' names (or with 'assigned', assigns) through its upvalues flagged in
** 'own'. */
static void readglobals (lua_State *L, int f, const char *own, int want,
                         int assigned) {
  luaL_Buffer b;
  Reader r;
  size_t len;
  lua_State *T = dumper(L);  /* dumps it, as L holds the buffer */
  lua_pushvalue(L, f);
  lua_xmove(L, T, 1);
  luaL_buffinit(L, &b);
  lua_dump(T, writer, &b, 0);
  lua_settop(T, 0);
  luaL_pushresult(&b);
  r.p = (const unsigned char *)lua_tolstring(L, -1, &len);
  r.end = r.p + len;
  r.depth = 0;
  r.stacklimit = 0;
  r.assigned = assigned;
  skip(&r, 4 + 2 + 6 + 3 + sizeof(lua_Integer) + sizeof(lua_Number));
  byte(&r);  /* how many upvalues the chunk has */
  readfunction(L, &r, NULL, own, want);
  lua_pop(L, 2);
}


static void globals (lua_State *L, int f, const char *own, int want) {
  readglobals(L, f, own, want, 0);
}


int jobs_assignednames (lua_State *L, int fn) {
  char own[MAXUPVALUES];
  const char *name;
  int i;
  fn = lua_absindex(L, fn);
  memset(own, 0, sizeof(own));
  lua_newtable(L);
  if (lua_iscfunction(L, fn))
    return lua_gettop(L);
  for (i = 1; i <= MAXUPVALUES && (name = lua_getupvalue(L, fn, i)) != NULL;
       i++) {
    own[i - 1] = (strcmp(name, "_ENV") == 0);
    lua_pop(L, 1);
  }
  readglobals(L, fn, own, lua_gettop(L), 1);
  return lua_gettop(L);
}


int jobs_compile (lua_State *L, int base) {
  size_t len;
  const char *s = lua_tolstring(L, base, &len);
  lua_pushliteral(L, "return ");
  lua_pushvalue(L, base);
  lua_concat(L, 2);
  if (luaL_loadbufferx(L, lua_tostring(L, -1), len + 7, s, "t") != LUA_OK) {
    lua_pop(L, 2);
    if (luaL_loadbufferx(L, s, len, s, "t") != LUA_OK)
      return lua_error(L);  /* the chunk's own syntax error */
  }
  else
    lua_remove(L, -2);
  lua_replace(L, base);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Their values in the caller's frame
** =======================================================
*/

/* Binds 'name' to the value on top (popped) in the table at 'r', if the
** table at 'want' wants it: any time when 'rebind', else only while not
** bound yet. A nil binding shadows all the same. */
static void bind (lua_State *L, int want, int r, const char *name,
                  int rebind) {
  int wanted;
  lua_getfield(L, want, name);
  wanted = rebind ? !lua_isnil(L, -1) : lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!wanted) {
    lua_pop(L, 1);
    return;
  }
  lua_setfield(L, r, name);
  lua_pushboolean(L, 0);  /* bound */
  lua_setfield(L, want, name);
}


/* Binds the locals of the frame 'ar', the later shadowing the earlier;
** the last named _ENV goes to 'env'. */
static void bindlocals (lua_State *L, lua_Debug *ar, int want, int r,
                        int env) {
  const char *name;
  int i;
  for (i = 1; (name = lua_getlocal(L, ar, i)) != NULL; i++) {
    if (strcmp(name, "_ENV") == 0) {
      lua_pushvalue(L, -1);
      lua_replace(L, env);
    }
    bind(L, want, r, name, 1);
  }
}


/* Binds the upvalues of the frame's function at 'fn' not yet bound; its
** _ENV goes to 'env' unless a local one is there. */
static void bindupvalues (lua_State *L, int fn, int want, int r, int env) {
  const char *name;
  int i;
  for (i = 1; (name = lua_getupvalue(L, fn, i)) != NULL; i++) {
    if (strcmp(name, "_ENV") == 0 && lua_isnil(L, env)) {
      lua_pushvalue(L, -1);
      lua_replace(L, env);
    }
    bind(L, want, r, name, 0);
  }
}


/* Binds the names still unbound to their values in the globals at 'env'
** (read raw, as a copy reads: no metamethod runs). */
static void bindglobals (lua_State *L, int want, int r, int env) {
  lua_pushnil(L);
  while (lua_next(L, want)) {
    if (lua_toboolean(L, -1)) {
      lua_pushvalue(L, -2);
      if (lua_rawget(L, env) != LUA_TNIL) {
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, r);
      }
      else
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}


int jobs_freenames (lua_State *L, int base) {
  lua_Debug ar;
  int want, env, r;
  static const char chunk[MAXUPVALUES] = {1};  /* its upvalue 1: _ENV */
  lua_newtable(L);
  globals(L, base, chunk, want = lua_gettop(L));
  lua_pushnil(L);
  env = lua_gettop(L);
  lua_newtable(L);
  r = lua_gettop(L);
  if (lua_getstack(L, 1, &ar)) {  /* called from a function: its frame */
    bindlocals(L, &ar, want, r, env);
    lua_getinfo(L, "f", &ar);
    bindupvalues(L, lua_gettop(L), want, r, env);
    lua_pop(L, 1);
  }
  if (!lua_istable(L, env)) {  /* no _ENV of its own: the state's */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_replace(L, env);
  }
  bindglobals(L, want, r, env);
  lua_replace(L, want);
  lua_settop(L, want);
  return want;
}

/* }====================================================== */


/*
** {======================================================
** The globals a function names, valued from its own _ENV
** =======================================================
*/

static int compare (const void *name, const void *entry) {
  return strcmp((const char *)name, *(const char *const *)entry);
}


/* Whether 'name' is a global of Lua's standard library: those the job has
** are its own, and those its 'libs' left out stay out. */
int jobs_isstandard (const char *name) {
  static const char *const names[] = {  /* in strcmp's order */
    "_G", "_VERSION", "assert", "collectgarbage", "coroutine", "debug",
    "dofile", "error", "getmetatable", "io", "ipairs", "load", "loadfile",
    "math", "next", "os", "package", "pairs", "pcall", "print", "rawequal",
    "rawget", "rawlen", "rawset", "require", "select", "setmetatable",
    "string", "table", "tonumber", "tostring", "type", "utf8", "warn",
    "xpcall"
  };
  return bsearch(name, names, sizeof(names) / sizeof(names[0]),
                 sizeof(names[0]), compare) != NULL;
}


/* Its address keys, in a state's registry, a table with weak keys from a
** function to the table of the globals it names: a job made again and
** again of one function reads its bytecode once. */
static const char nameskey = 0;


/* Pushes the table of the globals (name -> true) that the Lua function at
** 'fn' names through its upvalues flagged in 'own', but for those of the
** standard library (the job's own); read-only. */
static void pushnamed (lua_State *L, int fn, const char *own) {
  int cache;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &nameskey) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);  /* its metatable */
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &nameskey);
  }
  cache = lua_gettop(L);
  lua_pushvalue(L, fn);
  if (lua_rawget(L, cache) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    globals(L, fn, own, lua_gettop(L));
    lua_pushnil(L);
    while (lua_next(L, -2)) {  /* clearing a field it passed is allowed */
      lua_pop(L, 1);
      if (jobs_isstandard(lua_tostring(L, -1))) {
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
      }
    }
    lua_pushvalue(L, fn);
    lua_pushvalue(L, -2);
    lua_rawset(L, cache);
  }
  lua_remove(L, cache);
}


/* A walk of the values a copy will carry, for the globals their functions
** name: indices in L of the names found ('r'), of the values met as keys
** with the work list as its array part ('seen', its length 'n'), and of
** the names not to look up ('skip', 0: none). */
typedef struct Walk {
  int r, seen, skip;
  int tables;  /* tables are walked too, as a copy walks them */
  lua_Integer n;
} Walk;


/* Appends the value at 'idx' to the work list, if it is a Lua function,
** or (walking tables) a table that does not cross by name (a module's is
** the module's business), not met yet. */
static void follow (lua_State *L, int idx, Walk *w) {
  int t = lua_type(L, idx);
  if (t == LUA_TFUNCTION ? lua_iscfunction(L, idx)
                         : (t != LUA_TTABLE || !w->tables))
    return;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, w->seen) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  if (t == LUA_TTABLE && jobs_byname(L, idx))
    return;
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, w->seen);
  lua_pushvalue(L, idx);
  lua_rawseti(L, w->seen, ++w->n);
}


/* Whether the name on top of L is one the walk gives a value: not one to
** skip, nor found already. */
static int wanted (lua_State *L, Walk *w) {
  if (w->skip != 0) {
    lua_pushvalue(L, -1);
    if (lua_rawget(L, w->skip) != LUA_TNIL) {
      lua_pop(L, 1);
      return 0;
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -1);
  if (lua_rawget(L, w->r) != LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  return 1;
}


/*
** Adds to the walk's names the globals that the Lua function at 'fn' and
** the functions in it name through its _ENV (at 'env' of L, the upvalues
** holding it flagged in 'own'), each read from that _ENV as the function
** would read it (metamethods run), unless the walk has or skips the name;
** each value added is followed in turn (a function named takes its own).
*/
static void addnames (lua_State *L, int fn, const char *own, int env,
                      Walk *w) {
  int want;
  if (lua_type(L, env) != LUA_TTABLE) {
    lua_Debug ar;
    if (luaL_getmetafield(L, env, "__index") != LUA_TNIL)
      lua_pop(L, 1);  /* indexable all the same */
    else {
      lua_pushvalue(L, fn);
      lua_getinfo(L, ">S", &ar);
      luaL_error(L, "the _ENV of function <%s:%d> is a %s value, not a "
                 "table: the globals it names cannot be read", ar.short_src,
                 ar.linedefined, luaL_typename(L, env));
    }
  }
  pushnamed(L, fn, own);
  want = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, want)) {
    lua_pop(L, 1);
    if (wanted(L, w)) {
      lua_pushvalue(L, -1);
      lua_pushvalue(L, -1);
      lua_gettable(L, env);  /* as the function would: may raise */
      follow(L, -1, w);
      lua_rawset(L, w->r);
    }
  }
  lua_pop(L, 1);
}


/* Follows the keys, values and metatable of the table at 't', raw, as a
** copy walks them. */
static void followtable (lua_State *L, int t, Walk *w) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    follow(L, -2, w);
    follow(L, -1, w);
    lua_pop(L, 1);
  }
  if (lua_getmetatable(L, t)) {
    follow(L, -1, w);
    lua_pop(L, 1);
  }
}


/*
** Adds to the walk's names those of each value of its work list: of a
** function, then of the Lua functions among its upvalues (and walking
** tables, of the tables among them), each once: a work list, not a
** recursion, so that a chain of closures of any length costs no C stack
** and few slots.
*/
static void addfunctions (lua_State *L, Walk *w) {
  char own[MAXUPVALUES];
  luaL_checkstack(L, 8, "reading the globals a function names");
  while (w->n > 0) {
    const char *name;
    int i, env = 0, fn = lua_gettop(L) + 1;
    lua_rawgeti(L, w->seen, w->n);
    lua_pushnil(L);
    lua_rawseti(L, w->seen, w->n--);
    if (lua_istable(L, fn)) {
      followtable(L, fn, w);
      lua_settop(L, fn - 1);
      continue;
    }
    memset(own, 0, sizeof(own));
    for (i = 1; (name = lua_getupvalue(L, fn, i)) != NULL; i++) {
      if (strcmp(name, "_ENV") == 0 && i <= MAXUPVALUES && env == 0) {
        own[i - 1] = 1;
        env = lua_gettop(L);  /* kept on the stack */
        continue;
      }
      follow(L, -1, w);
      lua_pop(L, 1);
    }
    if (env != 0)
      addnames(L, fn, own, env, w);
    lua_settop(L, fn - 1);
  }
}


/* Whether the value at 'idx' of L is a Lua function with upvalues: one
** without reads no global (it would have an _ENV) and holds no function. */
static int closure (lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx) ||
      lua_getupvalue(L, idx, 1) == NULL)
    return 0;
  lua_pop(L, 1);
  return 1;
}


int jobs_functionnames (lua_State *L, int base, int n, int tables,
                        int skip) {
  Walk w;
  int i;
  for (i = 0; !tables && i < n && !closure(L, base + i); i++) {}
  if (i == n)
    return 0;  /* the common job, a function naming no global: no cost */
  luaL_checkstack(L, 4, "reading the globals a function names");
  w.tables = tables;
  w.skip = (skip != 0 && lua_istable(L, skip)) ? lua_absindex(L, skip) : 0;
  lua_newtable(L);
  w.r = lua_gettop(L);
  lua_newtable(L);
  w.seen = lua_gettop(L);
  for (; i < n; i++) {  /* the first ones first: their _ENV's names win */
    w.n = 0;
    follow(L, base + i, &w);
    addfunctions(L, &w);
  }
  lua_settop(L, w.r);
  lua_pushnil(L);
  if (lua_next(L, w.r) == 0) {  /* none: nothing to copy */
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 2);
  return w.r;
}

/* }====================================================== */

