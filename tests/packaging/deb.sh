#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds the Debian packages with cpack -G DEB, checks each package's file list (dpkg-deb -c)
# against what it must and may hold, checks the control fields that tie them together, unpacks
# them all into a throw-away root (dpkg -x), runs the unpacked tool on a lab capture and builds
# tests/packaging/consumer.c against the unpacked libftpinspect-dev, and loads the unpacked
# Wireshark plugin into tshark.
# Usage: deb.sh BUILD_DIR WORK_DIR SOURCE_DIR CC LIBDIR EXTCAPDIR [WIRESHARK_PLUGIN_DIR]
set -eu
build=$1 work=$2 src=$3 cc=$4 libdir=$5 extcapdir=$6 wsdir=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work" >"$work/cpack.log" 2>&1 ||
	{ cat "$work/cpack.log"; fail "cpack"; }
ls "$work"/*.deb

# check_pkg NAME PATTERN...: every file (not directory) of the package matches one pattern, and
# every pattern not starting with '?' matches at least one file.
check_pkg() {
	name=$1
	shift
	deb=$(ls "$work/${name}_"*.deb 2>/dev/null) || fail "no package $name"
	dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./||' >"$work/$name.files"
	while read -r f; do
		ok=0
		for p in "$@"; do
			# shellcheck disable=SC2254
			case "$f" in ${p#\?}) ok=1 ;; esac
		done
		[ $ok = 1 ] || fail "$name holds unexpected $f"
	done <"$work/$name.files"
	for p in "$@"; do
		case "$p" in \?*) continue ;; esac
		n=0
		while read -r f; do
			# shellcheck disable=SC2254
			case "$f" in $p) n=$((n + 1)) ;; esac
		done <"$work/$name.files"
		[ $n -gt 0 ] || fail "$name lacks $p"
	done
	echo "$name: $(wc -l <"$work/$name.files") files as expected"
}

check_pkg ftpinspect usr/bin/ftpinspect usr/share/man/man1/ftpinspect.1 \
	usr/share/doc/ftpinspect/copyright "?usr/$extcapdir/*"
check_pkg libftpinspect0 "usr/$libdir/libftpinspect.so.0" "usr/$libdir/libftpinspect.so.0.*" \
	usr/share/doc/libftpinspect0/copyright
check_pkg libftpinspect-dev usr/include/ftpinspect.h "usr/$libdir/libftpinspect.a" \
	"usr/$libdir/libftpinspect.so" "usr/$libdir/pkgconfig/libftpinspect.pc" \
	"usr/$libdir/cmake/ftpinspect/ftpinspectConfig.cmake" \
	"usr/$libdir/cmake/ftpinspect/ftpinspectConfigVersion.cmake" \
	"usr/$libdir/cmake/ftpinspect/ftpinspectTargets.cmake" \
	"usr/$libdir/cmake/ftpinspect/ftpinspectTargets-*.cmake" \
	usr/share/man/man3/libftpinspect.3 usr/share/doc/libftpinspect-dev/copyright
if [ -n "$wsdir" ]; then
	check_pkg ftpinspect-wireshark "usr/$wsdir/ftpinspect.so" \
		usr/share/doc/ftpinspect-wireshark/copyright
fi
n=$(find "$work" -maxdepth 1 -name '*.deb' | wc -l)
expected=3
[ -z "$wsdir" ] || expected=4
[ "$n" -eq $expected ] || fail "$n packages, expected $expected"

# Control fields: the dev package pins the library package; the library has shlibs.
field() { dpkg-deb -f "$work/$1_"*.deb "$2"; }
ver=$(field libftpinspect0 Version)
field libftpinspect-dev Depends | grep -q "libftpinspect0 (= $ver)" ||
	fail "libftpinspect-dev does not depend on libftpinspect0 (= $ver)"
dpkg-deb -I "$work"/libftpinspect0_*.deb shlibs | grep -q "^libftpinspect 0 libftpinspect0" ||
	fail "libftpinspect0 has no shlibs"
field ftpinspect Depends | grep -q libpcap || fail "ftpinspect does not depend on libpcap"
for d in "$work"/*.deb; do
	dpkg-deb --fsys-tarfile "$d" | tar -xO --wildcards './usr/share/doc/*/copyright' |
		cmp -s - "$src/LICENSE" || fail "$(basename "$d"): copyright is not LICENSE"
