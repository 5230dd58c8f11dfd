#!/usr/bin/env bash
# run.sh: builds luajobs for speed (build-bench/) and runs the benchmarks,
# printing each figure beside a baseline measured in the same run; "soak"
# runs the soak rows alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLUAJOBS_TESTS=OFF \
      -DLUAJOBS_BENCH=ON >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [ "${1:-}" = remote ]; then  # a server and workers of the run's own
  mkdir -p build-bench/share/jobs  # jobs.remote, where jobs.lua shadows nothing
  cp lua/jobs/*.lua build-bench/share/jobs/
  LUA_CPATH="build-bench/?.so;;" LUA_PATH="spec/?.lua;build-bench/share/?.lua;;" \
    LUAJOBS_EXE=build-bench/luajobs lua5.4 bench/remote.lua
  exit
fi
LUA_CPATH="build-bench/?.so;;" lua5.4 bench/run.lua "$@"
