#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Memory under load (issue 18): 100,000 half-sent control sessions and 1,000,000 expectations
# announced and never used, each followed by one complete session; the CLI and ftpi_bench run on
# both, and the peak RSS, the engine's mem_high_water and what it evicted or refused go to
# bench/results.md (the "memload" block, which bench/report.py keeps). Not part of CI: about
# 5 minutes on the 2-core machine, 1 GB under bench/work/.
#   sh bench/memload.sh [--half N] [--expect M] [--no-write]
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTPI_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target ftpinspect ftpi_bench >/dev/null
python3 bench/memload.py --cli "$build/tools/ftpinspect/ftpinspect" \
	--bench "$build/bench/ftpi_bench" "$@"
