#!/bin/bash
# Recorded at two points: the public side (r1) and the server segment (r2, *_server_side).
# NAT with pasv_address=10.0.1.100: the 227 reply names the public address; lftp follows it.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_nat_pasv_address
lab_topo_routed
lab_nat
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf pasv_address=10.0.1.100
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
conntrack_log_start
cap_start $NS_R r1 "$PCAP"
cap_start $NS_R r2 "$PCAP_S"
run_logged $NS_C $SCEN_LOGS/lftp.log lftp -d -u $LAB_USER,$LAB_PASS -e "set ftp:ssl-allow no; set ftp:prefer-epsv no; get data.bin -o $SCEN_WORK/got.bin; put $SCEN_WORK/root/readme.txt -o up.txt; bye" 10.0.1.100
cap_stop
conntrack_log_stop
vsftpd_logs
clientlog --kind lftp --client-ip 10.0.1.2 --size data.bin=65536 --size up.txt=63 --out $SCEN_LOGS/client.json $SCEN_LOGS/lftp.log
mktruth --description "NAT: vsftpd 10.0.2.2 behind DNAT at 10.0.1.100 with pasv_address=10.0.1.100: 227 announces the public address; lftp PASV RETR data.bin and STOR up.txt; captured on the public side" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "NAT: vsftpd 10.0.2.2 behind DNAT at 10.0.1.100 with pasv_address=10.0.1.100: 227 announces the public address; lftp PASV RETR data.bin and STOR up.txt; captured on the server segment behind the router (10.0.2.0/24)" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent nat_private_pasv \
  --note "the 227 names the configured public helper address 10.0.1.100 while the client (masqueraded to 10.0.2.1 by the router) reached 10.0.2.2: correct configuration, no nat_private_pasv; the summary notes the helper address and does not advise setting it" \
  --summary-check '{"server_ip":"10.0.2.2","check":"nat","status":["ok","info"],"text_contains":["10.0.1.100"],"text_absent":["announce the public address"]}'
scen_end
