#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Tests of the Wireshark plugin (tools/wireshark/): tshark with the freshly built plugin loaded.

Usage: ws_test.py --plugin SO --majmin 4.0 --captures DIR [--cli FTPINSPECT] TEST
Exit 0 = pass, 1 = fail, 77 = skipped (tshark missing, or running as root without setpriv).
Python 3 standard library only.

The plugin is copied into a temporary HOME, in the per-user plugin directory
$HOME/.local/lib/wireshark/plugins/X.Y/epan/, and tshark runs with that HOME. Wireshark ignores
per-user plugins (and WIRESHARK_PLUGIN_DIR) when started as root, so as root tshark runs as
nobody through setpriv(1); the captures a test reads are copied into the temporary HOME too.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TESTS = {}
ARGS = None
# ftpinspect.severity -> _ws.expert.severity (PI_CHAT, PI_NOTE, PI_WARN, PI_ERROR in epan/proto.h)
SEVERITY = {"info": 0x00200000, "low": 0x00400000, "medium": 0x00600000, "high": 0x00800000}
HOME = None


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def test(fn):
    TESTS[fn.__name__[2:]] = fn
    return fn


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def setup():
    """Creates the temporary HOME with the plugin installed; returns the command prefix."""
    global HOME
    HOME = tempfile.mkdtemp(prefix="ftpi-ws-")
    os.chmod(HOME, 0o755)
    plugdir = os.path.join(HOME, ".local", "lib", "wireshark", "plugins", ARGS.majmin, "epan")
    os.makedirs(plugdir)
    for d in (".local", ".local/lib", ".local/lib/wireshark", ".local/lib/wireshark/plugins",
              ".local/lib/wireshark/plugins/" + ARGS.majmin, plugdir):
        os.chmod(os.path.join(HOME, d), 0o755)
    dst = os.path.join(plugdir, "ftpinspect.so")
    shutil.copyfile(ARGS.plugin, dst)
    os.chmod(dst, 0o755)
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise Skip("running as root (Wireshark ignores per-user plugins) and no setpriv")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return prefix


PREFIX = None


def capture(name):
    """Path of a capture copied into the temporary HOME (readable by the tshark user)."""
    src = os.path.join(ARGS.captures, name)
    dst = os.path.join(HOME, name)
    if not os.path.exists(dst):
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)
    return dst


def capture_from(src):
    """A capture outside --captures, copied into the temporary HOME; returns its name there."""
    name = os.path.basename(src)
    dst = os.path.join(HOME, name)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)
    return name


