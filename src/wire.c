/*
** wire.c: the body of a frame (SPEC §12): a value graph as bytes, written
** step by step by copy.c's walk and read back through build.c.
*/

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobsconf.h"
#include "build.h"
#include "cstack.h"
#include "wire.h"


/*
** The steps, a byte each, then their operands: counts and lengths as
** LEB128 varints, integers zigzagged into one, floats as the 8 bytes of a
** double, least significant first, bytecode after its length in 4 bytes.
** Objects are numbered in the order they begin (a table as it opens, a
** function before its upvalues), at both ends, and REF names one again.
*/
enum {
  W_NIL, W_FALSE, W_TRUE,
  W_INT,  /* zigzag varint */
  W_FLT,  /* 8 bytes */
  W_STR,  /* varint length, bytes */
  W_NEWKEY,  /* a string key, as W_STR, numbered for W_KEY */
  W_KEY,  /* varint: a string key written before */
  W_TABLE,  /* varint array size, varint other keys; then key, value, ...
               until W_END, or W_META and the metatable */
  W_END, W_META,
  W_REF,  /* varint: an object written before */
  W_FUNC,  /* 4-byte length, bytecode, varint upvalues: each W_ENV,
              W_JOIN or a value */
  W_SRC,  /* varint length, source text, varint upvalues, as W_FUNC */
  W_ENV,  /* the receiver's globals */
  W_JOIN,  /* varint function, varint upvalue: shared with that one */
  W_NAME,  /* varint length, module name, varint 0 or 1 + length of the
             name of one of its C functions */
  W_USERDATA  /* varint length, "module.function", its data: a userdata
                 that function makes again from the data (jobs.h) */
};


/*
** {======================================================
** Writing
** =======================================================
*/

void jobs_outopen (lua_State *L, jobs_Out *o, size_t size) {
  o->L = L;
  o->p = (unsigned char *)lua_newuserdatauv(L, size, 0);
  o->slot = lua_gettop(L);
  o->n = 0;
  o->size = size;
  o->has = 0;
}


unsigned char *jobs_outroom (jobs_Out *o, size_t more) {
  if (more > o->size - o->n) {
    size_t size = o->size * 2;
    unsigned char *p;
    if (more > SIZE_MAX / 2 - o->n)
      luaL_error(o->L, "frame too large");
    if (size < o->n + more)
      size = o->n + more;
    p = (unsigned char *)lua_newuserdatauv(o->L, size, 0);
    memcpy(p, o->p, o->n);
    lua_replace(o->L, o->slot);  /* the old bytes are garbage now */
    o->p = p;
    o->size = size;
  }
  return o->p + o->n;
}


static void putbyte (jobs_Out *o, int b) {
  *jobs_outroom(o, 1) = (unsigned char)b;
  o->n++;
}


/* Writes 'v' as a varint at 'q'; returns its length (10 at most). */
static size_t varint (unsigned char *q, uint64_t v) {
  size_t k = 0;
  while (v >= 0x80) {
    q[k++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  q[k++] = (unsigned char)v;
  return k;
}


static void putvarint (jobs_Out *o, uint64_t v) {
  o->n += varint(jobs_outroom(o, 10), v);
}


/* A step and its varint operand. */
static void putstep (jobs_Out *o, int step, uint64_t v) {
  unsigned char *q = jobs_outroom(o, 11);
  q[0] = (unsigned char)step;
  o->n += 1 + varint(q + 1, v);
}


static void putbytes (jobs_Out *o, const char *s, size_t len) {
  memcpy(jobs_outroom(o, len), s, len);
  o->n += len;
}


/* A step, its length and its bytes. */
static void putstring (jobs_Out *o, int step, const char *s, size_t len) {
  putstep(o, step, len);
  putbytes(o, s, len);
}


void jobs_putscalar (jobs_Out *o, lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      putbyte(o, W_NIL);
      break;
    case LUA_TBOOLEAN:
      putbyte(o, lua_toboolean(L, idx) ? W_TRUE : W_FALSE);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        uint64_t u = (uint64_t)lua_tointeger(L, idx);
        putstep(o, W_INT, (u << 1) ^ (0 - (u >> 63)));
      }
      else {  /* the bits of a double: NaN payloads, infinities, -0.0 */
        double d = (double)lua_tonumber(L, idx);
        uint64_t u;
        unsigned char *q = jobs_outroom(o, 9);
        int i;
        memcpy(&u, &d, sizeof(u));
        q[0] = W_FLT;
        for (i = 0; i < 8; i++)
          q[1 + i] = (unsigned char)(u >> (8 * i));
        o->n += 9;
      }
      break;
    default: {  /* a string: the walk sends nothing else here */
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      putstring(o, W_STR, s, len);
    }
  }
}


