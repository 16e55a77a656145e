#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Installs the library (components lib and dev only) into a temporary prefix, then builds
# tests/packaging/consumer.c against it the two ways an integrator would - find_package(ftpinspect)
# (shared and static targets) and pkg-config (shared, and static with --static) - and runs each.
# Then moves the prefix elsewhere and builds again: the .pc and the CMake files must still work.
# Usage: consumer.sh BUILD_DIR WORK_DIR CC WITH_NDPI [SANITIZE]
set -eu
build=$1 work=$2 cc=$3 with_ndpi=$4 sanitize=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
flags=""
[ -n "$sanitize" ] && flags="-fsanitize=$sanitize -fno-omit-frame-pointer"
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
fail() { echo "FAIL: $*" >&2; exit 1; }

for c in lib dev; do
	cmake --install "$build" --prefix "$prefix" --component "$c" >"$work/install-$c.log"
done
echo "installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sort)
[ -z "$(find "$prefix" -name ftpinspect -type f)" ] || fail "the tool is not in lib/dev"

pc=$(find "$prefix" -name libftpinspect.pc)
[ -n "$pc" ] || fail "no libftpinspect.pc"
# shellcheck disable=SC2016
grep -q '^prefix=${pcfiledir}/' "$pc" || fail "the .pc prefix is not \${pcfiledir}-relative"
if [ "$with_ndpi" = ON ]; then
	grep -q '^Requires.private:.*libndpi' "$pc" || fail "built with nDPI but no libndpi in .pc"
else
	! grep -q 'libndpi' "$pc" || fail "built without nDPI but libndpi in .pc"
fi

check_run() { # name binary
	out=$("$2") || fail "$1: consumer exited $?"
	echo "$1: $out"
	case "$out" in *"1 session, 1 plaintext_auth finding"*) ;; *) fail "$1: $out" ;; esac
}

with_cmake() { # prefix tag
	cmake -S "$here" -B "$work/cmake-$2" -DCMAKE_PREFIX_PATH="$1" -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$work/cmake-$2.log"
	cmake --build "$work/cmake-$2" >>"$work/cmake-$2.log" || fail "cmake build ($2)"
	grep -q "ftpinspect_DIR:PATH=$1" "$work/cmake-$2/CMakeCache.txt" ||
		fail "find_package did not use $1"
	lib=$(ldd "$work/cmake-$2/consumer" | awk '/libftpinspect/ {print $3}')
	case "$lib" in "$1"/*) ;; *) fail "consumer ($2) loads libftpinspect from '$lib'" ;; esac
	check_run "find_package shared ($2)" "$work/cmake-$2/consumer"
	! ldd "$work/cmake-$2/consumer_static" | grep -q libftpinspect ||
		fail "consumer_static links the shared library"
	check_run "find_package static ($2)" "$work/cmake-$2/consumer_static"
}

with_pkgconfig() { # prefix tag
	pcdir=$(dirname "$(find "$1" -name libftpinspect.pc)")
	cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags libftpinspect)
	libs=$(PKG_CONFIG_PATH="$pcdir" pkg-config --libs libftpinspect)
	slibs=$(PKG_CONFIG_PATH="$pcdir" pkg-config --static --libs libftpinspect)
	libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir libftpinspect)
	[ -f "$libdir/libftpinspect.so" ] || fail "pkg-config libdir $libdir has no library"
	# shellcheck disable=SC2086
	"$cc" $flags -Wall -Werror $cflags "$here/consumer.c" -o "$work/pc-$2" $libs ||
		fail "pkg-config build ($2)"
	LD_LIBRARY_PATH="$libdir" check_run "pkg-config shared ($2)" "$work/pc-$2"
	# Static: the archive by path, then everything Requires.private brings.
	# shellcheck disable=SC2086,SC2046
	"$cc" $flags -Wall -Werror $cflags "$here/consumer.c" -o "$work/pc-static-$2" \
		"$libdir/libftpinspect.a" $(echo " $slibs " | sed 's/ -lftpinspect / /') ||
		fail "pkg-config --static build ($2)"
	check_run "pkg-config static ($2)" "$work/pc-static-$2"
}

# The version file: same major version and not newer than installed.
mkdir -p "$work/version"
cat >"$work/version/CMakeLists.txt" <<'EOF2'
cmake_minimum_required(VERSION 3.18)
project(version_check LANGUAGES NONE)
find_package(ftpinspect ${WANT} REQUIRED)
message(STATUS "ftpinspect ${ftpinspect_VERSION}")
EOF2
version_ok() { # wanted version; 0 when find_package accepts it
	rm -rf "$work/version/b"
	cmake -S "$work/version" -B "$work/version/b" -DWANT="$1" -DCMAKE_PREFIX_PATH="$prefix" \
		>"$work/version/$1.log" 2>&1
}
version_ok 0.1 || fail "find_package(ftpinspect 0.1) refused"
version_ok 0.0.1 || fail "find_package(ftpinspect 0.0.1) refused"
! version_ok 0.99 || fail "find_package(ftpinspect 0.99) accepted"
! version_ok 1.0 || fail "find_package(ftpinspect 1.0) accepted"
echo "version file: 0.1 and 0.0.1 accepted, 0.99 and 1.0 refused"

with_cmake "$prefix" installed
with_pkgconfig "$prefix" installed
mv "$prefix" "$work/moved"
with_cmake "$work/moved" moved
with_pkgconfig "$work/moved" moved
echo "PASS"
