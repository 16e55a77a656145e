#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Validates ftpinspect's JSON output against docs/events.schema.json (JSON Schema 2020-12,
python3-jsonschema from Debian), and the schema against docs/events.md.

  validate_events.py --ftpinspect BIN --source DIR lab|crafted|public|doc

lab, crafted, public: runs `ftpinspect -r FILE --format json -v --flows --stats --summary` (plus
  the options of the capture's truth file, so that policy fields are exercised) on every capture
  of captures/, tests/crafted/ + tests/cli/data/, or ../shared/captures-public/ (skipped, exit
  77, when absent), validates every line with format checks on, checks that no PASS argument
  is shown, and that every event type occurs at least once in the set (anomalies: not in lab).
doc: the schema is itself valid, rejects what it must (an unknown key, kind, severity or
  status), and every event, key, finding kind, summary check and anomaly kind it names is in
  docs/events.md, so the doc cannot drift from the output again.
"""
import argparse
import copy
import glob
import json
import os
import re
import subprocess
import sys

SKIP = 77

try:
    import jsonschema
except ImportError:
    # The Debian package is installed for the system Python; another python3 may come first.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
            os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL: python3-jsonschema is not installed (scripts/install-deps.sh installs it)")
    sys.exit(1)


def load_schema(source):
    with open(os.path.join(source, "docs", "events.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validator(schema):
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def captures(source, which, public_dir):
    """(capture, options) pairs of one set."""
    out = []
    if which == "lab":
        files = sorted(glob.glob(os.path.join(source, "captures", "*.pcap")))
    elif which == "crafted":
        files = sorted(glob.glob(os.path.join(source, "tests", "crafted", "*.pcap")) +
                       glob.glob(os.path.join(source, "tests", "cli", "data", "ftp_*.pcap*")))
    else:
        files = sorted(f for f in glob.glob(os.path.join(public_dir, "**", "*"), recursive=True)
                       if os.path.isfile(f) and re.search(r"\.(pcap|pcapng|cap)(\.gz)?$", f))
    for f in files:
        opts = []
        truth = re.sub(r"\.pcap(ng)?$", ".truth.json", f)
        if truth != f and os.path.exists(truth):
            with open(truth) as t:
                for o in json.load(t).get("options", []):
                    p = os.path.join(os.path.dirname(truth), o)
                    opts.append(p if not o.startswith("-") and os.path.exists(p) else o)
        out.append((f, opts))
    return out


def run_set(a, schema, which):
    public_dir = a.public or os.path.normpath(os.path.join(a.source, "..", "shared",
                                                           "captures-public"))
    if which == "public" and not os.path.isdir(public_dir):
        print(f"SKIP: {public_dir} not found (public captures are not part of this clone)")
        return SKIP
    v = validator(schema)
    counts = {e: 0 for e in schema["properties"]["event"]["enum"]}
    errors = []
    pairs = captures(a.source, which, public_dir)
    if not pairs:
        print(f"FAIL: no captures in the {which} set")
        return 1
    lines = 0
    for pcap, opts in pairs:
        cmd = [a.ftpinspect, "-r", pcap, "--format", "json", "-v", "--flows", "--stats",
               "--summary", "--file-hashes=md5,sha1,sha256"] + opts
        p = subprocess.run(cmd, capture_output=True, text=True)
        name = os.path.relpath(pcap, a.source)
        if p.returncode != 0:
            errors.append(f"{name}: exit {p.returncode}: {p.stderr.strip()[:200]}")
            continue
        for n, line in enumerate(p.stdout.splitlines(), 1):
            lines += 1
            try:
                ev = json.loads(line)
            except ValueError as e:
                errors.append(f"{name}:{n}: not JSON ({e}): {line[:120]}")
                continue
            for err in v.iter_errors(ev):
                where = "/".join(str(x) for x in err.absolute_path) or "(top)"
                errors.append(f"{name}:{n}: {ev.get('event')} {where}: {err.message[:300]}")
            if ev.get("event") == "command" and ev.get("verb") == "PASS" and \
                    ev.get("arg") not in ("***", ""):
                errors.append(f"{name}:{n}: a PASS argument is shown: {ev.get('arg')!r}")
            if ev.get("event") in counts:
                counts[ev["event"]] += 1
    print(f"{which}: {len(pairs)} captures, {lines} JSON lines, {len(errors)} errors")
    print("  events: " + ", ".join(f"{k} {c}" for k, c in counts.items()))
    # Each set must exercise the event types it has: the lab servers are well-behaved, so
    # anomalies come from the crafted and public sets.
    need = [k for k in counts if not (which == "lab" and k == "anomaly")]
    missing = [k for k in need if counts[k] == 0]
    if missing:
        errors.append(f"event types never seen in the {which} set (the check would be vacuous "
                      "for them): " + ", ".join(missing))
    for e in errors[:40]:
        print("FAIL: " + e)
    return 1 if errors else 0


def names_in(schema_part):
    return list(schema_part.get("properties", {}).keys())


def check_doc(a, schema):
    errors = []
    v = validator(schema)
    defs = schema["$defs"]
    # The schema must reject what it claims to.
    good = {"event": "finding", "ts": 1.5, "timestamp": "1970-01-01T00:00:01.500000+0000",
            "community_id": "1:+wZLD5lOVKH/SKWTC3j6beZqa1w=", "kind": "plaintext_auth", "severity": "high",
            "session": 1, "client": {"ip": "192.0.2.1", "port": 40000},
            "server": {"ip": "2001:db8::1", "port": 21}, "message": "m", "evidence": "e",
            "frame": 4}
    if list(v.iter_errors(good)):
        errors.append("a valid finding event is rejected: " +
                      "; ".join(e.message for e in v.iter_errors(good)))
    bad = []
    for path, value in (("extra", 1), ("kind", "plaintext"), ("severity", "critical"),
                        ("client.ip", "not-an-ip"), ("client.ip", "192.0.2.999"), ("client.port", 70000),
                        ("client.extra", 1), ("message", "bell\x07"), ("session", 0),
                        ("timestamp", "1970-01-01T00:00:01Z"), ("community_id", "1:abc")):
        ev = copy.deepcopy(good)
        obj = ev
        keys = path.split(".")
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value
        bad.append((path, ev))
    bad.append(("event", dict(good, event="nope")))
    bad.append(("missing frame", {k: x for k, x in good.items() if k != "frame"}))
    bad.append(("data status", {"event": "data", "ts": 1, "status": "done"}))
    for what, ev in bad:
        if not list(v.iter_errors(ev)):
            errors.append(f"the schema accepts a finding with a bad {what}")
    # The doc names everything the schema allows.
    with open(os.path.join(a.source, "docs", "events.md")) as f:
        doc = f.read()
    ticked = set(re.findall(r"`([^`\n]+)`", doc))
    events = schema["properties"]["event"]["enum"]
    for e in events:
        if not re.search(r"^##+ .*`" + re.escape(e) + "`", doc, re.M):
            errors.append(f"docs/events.md has no section for the `{e}` event")
        for k in names_in(defs[e]):
            if k not in ticked:
                errors.append(f"docs/events.md does not name `{k}` of `{e}` events")
    groups = {
        "finding kind": defs["finding_kind"]["enum"],
        "severity": defs["severity"]["enum"],
        "summary check": defs["summary_row"]["properties"]["check"]["enum"],
        "summary status": defs["summary_row"]["properties"]["status"]["enum"],
        "anomaly kind": defs["anomaly"]["properties"]["kind"]["enum"],
        "summary row key": names_in(defs["summary_row"]),
        "summary server key": names_in(defs["summary"]["properties"]["servers"]["items"]),
    }
    for what, names in groups.items():
        for n in names:
            if n not in ticked:
                errors.append(f"docs/events.md does not name the {what} `{n}`")
    # And the header's finding table is the schema's.
    with open(os.path.join(a.source, "libftpinspect", "include", "ftpinspect.h")) as f:
        hdr = f.read()
    kinds = re.findall(r'XX\(\w+, "(\w+)", FTPI_SEV_', hdr)
    if kinds != defs["finding_kind"]["enum"]:
        errors.append("finding kinds in the schema differ from FTPI_FINDING_MAP: " +
                      str(sorted(set(kinds) ^ set(defs["finding_kind"]["enum"]))))
    stats = re.findall(r"XX\((\w+)\)\s*\\?\n", hdr[hdr.index("FTPI_STATS_MAP(XX)"):
                                                   hdr.index("struct ftpi_stats {")])
    missing = [s for s in stats if s not in defs["stats"]["properties"]]
    if missing:
        errors.append("stats counters missing from the schema: " + ", ".join(missing))
    print(f"doc: {len(events)} event types, {len(bad)} bad events rejected, "
          f"{sum(len(n) for n in groups.values())} names looked up in docs/events.md, "
          f"{len(errors)} errors")
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect")
    ap.add_argument("--source", required=True)
    ap.add_argument("--public", help="public captures folder (default ../shared/captures-public)")
    ap.add_argument("set", choices=["lab", "crafted", "public", "doc"])
    a = ap.parse_args()
    schema = load_schema(a.source)
    if a.set == "doc":
        return check_doc(a, schema)
    if not a.ftpinspect:
        ap.error("--ftpinspect is required")
    return run_set(a, schema, a.set)


if __name__ == "__main__":
    sys.exit(main())