done
echo "control fields: Version $ver, dev pins libftpinspect0, shlibs present, copyright = LICENSE"

# A throw-away root.
root="$work/root"
for d in "$work"/*.deb; do dpkg -x "$d" "$root"; done
tool="$root/usr/bin/ftpinspect"
LD_LIBRARY_PATH="$root/usr/$libdir" ldd "$tool" | grep -q "not found" && fail "unresolved libraries"
LD_LIBRARY_PATH="$root/usr/$libdir" "$tool" --version
out=$(LD_LIBRARY_PATH="$root/usr/$libdir" "$tool" -r "$src/captures/vsftpd_plain_passive.pcap" \
	--format json) || fail "the unpacked tool failed"
echo "$out" | grep -q '"event":"finding","ts":[0-9.]*,"timestamp":"[^"]*","kind":"plaintext_auth"' ||
	fail "no plaintext_auth finding from the unpacked tool"
echo "unpacked tool: $(echo "$out" | grep -c '"event":"finding"') findings," \
	"$(echo "$out" | grep -c '"event":"session"') sessions on vsftpd_plain_passive.pcap"

# The unpacked -dev package, as an integrator would use it.
pcdir="$root/usr/$libdir/pkgconfig"
# shellcheck disable=SC2046
"$cc" -Wall -Werror "$here/consumer.c" -o "$work/consumer" \
	$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs libftpinspect) ||
	fail "consumer build against the unpacked dev package"
out=$(LD_LIBRARY_PATH="$root/usr/$libdir" "$work/consumer") || fail "consumer: $out"
echo "consumer against the unpacked packages: $out"
lib=$(LD_LIBRARY_PATH="$root/usr/$libdir" ldd "$work/consumer" | awk '/libftpinspect/ {print $3}')
case "$lib" in "$root"/*) ;; *) fail "consumer loaded libftpinspect from '$lib'" ;; esac
# The (stripped) static library still links: the archive, then what Requires.private brings.
slibs=$(PKG_CONFIG_PATH="$pcdir" pkg-config --static --libs libftpinspect)
# shellcheck disable=SC2046
"$cc" -Wall -Werror "$here/consumer.c" -o "$work/consumer_static" \
	$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags libftpinspect) \
	"$root/usr/$libdir/libftpinspect.a" $(echo " $slibs " | sed 's/ -lftpinspect / /') ||
	fail "static consumer build against the unpacked dev package"
out=$("$work/consumer_static") || fail "static consumer: $out"
echo "static consumer against the unpacked packages: $out"
# The packaged (stripped) Wireshark plugin loads into tshark and finds a clear-text login: the
# plugin tests' own harness, given the unpacked file.
if [ -n "$wsdir" ]; then
	majmin=$(echo "$wsdir" | sed -n 's|.*/plugins/\([0-9]*\.[0-9]*\)/epan$|\1|p')
	[ -n "$majmin" ] || fail "no Wireshark version in $wsdir"
	for t in loaded filter_plaintext_auth; do
		rc=0
		python3 "$src/tests/wireshark/ws_test.py" --plugin "$root/usr/$wsdir/ftpinspect.so" \
			--majmin "$majmin" --captures "$src/captures" "$t" || rc=$?
		case $rc in
		0) echo "packaged plugin: $t ok" ;;
		77) echo "packaged plugin: $t skipped (see above)" ;;
		*) fail "packaged plugin: $t" ;;
		esac
	done
fi
echo PASS
