/*
** hmac.c: tests' HMAC-SHA256 (libcrypto), to tag frames they forge.
*/
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lua.h"
#include "lauxlib.h"

static int sha256 (lua_State *L) {
  size_t klen, dlen;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *data = luaL_checklstring(L, 2, &dlen);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, dlen,
           md, &mdlen) == NULL)
    return luaL_error(L, "HMAC failed");
  lua_pushlstring(L, (const char *)md, mdlen);
  return 1;
}

int luaopen_hmac (lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, sha256);
  lua_setfield(L, -2, "sha256");
  return 1;
}