void jobs_putref (jobs_Out *o, lua_Integer n) {
  putstep(o, W_REF, (uint64_t)n);
}


void jobs_putnewkey (jobs_Out *o, const char *s, size_t len) {
  putstring(o, W_NEWKEY, s, len);  /* its number: its place among them */
}


void jobs_putkey (jobs_Out *o, lua_Integer n) {
  putstep(o, W_KEY, (uint64_t)n);
}


void jobs_puttable (jobs_Out *o, lua_Unsigned narr, lua_Unsigned nrec) {
  putstep(o, W_TABLE, narr);
  putvarint(o, nrec);
}


void jobs_putend (jobs_Out *o, int meta) {
  putbyte(o, meta ? W_META : W_END);
}


void jobs_putname (jobs_Out *o, const char *mod, const char *field) {
  putstring(o, W_NAME, mod, strlen(mod));
  if (field == NULL)
    putvarint(o, 0);
  else {
    size_t len = strlen(field);
    putvarint(o, (uint64_t)len + 1);
    putbytes(o, field, len);
    o->has |= JOBS_WCFUNCTION;
  }
}


static int outwriter (lua_State *L, const void *p, size_t sz, void *o) {
  (void)L;  /* the dumped state, whose stack 'o' may grow on */
  putbytes((jobs_Out *)o, (const char *)p, sz);
  return 0;
}


void jobs_putfunction (jobs_Out *o, lua_State *L, int idx, int nups) {
  size_t at, len;
  int i;
  putbyte(o, W_FUNC);
  jobs_outroom(o, 4);
  at = o->n;
  o->n += 4;
  lua_pushvalue(L, idx);
  lua_dump(L, outwriter, o, o->strip);
  lua_pop(L, 1);
  len = o->n - at - 4;
  if (len > UINT32_MAX)
    luaL_error(L, "a function of more than 4 GiB of bytecode");
  for (i = 0; i < 4; i++)
    o->p[at + i] = (unsigned char)(len >> (8 * i));
  putvarint(o, (uint64_t)nups);
  o->has |= JOBS_WBYTECODE;
}


void jobs_putsource (jobs_Out *o, const char *s, size_t len, int nups) {
  putstring(o, W_SRC, s, len);
  putvarint(o, (uint64_t)nups);
  o->has |= JOBS_WSOURCE;
}


void jobs_putmaker (jobs_Out *o, const char *maker) {
  putstring(o, W_USERDATA, maker, strlen(maker));
  o->has |= JOBS_WCFUNCTION;
}


void jobs_putenv (jobs_Out *o) {
  putbyte(o, W_ENV);
}


void jobs_putjoin (jobs_Out *o, lua_Integer fn, int n) {
  putstep(o, W_JOIN, (uint64_t)fn);
  putvarint(o, (uint64_t)n);
}

/* }====================================================== */


/*
** {======================================================
** Reading: every length and count is checked against the bytes left
** before anything is made of it
** =======================================================
*/

typedef struct Reader {
  lua_State *L;
  jobs_Build b;
  const unsigned char *start, *p, *end;
  int keys;  /* index in L of the string keys read so far */
  lua_Integer nkeys;
  int allow;  /* JOBS_W* */
  int require;  /* modules not loaded may be required */
  int depth;
  uintptr_t stacklimit;  /* 0: not read yet */
} Reader;


