/*
** frame.c: frames (SPEC §12): the header saying what made a frame and what
** it carries, its HMAC-SHA256 tag, and jobs.encode and jobs.decode.
*/

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lua.h"
#include "lauxlib.h"

#include "jobs.h"
#include "copy.h"
#include "frame.h"
#include "record.h"
#include "wire.h"


/* Lua 5.4's Instruction is a 32-bit integer (llimits.h), which lua.h does
** not show; the probes are those of a dump's header (lundump.h). */
#define INSTRUCTIONSIZE	4
#define IPROBE	0x5678
#define NPROBE	370.5


/*
** {======================================================
** The tag
** =======================================================
*/

/*
** Each thread keeps a context keyed with the key it used last: keying one
** costs more than the tag of a small frame, and a context may be set
** again with the same key (EVP_MAC_init with no key) for the next tag.
*/
typedef struct Keyed {
  EVP_MAC_CTX *ctx;
  size_t keylen;
  char key[];
} Keyed;

static EVP_MAC *hmac;  /* fetched once a process */
static pthread_key_t keyed;  /* this thread's Keyed */

static void forget (void *k) {
  if (k != NULL)
    EVP_MAC_CTX_free(((Keyed *)k)->ctx);
  free(k);
}

static void fetchhmac (void) {
  hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (pthread_key_create(&keyed, forget) != 0)
    hmac = NULL;
}


/* This thread's context keyed with 'key', or NULL if there is none. */
static EVP_MAC_CTX *keyedwith (const char *key, size_t keylen) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  Keyed *k;
  OSSL_PARAM params[2];
  pthread_once(&once, fetchhmac);
  if (hmac == NULL)
    return NULL;
  k = (Keyed *)pthread_getspecific(keyed);
  if (k != NULL && k->keylen == keylen && memcmp(k->key, key, keylen) == 0)
    return EVP_MAC_init(k->ctx, NULL, 0, NULL) ? k->ctx : NULL;
  forget(k);
  pthread_setspecific(keyed, NULL);
  if ((k = (Keyed *)malloc(sizeof(Keyed) + keylen)) == NULL)
    return NULL;
  k->keylen = keylen;
  memcpy(k->key, key, keylen);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  if ((k->ctx = EVP_MAC_CTX_new(hmac)) == NULL ||
      !EVP_MAC_init(k->ctx, (const unsigned char *)key, keylen, params) ||
      pthread_setspecific(keyed, k) != 0) {
    forget(k);
    return NULL;
  }
  return k->ctx;
}


/* Puts at 'tag' the HMAC-SHA256 of 'len' bytes at 'p' under 'key'. */
static void maketag (lua_State *L, const char *key, size_t keylen,
                     const unsigned char *p, size_t len,
                     unsigned char tag[TAGSIZE]) {
  EVP_MAC_CTX *ctx = keyedwith(key, keylen);
  size_t taglen = 0;
  if (ctx == NULL || !EVP_MAC_update(ctx, p, len) ||
      !EVP_MAC_final(ctx, tag, &taglen, TAGSIZE) || taglen != TAGSIZE)
    luaL_error(L, "libcrypto could not make an HMAC-SHA256 tag");
}

/* }====================================================== */


/*
** {======================================================
** Options
** =======================================================
*/

typedef struct Frameopts {
  const char *key;  /* NULL: none */
  size_t keylen;
  int code;  /* JOBS_CODE* */
  int strip;
  lua_Number ttl;  /* seconds; 0: no expiry */
  const char *id;  /* IDSIZE bytes, or NULL: random */
  int opts;  /* index of the options table, or 0 */
  int replay;  /* it has a replay check */
} Frameopts;


