/*
** heap.c: a test helper module: heap.inuse(), the bytes malloc has handed
** out and not taken back, in every arena and in blocks of their own (the
** sanitizers' own count under their allocators).
*/

#include <malloc.h>

#include "lua.h"
#include "lauxlib.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <stddef.h>
size_t __sanitizer_get_current_allocated_bytes (void);  /* both runtimes' */
#define inuse()	((lua_Integer)__sanitizer_get_current_allocated_bytes())
#else
static lua_Integer inuse (void) {  /* small blocks, and those mmap'd */
  struct mallinfo2 m = mallinfo2();
  return (lua_Integer)(m.uordblks + m.hblkhd);
}
#endif


static int l_inuse (lua_State *L) {
  lua_pushinteger(L, inuse());
  return 1;
}


int luaopen_heap (lua_State *L) {
  static const luaL_Reg funcs[] = {{"inuse", l_inuse}, {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}
