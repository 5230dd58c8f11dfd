rockspec_format = "3.0"
package = "luajobs"
version = "0.2-1"
-- Where the release would be published; tools/dist.sh makes the tarball
-- and a copy of this rockspec that points at it, for installing offline.
source = {
   url = "git+https://github.com/luajobs/luajobs.git",
   tag = "v0.2",
}
description = {
   summary = "Background jobs for Lua 5.4: each on its own thread and lua_State",
   detailed = [[
jobs.new(fn_or_string, ...) starts a job at once on its own OS thread, in
its own fresh lua_State; arguments and results are copied between states.
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
      INSTALL_CMOD = "$(LIBDIR)",
      INSTALL_LMOD = "$(LUADIR)",
      LUAJOBS_TESTS = "OFF",
      LUAJOBS_HOST_FILES = "OFF",  -- C hosts: cmake --install (README)
   },
}
-- luarocks test, in the sources: every spec of the plain build.
test = {
   type = "command",
   command = "bash tools/test.sh plain",
}
