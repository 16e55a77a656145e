#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the hostile-traffic captures of tests/crafted/ with scapy (Debian python3-scapy), each
with its truth file: look-alike protocols with credentials (SMTP, NNTP, POP3, IMAP on their own
ports and on odd ones, from the handshake and picked up mid-stream) that must not become FTP
sessions, server-first and client-first mid-stream sessions on odd ports, every arrival order of
overlapping segments of a PASS line, a conflicting copy of a segment 4 KiB back, a PASS sent
with a tab, 16 MiB control "lines" without CRLF (after a login, and verbless before any server
byte), IPv4 and IPv6 fragments (in order, reversed, overlapping with other bytes), and odd reply
pairing. Every truth file names the secrets of its capture
("secrets"): tests/golden/check_secrets.py greps every output format for them.
Deterministic: fixed addresses, ports, sequence numbers and times. Only the files named here are
written (make.py writes the others).
Run: /usr/bin/python3 tests/crafted/make_hostile.py [case ...] (the files are committed; CI does
not run this; named cases, from CASES, write only theirs)."""
import gzip
import itertools
import json
import os
import sys

from scapy.all import IP, TCP, Ether, IPv6, IPv6ExtHdrFragment, Raw, conf, fragment, fragment6
from scapy.utils import PcapWriter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make import HERE, MAC, T0, Conv, login_conv, truth  # noqa: E402


def write_pcap(name, pkts, gz=False):
    path = os.path.join(HERE, name)
    w = PcapWriter(path, linktype=1, sync=True)
    for p in pkts:
        q = p if p.haslayer(Ether) else Ether(**MAC) / p
        q.time = p.time
        w.write(q)
    w.close()
    if gz:
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        with gzip.GzipFile(path + ".gz", "wb", mtime=0) as g:
            g.write(data)


def write_truth(name, t):
    with open(os.path.join(HERE, name + ".truth.json"), "w") as f:
        json.dump(t, f, indent=2)
        f.write("\n")


def no_session_truth(name, desc, secrets, pcap=None):
    write_truth(name, {"pcap": pcap or name + ".pcap", "description": desc,
                       "sessions_exact": True, "sessions": [],
                       "absent_findings": ["plaintext_auth", "protocol_anomaly"],
                       "secrets": secrets})


# ---- look-alike protocols -------------------------------------------------------------------

def smtp(c):
    c.handshake()
    c.say(1, "220 mail.example.com ESMTP Postfix\r\n")
    c.say(0, "EHLO client.example.com\r\n")
    c.say(1, "250-mail.example.com\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n")
    c.say(0, "AUTH LOGIN\r\n")
    c.say(1, "334 VXNlcm5hbWU6\r\n")
    c.say(0, "Ym9i\r\n")
    c.say(1, "334 UGFzc3dvcmQ6\r\n")
    c.say(0, "c210cFNlY3JldDE=\r\n")
    c.say(1, "235 2.7.0 Authentication successful\r\n")
    c.say(0, "AUTH PLAIN AGJvYgBzbXRwUGxhaW4y\r\n")
    c.say(1, "503 5.5.1 Error: already authenticated\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 2.0.0 Bye\r\n")
    c.close()


def nntp(c):
    c.handshake()
    c.say(1, "200 news.example.com InterNetNews NNRP server INN 2.7 ready (posting ok)\r\n")
    c.say(0, "MODE READER\r\n")
    c.say(1, "200 Posting allowed\r\n")
    c.say(0, "AUTHINFO USER bob\r\n")
    c.say(1, "381 Enter password\r\n")
    c.say(0, "AUTHINFO PASS nntpSecret2\r\n")
    c.say(1, "281 Authentication succeeded\r\n")
    c.say(0, "LIST\r\n")
    c.say(1, "215 Newsgroups in form \"group high low flags\".\r\nmisc.test 3 1 y\r\n.\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "205 Bye!\r\n")
    c.close()


def pop3(c):
    c.handshake()
    c.say(1, "+OK POP3 server ready <1896.697170952@example.com>\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "+OK\r\n")
    c.say(0, "PASS pop3Secret3\r\n")
    c.say(1, "+OK maildrop has 1 message (120 octets)\r\n")
    c.say(0, "STAT\r\n")
    c.say(1, "+OK 1 120\r\n")
    c.say(0, "RETR 1\r\n")
    c.say(1, "+OK 120 octets\r\nSubject: hi\r\n\r\nhello\r\n.\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "+OK bye\r\n")
    c.close()


def imap(c):
    c.handshake()
    c.say(1, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n")
    c.say(0, "a001 LOGIN bob imapSecret4\r\n")
    c.say(1, "a001 OK LOGIN completed\r\n")
    c.say(0, "a002 AUTHENTICATE PLAIN\r\n")
    c.say(1, "+ \r\n")
    c.say(0, "AGJvYgBpbWFwUGxhaW41\r\n")
    c.say(1, "a002 OK done\r\n")
    c.say(0, "a003 LOGOUT\r\n")
    c.say(1, "* BYE\r\na003 OK LOGOUT completed\r\n")
    c.close()


# Mid-stream (no handshake, no greeting): what a capture that starts late shows of each. The
# detector needs evidence only FTP gives (an FTP verb with the reply only FTP gives to it).

# The capture starts with the server's EHLO answer; AUTH, a mail with a lone "." line.
SMTP_MID = [
    (1, "250-mail.example.com\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"),
    (0, "AUTH LOGIN\r\n"),
    (1, "334 VXNlcm5hbWU6\r\n"),
    (0, "Ym9i\r\n"),
    (1, "334 UGFzc3dvcmQ6\r\n"),
    (0, "c210cFNlY3JldDE=\r\n"),
    (1, "235 2.7.0 Authentication successful\r\n"),
    (0, "MAIL FROM:<bob@example.com>\r\n"),
    (1, "250 2.1.0 Ok\r\n"),
    (0, "RCPT TO:<alice@example.com>\r\n"),
    (1, "250 2.1.5 Ok\r\n"),
    (0, "DATA\r\n"),
    (1, "354 End data with <CR><LF>.<CR><LF>\r\n"),
    (0, "Subject: PASV\r\n\r\nUSER bob\r\nLIST\r\n.\r\n"),
    (1, "250 2.0.0 Ok: queued as 4F1B2\r\n"),
    (0, "QUIT\r\n"),
    (1, "221 2.0.0 Bye\r\n"),
]

# Mid-stream SMTP that never sends a lone ".": HELP and NOOP answered with SMTP's codes after an
# AUTH (FTP's verbs, not FTP's replies).
SMTP_MID_NODOT = [
    (1, "250 8BITMIME\r\n"),
    (0, "AUTH PLAIN AGJvYgBzbXRwUGxhaW4y\r\n"),
    (1, "235 2.7.0 Authentication successful\r\n"),
    (0, "HELP\r\n"),
    (1, "214 2.0.0 Ok\r\n"),
    (0, "RSET\r\n"),
    (1, "250 2.0.0 Ok\r\n"),
    (0, "NOOP\r\n"),
    (1, "250 2.0.0 Ok\r\n"),
    (0, "QUIT\r\n"),
    (1, "221 2.0.0 Bye\r\n"),
]

# The capture starts at LIST (an FTP verb) answered by 215 and a list.
NNTP_MID = [
    (0, "LIST\r\n"),
    (1, "215 Newsgroups in form \"group high low flags\".\r\nmisc.test 3 1 y\r\n.\r\n"),
    (0, "GROUP misc.test\r\n"),
    (1, "211 3 1 3 misc.test\r\n"),
    (0, "AUTHINFO USER bob\r\n"),
    (1, "381 Enter password\r\n"),
    (0, "AUTHINFO PASS nntpSecret2\r\n"),
    (1, "281 Authentication succeeded\r\n"),
    (0, "QUIT\r\n"),
    (1, "205 Bye!\r\n"),
]

# The capture starts with the server's 281; LIST answered with a list whose lines look like
# FTP replies, HELP with 100.
NNTP_MID_SERVER_FIRST = [
    (1, "281 Authentication succeeded\r\n"),
    (0, "LIST ACTIVE misc.*\r\n"),
    (1, "215 list of newsgroups follows\r\n226 Re: done\r\n150 opening\r\n.\r\n"),
    (0, "HELP\r\n"),
    (1, "100 Help text follows\r\nAUTHINFO PASS nntpSecret2\r\n.\r\n"),
    (0, "QUIT\r\n"),
    (1, "205 Bye!\r\n"),
]

POP3_MID = [
    (0, "PASS pop3Secret3\r\n"),
    (1, "+OK maildrop has 1 message (120 octets)\r\n"),
    (0, "LIST\r\n"),
    (1, "+OK 1 messages\r\n1 120\r\n.\r\n"),
    (0, "RETR 1\r\n"),
    (1, "+OK 120 octets\r\nSubject: hi\r\n\r\nhello\r\n.\r\n"),
    (0, "QUIT\r\n"),
    (1, "+OK bye\r\n"),
]

IMAP_MID = [
    (0, "a002 AUTHENTICATE PLAIN\r\n"),
    (1, "+ \r\n"),
    (0, "AGJvYgBpbWFwUGxhaW41\r\n"),
    (1, "a002 OK done\r\n"),
    (0, "a003 LIST \"\" *\r\n"),
    (1, "* LIST (\\HasNoChildren) \".\" INBOX\r\na003 OK LIST completed\r\n"),
    (0, "a004 LOGOUT\r\n"),
    (1, "* BYE\r\na004 OK LOGOUT completed\r\n"),
]


def play(c, script):
    """Says each (direction, text) of script on c, then closes it."""
    for d, text in script:
        c.say(d, text)
    c.close()


MIDSTREAM_LOOKALIKES = [
    ("smtp", SMTP_MID, 25, 2525, ["c210cFNlY3JldDE="]),
    ("smtp_nodot", SMTP_MID_NODOT, 25, 2525, ["AGJvYgBzbXRwUGxhaW4y"]),
    ("nntp", NNTP_MID, 119, 1119, ["nntpSecret2"]),
    ("nntp_server_first", NNTP_MID_SERVER_FIRST, 119, 1119, ["nntpSecret2"]),
    ("pop3", POP3_MID, 110, 1110, ["pop3Secret3"]),
    ("imap", IMAP_MID, 143, 1143, ["AGJvYgBpbWFwUGxhaW41"]),
]


def midstream_lookalikes():
    for name, fn, port, odd, secrets in MIDSTREAM_LOOKALIKES:
        for p, sfx in ((port, ""), (odd, "_odd_port")):
            c = Conv(False, 40150, p)
            play(c, fn)
            base = "lookalike_midstream_%s%s" % (name, sfx)
            write_pcap(base + ".pcap", c.pkts)
            no_session_truth(base, "%s picked up mid-stream (no handshake, no greeting) on port "
                             "%d: not FTP" % (name.split("_")[0].upper(), p), secrets)


def midstream_odd_port():
    """FTP picked up mid-stream on an odd port, the client's command first: CWD answered with
    250, PASV with a 227 that parses: the session and its data connection are found."""
    c = Conv(False, 40410, 2200)
    c.say(0, "CWD /pub\r\n")
    c.say(1, "250 Directory successfully changed.\r\n")
    write_pcap("tcp_midstream_odd_port.pcap", pasv_retr_quit(c, 40411, 50030, "z" * 500))
    login_truth("tcp_midstream_odd_port", "mid-stream on port 2200, the client's command "
                "first: CWD/250 and PASV/227 say FTP", [], absent=["plaintext_auth"],
                sessions=[{"client_ip": "10.1.0.1", "client_port": 40410,
                           "server_ip": "10.2.0.2", "server_port": 2200, "login": "none",
                           "data": [{"server_port": 50030, "mode": "passive",
                                     "announced_by": "PASV", "command": "RETR",
                                     "file": "file.bin", "bytes": 500, "status": "completed",
                                     "link": "announced"}]}])


LOOKALIKES = [
    ("smtp", smtp, 25, 2525, ["c210cFNlY3JldDE=", "AGJvYgBzbXRwUGxhaW4y"]),
    ("nntp", nntp, 119, 1119, ["nntpSecret2"]),
    ("pop3", pop3, 110, 1110, ["pop3Secret3"]),
    ("imap", imap, 143, 1143, ["imapSecret4", "AGJvYgBpbWFwUGxhaW41"]),
]


# ---- FTP cases ------------------------------------------------------------------------------

def login_truth(name, desc, secrets, extra_findings=None, absent=None, sessions=None,
                pcap=None, options=None):
    t = {"pcap": pcap or name + ".pcap", "description": desc, "sessions_exact": True,
         "sessions": sessions or [{"client_ip": "10.1.0.1", "server_ip": "10.2.0.2",
                                   "server_port": 21, "user": "bob", "login": "success"}],
         "findings": extra_findings or {},
         "absent_findings": absent or [],
         "secrets": secrets}
    if options:
        t["options"] = options
    write_truth(name, t)


def overlap_orders():
    """Six sessions, one per arrival order of two overlapping pieces of a PASS line and a copy
    with other bytes: the bytes seen first win, each conflict raises tcp_overlap_conflict."""
    pieces = [(0, b"PASS ov"), (4, b" ovlSecret8\r\n"), (5, b"XXXXXX")]
    pkts = []
    for i, order in enumerate(itertools.permutations(range(3))):
        c = Conv(False, 40200 + i, 21)
        c.t = T0 + i
        c.handshake()
        c.say(1, "220 hi\r\n")
        c.say(0, "USER bob\r\n")
        c.say(1, "331 p\r\n")
        base = c.seq[0]
        for k in order:
            off, data = pieces[k]
            c.tcp(0, "PA", seq=base + off, payload=data)
        c.seq[0] = base + 4 + len(pieces[1][1])
        c.say(1, "230 ok\r\n")
        c.close()
        pkts += c.pkts
    write_pcap("tcp_overlap_orders.pcap", pkts)
    sess = [{"client_ip": "10.1.0.1", "client_port": 40200 + i, "server_port": 21,
             "user": "bob", "login": "success", "password_in_clear": True} for i in range(6)]
    login_truth("tcp_overlap_orders", "every arrival order of overlapping segments of a PASS "
                "line with a conflicting copy: first bytes win, tcp_overlap_conflict each time",
                ["ovlSecret8"], {"tcp_overlap_conflict": {"min": 6}}, sessions=sess)


def overlap_old():
    """A copy of the PASS segment sent again with other bytes after 4 KiB more of the client's
    stream (far past the 1 KiB of delivered bytes kept for comparison), and an identical copy of
    a CWD segment as far back: one tcp_overlap_conflict naming the PASS line's bytes, none for
    the identical copy."""
    c = Conv(False, 40250, 21)
    c.handshake()
    c.say(1, "220 hi\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "331 p\r\n")
    pass_seq, pass_line = c.seq[0], b"PASS oldSecret14\r\n"
    c.tcp(0, "PA", payload=pass_line)
    c.say(1, "230 ok\r\n")
    cwd_seq, cwd_line = c.seq[0], b"CWD /pub/directory-number-000\r\n"
    for i in range(140):
        c.say(0, "CWD /pub/directory-number-%03d\r\n" % i)
        c.say(1, "250 Directory successfully changed.\r\n")
    assert c.seq[0] - pass_seq >= 4096
    c.tcp(0, "PA", seq=pass_seq, payload=b"PASS " + b"X" * (len(pass_line) - 7) + b"\r\n")
    c.tcp(0, "PA", seq=cwd_seq, payload=cwd_line)
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    write_pcap("tcp_overlap_old.pcap", c.pkts)
    a = pass_seq - 1001
    rng = "bytes %d-%d" % (a, a + len(pass_line) - 1)
    t = {"pcap": "tcp_overlap_old.pcap",
         "description": "a conflicting copy of the PASS segment 4 KiB back (older than the bytes "
                        "kept for comparison) and an identical copy of a CWD segment: one "
                        "tcp_overlap_conflict naming the PASS line's bytes",
         "sessions_exact": True,
         "sessions": [{"client_ip": "10.1.0.1", "client_port": 40250, "server_ip": "10.2.0.2",
                       "server_port": 21, "user": "bob", "login": "success",
                       "password_in_clear": True}],
         "findings": {"tcp_overlap_conflict": {"min": 1, "max": 1}},
         "finding_checks": [{"kind": "tcp_overlap_conflict", "severity": "high",
                             "text_contains": [rng, "client"]}],
         "absent_findings": [],
         "secrets": ["oldSecret14"]}
    write_truth("tcp_overlap_old", t)


def pass_tab():
    c = Conv(False, 40300, 21)
    c.handshake()
    c.say(1, "220 hi\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "331 p\r\n")
    c.say(0, "PASS\ttabSecret6\r\n")
    c.say(1, "500 Unknown command.\r\n")
    c.say(0, "PASS realSecret7\r\n")
    c.say(1, "230 ok\r\n")
    c.say(0, "secretTyped9\r\n")
    c.say(1, "500 Unknown command.\r\n")
    c.say(0, "ACCT acctSecret10\r\n")
    c.say(1, "202 not needed\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    write_pcap("ftp_pass_tab.pcap", c.pkts)
    login_truth("ftp_pass_tab", "PASS with a tab, a password typed as a command, ACCT: no "
                "secret in any output", ["tabSecret6", "realSecret7", "secretTyped9",
                                         "acctSecret10"], {"protocol_anomaly": {"min": 1}})


def pasv_retr_quit(c, dcport, dport, data):
    """PASV on control connection c, a RETR of file.bin whose data connection goes from dcport
    to dport, the 226, QUIT: the packets of both connections in time order."""
    c.say(0, "PASV\r\n")
    c.say(1, "227 Entering Passive Mode (10,2,0,2,%d,%d).\r\n" % (dport >> 8, dport & 255))
    d = Conv(False, dcport, dport, 7000, 9000)
    d.t = c.t
    d.handshake()
    c.t = d.t
    c.say(0, "RETR file.bin\r\n")
    c.say(1, "150 opening\r\n")
    d.t = c.t
    d.say(1, data)
    d.close()
    c.t = d.t
    c.say(1, "226 done\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    return sorted(c.pkts + d.pkts, key=lambda p: p.time)


def midstream_server_first():
    """The capture starts with the server's reply on an odd control port: the flow is oriented
    by content, the session and its data connection are found."""
    c = Conv(False, 40400, 2100)
    c.say(1, "331 Password required for bob\r\n")
    c.say(0, "PASS midSecret5\r\n")
    c.say(1, "230 User bob logged in\r\n")
    write_pcap("tcp_midstream_server_first.pcap", pasv_retr_quit(c, 40401, 50020, "y" * 1000))
    login_truth("tcp_midstream_server_first", "mid-stream on port 2100, the server's reply "
                "captured first", ["midSecret5"], {"plaintext_auth": {"min": 1, "max": 1}},
                sessions=[{"client_ip": "10.1.0.1", "client_port": 40400,
                           "server_ip": "10.2.0.2", "server_port": 2100, "login": "success",
                           "password_in_clear": True,
                           "data": [{"server_port": 50020, "mode": "passive",
                                     "announced_by": "PASV", "command": "RETR",
                                     "file": "file.bin", "bytes": 1000, "status": "completed",
                                     "link": "announced"}]}])


def overlong_line():
    """A 16 MiB control "line" without CRLF after a login: the session is reported, with an
    anomaly naming the length."""
    c = Conv(False, 40500, 21)
    c.handshake()
    c.say(1, "220 hi\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "331 p\r\n")
    c.say(0, "PASS longSecret11\r\n")
    c.say(1, "230 ok\r\n")
    chunk = b"A" * 65000
    total = 16 << 20
    sent = 0
    c.tcp(0, "PA", payload=b"SITE ")
    while sent < total:
        n = min(len(chunk), total - sent)
        c.tcp(0, "A", payload=chunk[:n])
        sent += n
    c.close()
    write_pcap("tcp_overlong_line.pcap", c.pkts, gz=True)
    login_truth("tcp_overlong_line", "a 16 MiB control line without CRLF", ["longSecret11"],
                {"protocol_anomaly": {"min": 1}}, pcap="tcp_overlong_line.pcap.gz")


def overlong_first_line():
    """A verbless 16 MiB "line" without CRLF sent to port 21 before any server byte, in
    MSS-sized segments: the port and the direction say FTP control, so there is a session with
    an anomaly naming the length."""
    c = Conv(False, 40510, 21)
    c.handshake()
    chunk = b"x" * 1448
    total = 16 << 20
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        c.tcp(0, "PA" if sent == 0 else "A", payload=chunk[:n])
        sent += n
    c.close()
    write_pcap("tcp_overlong_first_line.pcap", c.pkts, gz=True)
    t = {"pcap": "tcp_overlong_first_line.pcap.gz",
         "description": "a verbless 16 MiB control line without CRLF to port 21, before any "
                        "server byte: a session, with an anomaly naming the length",
         "sessions_exact": True,
         "sessions": [{"client_ip": "10.1.0.1", "client_port": 40510, "server_ip": "10.2.0.2",
                       "server_port": 21, "login": "none", "password_in_clear": False}],
         "findings": {"protocol_anomaly": {"min": 1}},
         "finding_checks": [{"kind": "protocol_anomaly", "match": "longer than max_line_len",
                             "count": {"min": 1, "max": 1},
                             "text_contains": ["16777216 bytes", "max_line_len (4096)"]},
                            {"kind": "protocol_anomaly", "text_absent": ["xxxxxxxx"]}],
         "anomalies": {"overlong_command": {"min": 1, "max": 1}},
         "absent_findings": ["plaintext_auth"]}
    write_truth("tcp_overlong_first_line", t)
    # the same on the SMTP port (64 KiB of it): the port does not say FTP, no session
    c = Conv(False, 40511, 25)
    c.handshake()
    for _ in range(45):
        c.tcp(0, "A", payload=chunk)
    c.close()
    write_pcap("tcp_overlong_first_line_port25.pcap", c.pkts)
    no_session_truth("tcp_overlong_first_line_port25", "a verbless 64 KiB line without CRLF to "
                     "port 25 before any server byte: not FTP", [])


def pairing():
    """Odd servers and clients: commands before the 220 greeting, a reply code without its space,
    a line that is no reply, a file transfer before any PORT/PASV. Each reply still answers its
    own command: the login succeeds, PROT P is in force."""
    c = Conv(False, 40600, 21)
    c.handshake()
    c.say(0, "USER bob\r\n")
    c.say(0, "PASS pairSecret12\r\n")
    c.say(1, "220 slow server\r\n")
    c.say(1, "331 password please\r\n")
    c.say(1, "230 logged in\r\n")
    c.say(0, "PBSZ 0\r\n")
    c.say(1, "ok\r\n")
    c.say(0, "PROT P\r\n")
    c.say(1, "200PROT now Private\r\n")
    c.say(0, "RETR early.bin\r\n")
    c.say(1, "425 Use PORT or PASV first.\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    write_pcap("ftp_reply_pairing.pcap", c.pkts)
    login_truth("ftp_reply_pairing", "commands before the greeting, a reply without the space "
                "after its code, a line that is no reply, RETR before PORT/PASV",
                ["pairSecret12"], {"plaintext_auth": {"min": 1, "max": 1}},
                absent=["failed_login"],
                sessions=[{"client_ip": "10.1.0.1", "server_port": 21, "user": "bob",
                           "login": "success", "prot": "P", "password_in_clear": True}])
    t = json.load(open(os.path.join(HERE, "ftp_reply_pairing.truth.json")))
    t["anomalies"] = {"file_before_port": {"min": 1, "max": 1},
                      "reply_without_space": {"min": 1, "max": 1},
                      "garbage_reply": {"min": 1, "max": 1},
                      "reply_without_command": {"max": 0}}
    write_truth("ftp_reply_pairing", t)


# ---- IP fragments -----------------------------------------------------------------------------

def frag_list(p, ident, size):
    """The fragments of one packet (IPv4 or IPv6), each with the packet's time."""
    if p.haslayer(IPv6):
        v = p[IPv6]
        q = IPv6(src=v.src, dst=v.dst) / IPv6ExtHdrFragment(id=ident) / v[TCP]
        fr = fragment6(q, size)
    else:
        q = p[IP].copy()
        q.id = ident & 0xffff
        q.flags = 0
        fr = fragment(q, fragsize=size)
    for f in fr:
        f.time = p.time
    return fr


