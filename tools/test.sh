#!/usr/bin/env bash
# test.sh [plain|asan|tsan|fuzz ...]: builds luajobs three ways (or those
# named) and runs every spec on each: a plain build on the system's lua5.4,
# then AddressSanitizer+UndefinedBehaviorSanitizer and ThreadSanitizer
# builds on a Lua compiled with the same sanitizer; then fuzzes the reader
# of frames for a minute (FUZZ_SECONDS). Any failure, leak, race or
# undefined behaviour fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(plain asan tsan fuzz)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

run() {  # run NAME [cmake options...]
  local name=$1; shift
  echo "== $name build"
  cmake -S . -B "build-$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DLUAJOBS_TESTS_REQUIRED=ON "$@" >/dev/null
  cmake --build "build-$name" -j "$jobs" >/dev/null
  ctest --test-dir "build-$name" -j "$jobs" --output-on-failure
}

for b in "${builds[@]}"; do
  case $b in
    plain) run plain ;;
    asan|tsan)
      lua_src=${lua_src:-$(tools/lua-source.sh)}
      sanitizer=$([ "$b" = asan ] && echo address || echo thread)
      run "$b" -DLUAJOBS_SANITIZE="$sanitizer" -DLUAJOBS_LUA_SOURCE="$lua_src" ;;
    fuzz) echo "== fuzz"; bash tools/fuzz.sh "${FUZZ_SECONDS:-60}" ;;
    *) echo "test.sh: no build '$b' (plain, asan, tsan, fuzz)" >&2; exit 2 ;;
  esac
done
echo "passed: ${builds[*]}"
