#!/bin/bash
# Explicit FTPS with lftp (ftp:ssl-force, ftp:ssl-protect-data), TLS 1.2, vsftpd with
# require_ssl_reuse=YES: lftp resumes the session on each data connection.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_lftp
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.2 TLSv1.2
vsftpd_tls_conf $SCEN_WORK/vsftpd.conf casigned
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/lftp.log lftp -d -u $LAB_USER,$LAB_PASS -e "set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; set ftp:prefer-epsv no; ls; get data.bin -o $SCEN_WORK/got.bin; bye" 10.0.2.2
cap_stop
vsftpd_logs
[ "$(grep -c ', reused' $SCEN_LOGS/vsftpd.log)" -ge 2 ] || die "data connections did not resume"
clientlog --kind lftp --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/lftp.log
mktruth --description "explicit FTPS with lftp (AUTH TLS, PROT P; lftp uses GnuTLS), vsftpd TLS 1.2 with require_ssl_reuse: PASV LIST and RETR data.bin over TLS resuming the control session; CA-signed certificate" \
  --log $SCEN_LOGS/client.json --data-link tls-resumption --options '["--ca-file","certs/ca/ca.pem"]' \
  --absent brute_force --absent data_connection_missing --absent tls_weak_version --absent tls_weak_cipher \
  --absent tls_cert_self_signed --absent tls_cert_expired --absent tls_cert_untrusted --absent tls_cert_name_mismatch --absent tls_cert_not_visible
scen_end
