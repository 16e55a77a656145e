#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The layering check must fail on an upward call, an upward include and a cycle, and pass on a
# clean tree: two tiny stages built here.
set -eu
check=$1
cc=${CC:-cc}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mk() { # tree: low.c high.c bodies
	rm -rf "$t/src" "$t/obj"; mkdir -p "$t/src/low" "$t/src/high" "$t/obj/low" "$t/obj/high"
	printf '%s\n' "$1" > "$t/src/low/low.c"; printf '%s\n' "$2" > "$t/src/high/high.c"
	printf '%s\n' "$3" > "$t/src/low/low2.c"
	printf 'int high(void);\n' > "$t/src/high/high.h"
	for f in low/low low/low2 high/high; do $cc -c -I"$t/src/high" "$t/src/$f.c" -o "$t/obj/$f.c.o"; done
	python3 "$check" "$t/src" "$t/obj" low high > "$t/out" 2>&1
}
expect() { # want-status what
	if mk "$3" "$4" "$5"; then got=0; else got=1; fi
	if [ "$got" != "$1" ]; then echo "FAIL: $2 (status $got)"; cat "$t/out"; exit 1; fi
	echo "ok: $2"
}
expect 0 "clean tree" 'int low(void) { return 1; }' 'int low(void); int high(void) { return low(); }' 'int low2(void) { return 2; }'
expect 1 "upward call" 'int high(void); int low(void) { return high(); }' 'int high(void) { return 0; }' 'int low2(void) { return 2; }'
expect 1 "upward include" '#include "high.h"
int low(void) { return 1; }' 'int high(void) { return 0; }' 'int low2(void) { return 2; }'
expect 1 "cycle in a stage" 'int low2(void); int low(void) { return low2(); }' 'int high(void) { return 0; }' 'int low(void); int low2(void) { return low(); }'