static __attribute__((noreturn)) void bad (Reader *r, const char *fmt, ...) {
  va_list argp;
  va_start(argp, fmt);
  lua_pushfstring(r->L, "bad frame: byte %I of its body: ",
                  (LUAI_UACINT)(r->p - r->start));
  lua_pushvfstring(r->L, fmt, argp);
  va_end(argp);
  lua_concat(r->L, 2);
  lua_error(r->L);
  abort();  /* lua_error does not return */
}


static int getbyte (Reader *r) {
  if (r->p == r->end)
    bad(r, "it ends in the middle of a value");
  return *r->p++;
}


static uint64_t getvarint (Reader *r) {
  uint64_t v = 0;
  int shift;
  for (shift = 0; shift < 64; shift += 7) {
    int b = getbyte(r);
    if (shift == 63 && b > 1)
      break;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (b < 0x80)
      return v;
  }
  bad(r, "a number of more than 64 bits");
}


/* A count that cannot exceed what 'each' bytes an item leave room for. */
static size_t getcount (Reader *r, size_t each, const char *what) {
  uint64_t n = getvarint(r);
  if (n > (uint64_t)(r->end - r->p) / each || n > INT_MAX)
    bad(r, "%s of %I where %I bytes remain", what, (LUAI_UACINT)n,
        (LUAI_UACINT)(r->end - r->p));
  return (size_t)n;
}


/* The bytes of a string of 'len', which must be there. */
static const char *getbytes (Reader *r, size_t len) {
  const char *s = (const char *)r->p;
  r->p += len;  /* getcount checked it */
  return s;
}


static void readvalue (Reader *r);


/* One level deeper, as a copy bounds it: depth, stacks. */
static void enter (Reader *r) {
  if (++r->depth > JOBS_MAXDEPTH)
    bad(r, "nested deeper than %d levels", JOBS_MAXDEPTH);
  if (r->depth >= JOBS_STACKCHECK) {
    if (r->stacklimit == 0)
      r->stacklimit = jobs_stacklimit(JOBS_STACKRESERVE);
    if (jobs_pastlimit(r->stacklimit))
      bad(r, "nested too deep for this thread's C stack (%d levels)",
          r->depth);
  }
  luaL_checkstack(r->L, 6, "reading a frame");
}


static void readtable (Reader *r) {
  lua_State *L = r->L;
  size_t narr = getcount(r, 2, "a table"), nrec = getcount(r, 2, "a table");
  if (narr + nrec > (size_t)(r->end - r->p) / 2)
    bad(r, "a table of %I entries where %I bytes remain",
        (LUAI_UACINT)(narr + nrec), (LUAI_UACINT)(r->end - r->p));
  enter(r);
  if (narr >= 16 && r->end - r->p >= 3 && r->p[0] == W_INT &&
      r->p[1] == 2 && r->p[2] == W_TABLE)  /* [1] is a table: rows, as */
    jobs_buildreserve(&r->b, (int)narr + 1);  /* copy.c's reserve guesses */
  lua_createtable(L, (int)narr, (int)nrec);
  jobs_buildremember(&r->b);
  for (;;) {
    int t;
    if (r->p == r->end)
      bad(r, "it ends in the middle of a table");
    if (*r->p == W_END || *r->p == W_META)
      break;
    t = *r->p;  /* a string key (most are) needs no look */
    readvalue(r);
    if (t != W_KEY && t != W_NEWKEY && t != W_STR) {
      t = lua_type(L, -1);
      if (t == LUA_TNIL || (t == LUA_TNUMBER && lua_tonumber(L, -1) !=
                            lua_tonumber(L, -1)))
        bad(r, "a table key that is %s", t == LUA_TNIL ? "nil" : "NaN");
    }
    readvalue(r);
    lua_rawset(L, -3);
  }
  if (*r->p++ == W_META) {
    readvalue(r);
    if (!lua_istable(L, -1))
      bad(r, "a metatable that is a %s", luaL_typename(L, -1));
    jobs_buildmeta(&r->b);
  }
  r->depth--;
}