def tshark(*args):
    env = dict(os.environ)
    env["HOME"] = HOME
    env.pop("WIRESHARK_PLUGIN_DIR", None)
    env.pop("XDG_CONFIG_HOME", None)
    cmd = PREFIX + [ARGS.tshark] + list(args)
    p = subprocess.run(cmd, capture_output=True, env=env, cwd=HOME, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Fail("%s: exit status %d\n%s" % (" ".join(cmd), p.returncode, err))
    return out


def fields(pcap, *names, filt=None, two_pass=False):
    """Rows of tshark -T fields (one list per frame; multiple occurrences joined by ',')."""
    args = ["-r", capture(pcap), "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,"]
    if two_pass:
        args.append("-2")
    if filt:
        args += ["-Y", filt]
    for n in names:
        args += ["-e", n]
    return [line.split("\t") for line in tshark(*args).splitlines()]


def finding_pairs(pcap, two_pass=False):
    """Sorted (frame, kind) pairs of ftpinspect.finding."""
    pairs = []
    for row in fields(pcap, "frame.number", "ftpinspect.finding", filt="ftpinspect.finding",
                      two_pass=two_pass):
        for kind in row[1].split(","):
            pairs.append((int(row[0]), kind))
    return sorted(pairs)


def cli_pairs(pcap):
    """Sorted (frame, kind) pairs of the CLI's findings raised by a packet (not at the end)."""
    p = subprocess.run([ARGS.cli, "-r", os.path.join(ARGS.captures, pcap), "--format", "json"],
                       capture_output=True, timeout=300)
    if p.returncode not in (0, 1, 2):
        raise Fail("ftpinspect -r %s: exit status %d" % (pcap, p.returncode))
    pairs = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        o = json.loads(line)
        if o.get("event") == "finding" and o.get("frame"):
            pairs.append((int(o["frame"]), o["kind"]))
    return sorted(pairs)


# ------------------------------------------------------------------------------------------

@test
def t_loaded():
    """tshark lists the plugin and its fields."""
    out = tshark("-G", "plugins")
    check("ftpinspect.so" in out, "ftpinspect.so not in tshark -G plugins:\n" + out)
    out = tshark("-G", "fields")
    for f in ("ftpinspect.finding", "ftpinspect.severity", "ftpinspect.session",
              "ftpinspect.message", "ftpinspect.evidence", "ftpinspect.data.link",
              "ftpinspect.data.announced_by", "ftpinspect.expect.port"):
        check("\t%s\t" % f in out, "field %s not registered" % f)


@test
def t_filter_plaintext_auth():
    """-Y 'ftpinspect.finding == "plaintext_auth"' finds the PASS frame of the plain capture."""
    rows = fields("vsftpd_plain_passive.pcap", "frame.number", "ftp.request.command",
                  filt='ftpinspect.finding == "plaintext_auth"')
    check(len(rows) == 1, "want one frame, got %r" % rows)
    check(rows[0][1] == "PASS", "the frame is not the PASS command: %r" % rows)
    if ARGS.cli:
        want = [f for f, k in cli_pairs("vsftpd_plain_passive.pcap") if k == "plaintext_auth"]
        check([int(rows[0][0])] == want, "frame %s, the CLI says %r" % (rows[0][0], want))


@test
def t_fields_kinds():
    """-T fields -e ftpinspect.finding lists the kinds of the plain capture, in frame order."""
    out = tshark("-r", capture("vsftpd_plain_passive.pcap"), "-T", "fields",
                 "-e", "ftpinspect.finding")
    kinds = [k for line in out.splitlines() for k in line.split(",") if k]
    check(kinds[:1] == ["plaintext_auth"] and "cleartext_data" in kinds,
          "kinds %r, want plaintext_auth first, and cleartext_data" % kinds)
    if ARGS.cli:
        want = [k for _, k in cli_pairs("vsftpd_plain_passive.pcap")]
        check(kinds == want, "kinds %r, the CLI says %r" % (kinds, want))
    rows = fields("vsftpd_plain_passive.pcap", "ftpinspect.finding", "ftpinspect.severity",
                  "ftpinspect.session", filt="ftpinspect.finding")
    sev = {"plaintext_auth": "high", "cleartext_data": "medium"}
    for r in rows:
        check(r[1] == sev.get(r[0], r[1]) and r[2] == "1", "kind/severity/session %r" % r)


@test
def t_data_expect_fields():
    """Data connections and expectations carry link, announced_by and port."""
    rows = fields("vsftpd_plain_passive.pcap", "ftpinspect.data.link",
                  "ftpinspect.data.announced_by", "ftpinspect.data.command",
                  filt="ftpinspect.data.link")
    check(len(rows) == 3, "want 3 data connections (LIST, RETR, STOR), got %r" % rows)
    check(all(r[0] == "announced" and r[1] == "PASV" for r in rows), "rows %r" % rows)
    check(sorted(r[2] for r in rows) == ["LIST", "RETR", "STOR"], "commands %r" % rows)
    rows = fields("vsftpd_plain_passive.pcap", "ftpinspect.expect.port",
                  "ftpinspect.expect.announced_by", filt="ftpinspect.expect.port")
    check(len(rows) == 3 and all(r[1] == "PASV" and 50000 <= int(r[0]) <= 50010 for r in rows),
          "expectations %r" % rows)
    rows = fields("vsftpd_active_port.pcap", "ftpinspect.data.announced_by",
                  "ftpinspect.data.mode", filt="ftpinspect.data.link")
    check(rows and all(r == ["PORT", "active"] for r in rows), "active data %r" % rows)


@test
def t_expert():
    """Findings appear as Expert Information items of group Security, severity mapped."""
    want = []
    for row in fields("vsftpd_plain_passive.pcap", "frame.number", "ftpinspect.severity",
                      filt="ftpinspect.finding"):
        for sev in row[1].split(","):
            want.append((int(row[0]), SEVERITY[sev]))
    rows = fields("vsftpd_plain_passive.pcap", "frame.number", "_ws.expert.group",
                  "_ws.expert.severity", filt='_ws.expert.group == "Security"')
    got = []
    for r in rows:  # other dissectors' items (TCP's) share the frame: keep group Security
        for group, sev in zip(r[1].split(","), r[2].split(",")):
            if int(group) == 0x0a000000:
                got.append((int(r[0]), int(sev)))
    check(len(want) >= 2 and got == want, "expert items %r, want %r" % (got, want))
    out = tshark("-r", capture("vsftpd_plain_passive.pcap"), "-q", "-z", "expert")
    # The expert text is the finding's message only (no kind/severity prefix).
    want_msg = 'credentials sent in clear text on the control channel (user "ftpilab")'
    check(want_msg in out and "ftpinspect plaintext_auth" not in out,
          "tshark -z expert:\n" + out)
    # One expert entry per kind: each is its own filter field, and findings of different
    # kinds never share one.
    for kind, n in (("plaintext_auth", 1), ("cleartext_data", 1), ("brute_force", 0)):
        rows = fields("vsftpd_plain_passive.pcap", "frame.number",
                      filt="ftpinspect.expert.%s" % kind)
        check(len(rows) == n, "ftpinspect.expert.%s: %r, want %d frame(s)" % (kind, rows, n))
    out = tshark("-G", "fields")
    entries = [l.split("\t") for l in out.splitlines() if l.startswith("F\tCredentials")]
    check(any(e[2] == "ftpinspect.expert.plaintext_auth" for e in entries),
          "no expert entry titled 'Credentials sent in clear text': %r" % entries)


@test
def t_prefs():
    """Preferences: the passive range, the brute-force threshold, the Info column."""
    pcap = "vsftpd_plain_passive.pcap"
    n_expect = len(fields(pcap, "frame.number", filt="ftpinspect.expect.port"))
    args = ["-r", capture(pcap), "-o", "ftpinspect.pasv_range:1-1", "-Y",
            'ftpinspect.finding == "pasv_port_out_of_policy"', "-T", "fields",
            "-e", "frame.number"]
    got = tshark(*args).split()
    check(n_expect > 0 and len(got) == n_expect,
          "pasv_range 1-1: %d out-of-policy frames for %d expectations" % (len(got), n_expect))
    args = ["-r", capture("vsftpd_brute_force.pcap"), "-T", "fields", "-e", "frame.number",
            "-Y", 'ftpinspect.finding == "brute_force"']
    default = tshark(*args).split()
    lowered = tshark("-o", "ftpinspect.brute_force_threshold:2", *args).split()
    check(default and lowered and int(lowered[0]) < int(default[0]),
          "brute_force frames: default %r, threshold 2 %r" % (default, lowered))
    filt = ["-r", capture(pcap), "-Y", 'ftpinspect.finding == "plaintext_auth"']
    check("[ftpinspect: plaintext_auth]" in tshark(*filt), "no Info column mark by default")
    out = tshark("-o", "ftpinspect.info_column:FALSE", *filt)
    check(out.strip() and "[ftpinspect:" not in out, "info_column:FALSE still marks: " + out)


@test
def t_two_pass():
    """Re-dissection is stable: tshark -2 shows what the single pass showed."""
    for pcap in ("vsftpd_plain_passive.pcap", "vsftpd_brute_force.pcap",
                 "vsftpd_ftps_explicit_tls12.pcap", "vsftpd_bounce_port.pcap"):
        one = finding_pairs(pcap)
        two = finding_pairs(pcap, two_pass=True)
        check(one == two, "%s: single pass %r, two passes %r" % (pcap, one, two))
        one = fields(pcap, "frame.number", "ftpinspect.event", filt="ftpinspect.event")
        two = fields(pcap, "frame.number", "ftpinspect.event", filt="ftpinspect.event",
                     two_pass=True)
        check(one == two, "%s: events differ between passes" % pcap)


@test
def t_linktypes():
    """SLL2 and 802.1Q copies of the plain capture give the same findings."""
    want = [k for _, k in finding_pairs("vsftpd_plain_passive.pcap")]
    for pcap in ("vsftpd_plain_passive_sll2.pcap", "vsftpd_plain_passive_vlan.pcap"):
        got = [k for _, k in finding_pairs(pcap)]
        check(got == want, "%s: %r, want %r" % (pcap, got, want))


@test
def t_end_of_capture():
    """A finding raised only at the end of the input is not shown, but counted in the log."""
    editcap = shutil.which("editcap")
    if editcap is None:
        raise Skip("editcap not installed")
    # The capture's announced data connection never comes; cut before the expectation expires.
    src = capture("vsftpd_blocked_data_port.pcap")
    rows = fields("vsftpd_blocked_data_port.pcap", "frame.number",
                  filt='ftpinspect.finding == "data_connection_missing"')
    check(len(rows) == 1, "uncut capture: want one data_connection_missing, got %r" % rows)
    expect = fields("vsftpd_blocked_data_port.pcap", "frame.number", filt="ftpinspect.expect.port")
    check(expect and int(expect[0][0]) < int(rows[0][0]), "no expectation before %r" % rows)
    cut = os.path.join(HOME, "cut.pcap")
    subprocess.run([editcap, "-r", src, cut, "1-%s" % expect[0][0]], check=True,
                   capture_output=True)
    os.chmod(cut, 0o644)
    env = dict(os.environ, HOME=HOME)
    p = subprocess.run(PREFIX + [ARGS.tshark, "--log-level=info", "-r", cut, "-T", "fields",
                                 "-e", "ftpinspect.finding"],
                       capture_output=True, env=env, cwd=HOME, timeout=300)
    out, err = p.stdout.decode(), p.stderr.decode("utf-8", "replace")
    check(p.returncode == 0, "tshark: %d %s" % (p.returncode, err))
    check("data_connection_missing" not in out, "shown although raised at the end: " + out)
    check("1 finding(s) raised only at the end" in err, "no log line; stderr:\n" + err)


@test
def t_matches_cli():
    """Every capture: the plugin's (frame, kind) pairs equal the CLI's per-packet findings."""
    if not ARGS.cli:
        raise Skip("no CLI given")
    errors = []
    names = sorted(n for n in os.listdir(ARGS.captures) if n.endswith(".pcap"))
    for pcap in names:
        ours, cli = finding_pairs(pcap), cli_pairs(pcap)
        if ours != cli:
            errors.append("%s:\n    plugin %r\n    cli    %r" % (pcap, ours, cli))
    check(not errors, "\n".join(errors))


@test
def t_frame_links():
    """FT_FRAMENUM links: announcing frame, data connection's first packet and TCP stream,
    session start and summary frames, certificate frame; all reach the right frames."""
    pcap = "vsftpd_plain_passive.pcap"
    expects = [(int(r[0]), int(r[1])) for r in fields(pcap, "frame.number",
                                                      "ftpinspect.expect.port",
                                                      filt="ftpinspect.expect.port")]
    syns = {int(r[0]): int(r[1]) for r in fields(
        pcap, "frame.number", "tcp.stream", "tcp.dstport",
        filt="tcp.flags.syn == 1 && tcp.flags.ack == 0")}
    ports = {int(r[0]): int(r[2]) for r in fields(
        pcap, "frame.number", "tcp.stream", "tcp.dstport",
        filt="tcp.flags.syn == 1 && tcp.flags.ack == 0")}
    end = fields(pcap, "frame.number", filt='ftpinspect.event == "session"', two_pass=True)
    check(len(end) == 1, "session end frames %r" % end)
    rows = fields(pcap, "ftpinspect.data.announce_frame", "ftpinspect.first_frame",
                  "ftpinspect.tcp_stream", "ftpinspect.session.first_frame",
                  "ftpinspect.session.summary_frame", filt="ftpinspect.data.link",
                  two_pass=True)
    check(len(rows) == 3, "data connections %r" % rows)
    for ann, first, stream, sfirst, ssum in rows:
        first = int(first)
        check(first in syns and syns[first] == int(stream),
              "first frame %d is not the SYN of tcp.stream %s" % (first, stream))
        want = max(f for f, p in expects if p == ports[first] and f < first)
        check(want == int(ann), "announce frame %s, want the expectation of port %d before "
              "frame %d in %r" % (ann, ports[first], first, expects))
        check(int(sfirst) == min(syns) and int(ssum) == int(end[0][0]),
              "session frames %s/%s, want %d/%s" % (sfirst, ssum, min(syns), end[0][0]))
    # Every frame of the control connection and of the data connections carries the session
    # summary (two passes: the summary is known once the session ended).
    allf = fields(pcap, "frame.number", "ftpinspect.session", "ftpinspect.session.summary_frame",
                  filt="tcp", two_pass=True)
    bad = [r for r in allf if r[1] != "1" or r[2] != end[0][0]]
    check(allf and not bad, "frames without the session summary: %r" % bad[:5])
    # data_connection_missing, attempted: the announcing frame is the 227 of its port.
    rows = fields("vsftpd_blocked_data_port.pcap", "frame.number", "ftpinspect.finding.announce_frame",
                  filt='ftpinspect.finding == "data_connection_missing"', two_pass=True)
    exp = fields("vsftpd_blocked_data_port.pcap", "frame.number", filt="ftpinspect.expect.port")
    check(len(rows) == 1 and exp and rows[0][1] == exp[0][0],
          "blocked port: missing %r, expectation %r" % (rows, exp))
    # ... and expired (the data connection's packets cut out): the frame its evidence names.
    editcap = shutil.which("editcap")
    if editcap:
        syn_frames = [r[0] for r in fields("vsftpd_blocked_data_port.pcap", "frame.number",
                                           filt="tcp.stream == 1")]
        cut = os.path.join(HOME, "nosyn.pcap")
        subprocess.run([editcap, capture("vsftpd_blocked_data_port.pcap"), cut] + syn_frames,
                       check=True, capture_output=True)
        os.chmod(cut, 0o644)
        rows = fields("nosyn.pcap", "ftpinspect.finding.announce_frame", "ftpinspect.evidence",
                      filt='ftpinspect.finding == "data_connection_missing"', two_pass=True)
        check(len(rows) == 1 and rows[0][1].endswith("announced in frame " + rows[0][0]),
              "expired expectation: %r" % rows)
    # data_ip_mismatch: the expectation of the port the data connection went to.
    pcap = "vsftpd_data_from_other_ip.pcap"
    rows = fields(pcap, "frame.number", "ftpinspect.finding.announce_frame",
                  "ftpinspect.server.port", filt='ftpinspect.finding == "data_ip_mismatch"',
                  two_pass=True)
    exp = [(int(r[0]), int(r[1])) for r in fields(pcap, "frame.number", "ftpinspect.expect.port",
                                                  filt="ftpinspect.expect.port")]
    check(len(rows) == 1, "data_ip_mismatch rows %r" % rows)
    want = max(f for f, p in exp if p == int(rows[0][2]) and f < int(rows[0][0]))
    check(int(rows[0][1]) == want, "data_ip_mismatch announce frame %s, want %d" % (rows[0][1], want))
    # Certificate findings link to the frame with the TLS Certificate message.
    pcap = "vsftpd_ftps_self_signed.pcap"
    certs = [r[0] for r in fields(pcap, "frame.number", filt="tls.handshake.certificate")]
    rows = fields(pcap, "frame.number", "ftpinspect.finding.cert_frame",
                  filt='ftpinspect.finding == "tls_cert_self_signed"', two_pass=True)
    check(certs and len(rows) == 1 and rows[0][1] == certs[0] and int(rows[0][0]) > int(certs[0]),
          "cert frame %r, certificates in %r" % (rows, certs))


def stats_rows(out):
    """{label: count} of a tshark -z ...,tree table (labels are unique in our trees)."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^\s*(\S.*?)\s{2,}(\d+)\s", line)
        if m:
            rows.setdefault(m.group(1), int(m.group(2)))
    return rows


@test
def t_stats_tree():
    """-z ftpinspect_findings,tree and -z ftpinspect_servers,tree count what the fields say."""
    pcap = "vsftpd_brute_force.pcap"
    kinds = {}
    for r in fields(pcap, "ftpinspect.finding", "ftpinspect.severity", filt="ftpinspect.finding"):
        for k, sev in zip(r[0].split(","), r[1].split(",")):
            kinds[(k, sev)] = kinds.get((k, sev), 0) + 1
    out = tshark("-r", capture(pcap), "-q", "-z", "ftpinspect_findings,tree")
    rows = stats_rows(out)
    got = {}
    for label, n in rows.items():
        m = re.match(r".*\((\w+)\) \[(\w+)\]$", label)
        if m:
            got[(m.group(1), m.group(2))] = n
    check(kinds and got == kinds, "findings tree %r, fields say %r\n%s" % (got, kinds, out))
    check(rows.get("Findings by severity") == sum(kinds.values()) and
          rows.get("high") == sum(n for (k, sev), n in kinds.items() if sev == "high"),
          "severity branch:\n" + out)
    out = tshark("-r", capture("vsftpd_plain_passive.pcap"), "-q", "-z", "ftpinspect_servers,tree")
    rows = stats_rows(out)
    check(rows.get("10.0.2.2:21") == 1 and rows.get("Sessions") == 1 and
          rows.get("Data connections") == 3 and
          rows.get("announced on the control channel (PORT/EPRT/PASV/EPSV reply)") == 3,
          "servers tree %r:\n%s" % (rows, out))


@test
def t_typed_fields():
    """Client and server addresses are FT_IPv4/FT_IPv6, ports FT_UINT16: subnets filter."""
    out = tshark("-G", "fields")
    types = {l.split("\t")[2]: l.split("\t")[3] for l in out.splitlines()
             if l.startswith("F\t") and "\tftpinspect." in l}
    want = {"ftpinspect.client.ip": "FT_IPv4", "ftpinspect.client.ipv6": "FT_IPv6",
            "ftpinspect.client.port": "FT_UINT16", "ftpinspect.server.ip": "FT_IPv4",
            "ftpinspect.server.ipv6": "FT_IPv6", "ftpinspect.server.port": "FT_UINT16",
            "ftpinspect.first_frame": "FT_FRAMENUM", "ftpinspect.tcp_stream": "FT_UINT32",
            "ftpinspect.session.first_frame": "FT_FRAMENUM",
            "ftpinspect.session.summary_frame": "FT_FRAMENUM"}
    for f, t in want.items():
        check(types.get(f) == t, "%s is %s, want %s" % (f, types.get(f), t))
    pcap = "vsftpd_plain_passive.pcap"
    n_all = len(fields(pcap, "frame.number", filt="ftpinspect.client"))
    n_net = len(fields(pcap, "frame.number", filt="ftpinspect.client.ip == 10.0.1.0/24"))
    n_other = len(fields(pcap, "frame.number", filt="ftpinspect.client.ip == 192.0.2.0/24"))
    check(n_all > 0 and n_net == n_all and n_other == 0,
          "client.ip: %d of %d in 10.0.1.0/24, %d in 192.0.2.0/24" % (n_net, n_all, n_other))
    rows = fields(pcap, "ftpinspect.server.port", filt='ftpinspect.finding == "plaintext_auth"')
    check(rows == [["21"]], "server.port of plaintext_auth %r" % rows)
    v6 = capture_from(os.path.join(ARGS.captures, "..", "tests", "crafted", "link_ether_v6.pcap"))
    rows = fields(v6, "ftpinspect.client.ipv6", filt="ftpinspect.client.ipv6 == fd00::/8")
    check(rows and all(r[0].startswith("fd00:") for r in rows), "IPv6 client rows %r" % rows)


@test
def t_info_column():
    """Info-level findings stay out of the Info column unless asked for."""
    pcap = "vsftpd_ftps_explicit_tls12.pcap"
    filt = ["-r", capture(pcap), "-Y", 'ftpinspect.finding == "encrypted_control"']
    out = tshark(*filt)
    check(out.strip() and "[ftpinspect: encrypted_control]" not in out, "default: " + out)
    out = tshark("-o", "ftpinspect.info_column_severity:info", *filt)
    check("[ftpinspect: encrypted_control]" in out, "info_column_severity:info: " + out)


def xwd_to_png(xwd, png):
    """Converts a 24/32-bit ZPixmap XWD screenshot (xwd -root) to PNG; stdlib only."""
    import struct
    import zlib
    with open(xwd, "rb") as f:
        data = f.read()
    h = struct.unpack(">25I", data[:100])
    header_size, fmt, depth, width, height = h[0], h[2], h[3], h[4], h[5]
    byte_order, bpp, bpl, ncolors = h[7], h[11], h[12], h[19]
    if fmt != 2 or bpp not in (24, 32):
        raise Fail("unexpected XWD format %d, %d bits per pixel" % (fmt, bpp))
    off = header_size + ncolors * 12
    rows = []
    step = bpp // 8
    for y in range(height):
        line = data[off + y * bpl: off + y * bpl + width * step]
        out = bytearray(b"\0")
        for x in range(0, width * step, step):
            px = line[x:x + step]
            if byte_order == 0:  # LSBFirst: B G R (X)
                out += bytes((px[2], px[1], px[0]))
            else:
                out += bytes((px[-3], px[-2], px[-1]))
        rows.append(bytes(out))
    raw = b"".join(rows)

    def chunk(tag, body):
        c = struct.pack(">I", len(body)) + tag + body
        return c + struct.pack(">I", zlib.crc32(tag + body) & 0xffffffff)
    with open(png, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))
    del depth
    return len(set(raw[1:width * 3 * height:997]))


class Gui:
    """Xvfb plus a GUI HOME owned by the GUI's user: the plugin, a window geometry, the colouring
    rules and columns the README offers (as shipped), and the captures."""

    def __init__(self):
        self.xvfb, self.wireshark = shutil.which("Xvfb"), shutil.which("wireshark")
        self.xwd, self.xdotool = shutil.which("xwd"), shutil.which("xdotool")
        if not (self.xvfb and self.wireshark and self.xwd):
            raise Skip("needs Xvfb, wireshark (wireshark-qt) and xwd (x11-apps)")
        if not ARGS.artefacts:
            raise Skip("no --artefacts directory")
        os.makedirs(ARGS.artefacts, exist_ok=True)
        self.procs = []
        r, w = os.pipe()
        self.procs.append(subprocess.Popen(
            PREFIX + [self.xvfb, "-displayfd", str(w), "-screen", "0", "1280x800x24",
                      "-nolisten", "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        os.close(w)
        num = b""
        while not num.endswith(b"\n"):
            b = os.read(r, 16)
            if not b:
                break
            num += b
        os.close(r)
        check(num.strip(), "Xvfb did not start")
        self.home = os.path.join(HOME, "gui")
        shutil.copytree(os.path.join(HOME, ".local"), os.path.join(self.home, ".local"))
        conf = os.path.join(self.home, ".config", "wireshark")
        os.makedirs(conf)
        with open(os.path.join(conf, "recent_common"), "w") as f:
            f.write("gui.geometry_main_x: 0\ngui.geometry_main_y: 0\n"
                    "gui.geometry_main_width: 1280\ngui.geometry_main_height: 800\n")
        shipped = os.path.join(ARGS.captures, "..", "tools", "wireshark")
        shutil.copyfile(os.path.join(shipped, "ftpinspect.colorfilters"),
                        os.path.join(conf, "colorfilters"))
        shutil.copyfile(os.path.join(shipped, "ftpinspect.columns"),
                        os.path.join(conf, "preferences"))
        for name in ("vsftpd_plain_passive.pcap", "vsftpd_brute_force.pcap",
                     "vsftpd_ftps_self_signed.pcap"):
            shutil.copyfile(capture(name), os.path.join(self.home, name))
        for root, dirs, files in os.walk(self.home):
            os.chmod(root, 0o700)
            if PREFIX:
                os.chown(root, 65534, 65534)
                for n in files:
                    os.chown(os.path.join(root, n), 65534, 65534)
        self.env = dict(os.environ, HOME=self.home, DISPLAY=":" + num.decode().strip(),
                        QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=self.home,
                        XDG_CACHE_HOME=self.home)
        self.env.pop("WIRESHARK_PLUGIN_DIR", None)
        self.env.pop("XDG_CONFIG_HOME", None)

    def x(self, *cmd):
        """Runs an X client as the GUI's user; returns its standard output."""
        p = subprocess.run(PREFIX + list(cmd), env=self.env, cwd=self.home, timeout=60,
                           capture_output=True)
        return p.stdout.decode("utf-8", "replace")

    def open(self, pcap, *args):
        """Starts Wireshark on a capture and waits for it; returns the process."""
        import time
        logpath = os.path.join(HOME, "wireshark-%s.log" % pcap)
        with open(logpath, "wb") as log:  # written by this process
            ws = subprocess.Popen(PREFIX + [self.wireshark, "-o", "capture.no_interface_load:TRUE",
                                            "-r", os.path.join(self.home, pcap)] + list(args),
                                  env=self.env, cwd=self.home, stdout=log, stderr=log)
        self.procs.append(ws)
        time.sleep(ARGS.gui_wait)
        if ws.poll() is not None:
            with open(logpath, "rb") as f:
                raise Fail("wireshark exited early (%s):\n%s" %
                           (ws.returncode, f.read().decode("utf-8", "replace")))
        return ws

    def windows(self):
        """Titles of the visible windows (xdotool), or None without xdotool."""
        if not self.xdotool:
            return None
        ids = self.x(self.xdotool, "search", "--onlyvisible", "--name", ".").split()
        return [self.x(self.xdotool, "getwindowname", i).strip() for i in ids]

    def shot(self, name):
        """Screenshot of the whole screen into ARTEFACTS/name; checked not to be blank."""
        xwd = os.path.join(self.home, "shot.xwd")
        self.x(self.xwd, "-root", "-silent", "-out", xwd)
        png = os.path.join(ARGS.artefacts, name)
        colours = xwd_to_png(xwd, png)
        check(os.path.getsize(png) > 1000, "empty screenshot %s" % png)
        check(colours > 4, "the screenshot %s is blank (%d colours sampled)" % (png, colours))
        print("screenshot: %s (%d bytes)" % (png, os.path.getsize(png)))

    def close(self, proc=None):
        for p in ([proc] if proc else reversed(self.procs)):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


@test
def t_gui():
    """Wireshark (Qt) under Xvfb with the plugin; screenshots kept as test artefacts in
    ARTEFACTS/: wireshark-gui.png (findings filtered, with the README's columns and colouring
    rules), wireshark-expert.png (Analyze > Expert Information: one entry per finding kind, titled
    in words) and, with xdotool, wireshark-stats.png (Statistics > ftpinspect > Findings)."""
    gui = Gui()
    try:
        ws = gui.open("vsftpd_plain_passive.pcap", "-Y", "ftpinspect.finding")
        gui.shot("wireshark-gui.png")
        if gui.xdotool:
            # Statistics > ftpinspect (the menu's last entry) > Findings (its first).
            main = gui.x(gui.xdotool, "search", "--onlyvisible", "--name",
                         "vsftpd_plain_passive").split()
            check(main, "no main window: %r" % gui.windows())
            gui.x(gui.xdotool, "mousemove", "--window", main[0], "600", "300", "click", "1")
            for keys in (["alt+s"], ["Up"], ["Right"], ["Return"]):
                gui.x(gui.xdotool, "key", "--delay", "300", *keys)
            import time
            time.sleep(3)
            titles = gui.windows()
            check(any("Findings" in t for t in titles),
                  "Statistics > ftpinspect > Findings did not open; windows %r" % titles)
            gui.shot("wireshark-stats.png")
        gui.close(ws)
        ws = gui.open("vsftpd_ftps_self_signed.pcap", "-z", "expert")
        titles = gui.windows()
        check(titles is None or any("Expert Information" in t for t in titles),
              "no Expert Information window: %r" % titles)
        gui.shot("wireshark-expert.png")
    finally:
        gui.close()


def main():
    global ARGS, PREFIX
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--majmin", required=True)
    ap.add_argument("--captures", required=True)
    ap.add_argument("--cli")
    ap.add_argument("--tshark", default=shutil.which("tshark"))
    ap.add_argument("--artefacts", help="where t_gui keeps its screenshots")
    ap.add_argument("--gui-wait", type=float, default=12.0)
    ap.add_argument("test", choices=sorted(TESTS))
    ARGS = ap.parse_args()
    if not ARGS.tshark:
        print("SKIP: tshark not installed")
        return 77
    try:
        PREFIX = setup()
        TESTS[ARGS.test]()
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except Fail as e:
        print("FAIL %s: %s" % (ARGS.test, e))
        return 1
    finally:
        if HOME:
            shutil.rmtree(HOME, ignore_errors=True)
    print("PASS %s" % ARGS.test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
