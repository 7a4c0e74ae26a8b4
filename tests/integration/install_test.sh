#!/bin/sh
# Installs the build into a scratch root (meson install --destdir), then
# compiles and runs examples/hello_libdcos.cpp against that installed copy
# using nothing but `pkg-config --cflags --libs libdcos`.
set -eu
build=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM

meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pc=$(find "$root" -name libdcos.pc | head -n 1)
[ -n "$pc" ] || { echo "libdcos.pc was not installed"; exit 1; }
export PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs libdcos)
echo "pkg-config --cflags --libs libdcos: $flags"

# The example must not see the source or build tree.
c++ -o "$root/hello" "$src/examples/hello_libdcos.cpp" $flags
libdir=$(dirname "$(find "$root" -name 'libdcos.so' | head -n 1)")
out=$(LD_LIBRARY_PATH="$libdir" "$root/hello" 'cpus:2;mem:512;ports:[31000-31009]')
echo "$out"
echo "$out" | grep -q 'offered cpus:1;mem:256;ports:\[31000-31004\]'
echo "$out" | grep -q 'left cpus:1;mem:256;ports:\[31005-31009\]'
LD_LIBRARY_PATH="$libdir" ldd "$root/hello" | grep -q "$root.*libdcos" # the installed copy
echo "installed libdcos works with pkg-config alone"
