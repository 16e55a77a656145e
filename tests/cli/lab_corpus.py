# SPDX-License-Identifier: BSD-2-Clause
"""Shared by the CLI tests that need many sessions at once: a corpus made at test time from lab
captures (bench/make_corpus.py: deterministic for the same captures, options and seed), and the
output of ftpinspect over it."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def make(out, captures, in_flight, target_mb, seed):
    """Writes the corpus out from captures/NAME.pcap for each NAME in captures."""
    caps = [os.path.join(REPO, "captures", c + ".pcap") for c in captures]
    subprocess.run([sys.executable, os.path.join(REPO, "bench", "make_corpus.py"), "--out", out,
                    "--input", *caps, "--in-flight", str(in_flight), "--target-mb",
                    str(target_mb), "--seed", seed, "-q"], check=True)


def run(ftpinspect, pcap, *args):
    """ftpinspect -r pcap --no-progress args...: the completed process (exit 0 required)."""
    return subprocess.run([ftpinspect, "-r", pcap, "--no-progress", *args], capture_output=True,
                          text=True, check=True)
