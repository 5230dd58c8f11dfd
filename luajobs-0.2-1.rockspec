package = "luajobs"
version = "0.2-1"
source = {
   url = "git+file://.",
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
   },
}
