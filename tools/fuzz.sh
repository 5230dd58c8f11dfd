#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds fuzz/frame.c with clang's libFuzzer, ASan and
# UBSan, over Lua's own source, and fuzzes the reader of frames for SECONDS
# (60 by default), from fuzz/seeds.lua's frames (made with build-plain's
# module, if built). A crash, a leak or UB fails it; libFuzzer leaves the
# input that did it in build-fuzz/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
lua_src=$(tools/lua-source.sh)
out=build-fuzz
mkdir -p "$out/corpus"
lua_c=$(ls "$lua_src"/*.c | grep -v -e '/lua\.c$' -e '/luac\.c$')
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DLUA_USE_LINUX -D_POSIX_C_SOURCE=200809L -I"$lua_src" -Isrc -w \
  fuzz/frame.c src/frame.c src/wire.c src/copy.c src/build.c src/cstack.c src/record.c src/alloc.c $lua_c \
  -lcrypto -lm -ldl -lpthread -o "$out/frame_fuzz"
if [ -f build-plain/jobs.so ]; then
  LUA_CPATH="build-plain/?.so" lua5.4 fuzz/seeds.lua "$out/corpus"
fi
ASAN_OPTIONS=detect_leaks=1 "$out/frame_fuzz" -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$out/" \
  -print_final_stats=1 "$out/corpus" 2>&1 | tail -n 25
