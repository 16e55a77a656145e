#!/usr/bin/python3
"""Write a *.truth.json (docs/truth-format.md) from client logs.

Input: one or more client logs in the format ftpclient.py writes (lftp and
curl debug output are first turned into that format by clientlog.py).  The
session endpoints, users, login results, TLS/PROT state and data connections
come from those logs; the scenario script adds what it configured (options,
certificate findings, ...) with --finding/--absent/--options.  Nothing here
reads the capture.

What a capture cannot show is left out: after AUTH TLS the commands, PROT,
file names and reply codes are encrypted, so such keys are not asserted, and
the byte count of a TLS data connection (payload = TLS records) is not
asserted either.
"""
import argparse
import json
import sys

GENERAL_ABSENT = ["ccc_downgrade", "unexpected_data_connection",
                  "host_not_allowed", "protocol_anomaly"]


def session_entry(r, no_ports=False, data_link=None, data_tls=None):
    e = {"client_ip": r["client_ip"]}
    if r.get("client_port") and not no_ports:
        e["client_port"] = r["client_port"]
    e["server_ip"] = r["server_ip"]
    e["server_port"] = r["server_port"]
    if r.get("user") is not None and r.get("login_visible", True):
        e["user"] = r["user"]
        e["login"] = r["login"]
    elif r.get("user") is None and r.get("tls") == "none":
        e["login"] = "none"
    if r.get("anonymous") and r.get("login_visible", True):
        # USER anonymous/ftp: the "password" is an e-mail address, no credential crosses
        e["anonymous"] = True
        e["anonymous_in_clear"] = not r.get("tls_readable") and r.get("tls", "none") == "none"
    mid = r.get("capture_started_at_data")
    if mid is not None:
        # the capture starts after the login: user, PASS and earlier transfers are not in it
        e.pop("user", None)
        e.pop("login", None)
    else:
        e["password_in_clear"] = bool(r.get("password_in_clear")) and not e.get("anonymous")
    e["tls"] = r.get("tls", "none")
    if r.get("prot_visible", True) and (e["tls"] == "none" or r.get("tls_readable")):
        e["prot"] = r.get("prot")
    elif r.get("prot_visible", True) and r.get("prot") is None and e["tls"] == "explicit" \
            and r.get("prot_before_auth_none"):
        e["prot"] = None
    data = []
    for d in r.get("data", [])[mid or 0:]:
        if d.get("no_connection") or d.get("status") == "not_connected":
            continue
        x = {"client_ip": d["client_ip"]}
        if d.get("client_port"):
            x["client_port"] = d["client_port"]
        x["server_ip"] = d["server_ip"]
        x["server_port"] = d["server_port"]
        x["mode"] = d["mode"]
        if not d.get("control_encrypted"):
            x["announced_by"] = d["announced_by"]
            x["command"] = d["command"]
            if d.get("file"):
                x["file"] = d["file"]
            x["link"] = "announced"
            if d.get("status") in ("completed", "aborted", "failed"):
                x["status"] = d["status"]
        x["tls"] = bool(d.get("tls"))
        if not d.get("tls") and d.get("bytes") is not None and d.get("cut_after") is None:
            x["bytes"] = d["bytes"]
        if d.get("tls") and data_tls:
            x["tls_version"], x["tls_cipher"] = data_tls
        if d.get("link"):
            x["link"] = d["link"]
        elif data_link and d.get("control_encrypted") and d.get("tls"):
            x["link"] = data_link
        data.append(x)
    e["data"] = data
    for key, enc in (("data_attempts", False), ("data_attempts_encrypted", True)):
        # attempts under an encrypted control channel cannot be tied to an announcement from
        # the wire: listed for information only (not checked)
        att = [a for a in r.get("data", [])[mid or 0:] if a.get("attempt_result")
               and bool(a.get("control_encrypted")) == enc]
        if att:
            e[key] = [{k: a[k] for k in ("client_ip", "client_port", "server_ip",
                                         "server_port", "attempt_result")
                       if a.get(k) is not None} for a in att]
            for x in e[key]:
                x["result"] = x.pop("attempt_result")
    return e