/* The upvalues of the function on top, 'nups' of them. */
static void readupvalues (Reader *r, size_t nups) {
  lua_State *L = r->L;
  size_t i;
  int n = 0;
  while (lua_getupvalue(L, -1, n + 1) != NULL) {
    lua_pop(L, 1);
    n++;
  }
  if ((size_t)n != nups)
    bad(r, "a function of %d upvalues said to have %I", n,
        (LUAI_UACINT)nups);
  for (i = 1; i <= nups; i++) {
    int step = getbyte(r);
    if (step == W_ENV)
      jobs_buildenv(&r->b, (int)i);
    else if (step == W_JOIN) {
      uint64_t fn = getvarint(r), up = getvarint(r);
      if (fn < 1 || fn > (uint64_t)r->b.ncopies || up < 1 || up > 255 ||
          !jobs_buildjoin(&r->b, (int)i, (lua_Integer)fn, (int)up))
        bad(r, "upvalue %d shared with no upvalue", (int)i);
    }
    else {
      r->p--;
      readvalue(r);
      lua_setupvalue(L, -2, (int)i);
    }
  }
}


static void readfunction (Reader *r, int step) {
  lua_State *L = r->L;
  size_t len;
  if (!(r->allow & (step == W_FUNC ? JOBS_WBYTECODE : JOBS_WSOURCE)))
    bad(r, "%s, which the frame's header does not declare",
        step == W_FUNC ? "bytecode" : "source code");
  if (step == W_FUNC) {
    int i;
    if (r->end - r->p < 4)
      bad(r, "it ends in the middle of a function");
    for (len = 0, i = 3; i >= 0; i--)
      len = (len << 8) | r->p[i];
    r->p += 4;
    if (len > (size_t)(r->end - r->p))
      bad(r, "a function of %I bytes where %I remain", (LUAI_UACINT)len,
          (LUAI_UACINT)(r->end - r->p));
  }
  else
    len = getcount(r, 1, "source code");
  enter(r);
  if (step == W_FUNC)
    jobs_buildfunction(&r->b, getbytes(r, len), len, "=frame", "b");
  else {  /* named by its text, as load names a chunk */
    const char *s = getbytes(r, len);
    lua_pushlstring(L, s, len);
    jobs_buildfunction(&r->b, s, len, lua_tostring(L, -1), "t");
    lua_remove(L, -2);
  }
  jobs_buildremember(&r->b);
  readupvalues(r, (size_t)getvarint(r));
  r->depth--;
}


static void readname (Reader *r) {
  lua_State *L = r->L;
  size_t len = getcount(r, 1, "a module name");
  const char *mod = getbytes(r, len);
  uint64_t flen = getvarint(r);
  int pushed = 1;
  lua_pushlstring(L, mod, len);
  if (flen > 0) {
    if (!(r->allow & JOBS_WCFUNCTION))
      bad(r, "a C function, which the frame's header does not declare");
    if (flen - 1 > (uint64_t)(r->end - r->p))
      bad(r, "a function name of %I bytes where %I remain",
          (LUAI_UACINT)(flen - 1), (LUAI_UACINT)(r->end - r->p));
    lua_pushlstring(L, getbytes(r, flen - 1), flen - 1);
    pushed = 2;
  }
  if (jobs_buildname(&r->b, lua_tostring(L, -pushed),
                     pushed == 2 ? lua_tostring(L, -1) : NULL, r->require))
    bad(r, "module '%s': %s", lua_tostring(L, -1 - pushed),
        lua_tostring(L, -1));
  lua_replace(L, -1 - pushed);
  lua_pop(L, pushed - 1);
  jobs_buildremember(&r->b);
}


