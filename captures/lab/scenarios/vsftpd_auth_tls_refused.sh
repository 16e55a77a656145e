#!/bin/bash
# AUTH TLS refused: vsftpd without TLS (ssl_enable=NO); lftp with ftp:ssl-allow yes asks
# AUTH TLS, gets a 5xx, and carries on in clear text (ftp:ssl-force no).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_auth_tls_refused
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf ssl_enable=NO
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
run_logged $NS_C $SCEN_LOGS/lftp.log lftp -d -u $LAB_USER,$LAB_PASS -e "set ftp:ssl-allow yes; set ftp:ssl-force no; set ftp:prefer-epsv no; get readme.txt -o $SCEN_WORK/got.txt; bye" 10.0.2.2
cap_stop
vsftpd_logs
grep -q -- '---> AUTH TLS' $SCEN_LOGS/lftp.log || die "lftp did not try AUTH TLS"
clientlog --kind lftp --client-ip 10.0.1.2 --size readme.txt=63 --out $SCEN_LOGS/client.json $SCEN_LOGS/lftp.log
mktruth --description "AUTH TLS refused: lftp (ftp:ssl-allow yes) asks AUTH TLS of a vsftpd without TLS, gets 530, logs in and RETRs readme.txt in clear text" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
