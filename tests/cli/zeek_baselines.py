#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ftp.log against Zeek's own btest baselines, row by row and field by field.

    zeek_baselines.py FTPINSPECT                 the test: our rows against the facts below
    zeek_baselines.py FTPINSPECT --against DIR   measure against baseline files DIR/<case>.ftp.log
                                                 (Zeek's testing/btest/Baseline/.../ftp.log, kept
                                                 outside this tree), printing values that differ
    zeek_baselines.py --digest FILE              the facts for one baseline file, to paste below

Each case runs `ftpinspect -r CAPTURE --log-dir` with the options its btest implies: the btest's
FTP::logged_commands (--zeek-commands) and --file-hashes where Zeek ran with the files framework
(a full `zeek -r`, not `zeek -b`). The facts kept here are not Zeek's files: per row, a short
digest of every compared field. uid and fuid values are random in both programs, so they are
compared as "the n-th distinct value" (the same uid where Zeek has the same one); ts is compared
to the microsecond where the baseline kept it (modern baselines mask it as XXXXXXXXXX.XXXXXX).

Fields ftpinspect writes differently on purpose (docs/internals.md, "Zeek ftp.log"): a password is
never written without --show-passwords, so Zeek's clear anonymous passwords (its guest_ids) and the
argument of a logged PASS become <hidden>. Those cells are counted apart as "intended"; every other
differing cell is a mismatch and fails the test.

Skips (77) when ../shared/captures-public is absent.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CAPS = os.path.join(HERE, "..", "..", "..", "shared", "captures-public", "zeek")

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "user", "password",
          "command", "arg", "mime_type", "file_size", "reply_code", "reply_msg",
          "data_channel.passive", "data_channel.orig_h", "data_channel.resp_h",
          "data_channel.resp_p", "fuid"]
DEFAULT_CMDS = "APPE,DELE,RETR,STOR,STOU,ACCT,PORT,PASV,EPRT,EPSV"

