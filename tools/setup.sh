#!/usr/bin/env bash
# setup.sh: installs what luajobs builds and tests with, on Debian (as root,
# or through sudo). Safe to run again: it installs only what is missing.
set -euo pipefail
packages=(gcc cmake make liblua5.4-dev lua5.4 lua-unit luarocks python3
          dpkg-dev libreadline-dev lua-luv lua-cqueues
          libssl-dev lua-messagepack  # frames: their tags, the bench
          clang libclang-rt-14-dev  # the fuzzer: libFuzzer (a recommends)
          lighttpd lighttpd-modules-lua prosody  # hosts the tests run
          redis-server libhiredis-dev socat)  # remote pools, their faults
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# The sanitizer builds compile Lua itself from Debian's source package: if
# no deb-src entry exists, add one with the URIs and suites of the deb
# entries for this release (deb822 .sources files and one-line .list ones).
src=/etc/apt/sources.list.d/luajobs-src
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
if ! grep -rqs "^Types:.*deb-src\|^deb-src" /etc/apt/sources.list /etc/apt/sources.list.d; then
  # (cat reads only files that exist: a missing one would fail the pipe.)
  existing() { for f in "$@"; do [ -f "$f" ] && cat "$f"; done; true; }
  entries=$(existing /etc/apt/sources.list.d/*.sources | awk -v rel="$codename" '
    function has(field, word,   n, w, i) {  # whether word is one of its values
      n = split(field, w, /[ \t]+/)
      for (i = 2; i <= n; i++) if (w[i] == word) return 1
      return 0
    }
    BEGIN { RS = ""; FS = "\n" }
    {
      types = suites = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Types:/) types = $i
        if ($i ~ /^Suites:/) suites = $i
      }
      if (!has(types, "deb") || !has(suites, rel)) next
      for (i = 1; i <= NF; i++)
        if ($i ~ /^Types:/) print "Types: deb-src"; else if ($i !~ /^#/) print $i
      print ""
    }')
  lines=$(existing /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk -v rel="$codename" '{
      line = $0
      sub(/\[[^]]*\] */, "", line)  # options: deb [arch=...] uri suite ...
      split(line, f, " ")
      if (f[1] == "deb" && f[3] == rel) { sub(/^deb/, "deb-src"); print }
    }')
  if [ -n "$entries" ]; then
    printf '%s\n' "$entries" | $sudo tee "$src.sources" >/dev/null
  elif [ -n "$lines" ]; then
    printf '%s\n' "$lines" | $sudo tee "$src.list" >/dev/null
  else
    echo "setup.sh: no deb entry for $codename to make a deb-src entry from" >&2
    exit 1
  fi
  missing+=(update-lists)
fi
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  pkgs=("${missing[@]/update-lists/}")
  [ -n "${pkgs[*]// /}" ] && $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends ${pkgs[*]}
fi
exit 0
