#!/bin/bash
# pyftpdlib TLS_FTPHandler (TLS required for control and data) behind the router's NAT with
# masquerade_address=10.0.1.100 and passive_ports 50000-50010; self-signed certificate.
# The client (Python FTP_TLS) reaches 10.0.1.100.  Recorded at two points: the public side (r1)
# and the server segment (r2, *_server_side).
. "$(dirname "$0")/../lib.sh"
scen_begin pyftpdlib_tls_masquerade
lab_topo_routed
lab_nat
user_root $SCEN_WORK/root
pyftpd_start $NS_S 21 --addr 10.0.2.2 --cert $CAP_DIR/certs/edge-selfsigned/server.pem --key $CAP_DIR/certs/edge-selfsigned/server.key \
  --tls-control-required --tls-data-required --masquerade 10.0.1.100 --passive-ports 50000-50010
conntrack_log_start
cap_start $NS_R r1 "$PCAP"
cap_start $NS_R r2 "$PCAP_S"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"10.0.1.100","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],["quit"]]}]}'
cap_stop
conntrack_log_stop
pyftpd_logs
grep -q '227 Entering passive mode (10,0,1,100' $SCEN_LOGS/client.json || die "expected the masquerade address in 227"
mktruth --description "pyftpdlib TLS_FTPHandler behind NAT (DNAT 10.0.1.100 -> 10.0.2.2) with masquerade_address=10.0.1.100, TLS 1.2 required for control and data, self-signed certificate; Python FTP_TLS client: AUTH TLS, PROT P, PASV LIST and RETR data.bin over TLS" \
  --log $SCEN_LOGS/client.json --finding tls_cert_self_signed=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_expired --absent tls_cert_name_mismatch --absent tls_cert_not_visible
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --capture-point server_side --conntrack $SCEN_LOGS/router-conntrack.log --absent nat_private_pasv \
  --note "behind the router the client is masqueraded to 10.0.2.1; the encrypted 227 names the masquerade (helper) address: nothing on the wire is a NAT problem" \
  --description "(server segment behind the router) pyftpdlib TLS_FTPHandler behind NAT (DNAT 10.0.1.100 -> 10.0.2.2) with masquerade_address=10.0.1.100, TLS 1.2 required for control and data, self-signed certificate; Python FTP_TLS client: AUTH TLS, PROT P, PASV LIST and RETR data.bin over TLS" \
  --log $SCEN_LOGS/client.json --finding tls_cert_self_signed=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_expired --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