# (case = baseline folder scripts.base.protocols.ftp.<case>, capture, options,
#  per row the digests of FIELDS joined by ".").  Digests from --digest of the baseline file of
# zeek/zeek at the commit named; btest options from the btest's .zeek file.
CASES = [
    # ftp-ipv4.zeek: `zeek -r` (files framework).  Baseline at 25d7b71c (Zeek 2.2, 2013: ts kept).
    ("ftp-ipv4", "ipv4.pcap",
     ["--file-hashes"], [
        ("PASV", "9cdb15.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.61b592.e632b7.e7c43f.328eba.f645bd.3973e0"),
        ("PASV", "d4a08d.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.a99c8b.e632b7.e7c43f.328eba.c8b486.3973e0"),
        ("RETR", "4292cb.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.47c725.2fc1f8."
                 "dc2393.a88a79.8f1f64.a4a45d.3973e0.3973e0.3973e0.3973e0.11507a"),
        ("PORT", "6e07de.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.6acc99.aa842b."
                 "3973e0.3973e0.27badc.57e7f1.f67ab1.328eba.e7c43f.442681.380918"),
        ("PORT", "35450f.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.6acc99.9ae11b."
                 "3973e0.3973e0.27badc.57e7f1.f67ab1.328eba.e7c43f.b3a138.380918"),
        ("RETR", "0f9269.9dc022.e7c43f.e65ed8.328eba.6f4b66.2f183a.9f86d0.47c725.2fc1f8."
                 "dc2393.a88a79.8f1f64.a4a45d.3973e0.3973e0.3973e0.3973e0.11507a"),
     ], {(1, "password"): "hidden", (2, "fuid"): "zeek-2013", (2, "password"): "hidden", (3,
         "password"): "hidden", (4, "password"): "hidden", (5, "fuid"): "zeek-2013", (5,
         "password"): "hidden", (6, "password"): "hidden"},
     False),
    # ftp-ipv6.zeek: `zeek -r` (files framework).  Baseline at 22bf3e11 (Zeek 2.2, 2013: ts kept).
    ("ftp-ipv6", "ipv6.pcap",
     ["--file-hashes"], [
        ("EPSV", "a9be3d.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.ef2d4d.3973e0."
                 "3973e0.3973e0.084902.59d58f.e632b7.de6a46.6fc840.b25f32.3973e0"),
        ("EPSV", "9914eb.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.ef2d4d.3973e0."
                 "3973e0.3973e0.084902.8fba86.e632b7.de6a46.6fc840.780d6f.3973e0"),
        ("EPSV", "ca2a30.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.ef2d4d.3973e0."
                 "3973e0.3973e0.084902.d41458.e632b7.de6a46.6fc840.1546fa.3973e0"),
        ("RETR", "3a0631.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.47c725.6a0758."
                 "3973e0.a88a79.8f1f64.a4a45d.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("EPRT", "ac9a43.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.e75a35.463e4b."
                 "3973e0.3973e0.27badc.1ef3be.f67ab1.6fc840.de6a46.dd8976.11507a"),
        ("RETR", "e16d02.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.47c725.6a0758."
                 "3973e0.a88a79.8f1f64.a4a45d.3973e0.3973e0.3973e0.3973e0.380918"),
        ("EPRT", "7a4828.9dc022.de6a46.c00717.6fc840.6f4b66.2f183a.9f86d0.e75a35.0366bf."
                 "3973e0.3973e0.27badc.1ef3be.f67ab1.6fc840.de6a46.f267c6.380918"),
     ], {(1, "password"): "hidden", (2, "fuid"): "zeek-2013", (2, "password"): "hidden", (3,
         "fuid"): "zeek-2013", (3, "password"): "hidden", (4, "fuid"): "zeek-2013", (4,
         "mime_type"): "zeek-2013", (4, "password"): "hidden", (5, "fuid"): "zeek-2013", (5,
         "password"): "hidden", (6, "fuid"): "zeek-2013", (6, "mime_type"): "zeek-2013", (6,
         "password"): "hidden", (7, "password"): "hidden"},
     False),
    # ftp-get-file-size.zeek: `zeek -r`.  Baseline at a96bcef8.
    ("ftp-get-file-size", "ftp-with-numbers-in-filename.pcap",
     ["--file-hashes"], [
        ("PASV", "4b68ab.9dc022.fffa9f.207c7b.adaac9.6f4b66.6cb6ae.3973e0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.83c187.e632b7.fffa9f.adaac9.17da6c.3973e0"),
        ("PASV", "4b68ab.9dc022.fffa9f.207c7b.adaac9.6f4b66.6cb6ae.3973e0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.8665ac.e632b7.fffa9f.adaac9.563818.11507a"),
        ("PASV", "4b68ab.9dc022.fffa9f.207c7b.adaac9.6f4b66.6cb6ae.3973e0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.fd536a.e632b7.fffa9f.adaac9.e2c85b.11507a"),
        ("PASV", "4b68ab.9dc022.fffa9f.207c7b.adaac9.6f4b66.6cb6ae.3973e0.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.452ba8.e632b7.fffa9f.adaac9.57bdfa.11507a"),
        ("RETR", "4b68ab.9dc022.fffa9f.207c7b.adaac9.6f4b66.6cb6ae.3973e0.47c725.953867."
                 "dc2393.d696aa.8f1f64.ecdeac.3973e0.3973e0.3973e0.3973e0.11507a"),
     ], {},
     False),
    # ftp-invalid-reply-code.zeek: `zeek -b` with DPD, logged_commands += USER PASS SYST QUIT.
    # Baseline at 942f8298.
    ("ftp-invalid-reply-code", "ftp-invalid-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
        ("USER", "4b68ab.9dc022.12ca17.dd59b5.12ca17.6f4b66.6e349f.3973e0.92b7b4.6e349f."
                 "3973e0.3973e0.a0eaec.730bd5.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.12ca17.dd59b5.12ca17.6f4b66.6e349f.954b6d.2f9acb.6e349f."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASV", "4b68ab.9dc022.12ca17.dd59b5.12ca17.6f4b66.6e349f.954b6d.e16e32.3973e0."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(2, "arg"): "hidden", (3, "reply_code"): "dpd", (3, "reply_msg"): "dpd", (4, "row"):
         "dpd"},
     False),
    # ftp-missing-reply-code.zeek: the same options.  Baseline at 9a0dc30e.
    ("ftp-missing-reply-code", "ftp-missing-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
        ("USER", "4b68ab.9dc022.12ca17.3a8dea.12ca17.6f4b66.6e349f.3973e0.92b7b4.6e349f."
                 "3973e0.3973e0.a0eaec.730bd5.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.12ca17.3a8dea.12ca17.6f4b66.6e349f.954b6d.2f9acb.6e349f."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("SYST", "4b68ab.9dc022.12ca17.3a8dea.12ca17.6f4b66.6e349f.954b6d.fc048f.3973e0."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(2, "arg"): "hidden", (3, "reply_code"): "dpd", (3, "reply_msg"): "dpd", (4, "row"):
         "dpd"},
     False),
    # ftp-missing-space-after-reply-code.zeek: the same options.  Baseline at 9a0dc30e.
    ("ftp-missing-space-after-reply-code", "ftp-missing-space-after-reply-code.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
        ("USER", "4b68ab.9dc022.12ca17.176990.12ca17.6f4b66.6e349f.3973e0.92b7b4.6e349f."
                 "3973e0.3973e0.a0eaec.730bd5.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.12ca17.176990.12ca17.6f4b66.6e349f.954b6d.2f9acb.6e349f."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("RETR", "4b68ab.9dc022.12ca17.176990.12ca17.6f4b66.6e349f.954b6d.47c725.808671."
                 "3973e0.3973e0.a0eaec.0d90ae.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(2, "arg"): "hidden", (3, "reply_msg"): "dpd", (4, "row"): "dpd"},
     False),
    # ftp-multiline-reply.zeek: `zeek -b`, logged_commands += <init> USER PASS.  1b3e8a61.
    ("ftp-multiline-reply", "ipv6-multiline-reply.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",<init>,USER,PASS"], [
        ("<init>", "4b68ab.9dc022.e493a9.dbea10.4b35f5.6f4b66.6cb6ae.3973e0.abab9a.3973e0."
                   "3973e0.3973e0.36790e.25cedf.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("USER", "4b68ab.9dc022.e493a9.dbea10.4b35f5.6f4b66.2f183a.3973e0.92b7b4.2f183a."
                 "3973e0.3973e0.0bba86.641271.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.e493a9.dbea10.4b35f5.6f4b66.2f183a.9ac27c.2f9acb.9ac27c."
                 "3973e0.3973e0.a0eaec.6b23fc.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("EPSV", "4b68ab.9dc022.e493a9.dbea10.4b35f5.6f4b66.2f183a.9ac27c.ef2d4d.3973e0."
                 "3973e0.3973e0.084902.5a042e.e632b7.e493a9.4b35f5.e03a89.3973e0"),
        ("RETR", "4b68ab.9dc022.e493a9.dbea10.4b35f5.6f4b66.2f183a.9ac27c.47c725.280db4."
                 "3973e0.3973e0.67e9c3.816a84.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(3, "arg"): "hidden", (3, "password"): "hidden", (4, "password"): "hidden", (5,
         "password"): "hidden"},
     False),
    # ftp-samba-retr.zeek: `zeek -b`, logged_commands += USER PASS RETR.  c670f3fd.
    ("ftp-samba-retr", "ipv6-retr-samba.pcap",
     ["--zeek-commands", DEFAULT_CMDS + ",USER,PASS"], [
        ("USER", "4b68ab.9dc022.eab2e7.24a8e2.01a50a.6f4b66.2f183a.3973e0.92b7b4.2f183a."
                 "3973e0.3973e0.0bba86.5113c7.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.eab2e7.24a8e2.01a50a.6f4b66.2f183a.d4e773.2f9acb.d4e773."
                 "3973e0.3973e0.a0eaec.22e26f.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("EPSV", "4b68ab.9dc022.eab2e7.24a8e2.01a50a.6f4b66.2f183a.d4e773.ef2d4d.3973e0."
                 "3973e0.3973e0.084902.ae2e89.e632b7.eab2e7.01a50a.ebf5e4.3973e0"),
        ("RETR", "4b68ab.9dc022.eab2e7.24a8e2.01a50a.6f4b66.2f183a.d4e773.47c725.143b3c."
                 "3973e0.ee3a93.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(2, "arg"): "hidden", (2, "password"): "hidden", (3, "password"): "hidden", (4,
         "password"): "hidden"},
     False),
    # ftp-password-pass-command.zeek: `zeek -b`, += USER PASS SYST QUIT and
    # FTP::default_capture_password = T (here --show-passwords).  Baseline at 0e926afb.
    ("ftp-password-pass-command", "ftp-password-pass-command.pcap",
     ["--show-passwords", "--zeek-commands", DEFAULT_CMDS + ",USER,PASS,SYST,QUIT"], [
        ("USER", "4b68ab.9dc022.d4bf25.23ea29.4b1725.6f4b66.c1c224.3973e0.92b7b4.c1c224."
                 "3973e0.3973e0.0bba86.bc26bb.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASS", "4b68ab.9dc022.d4bf25.23ea29.4b1725.6f4b66.c1c224.65e84b.2f9acb.65e84b."
                 "3973e0.3973e0.87e296.e027a0.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {},
     False),
    # cwd-navigation.zeek: `zeek -r`.  Baseline at 0b674eb8: its first 10 of 1,376 rows (the
    # data connections are not in the capture: no file).
    ("cwd-navigation", "cwd-navigation.pcap",
     ["--file-hashes"], [
        ("PASV", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.8c7534.e632b7.9cbc41.084d65.f6a61a.3973e0"),
        ("RETR", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.47c725.477c19."
                 "3973e0.a0dca3.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASV", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.a88c3b.e632b7.9cbc41.084d65.ce747a.3973e0"),
        ("RETR", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.47c725.17a931."
                 "3973e0.cc9951.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASV", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.861183.e632b7.9cbc41.084d65.d7581d.3973e0"),
        ("RETR", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.47c725.b31558."
                 "3973e0.a8d248.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASV", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.ea0ee0.e632b7.9cbc41.084d65.df0469.3973e0"),
        ("RETR", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.47c725.16e891."
                 "3973e0.e03e21.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
        ("PASV", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.e16e32.3973e0."
                 "3973e0.3973e0.dfe62e.1aa07d.e632b7.9cbc41.084d65.ed3337.3973e0"),
        ("RETR", "4b68ab.9dc022.9cbc41.c6dbfa.fa97d1.6f4b66.2f183a.887ab1.47c725.11de61."
                 "3973e0.cd3d26.8f1f64.488941.3973e0.3973e0.3973e0.3973e0.3973e0"),
     ], {(1, "password"): "hidden", (2, "password"): "hidden", (3, "password"): "hidden", (4,
         "password"): "hidden", (5, "password"): "hidden", (6, "password"): "hidden", (7,
         "password"): "hidden", (8, "password"): "hidden", (9, "password"): "hidden", (10,
         "password"): "hidden"},
     True),
]


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()[:6]


def read_rows(path):
    rows, fields = [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            parts = line.split("\t")
            if line.startswith("#"):
                if parts[0] == "#fields":
                    fields = parts[1:]
                continue
            if line.strip():
                rows.append(dict(zip(fields, parts)))
    return rows


def normalise(rows):
    """uid as the index of its first appearance; fuid as "-", "=" (the same file as the
    session's row before) or "new" (both programs pick them at random); a masked ts as X."""
    out, uids, last_fuid = [], {}, {}
    for r in rows:
        n = dict(r)
        uid = r.get("uid", "-")
        n["uid"] = "u%d" % uids.setdefault(uid, len(uids))
        f = r.get("fuid", "-")
        if f != "-":
            n["fuid"] = "=" if last_fuid.get(uid) == f else "new"
            last_fuid[uid] = f
        if n.get("ts", "").startswith("X"):
            n["ts"] = "X"
        out.append(n)
    return out


def row_facts(row):
    return ".".join(digest(row.get(k, "")) for k in FIELDS)


def compare(name, got, want_facts, known, prefix, want_rows=None):
    """(rows equal, rows differing only in known cells, failure lines, report lines)."""
    equal, explained, fails, lines = 0, 0, [], []
    seen = set()
    for i, (_, facts) in enumerate(want_facts):
        if i >= len(got):
            fails.append("%s row %d: missing" % (name, i + 1))
            continue
        want = facts.split(".")
        have = row_facts(got[i]).split(".")
        bad = [FIELDS[j] for j in range(len(FIELDS)) if want[j] != have[j] and
               not (FIELDS[j] == "ts" and want[j] == digest("X"))]
        if not bad:
            equal += 1
        unexplained = [f for f in bad if (i + 1, f) not in known]
        if bad and not unexplained:
            explained += 1
        for f in bad:
            why = known.get((i + 1, f), "MISMATCH")
            seen.add((i + 1, f))
            if want_rows:
                text = "%s row %d %s %s (%s): zeek %r, ftpinspect %r" % (
                    name, i + 1, got[i].get("command"), f, why, want_rows[i].get(f),
                    got[i].get(f))
            else:
                text = "%s row %d %s %s: %s" % (name, i + 1, got[i].get("command"), f, why)
            (lines if f not in unexplained else fails).append(text)
    if not prefix:
        for i in range(len(want_facts), len(got)):
            why = known.get((i + 1, "row"), "MISMATCH")
            seen.add((i + 1, "row"))
            (lines if why != "MISMATCH" else fails).append("%s row %d: extra %s row (%s)" % (
                name, i + 1, got[i].get("command"), why))
    for cell in sorted(set(known) - seen):
        fails.append("%s row %d %s: now equal, update the known differences" % ((name,) + cell))
    return equal, explained, fails, lines


def run_case(tool, cap, opts, d):
    logs = os.path.join(d, "logs")
    cmd = [tool, "-r", os.path.join(CAPS, cap), "-q", "--log-dir", logs] + opts
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        print("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
        return []
    return normalise(read_rows(os.path.join(logs, "ftp.log")))


def main(argv):
    if len(argv) == 3 and argv[1] == "--digest":
        rows = normalise(read_rows(argv[2]))
        for r in rows:
            print('        ("%s", "%s"),' % (r.get("command"), row_facts(r)))
        return 0
    if not os.path.isdir(CAPS):
        print("../shared/captures-public absent: Zeek baseline comparison skipped")
        return 77
    tool = argv[1]
    against = argv[3] if len(argv) == 4 and argv[2] == "--against" else None
    total = equal = explained = 0
    failed = []
    with tempfile.TemporaryDirectory(prefix="ftpi-zb-") as d:
        for name, cap, opts, facts, known, prefix in CASES:
            got = run_case(tool, cap, opts, os.path.join(d, name))
            want_rows = None
            if against:
                want_rows = normalise(read_rows(os.path.join(against, name + ".ftp.log")))
                facts = [(r.get("command"), row_facts(r)) for r in want_rows]
            e, x, fails, lines = compare(name, got, facts, known, prefix, want_rows)
            print("%s: %d of %d rows match (%d more differ only in known cells)%s" % (
                name, e, len(facts), x, " [first rows of the baseline]" if prefix else ""))
            for line in lines + fails:
                print("  " + line)
            total += len(facts)
            equal += e
            explained += x
            if fails:
                failed.append(name)
    print("%d of %d rows match; %d more differ only in known cells (docs/internals.md)"
          % (equal, total, explained))
    if failed:
        print("FAIL: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
