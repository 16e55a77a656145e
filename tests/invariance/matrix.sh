#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The full invariance matrix: every capture of captures/, tests/crafted/ and (when present)
# ../shared/captures-public/ through every resegment.py mode, compared with invariance.py.
# Prints one line per case and a count per mode; exit 1 when a case other than frag (expected to
# fail until the defragmenter lands) fails. CI runs only the subset registered in
# invariance.cmake (README.md says which).
#   tests/invariance/matrix.sh FTPINSPECT [MODE...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$1
shift
[ $# -gt 0 ] || set -- seg1 segrand reorder dup vlan qinq sll2 gre erspan2 tshift frag
py=/usr/bin/python3
[ -x "$py" ] || py=python3
caps=$(ls "$root"/captures/*.pcap "$root"/tests/crafted/*.pcap 2>/dev/null)
pub=$root/../shared/captures-public
[ -d "$pub" ] && caps="$caps $(find "$pub" -name '*.pcap' | sort)"
bad=0
for m in "$@"; do
	pass=0 fail=0 skip=0
	for c in $caps; do
		out=$("$py" "$here/invariance.py" --ftpinspect "$bin" --capture "$c" --mode "$m" 2>&1)
		rc=$?
		case $rc in
		0) pass=$((pass + 1)) ;;
		77) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1))
		   echo "FAIL $m $(basename "$c"): $(echo "$out" | grep -m1 -E 'FAIL|resegment')"
		   [ "$m" = frag ] || bad=1 ;;
		esac
	done
	echo "== $m: $pass same, $fail different, $skip skipped"
done
exit $bad
