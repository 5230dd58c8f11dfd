#!/bin/sh
# check-host.sh: installs luajobs into a temporary prefix, then builds C
# hosts against the install alone, out of this tree, and runs them:
# examples/host.c with pkg-config and with a CMake project using
# find_package(luajobs CONFIG), and the README's embedding example with
# the pkg-config line the README gives.
set -eu
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -S . -B "$tmp/build" -DLUAJOBS_TESTS=OFF >/dev/null
cmake --build "$tmp/build" >/dev/null
cmake --install "$tmp/build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n 1)
libdir=${libdir%/pkgconfig}
export PKG_CONFIG_PATH="$libdir/pkgconfig" LD_LIBRARY_PATH="$libdir"

# 1. pkg-config
cp examples/host.c "$tmp/host.c"
cc "$tmp/host.c" -o "$tmp/host-pc" $(pkg-config --cflags --libs luajobs lua5.4)
"$tmp/host-pc" >/dev/null

# 2. CMake, find_package
mkdir "$tmp/project"
cp examples/host.c "$tmp/project/host.c"
cat > "$tmp/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(host C)
find_package(luajobs 0.2 CONFIG REQUIRED)
find_library(LUA_LIBRARY NAMES lua5.4 lua54 lua REQUIRED)
add_executable(host host.c)
# luajobs::luajobs brings jobs.h and Lua's headers; the host brings its Lua.
target_link_libraries(host PRIVATE luajobs::luajobs ${LUA_LIBRARY})
CMAKE
cmake -S "$tmp/project" -B "$tmp/project/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/project/build" >/dev/null
"$tmp/project/build/host" >/dev/null

# 3. the README's example, compiled with the README's command
awk '/^```c$/ { n++; if (n == 1) { on = 1; next } } on && /^```$/ { exit } on' \
  "$root/README.md" > "$tmp/readme.c"
grep -q 'int main' "$tmp/readme.c"
cmd=$(grep -m1 '^cc readme.c' "$root/README.md")
(cd "$tmp" && eval "$cmd" && ./readme) | grep -q 'got	42'
echo "hosts built and ran against the install"
