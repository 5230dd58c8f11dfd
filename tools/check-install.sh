#!/bin/sh
# check-install.sh LUA: installs luajobs with 'cmake --install' and with
# 'luarocks make' into temporary trees, then requires it from each with the
# stock interpreter LUA and runs a job, runs one with each installed luajobs
# interpreter, and looks for its man page. Everything it makes is under a
# temporary folder: luarocks builds in a copy of the sources.
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

mkdir "$tmp/src"
tar -c --exclude='./build*' --exclude=./.deps --exclude=./.git . | tar -x -C "$tmp/src"
(cd "$tmp/src" && luarocks --lua-version 5.4 make --tree "$tmp/rocks" \
   luajobs-0.2-1.rockspec >/dev/null)
LUA_PATH="$tmp/rocks/share/lua/5.4/?.lua" LUA_CPATH="$tmp/rocks/lib/lua/5.4/?.so" \
  "$lua" -e "$probe"
LUA_PATH="$tmp/rocks/share/lua/5.4/?.lua" "$tmp/rocks/bin/luajobs" -e "$probe"
ls "$tmp"/rocks/lib/luarocks/rocks-5.4/luajobs/*/share/man/man1/luajobs.1 >/dev/null
