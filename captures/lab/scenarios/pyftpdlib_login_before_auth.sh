#!/bin/bash
# USER/PASS in clear before AUTH TLS: pyftpdlib TLS_FTPHandler with tls_control_required
# False; the ftplib client logs in first, then AUTH TLS, PROT P and transfers over TLS.
. "$(dirname "$0")/../lib.sh"
scen_begin pyftpdlib_login_before_auth
lab_topo_routed
user_root $SCEN_WORK/root
pyftpd_start $NS_S 21 --addr 10.0.2.2 --cert $CAP_DIR/certs/casigned/server.pem --key $CAP_DIR/certs/casigned/server.key --passive-ports 50000-50010
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["auth"],["prot","P"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],["quit"]]}]}'
cap_stop
pyftpd_logs
mktruth --description "pyftpdlib TLS_FTPHandler (tls_control_required=False): USER/PASS sent in clear first, then AUTH TLS (TLS 1.2, CA-signed certificate), PBSZ/PROT P, PASV LIST and RETR over TLS" \
  --log $SCEN_LOGS/client.json --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
