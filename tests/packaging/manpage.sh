#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# libftpinspect(3) renders without groff warnings and names every FTPI_API function of
# ftpinspect.h, so a new public call cannot go undocumented there.
# Usage: manpage.sh SOURCE_DIR
set -eu
src=$1
page="$src/libftpinspect/libftpinspect.3"
header="$src/libftpinspect/include/ftpinspect.h"
warn=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1) || { echo "$warn"; exit 1; }
[ -z "$warn" ] || { echo "groff warnings: $warn"; exit 1; }
n=0 missing=0
for f in $(grep 'FTPI_API' "$header" | grep -o 'ftpi_[a-z0-9_]*(' | tr -d '(' | sort -u); do
	n=$((n + 1))
	if ! grep -Eq "^\.BI? .*[ *]$f\(" "$page"; then
		echo "libftpinspect.3 does not list $f() in its SYNOPSIS"
		missing=$((missing + 1))
	fi
done
echo "$n public functions, $missing missing from libftpinspect.3"
[ "$n" -gt 30 ] && [ "$missing" -eq 0 ]