static void readoptions (lua_State *L, int opts, Frameopts *o, int encoding) {
  static const char *const codes[] = {"bytecode", "source", "none", NULL};
  static const char *const known[] = {"key", "code", "strip", "ttl", "id",
                                      "replay", NULL};
  memset(o, 0, sizeof(*o));
  if (opts == 0 || lua_isnoneornil(L, opts))
    return;
  luaL_checktype(L, opts, LUA_TTABLE);
  jobs_checkoptions(L, opts, known, encoding ? "encode" : "decode");
  o->opts = opts;
  if (lua_getfield(L, opts, "key") != LUA_TNIL) {
    o->key = lua_tolstring(L, -1, &o->keylen);
    if (lua_type(L, -1) != LUA_TSTRING || o->keylen == 0)
      luaL_error(L, "option 'key' must be a non-empty string");
  }
  lua_pop(L, 1);  /* the options table keeps it */
  lua_getfield(L, opts, "code");
  for (o->code = 0; codes[o->code] != NULL; o->code++)
    if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TSTRING &&
                             strcmp(lua_tostring(L, -1), codes[o->code]) == 0))
      break;
  if (codes[o->code] == NULL)
    luaL_error(L, "option 'code' must be \"bytecode\", \"source\" or "
               "\"none\"");
  lua_getfield(L, opts, "strip");
  o->strip = lua_toboolean(L, -1);
  lua_getfield(L, opts, "ttl");
  o->ttl = lua_isnil(L, -1) ? 0 : lua_tonumber(L, -1);
  if (!(o->ttl >= 0 && o->ttl <= 1e12) ||
      (!lua_isnil(L, -1) && !lua_isnumber(L, -1)))
    luaL_error(L, "option 'ttl' must be a number of seconds, 0 to 1e12");
  if (lua_getfield(L, opts, "id") != LUA_TNIL &&
      (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) != IDSIZE))
    luaL_error(L, "option 'id' must be a string of %d bytes", IDSIZE);
  o->id = lua_tostring(L, -1);
  o->replay = (lua_getfield(L, opts, "replay") != LUA_TNIL);
  if (o->replay && encoding)
    luaL_error(L, "option 'replay' is for jobs.decode");
  if (o->replay && !lua_isfunction(L, -1))
    luaL_error(L, "option 'replay' must be a function");
  lua_pop(L, 5);
}

/* }====================================================== */


