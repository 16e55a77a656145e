#!/bin/bash
# Explicit FTPS PROT P, TLS 1.2, active mode: PORT under the encrypted control channel, vsftpd
# connects from port 20 and the data connections are TLS (resuming the control session).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_active
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["port"],["list"],["retr","data.bin"],["quit"]]}]}'
cap_stop
vsftpd_logs
[ "$(grep -c ', reused' $SCEN_LOGS/vsftpd.log)" -ge 2 ] || die "data connections did not resume"
mktruth --description "explicit FTPS PROT P, TLS 1.2, active mode: PORT (encrypted), vsftpd connects from 10.0.2.2:20 to the client for LIST and RETR data.bin, TLS resuming the control session; CA-signed certificate" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