def fragmented(pkts, v6, order="inorder", ctrl=24, data=512, conflict=None):
    """Every packet with a payload is sent as fragments (control lines in tiny ones). order:
    inorder or reversed. conflict: (needle, replacement, first): the packet whose payload holds
    needle also gets a fragment with other bytes at the same offset, after the original (or
    before it when first), both before the datagram is complete."""
    out = []
    for i, p in enumerate(pkts):
        if not p.haslayer(Raw):
            out.append(p)
            continue
        tcp = p[TCP]
        size = (ctrl if 21 in (tcp.sport, tcp.dport) else data) + (48 if v6 else 0)
        fr = frag_list(p, 0x1000 + i, size)
        if order == "reversed":
            fr = fr[::-1]
        if conflict and conflict[0] in bytes(p[Raw]):
            # the fragment that differs once the needle is replaced, sent again
            evil = p.copy()
            evil[Raw].load = bytes(p[Raw]).replace(conflict[0], conflict[1])
            evil[TCP].chksum = TCP(bytes(p[TCP])).chksum  # the header fragment stays the same
            orig = frag_list(p, 0x1000 + i, size)
            efr = frag_list(evil, 0x1000 + i, size)
            k = next(j for j in range(len(orig)) if bytes(orig[j]) != bytes(efr[j]))
            pair = [efr[k], orig[k]] if conflict[2] else [orig[k], efr[k]]
            fr = pair + [f for j, f in enumerate(orig) if j != k]  # both before completion
        out += fr
    return out