# ---- the other side of the router -------------------------------------------------------
def load_conntrack(path):
    """conntrack -E lines: [NEW] tcp 6 ... src=A dst=B sport=P dport=Q ... src=C dst=D sport=R dport=S"""
    import re
    out = []
    for ln in open(path):
        if "[NEW]" not in ln:
            continue
        kv = re.findall(r"(src|dst|sport|dport)=(\S+)", ln)
        if len(kv) < 8:
            continue
        o = dict(kv[:4])
        rp = dict(kv[4:8])
        out.append({"orig": (o["src"], int(o["sport"]), o["dst"], int(o["dport"])),
                    # as seen behind the router: initiator = reply's dst, responder = reply's src
                    "inside": (rp["dst"], int(rp["dport"]), rp["src"], int(rp["sport"])),
                    "used": False})
    return out


def translate(ct, cip, cport, sip, sport):
    """the (client_ip, client_port, server_ip, server_port) the server segment saw for a
    connection the client logged; client_port may be unknown (then the first unused match)"""
    for c in ct:
        o = c["orig"]
        if c["used"] or o[0] != cip or o[2] != sip or o[3] != sport:
            continue
        if cport is not None and o[1] != cport:
            continue
        c["used"] = True
        return c["inside"]
    raise SystemExit("mktruth: no conntrack entry for %s:%s -> %s:%s" % (cip, cport, sip, sport))


