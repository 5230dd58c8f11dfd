/*
** copy.c: copies a value graph from one lua_State to another.
** Owns what may cross between states (SPEC §4) and the paths its errors name.
*/

#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "copy.h"


/* One step on the way from a root value to the value being copied; the
** chain lives on the C stack and is rendered only when a copy fails. */
typedef struct Step {
  const struct Step *up;
  enum { ROOT, KEY, META, UPVAL } kind;
  int n;  /* ROOT: value number; KEY: index of the key in 'from';
             UPVAL: upvalue number */
  int fn;  /* UPVAL: index of the function in 'from' */
} Step;


typedef struct Copier {
  lua_State *from, *to;
  const char *root;
  int seen;  /* index in 'to' of the map from source objects to their
                copies (nil until first needed) */
  int nclosures;  /* closures copied so far, listed in 'seen' as 1..n */
  int depth;
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


/* Adds the steps from the root to 'at' to 'b', at most JOBS_MAXPATH. */
static void addpath (Copier *c, luaL_Buffer *b, const Step *at, int *left) {
  if (at->up != NULL)
    addpath(c, b, at->up, left);
  if (--*left < 0) {
    if (*left == -1) luaL_addstring(b, "...");
    return;
  }
  switch (at->kind) {
    case ROOT:
      lua_pushfstring(c->to, c->root, at->n);
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


/* Raises "cannot copy <what> at <path>" in 'to'. */
static void fail (Copier *c, const Step *at, const char *what) {
  luaL_Buffer b;
  int left = JOBS_MAXPATH;
  lua_pushfstring(c->to, "cannot copy %s at ", what);
  luaL_buffinit(c->to, &b);
  addpath(c, &b, at, &left);
  luaL_pushresult(&b);
  lua_concat(c->to, 2);
  lua_error(c->to);
}

/* }====================================================== */


/*
** {======================================================
** Shared references: the 'seen' map
** =======================================================
*/

/* Pushes the copy of the object at 'idx' and returns 1 if it was copied
** already; otherwise pushes nothing and returns 0. */
static int lookup (Copier *c, int idx) {
  if (lua_isnil(c->to, c->seen)) {
    lua_newtable(c->to);
    lua_replace(c->to, c->seen);
    return 0;
  }
  if (lua_rawgetp(c->to, c->seen, lua_topointer(c->from, idx)) != LUA_TNIL)
    return 1;
  lua_pop(c->to, 1);
  return 0;
}


/* Records the value on top of 'to' as the copy of the object at 'idx'. */
static void remember (Copier *c, int idx) {
  lua_pushvalue(c->to, -1);
  lua_rawsetp(c->to, c->seen, lua_topointer(c->from, idx));
}


/* Entering a table or function: one level deeper, room on both stacks. */
static void enter (Copier *c, const Step *at, const char *what) {
  if (++c->depth > JOBS_MAXDEPTH) {
    lua_pushfstring(c->to, "%s nested deeper than %d levels", what,
                    JOBS_MAXDEPTH);
    fail(c, at, lua_tostring(c->to, -1));
  }
  luaL_checkstack(c->to, 6, "copying a value");
  if (!lua_checkstack(c->from, 4))
    fail(c, at, "value (not enough stack space)");
}

/* }====================================================== */


static void copytable (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from, *to = c->to;
  Step step;
  if (lookup(c, idx))
    return;
  enter(c, at, "table");
  lua_createtable(to, (int)lua_rawlen(from, idx), 0);
  remember(c, idx);
  step.up = at;
  step.kind = KEY;
  lua_pushnil(from);
  while (lua_next(from, idx)) {
    step.n = lua_gettop(from) - 1;
    copyvalue(c, step.n, &step);
    copyvalue(c, step.n + 1, &step);
    lua_rawset(to, -3);
    lua_pop(from, 1);
  }
  if (lua_getmetatable(from, idx)) {  /* raw: '__metatable' is not asked */
    step.kind = META;
    copyvalue(c, lua_gettop(from), &step);
    lua_setmetatable(to, -2);
    lua_pop(from, 1);
  }
  c->depth--;
}


static int writer (lua_State *L, const void *p, size_t sz, void *b) {
  (void)L;  /* the dumped state; the buffer belongs to 'to' */
  luaL_addlstring((luaL_Buffer *)b, (const char *)p, sz);
  return 0;
}


/*
** Copies the upvalues of the function at 'idx' of 'from' into the fresh
** closure on top of 'to'. An upvalue met before is joined to its first copy
** (each is recorded in 'seen' as slot * 256 + n, where slot numbers the
** closure that holds it). '_ENV' holding the sender's globals becomes the
** receiver's globals.
*/
static void copyupvalues (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from, *to = c->to;
  int slot = ++c->nclosures;
  const char *name;
  Step step;
  step.up = at;
  step.kind = UPVAL;
  step.fn = idx;
  lua_pushvalue(to, -1);
  lua_rawseti(to, c->seen, slot);
  for (step.n = 1; (name = lua_getupvalue(from, idx, step.n)) != NULL;
       step.n++) {
    void *id = lua_upvalueid(from, idx, step.n);
    if (lua_rawgetp(to, c->seen, id) == LUA_TNUMBER) {  /* shared */
      lua_Integer code = lua_tointeger(to, -1);
      lua_rawgeti(to, c->seen, code / 256);
      lua_upvaluejoin(to, -3, step.n, -1, (int)(code % 256));
      lua_pop(to, 2);
    }
    else {
      lua_pop(to, 1);
      lua_pushinteger(to, (lua_Integer)slot * 256 + step.n);
      lua_rawsetp(to, c->seen, id);
      lua_rawgeti(from, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
      if (strcmp(name, "_ENV") == 0 && lua_rawequal(from, -1, -2))
        lua_rawgeti(to, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
      else
        copyvalue(c, lua_gettop(from) - 1, &step);
      lua_setupvalue(to, -2, step.n);
      lua_pop(from, 1);
    }
    lua_pop(from, 1);
  }
}


/* Lua functions cross as bytecode, with debug information so that
** tracebacks keep their lines and '_ENV' is found by name. */
static void copyfunction (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from, *to = c->to;
  luaL_Buffer b;
  size_t len;
  const char *code;
  if (lua_iscfunction(from, idx))
    fail(c, at, "C function");
  if (lookup(c, idx))
    return;
  enter(c, at, "function");
  lua_pushvalue(from, idx);
  luaL_buffinit(to, &b);
  lua_dump(from, writer, &b, 0);
  lua_pop(from, 1);
  luaL_pushresult(&b);
  code = lua_tolstring(to, -1, &len);
  if (luaL_loadbufferx(to, code, len, "=copy", "b") != LUA_OK)
    lua_error(to);  /* out of memory */
  lua_remove(to, -2);
  remember(c, idx);
  copyupvalues(c, idx, at);
  c->depth--;
}


static void copyvalue (Copier *c, int idx, const Step *at) {
  lua_State *from = c->from, *to = c->to;
  switch (lua_type(from, idx)) {
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
    default:
      fail(c, at, lua_typename(from, lua_type(from, idx)));
  }
}


void jobs_copy (lua_State *from, int first, int n, lua_State *to,
                const char *root) {
  Copier c;
  Step step;
  int i;
  c.from = from;
  c.to = to;
  c.root = root;
  c.nclosures = 0;
  c.depth = 0;
  first = lua_absindex(from, first);
  luaL_checkstack(to, n + 1, "too many values to copy");
  lua_pushnil(to);
  c.seen = lua_gettop(to);
  step.up = NULL;
  step.kind = ROOT;
  for (i = 0; i < n; i++) {
    step.n = i + 1;
    copyvalue(&c, first + i, &step);
  }
  lua_remove(to, c.seen);
}
