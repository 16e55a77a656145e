#!/usr/bin/python3
"""pyftpdlib server for the captures lab (Debian's python3-pyftpdlib).

Logs every command and reply (DEBUG) to --log.
"""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--addr", required=True)
ap.add_argument("--port", type=int, default=21)
ap.add_argument("--user", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--home", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--tls-control-required", action="store_true")
ap.add_argument("--tls-data-required", action="store_true")
ap.add_argument("--masquerade")
ap.add_argument("--passive-ports", help="LO-HI")
ap.add_argument("--log", required=True)
a = ap.parse_args()

logging.basicConfig(filename=a.log, level=logging.DEBUG,
                    format="%(asctime)s %(levelname)s %(message)s")
auth = DummyAuthorizer()
auth.add_user(a.user, a.password, a.home, perm="elradfmwMT")
if a.cert:
    h = TLS_FTPHandler
    h.certfile = a.cert
    h.keyfile = a.key
    h.tls_control_required = a.tls_control_required
    h.tls_data_required = a.tls_data_required
else:
    h = FTPHandler
h.authorizer = auth
h.banner = "ftpinspect lab pyftpdlib"
if a.masquerade:
    h.masquerade_address = a.masquerade
if a.passive_ports:
    lo, hi = map(int, a.passive_ports.split("-"))
    h.passive_ports = range(lo, hi + 1)
srv = FTPServer((a.addr, a.port), h)
srv.serve_forever()
