#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Builds a small corpus with bench/make_corpus.py from lab captures only (deterministic: the
same inputs and seed give the same bytes) and checks that ftpinspect gives the same events with
1 worker and with each N of --workers. The copies rewrite addresses with few digits, so one
server's sessions come from several clients and one client fails logins on several servers:
under the host-pair spread they land on several workers, and what one engine learns from all of
a server's or a client's sessions (the passive range that links an encrypted session's data
connections, the failed logins behind brute_force) must come out as with one engine.
Exit 0 = the same, 1 = a difference (printed)."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--make-corpus", required=True)
    ap.add_argument("--out", required=True, help="the corpus to write")
    ap.add_argument("--target-mb", type=float, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default="2,4")
    ap.add_argument("captures", nargs="+")
    a = ap.parse_args()
    missing = [c for c in a.captures if not os.path.exists(c)]
    if missing:
        print(f"FAIL: missing captures {missing}")
        return 1
    subprocess.run([sys.executable, a.make_corpus, "--out", a.out, "--input", *a.captures,
                    "--target-mb", str(a.target_mb), "--seed", str(a.seed), "-q"], check=True)
    one = compare.events(a.ftpinspect, a.out, 1)
    kinds = {}
    for x in one:
        for k in ('"link": "inferred"', '"link": "tls-resumption"', '"kind": "brute_force"'):
            kinds[k] = kinds.get(k, 0) + (k in x)
    print(f"{len(one)} events with 1 worker ({kinds})")
    bad = 0
    for n in [int(x) for x in a.workers.split(",")]:
        many = compare.events(a.ftpinspect, a.out, n)
        if many != one:
            bad += 1
            only1 = [x for x in one if x not in many]
            onlyn = [x for x in many if x not in one]
            print(f"FAIL --workers {n}: {len(many)} events, {len(only1)} only with 1, "
                  f"{len(onlyn)} only with {n}")
            for x in only1[:5]:
                print(f"  only with 1: {x[:300]}")
            for x in onlyn[:5]:
                print(f"  only with {n}: {x[:300]}")
        else:
            print(f"--workers {n}: the same {len(many)} events")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
