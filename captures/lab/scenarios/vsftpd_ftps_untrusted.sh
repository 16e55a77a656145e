#!/bin/bash
# Explicit FTPS PROT P, TLS 1.2, certificate signed by the lab test CA, checked WITHOUT
# --ca-file: the chain does not verify against the system's CA bundle.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_untrusted
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "explicit FTPS PROT P, TLS 1.2, certificate issued by the lab test CA, reviewed without --ca-file (the CA is in no system bundle)" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --finding tls_cert_untrusted=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