/* A userdata made again: its maker called with its data. */
static void readuserdata (Reader *r) {
  lua_State *L = r->L;
  size_t len = getcount(r, 1, "a maker's name");
  const char *name = getbytes(r, len), *dot;
  if (!(r->allow & JOBS_WCFUNCTION))
    bad(r, "a userdata, which the frame's header does not declare");
  lua_pushlstring(L, name, len);
  dot = strrchr(lua_tostring(L, -1), '.');
  if (dot == NULL)
    bad(r, "a userdata's maker '%s', which names no module", lua_tostring(L, -1));
  lua_pushlstring(L, lua_tostring(L, -1), (size_t)(dot - lua_tostring(L, -1)));
  if (jobs_buildname(&r->b, lua_tostring(L, -1), dot + 1, r->require))
    bad(r, "a userdata's maker '%s': %s", lua_tostring(L, -3),
        lua_tostring(L, -1));
  lua_replace(L, -3);
  lua_pop(L, 1);
  enter(r);
  readvalue(r);
  lua_call(L, 1, 1);
  jobs_buildremember(&r->b);
  r->depth--;
}


static void readvalue (Reader *r) {
  lua_State *L = r->L;
  int step = getbyte(r);
  switch (step) {
    case W_NIL:
      lua_pushnil(L);
      break;
    case W_FALSE: case W_TRUE:
      lua_pushboolean(L, step == W_TRUE);
      break;
    case W_INT: {
      uint64_t z = getvarint(r);
      int64_t v = (int64_t)((z >> 1) ^ (0 - (z & 1)));
      if ((int64_t)(lua_Integer)v != v)
        bad(r, "an integer this Lua's integers cannot hold");
      lua_pushinteger(L, (lua_Integer)v);
      break;
    }
    case W_FLT: {
      uint64_t u = 0;
      double d;
      int i;
      if (r->end - r->p < 8)
        bad(r, "it ends in the middle of a float");
      for (i = 7; i >= 0; i--)
        u = (u << 8) | r->p[i];
      r->p += 8;
      memcpy(&d, &u, sizeof(d));
      lua_pushnumber(L, (lua_Number)d);
      break;
    }
    case W_STR: case W_NEWKEY: {
      size_t len = getcount(r, 1, "a string");
      lua_pushlstring(L, getbytes(r, len), len);
      if (step == W_NEWKEY) {
        if (r->nkeys == 0) {  /* the first: a list for them */
          lua_newtable(L);
          lua_replace(L, r->keys);
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, r->keys, ++r->nkeys);
      }
      break;
    }
    case W_KEY: {
      uint64_t n = getvarint(r);
      if (n < 1 || n > (uint64_t)r->nkeys)
        bad(r, "key %I, of %I read", (LUAI_UACINT)n, (LUAI_UACINT)r->nkeys);
      lua_rawgeti(L, r->keys, (lua_Integer)n);
      break;
    }
    case W_TABLE:
      readtable(r);
      break;
    case W_REF: {
      uint64_t n = getvarint(r);
      if (n < 1 || n > (uint64_t)r->b.ncopies)
        bad(r, "object %I, of %I read", (LUAI_UACINT)n,
            (LUAI_UACINT)r->b.ncopies);
      jobs_buildpush(&r->b, (lua_Integer)n);
      break;
    }
    case W_FUNC: case W_SRC:
      readfunction(r, step);
      break;
    case W_NAME:
      readname(r);
      break;
    case W_USERDATA:
      readuserdata(r);
      break;
    default:
      r->p--;
      bad(r, "no value begins with %d", step);
  }
}

/* }====================================================== */


void jobs_readbody (lua_State *L, const unsigned char *p, size_t len,
                    lua_Integer n, int allow, int require) {
  Reader r;
  lua_Integer i;
  r.L = L;
  r.start = r.p = p;
  r.end = p + len;
  r.allow = allow;
  r.require = require;
  r.depth = 0;
  r.stacklimit = 0;
  r.nkeys = 0;
  if (n < 0 || (size_t)n > len || n > INT_MAX - 10)
    bad(&r, "%I values in %I bytes", (LUAI_UACINT)n, (LUAI_UACINT)len);
  luaL_checkstack(L, (int)n + 10, "too many values in a frame");
  jobs_buildopen(&r.b, L);
  lua_pushnil(L);
  r.keys = lua_gettop(L);
  for (i = 0; i < n; i++)
    readvalue(&r);
  if (r.p != r.end)
    bad(&r, "%I bytes after the last value", (LUAI_UACINT)(r.end - r.p));
  jobs_buildclose(&r.b, (int)n);
}
