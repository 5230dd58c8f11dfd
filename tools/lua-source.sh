#!/usr/bin/env bash
# lua-source.sh: prints the src/ folder of the Lua that liblua5.4-dev is
# built from, fetching Debian's source package into .deps/ on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/.deps"
found=$(ls -d "$deps"/lua-5.4*/src 2>/dev/null | head -n 1 || true)
if [ -z "$found" ]; then
  mkdir -p "$deps"
  (cd "$deps" && apt-get source -qq --download-only lua5.4 >/dev/null 2>&1 &&
     tar xzf lua5.4_*.orig.tar.gz) ||
    { echo "cannot fetch Lua's source: run tools/setup.sh first" >&2; exit 1; }
  found=$(ls -d "$deps"/lua-5.4*/src | head -n 1)
fi
echo "$found"
