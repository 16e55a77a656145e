#!/bin/bash
# Explicit FTPS (AUTH TLS) with PROT P, TLS 1.3, vsftpd forcing TLS for login and data
# and requiring TLS session reuse on data connections; CA-signed certificate.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_explicit_tls13
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"min":"TLSv1_3"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "explicit FTPS: AUTH TLS then USER/PASS, PBSZ 0, PROT P; TLS 1.3; vsftpd force_local_data_ssl, require_ssl_reuse (data connections resume the control session); PASV LIST, RETR, STOR over TLS; certificate signed by the lab test CA" \
  --log $SCEN_LOGS/client.json --data-link tls-psk --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch \
  --finding tls_cert_not_visible=1:1
scen_end
