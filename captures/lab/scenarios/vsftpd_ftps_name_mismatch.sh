#!/bin/bash
# Explicit FTPS, TLS 1.2: the client reaches the server as ftp.lab.test (SNI ftp.lab.test, name
# from the client namespace's /etc/hosts) but the certificate is for other.lab.test only.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_name_mismatch
lab_topo_routed
mkdir -p /etc/netns/$NS_C
printf '127.0.0.1 localhost\n10.0.2.2 ftp.lab.test\n' > /etc/netns/$NS_C/hosts
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf mismatch
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2"},"sessions":[{"host":"ftp.lab.test","server_hostname":"ftp.lab.test","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
cp /etc/netns/$NS_C/hosts $SCEN_LOGS/client-etc-hosts
mktruth --description "explicit FTPS PROT P, TLS 1.2: client connects to ftp.lab.test (SNI ftp.lab.test), the certificate (signed by the lab test CA) names only other.lab.test" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --options '["--ca-file","certs/ca/ca.pem"]' --finding tls_cert_name_mismatch=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_not_visible
scen_end
