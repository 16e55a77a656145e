#!/bin/bash
# Explicit FTPS with curl (--ssl-reqd, TLS 1.3), vsftpd require_ssl_reuse=YES: curl resumes
# the control channel's TLS 1.3 session (PSK) on the data connections. LIST then RETR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_tls13_curl
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/curl.log curl -v -sS -k --ssl-reqd --tlsv1.3 --disable-epsv -u $LAB_USER:$LAB_PASS ftp://10.0.2.2/ -o $SCEN_WORK/list.txt ftp://10.0.2.2/data.bin -o $SCEN_WORK/got.bin
cap_stop
vsftpd_logs
[ "$(grep -c 'TLSv1.3.*, reused' $SCEN_LOGS/vsftpd.log)" -ge 2 ] || die "data connections did not resume"
clientlog --kind curl --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/curl.log
mktruth --description "explicit FTPS with curl (AUTH TLS, PROT P) at TLS 1.3, vsftpd require_ssl_reuse: PASV LIST and RETR data.bin over TLS 1.3 resuming the control session; certificate not visible (TLS 1.3)" \
  --log $SCEN_LOGS/client.json --data-link tls-psk --options '["--ca-file","certs/ca/ca.pem"]' --finding tls_cert_not_visible=1 \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch
scen_end
