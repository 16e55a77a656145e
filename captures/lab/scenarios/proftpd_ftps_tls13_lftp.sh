#!/bin/bash
# ProFTPD 1.3.8 mod_tls explicit FTPS at TLS 1.3 (TLSRequired, data connections must reuse the
# control session), lftp (GnuTLS, priority pinned to TLS 1.3): PASV LIST and RETR data.bin,
# each data connection resuming the control channel's TLS 1.3 session (ProFTPD's TLSLog).
. "$(dirname "$0")/../lib.sh"
scen_begin proftpd_ftps_tls13_lftp
lab_install_servers
lab_topo_routed
user_root $SCEN_WORK/root
proftpd_conf $SCEN_WORK/proftpd.conf "DefaultRoot $SCEN_WORK/root"
proftpd_tls_lines edge TLSv1.3 >> $SCEN_WORK/proftpd.conf
proftpd_start $NS_S $SCEN_WORK/proftpd.conf
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/lftp.log lftp -d -u $LAB_USER,$LAB_PASS -e "set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; set ssl:priority NORMAL:-VERS-ALL:+VERS-TLS1.3; set ftp:prefer-epsv no; ls; get data.bin -o $SCEN_WORK/got.bin; bye" 10.0.2.2
cap_stop
proftpd_logs
DT=$(proftpd_data_resumed 2)
clientlog --kind lftp --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/lftp.log
mktruth --description "ProFTPD 1.3.8 mod_tls explicit FTPS at TLS 1.3 (TLSRequired, session reuse required), lftp (GnuTLS, TLS 1.3): PASV LIST and RETR data.bin, each data connection resuming the control session by PSK (ProFTPD's TLSLog: client reused TLS session)" \
  --log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --range-check \
  --absent data_connection_missing --absent data_ip_mismatch
scen_end
