#!/bin/sh
# check-install.sh LUA: installs luajobs with 'cmake --install' and, as a
# rock, with 'luarocks install' from a tarball of HEAD, into temporary
# trees, then requires it from each with the stock interpreter LUA and runs
# a job, runs one with each installed luajobs interpreter, and looks for
# its man page. Everything it makes is under a temporary folder.
set -eu
lua=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe='local jobs = require "jobs"
local j = jobs.new(function(a, b) return a * b end, 6, 7)
assert(select(2, j:wait(10)) == 42)
assert(require("jobs.luv").start and require("jobs.cqueues").await)
print("installed ok")'

cmake -S . -B "$tmp/build" -DLUAJOBS_TESTS=OFF >/dev/null
cmake --build "$tmp/build" >/dev/null
cmake --install "$tmp/build" --prefix "$tmp/cmake" >/dev/null
LUA_PATH="$tmp/cmake/share/lua/5.4/?.lua" LUA_CPATH="$tmp/cmake/lib/lua/5.4/?.so" \
  "$lua" -e "$probe"
LUA_PATH="$tmp/cmake/share/lua/5.4/?.lua" "$tmp/cmake/bin/luajobs" -e "$probe"
test -f "$tmp/cmake/share/man/man1/luajobs.1"

# The rock, as a user installs it: from the tarball tools/dist.sh makes of
# HEAD, in another folder; it installs what Lua loads and the interpreter,
# none of the C hosts' files; luarocks pack makes a source rock of it.
spec=$(sh tools/dist.sh "$tmp/dist")
mkdir "$tmp/elsewhere"
(cd "$tmp/elsewhere" &&
 luarocks --lua-version 5.4 install --tree "$tmp/rocks" "$spec" >/dev/null &&
 luarocks --lua-version 5.4 pack "$spec" >/dev/null && ls luajobs-*.src.rock >/dev/null)
test "$(ls "$tmp/rocks/lib/lua/5.4")" = "jobs.so"
test -f "$tmp/rocks/share/lua/5.4/jobs/meta.lua"  # the editors' stub
LUA_PATH="$tmp/rocks/share/lua/5.4/?.lua" LUA_CPATH="$tmp/rocks/lib/lua/5.4/?.so" \
  "$lua" -e "$probe"
LUA_PATH="$tmp/rocks/share/lua/5.4/?.lua" "$tmp/rocks/bin/luajobs" -e "$probe"
ls "$tmp"/rocks/lib/luarocks/rocks-5.4/luajobs/*/share/man/man1/luajobs.1 >/dev/null
