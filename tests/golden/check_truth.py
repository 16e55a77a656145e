#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs ftpinspect --format json over a capture and checks every statement of its truth file
(docs/truth-format.md). Exit 0 = all hold, 1 = a mismatch (each one printed), 77 = skipped
(the public captures folder is absent, as in a user's own clone)."""
import argparse
import json
import os
import re
import subprocess
import sys

SKIP = 77
# how a data_connection_missing states the result of a data connection attempt
RESULT_WORDS = {"refused": r"refused|\brst\b|reset", "unanswered": r"unanswered|without answer|no answer"}


def ep_ip(ev, key):
    v = ev.get(key) or {}
    return v.get("ip"), v.get("port")


def text_of(ev, keys=("message", "evidence")):
    return " ".join(str(ev.get(k) or "") for k in keys).lower()


def text_ok(where, text, chk):
    """text_contains (all), text_contains_any (one at least), text_absent (none); lower case"""
    errs = []
    for w in chk.get("text_contains", []):
        if w.lower() not in text:
            errs.append(f"{where}: {w!r} not found in {text!r}")
    anyw = chk.get("text_contains_any", [])
    if anyw and not any(w.lower() in text for w in anyw):
        errs.append(f"{where}: none of {anyw} found in {text!r}")
    for w in chk.get("text_absent", []):
        if w.lower() in text:
            errs.append(f"{where}: {w!r} must not appear in {text!r}")
    return errs


def check_findings(ci, fc, findings, truth_session_ids):
    """finding_checks: findings of `kind` (of truth session `session` when given; whose
    message + evidence contain `match` when given), each with `severity` when given; `count`
    {min,max} of them (default min 1); every one of them must pass the text checks over
    message + evidence"""
    where = f"finding_checks[{ci}] {fc['kind']}"
    sel = [f for f in findings if f["kind"] == fc["kind"]]
    if "session" in fc:
        sid = truth_session_ids.get(fc["session"])
        if sid is None:
            return [f"{where}: truth session {fc['session']} was not matched"]
        sel = [f for f in sel if f.get("session") == sid]
    if "match" in fc:
        sel = [f for f in sel if fc["match"].lower() in text_of(f)]
    errs = []
    cnt = fc.get("count", {"min": 1})
    if len(sel) < cnt.get("min", 0) or (cnt.get("max") is not None and len(sel) > cnt["max"]):
        errs.append(f"{where}: {len(sel)} finding(s), truth says {cnt.get('min', 0)}.."
                    f"{'' if cnt.get('max') is None else cnt['max']}")
    for f in sel:
        if "severity" in fc and f.get("severity") != fc["severity"]:
            errs.append(f"{where}: severity {f.get('severity')!r}, truth says {fc['severity']!r}")
        errs += text_ok(where, text_of(f), fc)
    return errs


def check_summary(ci, sc, servers, summaries):
    """summary_checks: for the server at `server_ip`, the --summary row `check` (status one of
    `status`, text checks over observed + recommendation), or with check "server_event" the
    server event's recommendation"""
    where = f"summary_checks[{ci}] {sc.get('server_ip')} {sc.get('check')}"
    if sc.get("check") == "server_event":
        ev = [e for e in servers if e["server"]["ip"] == sc.get("server_ip", e["server"]["ip"])]
        if not ev:
            return [f"{where}: no server event"]
        return text_ok(where, " ".join(text_of(e, ("recommendation",)) for e in ev), sc)
    rows = []
    for sm in summaries:
        for sv in sm.get("servers", []):
            if sv["server"]["ip"] == sc.get("server_ip", sv["server"]["ip"]):
                rows += [r for r in sv.get("rows", []) if r.get("check") == sc.get("check", r.get("check"))]
    if not rows:
        return [f"{where}: no such summary row"]
    errs = []
    if "status" in sc:
        for r in rows:
            if r.get("status") not in sc["status"]:
                errs.append(f"{where}: status {r.get('status')!r}, truth says one of {sc['status']}")
    text = " ".join(text_of(r, ("observed", "recommendation")) for r in rows)
    return errs + text_ok(where, text, sc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpinspect", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--public-dir", default=None)
    ap.add_argument("--workers", type=int, default=1, help="ftpinspect --workers N")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    with open(a.truth) as f:
        truth = json.load(f)
    base = os.path.dirname(os.path.abspath(a.truth))
    if "public_pcap" in truth:
        pub = a.public_dir or os.environ.get("FTPI_PUBLIC_CAPTURES")
        if not pub:
            here = os.path.dirname(os.path.abspath(__file__))
            pub = os.path.normpath(os.path.join(here, "..", "..", "..", "shared",
                                                "captures-public"))
        pcap = os.path.join(pub, truth["public_pcap"])
        if not os.path.exists(pcap):
            print(f"SKIP: {pcap} not found (public captures are not part of this clone)")
            return SKIP
    else:
        pcap = os.path.join(base, truth["pcap"])
    opts = []
    for o in truth.get("options", []):
        # paths in options are relative to the truth file's folder
        if not o.startswith("-") and os.path.exists(os.path.join(base, o)):
            o = os.path.join(base, o)
        opts.append(o)
    if truth.get("summary_checks"):
        opts.append("--summary")
    cmd = [a.ftpinspect, "-r", pcap, "--format", "json"] + opts
    if a.workers > 1:
        cmd += ["--workers", str(a.workers)]
    if "anomalies" in truth:
        cmd.append("-v")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 3):
        print(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
        return 1
    events = []
    for i, line in enumerate(p.stdout.splitlines()):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            print(f"FAIL: output line {i + 1} is not JSON ({exc}): {line[:200]}")
            return 1
    errors = []
    sessions = [e for e in events if e.get("event") == "session"]
    datas = [e for e in events if e.get("event") == "data"]
    findings = [e for e in events if e.get("event") == "finding"]
    servers = [e for e in events if e.get("event") == "server"]
    summaries = [e for e in events if e.get("event") == "summary"]
    truth_session_ids = {}  # truth session index -> session id of the matched event
    for e in events:
        if "event" not in e or "ts" not in e:
            errors.append(f"event without event/ts: {e}")

    tsessions = truth.get("sessions", [])
    if truth.get("sessions_exact") and len(sessions) != len(tsessions):
        errors.append(f"{len(sessions)} session events, truth has {len(tsessions)}")
    used = set()
    for ti, ts in enumerate(tsessions):
        match = None
        for si, s in enumerate(sessions):
            if si in used:
                continue
            cip, cport = ep_ip(s, "client")
            sip, sport = ep_ip(s, "server")
            if ts.get("client_ip") not in (None, cip) or ts.get("server_ip") not in (None, sip):
                continue
            if "server_port" in ts and ts["server_port"] != sport:
                continue
            if "client_port" in ts and ts["client_port"] != cport:
                continue
            match = si
            break
        if match is None:
            errors.append(f"truth session {ti} ({ts.get('client_ip')}:{ts.get('client_port')} -> "
                          f"{ts.get('server_ip')}:{ts.get('server_port')}) has no session event")
            continue
        used.add(match)
        s = sessions[match]
        truth_session_ids[ti] = s["session"]
        for k in ("user", "login", "tls", "prot"):
            if k in ts and ts[k] != s.get(k):
                errors.append(f"session {s['session']}: {k} is {s.get(k)!r}, truth says {ts[k]!r}")
        if "password_in_clear" in ts:
            # An anonymous login's password is an e-mail address, not a credential: it is
            # anonymous_login, never plaintext_auth (docs/truth-format.md).
            anon = str(ts.get("user", s.get("user") or "")).lower() in ("anonymous", "ftp")
            want = ts["password_in_clear"] and not anon
            has = any(f["kind"] == "plaintext_auth" and f.get("session") == s["session"]
                      for f in findings)
            if has != want:
                errors.append(f"session {s['session']}: plaintext_auth {'present' if has else 'absent'}, "
                              f"truth says password_in_clear={ts['password_in_clear']}"
                              f"{' for an anonymous login' if anon else ''}")
        sfind = [f for f in findings if f.get("session") == s["session"]]
        if ts.get("anonymous") and not any(f["kind"] == "anonymous_login" for f in sfind):
            errors.append(f"session {s['session']}: anonymous login without an anonymous_login finding")
        for ai, at in enumerate(ts.get("data_attempts", [])):
            # a data connection tried and not answered: one data_connection_missing of this
            # session names the address the SYN reached and the result (refused = RST,
            # unanswered = SYN only)
            words = RESULT_WORDS[at["result"]]
            if not any(f["kind"] == "data_connection_missing" and at["server_ip"] in text_of(f)
                       and re.search(words, text_of(f)) for f in sfind):
                errors.append(f"session {s['session']}: data attempt {ai} {at} has no "
                              f"data_connection_missing naming {at['server_ip']} and /{words}/; "
                              f"have: " + "; ".join(
                                  f.get("message", "") for f in sfind
                                  if f["kind"] == "data_connection_missing"))
        sdatas = [d for d in datas if d.get("session") == s["session"]]
        tdatas = ts.get("data", [])
        if truth.get("data_exact") and "data" in ts and len(sdatas) != len(tdatas):
            errors.append(f"session {s['session']}: {len(sdatas)} data events, truth has {len(tdatas)}")
        dused = set()
        for tdi, td in enumerate(tdatas):
            found = None
            for di, d in enumerate(sdatas):
                if di in dused:
                    continue
                cip, cport = ep_ip(d, "client")
                sip, sport = ep_ip(d, "server")
                ok = True
                for k, v in (("client_ip", cip), ("client_port", cport), ("server_ip", sip),
                             ("server_port", sport)):
                    if k in td and td[k] != v:
                        ok = False
                for k in ("mode", "announced_by", "command", "file", "tls", "link", "status",
                          "tls_version", "tls_cipher", "used_address"):
                    if k in td and td[k] != d.get(k):
                        ok = False
                if "bytes" in td and td["bytes"] != d.get("bytes_to_server", 0) + d.get("bytes_to_client", 0):
                    ok = False
                if ok:
                    found = di
                    break
            if found is None:
                errors.append(f"session {s['session']}: truth data {tdi} {td} has no matching data event; "
                              f"have: " + "; ".join(
                                  f"{d.get('announced_by')} {d.get('command')} {d.get('file')} "
                                  f"{d['server']} bytes={d.get('bytes_to_server', 0) + d.get('bytes_to_client', 0)} "
                                  f"status={d.get('status')} link={d.get('link')} tls={d.get('tls')}"
                                  for d in sdatas))
            else:
                dused.add(found)

    counts = {}
    for f in findings:
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    def check_range(what, kind, n, rng):
        lo, hi = rng.get("min", 0), rng.get("max")
        if n < lo or (hi is not None and n > hi):
            errors.append(f"{what} {kind}: {n}, truth says {lo}..{'' if hi is None else hi}")

    for kind, rng in truth.get("findings", {}).items():
        check_range("finding", kind, counts.get(kind, 0), rng)
    acounts = {}
    for e in events:
        if e.get("event") == "anomaly":
            acounts[e.get("kind")] = acounts.get(e.get("kind"), 0) + 1
    for kind, rng in truth.get("anomalies", {}).items():
        check_range("anomaly", kind, acounts.get(kind, 0), rng)
    for kind in truth.get("absent_findings", []):
        if counts.get(kind, 0):
            ex = next(f for f in findings if f["kind"] == kind)
            errors.append(f"finding {kind} must be absent, got {counts[kind]} (e.g. {ex.get('message')})")

    for ci, fc in enumerate(truth.get("finding_checks", [])):
        errors += check_findings(ci, fc, findings, truth_session_ids)
    for ci, sc in enumerate(truth.get("summary_checks", [])):
        errors += check_summary(ci, sc, servers, summaries)

    name = truth.get("public_pcap") or truth.get("pcap")
    if errors:
        print(f"FAIL {name}:")
        for e in errors:
            print("  - " + e)
        return 1
    print(f"ok {name}: {len(sessions)} session(s), {len(datas)} data, {len(findings)} finding(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
