#!/bin/bash
# Explicit FTPS negotiated at TLS 1.0: OPENSSL_CONF with MinProtocol/MaxProtocol TLSv1 and
# SECLEVEL=0 on the server; the client allows only TLS 1.0 too.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_tls10_weak
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1 TLSv1 'DEFAULT:@SECLEVEL=0'
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
export OPENSSL_CONF=$SCEN_WORK/openssl.cnf
ftpclient $NS_C '{"tls_opts":{"min":"TLSv1","max":"TLSv1","ciphers":"DEFAULT:@SECLEVEL=0"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
unset OPENSSL_CONF
cap_stop
vsftpd_logs
grep -q '"tls_version": "TLSv1"' $SCEN_LOGS/client.json || die "TLS 1.0 was not negotiated"
mktruth --description "explicit FTPS PROT P negotiated at TLS 1.0 (server and client OpenSSL pinned to TLSv1, SECLEVEL=0; vsftpd ssl_ciphers=HIGH), CA-signed certificate" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --options '["--ca-file","certs/ca/ca.pem"]' --finding tls_weak_version=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
