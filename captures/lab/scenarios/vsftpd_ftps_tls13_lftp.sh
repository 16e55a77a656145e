#!/bin/bash
# vsftpd explicit FTPS at TLS 1.3 (require_ssl_reuse=YES), lftp (GnuTLS, priority pinned to
# TLS 1.3): PASV LIST and RETR data.bin, each data connection resuming the control channel's
# TLS 1.3 session (vsftpd debug_ssl: "reused").
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_tls13_lftp
lab_topo_routed
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
vsftpd_tls_conf_edge $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/lftp.log lftp -d -u $LAB_USER,$LAB_PASS -e "set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; set ssl:priority NORMAL:-VERS-ALL:+VERS-TLS1.3; set ftp:prefer-epsv no; ls; get data.bin -o $SCEN_WORK/got.bin; bye" 10.0.2.2
cap_stop
vsftpd_logs
DT=$(vsftpd_data_resumed 2 $SCEN_LOGS/vsftpd.log)
clientlog --kind lftp --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/lftp.log
mktruth --description "vsftpd explicit FTPS at TLS 1.3 (require_ssl_reuse), lftp (GnuTLS, TLS 1.3): PASV LIST and RETR data.bin, each data connection resuming the control session by PSK (vsftpd logged reused)" \
  --log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --range-check \
  --absent data_connection_missing --absent data_ip_mismatch
scen_end
