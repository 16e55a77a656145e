#!/bin/bash
# Implicit FTPS on port 990 (vsftpd implicit_ssl=YES), TLS 1.2, curl ftps:// with PROT P;
# curl resumes the control channel's TLS session on the data connections.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_implicit
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned implicit_ssl=YES listen_port=990
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 990 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/curl.log curl -v -sS -k --ssl-reqd --tls-max 1.2 -u $LAB_USER:$LAB_PASS ftps://10.0.2.2/data.bin -o $SCEN_WORK/got.bin
cap_stop
vsftpd_logs
grep -q 'reused' $SCEN_LOGS/vsftpd.log || die "data connection did not resume"
clientlog --kind curl --implicit --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/curl.log
mktruth --description "implicit FTPS on 990: vsftpd implicit_ssl=YES (TLS 1.2, CA-signed certificate), curl ftps:// PBSZ/PROT P, EPSV RETR data.bin over TLS resuming the control session" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
