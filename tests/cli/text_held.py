#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The text format holds a session's data connection lines until the session's line (at most
1,024 sessions held, 64 lines each; past that they print at once with "(session N)"). The held
sessions are found and dropped through an open-addressing index: this builds a corpus at test
time (bench/make_corpus.py, copies of lab captures with several data connections each, hundreds
of sessions held at once) and checks, session by session, that the data lines printed under each SESSION line (or with its
id, or counted as "not shown") are as many as that session's data events in the JSON output.
Exit 0 = the same, 1 = a difference (printed)."""
import collections
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_corpus  # noqa: E402

RE_SESSION = re.compile(r"^\S+ \S+ SESSION (\d+) ")
RE_NOT_SHOWN = re.compile(r"^    \((\d+) more data connections not shown\)$")
RE_AT_ONCE = re.compile(r"^\S+ \S+ data .* \(session (\d+)\)$")
RE_NO_EVENT = re.compile(r"^session (\d+) \(no session event\):$")


def main():
    ftpinspect, out = sys.argv[1], sys.argv[2]
    lab_corpus.make(out, ("pyftpdlib_mlsd_nlst_appe_stou", "vsftpd_anonymous",
                          "proftpd_anonymous"), 3000, 30, "text-held")
    js = lab_corpus.run(ftpinspect, out, "--format", "json").stdout
    want = collections.Counter()
    for line in js.splitlines():
        e = json.loads(line)
        if e["event"] == "data" and e.get("session"):
            want[e["session"]] += 1
    txt = lab_corpus.run(ftpinspect, out).stdout
    ended = {json.loads(x).get("session") for x in js.splitlines() if '"event":"session"' in x}
    got = collections.Counter()
    cur = None
    held_max = 0
    orphans = []  # a session that ended, with lines printed apart from its SESSION line
    for line in txt.splitlines():
        m = RE_SESSION.match(line) or RE_NO_EVENT.match(line)
        if m:
            cur = int(m.group(1))
            if RE_NO_EVENT.match(line) and cur in ended:
                orphans.append(cur)
            continue
        m = RE_NOT_SHOWN.match(line)
        if m and cur is not None:
            got[cur] += int(m.group(1))
            continue
        if line.startswith("    data ") and cur is not None:
            got[cur] += 1
            continue
        m = RE_AT_ONCE.match(line)
        if m:
            got[int(m.group(1))] += 1
            continue
        cur = None
    # how many sessions were held at once: data events of sessions not yet ended
    open_ = set()
    for line in js.splitlines():
        e = json.loads(line)
        if e["event"] == "data" and e.get("session"):
            open_.add(e["session"])
            held_max = max(held_max, len(open_))
        elif e["event"] == "session":
            open_.discard(e.get("session"))
    bad = [(s, want[s], got[s]) for s in set(want) | set(got) if want[s] != got[s]]
    print(f"{sum(want.values())} data connections of {len(want)} sessions; up to {held_max} "
          f"sessions held at once; {len(bad)} sessions differ; {len(orphans)} ended sessions "
          "with lines held apart")
    if orphans:
        print(f"FAIL: lines held apart from their SESSION line: sessions {orphans[:10]}")
        return 1
    for s, w, g in sorted(bad)[:10]:
        print(f"  session {s}: {w} data events, {g} text lines")
    if held_max < 200:
        print("FAIL: the corpus did not hold enough sessions at once to test the index")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
