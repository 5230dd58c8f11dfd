#!/bin/sh
# dist.sh [DIR]: makes the release tarball of the commit checked out,
# DIR/luajobs-V.tar.gz (DIR: dist/), with git archive, and beside it a copy
# of the rockspec whose source is that tarball: luarocks install and pack
# then work offline, from anywhere. Prints the rockspec's path.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
spec=$(ls "$root"/luajobs-*.rockspec)
name=$(basename "$spec" .rockspec)  # luajobs-0.2-1
v=${name#luajobs-}
v=${v%-*}                           # 0.2
git -C "$root" archive --prefix="luajobs-$v/" -o "$out/luajobs-$v.tar.gz" HEAD
sed -e "s|^   url = .*|   url = \"file://$out/luajobs-$v.tar.gz\",|" \
    -e "s|^   tag = .*|   dir = \"luajobs-$v\",|" "$spec" > "$out/$name.rockspec"
echo "$out/$name.rockspec"