def frag_cases():
    for v6 in (False, True):
        sfx = "_v6" if v6 else ""
        for order in ("inorder", "reversed"):
            name = "ip_frag%s_%s" % (sfx, order)
            write_pcap(name + ".pcap", fragmented(login_conv(v6), v6, order))
            truth(name, v6=v6, desc="every payload packet as IP fragments (%s): the same "
                  "sessions, data connections and findings as unfragmented" % order)
            add_secrets(name, ["s3cret"])
        name = "ip_frag%s_conflict" % sfx
        write_pcap(name + ".pcap", fragmented(login_conv(v6), v6, "inorder",
                                              conflict=(b"s3cret", b"XXXXXX", False)))
        truth(name, v6=v6, desc="a fragment of the PASS line sent again with other bytes: "
              "the first bytes win, ip_fragment_conflict on the session",
              extra=lambda t: t["findings"].update(
                  {"ip_fragment_conflict": {"min": 1, "max": 1}}))
        add_secrets(name, ["s3cret"])


def frag_lost():
    """A fragment of the PASS line never comes: the datagram is dropped at the end of input and
    the session says so (and is incomplete)."""
    c = Conv(False, 40700, 21)
    c.handshake()
    c.say(1, "220 hi\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "331 p\r\n")
    c.say(0, "PASS lostSecret13\r\n")
    pkts = c.pkts[:-1] + frag_list(c.pkts[-1], 0x2000, 24)[:-1]
    c.pkts = []
    c.say(1, "230 ok\r\n")
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    write_pcap("ip_frag_lost.pcap", pkts + c.pkts)
    login_truth("ip_frag_lost", "the last fragment of the PASS line is missing: "
                "ip_fragments_dropped on the session", ["lostSecret13"],
                sessions=[{"client_ip": "10.1.0.1", "server_port": 21, "user": "bob"}])
    t = json.load(open(os.path.join(HERE, "ip_frag_lost.truth.json")))
    t["anomalies"] = {"ip_fragments_dropped": {"min": 1, "max": 1}}
    write_truth("ip_frag_lost", t)


def add_secrets(name, secrets):
    path = os.path.join(HERE, name + ".truth.json")
    t = json.load(open(path))
    t["secrets"] = secrets
    write_truth(name, t)


def pipelined():
    """A client that sends six commands before any reply (more than a session first makes room
    for): each reply answers its own command, in order, in every output (ftp.log rows: DELE
    f1..f6 with their own codes and texts)."""
    c = Conv(False, 40620, 21)
    c.handshake()
    c.say(1, "220 pipeline server\r\n")
    c.say(0, "USER bob\r\n")
    c.say(1, "331 password please\r\n")
    c.say(0, "PASS pipeSecret34\r\n")
    c.say(1, "230 logged in\r\n")
    c.say(0, "".join("DELE f%d\r\n" % k for k in range(1, 7)))
    c.say(1, "".join(("250 f%d deleted\r\n" if k % 3 else "550 f%d: no such file\r\n") % k
                     for k in range(1, 7)))
    c.say(0, "QUIT\r\n")
    c.say(1, "221 bye\r\n")
    c.close()
    write_pcap("ftp_pipelined.pcap", c.pkts)
    login_truth("ftp_pipelined", "six DELE commands sent before any reply, answered in order",
                ["pipeSecret34"], {"plaintext_auth": {"min": 1, "max": 1}},
                absent=["failed_login"],
                sessions=[{"client_ip": "10.1.0.1", "server_port": 21, "user": "bob",
                           "login": "success", "password_in_clear": True}])
    t = json.load(open(os.path.join(HERE, "ftp_pipelined.truth.json")))
    t["anomalies"] = {"reply_without_command": {"max": 0}}
    write_truth("ftp_pipelined", t)


CASES = {}


def main():
    """Writes every capture, or only the cases named on the command line (CASES)."""
    conf.verb = 0
    only = sys.argv[1:]
    if only:
        for name in only:
            CASES[name]()
        return
    for name, fn, port, odd, secrets in LOOKALIKES:
        for p, sfx in ((port, ""), (odd, "_odd_port")):
            c = Conv(False, 40100, p)
            fn(c)
            write_pcap("lookalike_%s%s.pcap" % (name, sfx), c.pkts)
            no_session_truth("lookalike_%s%s" % (name, sfx),
                             "%s with credentials on port %d: not FTP" % (name.upper(), p),
                             secrets)
    midstream_lookalikes()
    overlap_orders()
    overlap_old()
    pass_tab()
    midstream_server_first()
    midstream_odd_port()
    overlong_line()
    overlong_first_line()
    pairing()
    pipelined()
    frag_cases()
    frag_lost()


CASES.update({"overlong_first_line": overlong_first_line,
              "midstream_server_first": midstream_server_first,
              "midstream_lookalikes": midstream_lookalikes,
              "midstream_odd_port": midstream_odd_port,
              "overlap_old": overlap_old,
              "pipelined": pipelined})

if __name__ == "__main__":
    main()
