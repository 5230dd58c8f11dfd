/*
** fuzz/frame.c: libFuzzer's harness for the reader of frames (SPEC §12).
** Each input is read three ways: as it is, with no key and with the key;
** and made whole and tagged with the key (bytecode not declared), so that
** the body's reader sees every input past the tag. tools/fuzz.sh runs it.
** Only pure libraries can be named by a frame here (see below).
*/

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "jobs.h"
#include "frame.h"
#include "wire.h"

#define KEY	"fuzz key"  /* fuzz/seeds.lua tags with it too */

static lua_State *L;

typedef struct Input {
  const char *p;
  size_t len;
  int keyed;
} Input;


static int decode (lua_State *L) {
  Input *in = (Input *)lua_touserdata(L, 1);
  int opts = 0;
  if (in->keyed) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, KEY);
    lua_setfield(L, -2, "key");
    opts = lua_gettop(L);
  }
  return jobs_decode(L, in->p, in->len, opts);
}


static void readas (const char *p, size_t len, int keyed) {
  Input in;
  in.p = p;
  in.len = len;
  in.keyed = keyed;
  lua_pushcfunction(L, decode);
  lua_pushlightuserdata(L, &in);
  lua_pcall(L, 1, LUA_MULTRET, 0);  /* an error is the answer to most */
  lua_settop(L, 0);
}


/* The input as a whole frame tagged with KEY, declaring no bytecode. */
static void readtagged (const uint8_t *data, size_t size) {
  unsigned char *f;
  unsigned int taglen = 0;
  size_t body;
  int i;
  if (size < HEADSIZE || size - HEADSIZE > UINT32_MAX)
    return;
  f = (unsigned char *)malloc(size + EVP_MAX_MD_SIZE);
  memcpy(f, data, size);
  f[O_FLAGS] = (unsigned char)((f[O_FLAGS] | F_TAGGED) & ~JOBS_WBYTECODE);
  body = size - HEADSIZE;
  for (i = 0; i < 4; i++)
    f[O_BODY + i] = (unsigned char)(body >> (8 * i));
  HMAC(EVP_sha256(), KEY, (int)strlen(KEY), f, size, f + size, &taglen);
  readas((const char *)f, size + taglen, 1);
  free(f);
}


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size) {
  static int n = 0;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    /* Names a frame gives are looked up, never searched for on disk; and
    ** a tagged frame's userdata calls the C function it names (its maker)
    ** with data of its own: only libraries that touch no file, process or
    ** stream may be named here, or the fuzzer would call os.remove. */
    if (luaL_dostring(L, "package.path = '' package.cpath = '' "
                         "local keep = { string = true, table = true, "
                         "math = true, utf8 = true, coroutine = true } "
                         "for name in pairs(package.loaded) do "
                         "  if not keep[name] then package.loaded[name] = nil end "
                         "end") != LUA_OK)
      abort();
  }
  readas((const char *)data, size, 0);
  readas((const char *)data, size, 1);
  readtagged(data, size);
  if (++n % 1000 == 0)
    lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
