#!/usr/bin/env bash
# setup.sh: installs what luajobs builds and tests with, on Debian (as root,
# or through sudo). Safe to run again: it installs only what is missing.
set -euo pipefail
packages=(gcc cmake make liblua5.4-dev lua5.4 lua-unit luarocks python3
          dpkg-dev libreadline-dev)
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# The sanitizer builds compile Lua itself from Debian's source package.
src=/etc/apt/sources.list.d/luajobs-src.sources
if ! grep -rqs "^Types:.*deb-src\|^deb-src" /etc/apt/sources.list /etc/apt/sources.list.d; then
  $sudo tee "$src" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $(. /etc/os-release && echo "$VERSION_CODENAME")
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  missing+=(update-lists)
fi
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  pkgs=("${missing[@]/update-lists/}")
  [ -n "${pkgs[*]// /}" ] && $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends ${pkgs[*]}
fi
exit 0
