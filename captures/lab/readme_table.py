#!/usr/bin/python3
"""Rewrites the capture table in captures/README.md from the truth files (run by make-all.sh)."""
import glob
import json
import os

CAP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rows = []
for t in sorted(glob.glob(os.path.join(CAP, "*.truth.json"))):
    j = json.load(open(t))
    f = ", ".join(
        "%s %d%s" % (k, v["min"], ("..%d" % v["max"]) if v.get("max") is not None and v["max"] != v["min"]
                     else ("" if v.get("max") is not None else "+"))
        for k, v in j["findings"].items())
    sz = os.path.getsize(os.path.join(CAP, j["pcap"]))
    rows.append("| `%s` | %s | %s | %d KiB |" % (j["pcap"], j["description"], f, max(1, sz // 1024)))
p = os.path.join(CAP, "README.md")
s = open(p).read()
head = "|---|---|---|---|\n"
start = s.index(head) + len(head)
end = s.index("\nEvery truth file also lists")
s = s[:start] + "\n".join(rows) + "\n" + s[end:]
open(p, "w").write(s)