def to_server_side(recs, ct):
    """rewrite the client-logged endpoints into those on the servers' segment"""
    for r in recs:
        ins = translate(ct, r["client_ip"], r.get("client_port"), r["server_ip"], r["server_port"])
        r["client_ip"], r["client_port"], r["server_ip"], r["server_port"] = ins
        for d in r.get("data", []):
            if d.get("no_connection") or (d.get("status") == "not_connected"
                                          and not d.get("attempt_result")):
                continue
            if d.get("mode") == "active":
                continue  # not used in the two-sided lab
            ins = translate(ct, d["client_ip"], d.get("client_port"), d["server_ip"],
                            d["server_port"])
            d["client_ip"], d["client_port"], d["server_ip"], d["server_port"] = ins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--description", required=True)
    ap.add_argument("--log", action="append", required=True,
                    help="client log JSON (ftpclient.py format)")
    ap.add_argument("--options", default=None, help="JSON list")
    ap.add_argument("--finding", action="append", default=[],
                    help="KIND=MIN or KIND=MIN:MAX (overrides derived counts)")
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--not-absent", action="append", default=[],
                    help="drop a kind from the derived absent list")
    ap.add_argument("--no-sessions-exact", action="store_true")
    ap.add_argument("--no-data-exact", action="store_true")
    ap.add_argument("--no-client-port", action="store_true")
    ap.add_argument("--data-link", default=None,
                    help="link of TLS data connections under an encrypted control "
                         "channel, when the server log shows how they were tied "
                         "(e.g. tls-resumption: vsftpd logged 'reused')")
    ap.add_argument("--skip-session", action="append", type=int, default=[],
                    help="index of a logged session left out of the truth")
    ap.add_argument("--capture-point", choices=["client_side", "server_side"], default=None,
                    help="where the capture was taken (two-sided scenarios)")
    ap.add_argument("--conntrack", default=None,
                    help="router conntrack -E log: with --capture-point server_side the "
                         "endpoints are those behind the router")
    ap.add_argument("--data-attempts", action="store_true",
                    help="passive data connections the client could not open are listed as "
                         "data_attempts (refused = RST, unanswered = SYN timed out) and each "
                         "is a data_connection_missing")
    ap.add_argument("--attempt-unseen", action="store_true",
                    help="the unanswered attempts never reached this capture point (dropped "
                         "before it): they are not listed, yet still data_connection_missing")
    ap.add_argument("--mismatch-by-node", action="store_true",
                    help="server side of a balancer: each data connection or attempt that "
                         "reached another node than its control connection is a "
                         "data_ip_mismatch")
    ap.add_argument("--finding-check", action="append", default=[],
                    help="JSON object appended to finding_checks")
    ap.add_argument("--summary-check", action="append", default=[],
                    help="JSON object appended to summary_checks")
    ap.add_argument("--data-tls", default=None,
                    help="VERSION,CIPHER the server logged for the TLS data connections: "
                         "each TLS data entry carries tls_version and tls_cipher")
    ap.add_argument("--range-check", action="store_true",
                    help="FTPS: the passive ports the data connections used (LO-HI) must be "
                         "named by the summary's passive_ports row and the server event")
    ap.add_argument("--note", default=None, help="what a correct analyzer must conclude here")
    ap.add_argument("--tls-readable", action="store_true",
                    help="the TLS records are not encrypted (NULL cipher): everything sent "
                         "after AUTH TLS is readable on the wire")
    a = ap.parse_args()

    recs = []
    for f in a.log:
        recs += json.load(open(f))["sessions"]
    if a.tls_readable:
        for r in recs:
            r["password_in_clear"] = r.get("pass_count", 0) > 0
            r["failed_pass_clear"] = r.get("failed_pass", 0)
            r["login_visible"] = True
            r["prot_visible"] = True
            r["active_accepted_visible"] = r.get("active_accepted", False)
            r["tls_readable"] = True
            for d in r.get("data", []):
                d["control_encrypted"] = False
    recs = [r for i, r in enumerate(recs) if i not in a.skip_session]
    if a.data_attempts:
        for r in recs:
            for d in r.get("data", []):
                if d.get("status") == "not_connected" and d.get("mode") == "passive":
                    err = d.get("connect_error", "")
                    d["attempt_result"] = "refused" if "refused" in err.lower() else "unanswered"
    if a.capture_point == "server_side":
        if not a.conntrack:
            raise SystemExit("mktruth: --capture-point server_side needs --conntrack")
        if a.attempt_unseen:
            for r in recs:
                for d in r.get("data", []):
                    if d.get("attempt_result") == "unanswered":
                        d["attempt_unseen"] = True
                        d["attempt_result"] = None
        to_server_side(recs, load_conntrack(a.conntrack))

    counts = {}
    mid_sessions = []
    hidden = set()   # kinds that happened where the capture cannot show them (encrypted)

    def add(kind, n):
        counts[kind] = counts.get(kind, 0) + n

    for r in recs:
        if r.get("capture_started_at_data") is not None:
            r["password_in_clear"] = False
            r["failed_pass_clear"] = 0
            mid_sessions.append(r)
        if r.get("active_accepted") and not r.get("active_accepted_visible"):
            hidden.add("active_mode")
        if r.get("failed_pass", 0) > r.get("failed_pass_clear", 0):
            hidden.add("failed_login")
        if r.get("bounce_hidden"):
            hidden.add("bounce")
        if r.get("anonymous") and not r.get("login_visible", True):
            hidden.add("anonymous_login")
        if r.get("pasv_other_addr") and not r.get("pasv_other_addr_visible"):
            hidden.add("nat_private_pasv")
        anon_seen = r.get("anonymous") and r.get("login_visible", True)
        add("plaintext_auth", 1 if r.get("password_in_clear") and not anon_seen else 0)
        add("anonymous_login", 1 if r.get("anonymous") and r.get("login_visible", True) else 0)
        add("failed_login", r.get("failed_pass_clear", 0))
        add("auth_tls_refused", r.get("auth_refused", 0))
        add("encrypted_control", 1 if r.get("tls") == "explicit" else 0)
        add("implicit_tls", 1 if r.get("tls") == "implicit" else 0)
        add("active_mode", 1 if r.get("active_accepted_visible") else 0)
        add("bounce", r.get("bounce", 0))
        add("nat_private_pasv", 1 if r.get("pasv_other_addr_visible") else 0)
        seen = r.get("data", [])[r.get("capture_started_at_data") or 0:]
        add("data_connection_missing", sum(1 for d in seen if not d.get("control_encrypted")
                                           and (d.get("attempt_result") or d.get("attempt_unseen"))))
        if a.mismatch_by_node:
            add("data_ip_mismatch", sum(1 for d in seen if d.get("mode") == "passive"
                                        and not (d.get("attempt_result") and d.get("control_encrypted"))
                                        and (d.get("attempt_result") or not d.get("no_connection"))
                                        and d.get("server_ip")
                                        and d["server_ip"] != r["server_ip"]))
        clear = [d for d in seen if not d.get("no_connection")
                 and d.get("status") != "not_connected" and not d.get("tls")]
        add("cleartext_data", 1 if clear else 0)
        add("data_ip_mismatch", sum(1 for d in clear + [d for d in seen if d.get("tls")]
                                    if d.get("mode") == "passive" and d.get("client_ip")
                                    and d["client_ip"] != r["client_ip"]
                                    and not d.get("no_connection")
                                    and d.get("status") != "not_connected"))

    if a.capture_point == "server_side":
        # the client saw the 227 after the router: whether the server side shows a NAT
        # problem is stated by the scenario (--finding / --absent)
        counts.pop("nat_private_pasv", None)
    findings = {}
    absent = []
    for k, n in counts.items():
        if n:
            findings[k] = {"min": n, "max": n}
        else:
            absent.append(k)
    if mid_sessions:
        # the login is before the capture: the capture holds no PASS, but nothing is
        # asserted about plaintext_auth either way
        findings.pop("plaintext_auth", None)
        if "plaintext_auth" in absent:
            absent.remove("plaintext_auth")
    for f in a.finding:
        k, v = f.split("=")
        if ":" in v:
            lo, hi = v.split(":")
            findings[k] = {"min": int(lo), "max": int(hi)}
        else:
            findings[k] = {"min": int(v)}
        if k in absent:
            absent.remove(k)
    for k in GENERAL_ABSENT + a.absent:
        if k not in absent and k not in findings:
            absent.append(k)
    absent = [k for k in absent if k not in a.not_absent and k not in hidden]

    t = {"pcap": a.pcap, "description": a.description}
    if a.capture_point:
        t["capture_point"] = a.capture_point
    if a.note:
        t["note"] = a.note
    if a.options:
        t["options"] = json.loads(a.options)
    t["sessions_exact"] = not a.no_sessions_exact
    dtls = tuple(a.data_tls.split(",")) if a.data_tls else None
    t["sessions"] = [session_entry(r, a.no_client_port, a.data_link, dtls) for r in recs]
    # a refused or unanswered attempt may or may not be reported as a data event of its own
    t["data_exact"] = not a.no_data_exact and not any(
        e.get("data_attempts") or e.get("data_attempts_encrypted") for e in t["sessions"])
    t["findings"] = dict(sorted(findings.items()))
    t["absent_findings"] = sorted(absent)
    if a.finding_check:
        t["finding_checks"] = [json.loads(x) for x in a.finding_check]
    sc = [json.loads(x) for x in a.summary_check]
    if a.range_check:
        for e in t["sessions"]:
            ports = sorted(d["server_port"] for d in e["data"] if d["mode"] == "passive")
            if ports:
                rng = "%d-%d" % (ports[0], ports[-1]) if ports[0] != ports[-1] else str(ports[0])
                for chk in ("passive_ports", "server_event"):
                    sc.append({"server_ip": e["server_ip"], "check": chk, "text_contains": [rng]})
    if sc:
        t["summary_checks"] = sc
    # the passwords the client sent: no output may show them (tests/golden/check_secrets.py)
    secrets = set()
    for r in recs:
        for e in r.get("transcript", []):
            if len(e) > 2 and e[1] == ">" and str(e[2]).upper().startswith("PASS "):
                pw = str(e[2])[5:]
                if len(pw) >= 4 and pw != r.get("user"):
                    secrets.add(pw)
    if secrets:
        t["secrets"] = sorted(secrets)
    with open(a.out, "w") as fh:
        json.dump(t, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    sys.exit(main())
