#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs bench/stream_bench for each binary given (e.g. a build before a change and one after),
interleaved, ROUNDS times at 100, 1k, 10k and 100k open streams, for streams that are not FTP
and for FTP data connections, and prints a markdown table of the medians (ns per call); the
first binary also runs its "floor" mode (one 64-byte line per stream, no library call).

--order seq calls the streams in turn instead of at random (the default, the worst case).

usage: stream_runs.py [--rounds 5] [--calls 1000000] [--order random|seq] NAME=STREAM_BENCH..."""
import argparse
import re
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1000000)
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--order", choices=("random", "seq"), default="random")
    ap.add_argument("bins", nargs="+", help="NAME=path of a stream_bench")
    a = ap.parse_args()
    bins = [b.split("=", 1) for b in a.bins]
    sizes = [int(s) for s in a.sizes.split(",")]
    res = {}
    for _ in range(a.rounds):
        for mode in ("other", "data", "floor"):
            for n in sizes:
                for name, path in (bins if mode != "floor" else bins[:1]):
                    out = subprocess.run([path, str(n), str(a.calls), mode, a.order], capture_output=True,
                                         text=True, check=True).stdout
                    ns = float(re.search(r"ns_per_call=([0-9.]+)", out).group(1))
                    res.setdefault((mode, n, name), []).append(ns)
    cols = [name for name, _ in bins]
    print("| streams | " + " | ".join(f"{m}: {c}" for m in ("other", "data") for c in cols) +
          " | floor |")
    print("|---:|" + "---:|" * (2 * len(cols) + 1))
    for n in sizes:
        cells = []
        for mode in ("other", "data"):
            for c in cols:
                v = res[(mode, n, c)]
                cells.append(f"{statistics.median(v):.1f} ({min(v):.0f}-{max(v):.0f})")
        v = res[("floor", n, cols[0])]
        cells.append(f"{statistics.median(v):.1f} ({min(v):.0f}-{max(v):.0f})")
        print(f"| {n:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
