#!/bin/bash
# Explicit FTPS, TLS 1.2 with a NULL (no encryption) suite: vsftpd
# ssl_ciphers=ECDHE-RSA-NULL-SHA:NULL-SHA256 and SECLEVEL=0 in the OpenSSL configuration of
# both sides. (Debian's OpenSSL 3 offers no 3DES or RC4 suites.)
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_null_cipher
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2 'DEFAULT:@SECLEVEL=0'
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
sed -i 's/^ssl_ciphers=HIGH/ssl_ciphers=ECDHE-RSA-NULL-SHA:NULL-SHA256/' $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
export OPENSSL_CONF=$SCEN_WORK/openssl.cnf
ftpclient $NS_C '{"tls_opts":{"max":"TLSv1_2","ciphers":"ECDHE-RSA-NULL-SHA:NULL-SHA256:@SECLEVEL=0"},"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
unset OPENSSL_CONF
cap_stop
vsftpd_logs
grep -q 'SSL cipher: ECDHE-RSA-NULL-SHA' $SCEN_LOGS/vsftpd.log || die "a NULL cipher was not negotiated"
mktruth --description "explicit FTPS PROT P, TLS 1.2 with the NULL-encryption suite ECDHE-RSA-NULL-SHA (vsftpd ssl_ciphers=ECDHE-RSA-NULL-SHA:NULL-SHA256, SECLEVEL=0; records authenticated, not encrypted, so USER/PASS, PROT P and PASV RETR readme.txt cross readable), CA-signed certificate" \
  --log $SCEN_LOGS/client.json --tls-readable --options '["--ca-file","certs/ca/ca.pem"]' --finding tls_weak_cipher=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
