#!/bin/bash
# Explicit FTPS control channel (AUTH TLS, TLS 1.2) but PROT C: data connections in clear.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_auth_tls_prot_c
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
sed -i 's/^force_local_data_ssl=YES/force_local_data_ssl=NO/' $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","C"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "explicit FTPS control (AUTH TLS, TLS 1.2, CA-signed certificate) with PBSZ 0 / PROT C: the PASV LIST and RETR data.bin connections are clear text" \
  --log $SCEN_LOGS/client.json --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
