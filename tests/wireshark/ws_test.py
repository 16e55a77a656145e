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
    check("ftpinspect plaintext_auth (high)" in out, "tshark -z expert:\n" + out)


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
        one = fields(pcap, "frame.number", "ftpinspect.event", filt="ftpinspect")
        two = fields(pcap, "frame.number", "ftpinspect.event", filt="ftpinspect", two_pass=True)
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


def main():
    global ARGS, PREFIX
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--majmin", required=True)
    ap.add_argument("--captures", required=True)
    ap.add_argument("--cli")
    ap.add_argument("--tshark", default=shutil.which("tshark"))
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