static void put (unsigned char *p, uint64_t v, int size) {
  int i;
  for (i = 0; i < size; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}


static uint64_t get (const unsigned char *p, int size) {
  uint64_t v = 0;
  int i;
  for (i = size - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}


/*
** A new id: 8 random bytes drawn once a process (again in a child after
** fork) and a count of the frames the process made, so that no two frames
** share one and none is guessed; drawing 16 bytes a frame would cost more
** than the rest of a small frame.
*/
static uint64_t idprefix;  /* 0: not drawn in this process yet */
static uint64_t idcount;

/* No lock is held across a fork (the child would find it held, and the
** module's own fork handlers take the hubs' locks): the prefix is one
** word, set at most once a process, and the child clears it. */
static void redraw (void) {
  __atomic_store_n(&idprefix, 0, __ATOMIC_RELAXED);
}

static void atfork (void) {
  pthread_atfork(NULL, NULL, redraw);
}

static void newid (lua_State *L, unsigned char *id) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  uint64_t prefix;
  pthread_once(&once, atfork);
  prefix = __atomic_load_n(&idprefix, __ATOMIC_ACQUIRE);
  if (prefix == 0) {  /* the first frame of this process */
    uint64_t unset = 0;
    if (RAND_bytes((unsigned char *)&prefix, sizeof(prefix)) != 1)
      luaL_error(L, "libcrypto could not draw a frame's id");
    prefix |= (prefix == 0);  /* 0 means undrawn */
    if (!__atomic_compare_exchange_n(&idprefix, &unset, prefix, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      prefix = unset;  /* another thread drew it first */
  }
  put(id, prefix, 8);
  put(id + 8, __atomic_add_fetch(&idcount, 1, __ATOMIC_RELAXED), 8);
}


/* Writes what made the frame and the probes of this machine at 'h'. */
static void putmaker (unsigned char *h) {
  lua_Integer i = IPROBE;
  lua_Number n = NPROBE;
  memset(h, 0, HEADSIZE);
  memcpy(h, MAGIC, 4);
  h[O_FORMAT] = FORMAT;
  put(h + O_LUA, LUA_VERSION_NUM, 2);
  h[O_INSTRUCTION] = INSTRUCTIONSIZE;
  h[O_INTEGER] = (unsigned char)sizeof(lua_Integer);
  h[O_NUMBER] = (unsigned char)sizeof(lua_Number);
  memcpy(h + O_IPROBE, &i, sizeof(i) < 8 ? sizeof(i) : 8);
  memcpy(h + O_NPROBE, &n, sizeof(n) < 8 ? sizeof(n) : 8);
}


/* Pushes the frame of the 'n' values at 'first', named in errors as
** copy names them with 'root' and 'label'. */
static void encode (lua_State *L, int first, int n, int opts,
                    const char *root, int label) {
  Frameopts o;
  jobs_Out out;
  unsigned char *h;
  first = lua_absindex(L, first);
  if (opts != 0)
    opts = lua_absindex(L, opts);
  readoptions(L, opts, &o, 1);
  lua_pushcfunction(L, jobs_indexnames);
  lua_call(L, 0, 0);
  jobs_outopen(L, &out, 512);
  out.code = o.code;
  out.strip = o.strip;
  out.keyed = (o.key != NULL);
  out.n = HEADSIZE;
  jobs_copytobytes(L, first, n, &out, root, label);
  if (out.n - HEADSIZE > UINT32_MAX)
    luaL_error(L, "a frame's body holds 4 GiB at most");
  h = out.p;
  putmaker(h);
  h[O_FLAGS] = (unsigned char)(out.has | (o.key ? F_TAGGED : 0) |
                               (o.strip ? F_STRIPPED : 0));
  if (o.id != NULL)
    memcpy(h + O_ID, o.id, IDSIZE);
  else
    newid(L, h + O_ID);
  if (o.ttl > 0)
    put(h + O_EXPIRES, (uint64_t)time(NULL) + (uint64_t)(o.ttl + 0.5), 8);
  put(h + O_VALUES, (uint64_t)n, 4);
  put(h + O_BODY, out.n - HEADSIZE, 4);
  if (o.key != NULL) {
    unsigned char *tag = jobs_outroom(&out, TAGSIZE);
    maketag(L, o.key, o.keylen, out.p, out.n, tag);
    out.n += TAGSIZE;
  }
  lua_pushlstring(L, (const char *)out.p, out.n);
  lua_remove(L, out.slot);
}


JOBS_API void jobs_encode (lua_State *L, int first, int n, int opts) {
  encode(L, first, n, opts, "value %d", 1);
}


/* jobs.encode(options, ...) */
int jobs_luaencode (lua_State *L) {
  encode(L, 2, lua_gettop(L) - 1, 1, "argument %d", 2);
  return 1;
}


/*
** {======================================================
** Reading a frame: everything but the body is checked first, the tag
** before all the rest
** =======================================================
*/

/* Pushes what the header 'h' says of its maker's 'field': "32-bit
** integers". */
static const char *pushtrait (lua_State *L, const unsigned char *h,
                              int field) {
  switch (field) {
    case O_INTEGER:
      return lua_pushfstring(L, "%d-bit integers", h[O_INTEGER] * 8);
    case O_NUMBER:
      return lua_pushfstring(L, "%d-bit floats", h[O_NUMBER] * 8);
    case O_INSTRUCTION:
      return lua_pushfstring(L, "%d-bit instructions", h[O_INSTRUCTION] * 8);
    default:  /* the probes */
      return lua_pushfstring(L, "a %s machine's numbers",
                             h[O_IPROBE] == (IPROBE & 0xff) ?
                             "little-endian" : "big-endian");
  }
}


/* Raises why this Lua cannot load the code of a frame made as 'h' says:
** "frame made by Lua 5.4 with 32-bit integers; this is Lua 5.4 with
** 64-bit integers". */
static void checkmaker (lua_State *L, const unsigned char *h, int bytecode) {
  static const int fields[] = {O_INTEGER, O_NUMBER, O_INSTRUCTION, O_IPROBE};
  unsigned char mine[HEADSIZE];
  int v = (int)get(h + O_LUA, 2), i;
  if (v != LUA_VERSION_NUM)
    luaL_error(L, "frame made by Lua %d.%d; this is Lua %d.%d, which cannot "
               "load its code", v / 100, v % 100, LUA_VERSION_NUM / 100,
               LUA_VERSION_NUM % 100);
  if (!bytecode)
    return;
  putmaker(mine);
  for (i = 0; i < 4; i++) {
    int f = fields[i], size = (f == O_IPROBE) ? 16 : 1;  /* both probes */
    if (memcmp(h + f, mine + f, size) != 0) {
      const char *theirs = pushtrait(L, h, f);
      luaL_error(L, "frame made by Lua %d.%d with %s; this is Lua %d.%d "
                 "with %s (bytecode needs the same)", v / 100, v % 100,
                 theirs, LUA_VERSION_NUM / 100, LUA_VERSION_NUM % 100,
                 pushtrait(L, mine, f));
    }
  }
}


/* Whether the frame 's' is whole and a frame at all; returns its body's
** length, and whether it is tagged. */
static size_t checkframe (lua_State *L, const unsigned char *s, size_t len,
                          int *tagged) {
  size_t body, whole;
  if (len < HEADSIZE || memcmp(s, MAGIC, 4) != 0)
    luaL_error(L, "not a luajobs frame (%s)", len < HEADSIZE ?
               "too short" : "it does not begin as one");
  if (s[O_FORMAT] != FORMAT)
    luaL_error(L, "frame of format %d; this luajobs reads format %d",
               s[O_FORMAT], FORMAT);
  *tagged = (s[O_FLAGS] & F_TAGGED) != 0;
  body = (size_t)get(s + O_BODY, 4);
  whole = HEADSIZE + body + (*tagged ? TAGSIZE : 0);
  if (len < whole)
    luaL_error(L, "frame cut short: %I bytes of %I", (LUAI_UACINT)len,
               (LUAI_UACINT)whole);
  if (len > whole)
    luaL_error(L, "frame followed by %I bytes that are not its own",
               (LUAI_UACINT)(len - whole));
  return body;
}


/* Whether a receiver with 'o' takes what the frame 's' carries. */
static void checkcode (lua_State *L, const unsigned char *s, const Frameopts *o,
                       int tagged) {
  int has = s[O_FLAGS] & JOBS_WCODE;
  if (o->key != NULL && !tagged)
    luaL_error(L, "frame has no tag: refused (a receiver given a key takes "
               "tagged frames only)");
  if (has == 0)
    return;
  if (o->key == NULL)
    luaL_error(L, "frame carries code%s: refused, nothing loaded",
               tagged ? " and a tag, but no key was given to check it" :
               " but no tag");
  if (o->code == JOBS_CODENONE)
    luaL_error(L, "frame carries code: refused (code = \"none\")");
  if (o->code == JOBS_CODESOURCE && (has & JOBS_WBYTECODE))
    luaL_error(L, "frame carries bytecode: refused (code = \"source\" "
               "takes source text only)");
  checkmaker(L, s, (has & JOBS_WBYTECODE) != 0);
}


/* Whether the frame's id and expiry let it in. */
static void checkfresh (lua_State *L, const unsigned char *s,
                        const Frameopts *o) {
  uint64_t expires = get(s + O_EXPIRES, 8);
  if (expires != 0) {  /* the clock may be a system call away */
    uint64_t now = (uint64_t)time(NULL);
    if (now > expires)
      luaL_error(L, "frame expired %I s ago: refused",
                 (LUAI_UACINT)(now - expires));
  }
  if (o->replay) {
    lua_getfield(L, o->opts, "replay");
    lua_pushlstring(L, (const char *)s + O_ID, IDSIZE);
    if (expires != 0 && expires <= (uint64_t)LUA_MAXINTEGER)
      lua_pushinteger(L, (lua_Integer)expires);
    else
      lua_pushnil(L);
    lua_call(L, 2, 1);
    if (lua_toboolean(L, -1))
      luaL_error(L, "frame replayed (its replay check knows its id): "
                 "refused");
    lua_pop(L, 1);
  }
}


/* Pushes the values of the frame 's' and returns how many. */
static int decode (lua_State *L, const unsigned char *s, size_t len,
                   int opts) {
  Frameopts o;
  int tagged, top;
  size_t body;
  lua_Integer n;
  if (opts != 0)
    opts = lua_absindex(L, opts);
  readoptions(L, opts, &o, 0);
  top = lua_gettop(L);
  body = checkframe(L, s, len, &tagged);
  if (tagged && o.key != NULL) {
    unsigned char tag[TAGSIZE];
    maketag(L, o.key, o.keylen, s, HEADSIZE + body, tag);
    if (CRYPTO_memcmp(tag, s + HEADSIZE + body, TAGSIZE) != 0)
      luaL_error(L, "frame's tag does not match the key: refused, nothing "
                 "read");
  }
  checkcode(L, s, &o, tagged);
  checkfresh(L, s, &o);
  n = (lua_Integer)get(s + O_VALUES, 4);
  jobs_readbody(L, s + HEADSIZE, body, n, s[O_FLAGS] & JOBS_WCODE,
                tagged && o.key != NULL);
  return lua_gettop(L) - top;
}


JOBS_API int jobs_decode (lua_State *L, const char *s, size_t len,
                          int opts) {
  return decode(L, (const unsigned char *)s, len, opts);
}


/* jobs.decode(options, frame) */
int jobs_luadecode (lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_settop(L, 2);
  return decode(L, (const unsigned char *)s, len, 1);
}

/* }====================================================== */
