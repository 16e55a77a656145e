#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The Zeek writer keeps the state of every open session (found through an index, up to 65,536
open at once; past that a session gets no rows and the end says how many). This builds a corpus
at test time (bench/make_corpus.py, small lab captures, thousands of copies in flight: more
open at once than the writer's former limit of 4,096) and checks that every session that sent
USER has at least one ftp.log row, with its user, and that nothing was refused.
Exit 0 = every session logged, 1 = not (printed)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_corpus  # noqa: E402


def main():
    ftpinspect, out = sys.argv[1], sys.argv[2]
    lab_corpus.make(out, ("pureftpd_anonymous", "vsftpd_login_failed_then_ok",
                          "vsftpd_blocked_data_port"), 8000, 25, "zeek-open")
    js = lab_corpus.run(ftpinspect, out, "--format", "json").stdout
    want = {}
    for line in js.splitlines():
        e = json.loads(line)
        if e["event"] == "session" and e.get("user"):
            want[(e["client"]["ip"], e["client"]["port"])] = e["user"]
    z = lab_corpus.run(ftpinspect, out, "--format", "zeek")
    got = {}
    for line in z.stdout.splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        got.setdefault((f[2], int(f[3])), set()).add(f[6])
    missing = [k for k in want if k not in got]
    wrong = [k for k in want if k in got and want[k] not in got[k]]
    print(f"{len(want)} sessions that sent USER, {len(got)} with ftp.log rows; {len(missing)} "
          f"without rows, {len(wrong)} without their user; stderr: {z.stderr.strip()!r}")
    if len(want) < 5000:
        print("FAIL: the corpus did not hold enough sessions")
        return 1
    for k in (missing + wrong)[:5]:
        print(f"  {k}: user {want[k]!r}, rows' users {sorted(got.get(k, []))}")
    return 1 if missing or wrong or "no ftp.log rows" in z.stderr else 0


if __name__ == "__main__":
    sys.exit(main())
