#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The whole test suite: packages, a build with -Werror, then every CTest test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 300
