#!/bin/bash
# The fix for the balancer: persistence.  The router balances 198.51.100.100 (ports 21 and
# 50000-50010) over vsftpd nodes A 10.0.2.21 and B 10.0.2.22 with DNAT to the range
# --persistent: one client address always goes to one node.  Recorded on both sides; the
# client's control and all four data connections (PASV LIST, RETR, STOR, LIST) reach one node.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_lb_sticky
lab_topo_public two
lab_lb sticky
user_root $SCEN_WORK/root
lb_vsftpd_start vsftpd_conf pasv_address=$PUB_VIP
both_sides_start
ftpclient $NS_C '{"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],["stor","upload.bin",20000],["list"],["quit"]]}]}'
both_sides_stop
lb_vsftpd_logs
! grep -q '"connect_error"' $SCEN_LOGS/client.json || die "a data connection failed"
D="layer-4 balancer 198.51.100.100 with persistence (DNAT to 10.0.2.21-10.0.2.22 --persistent) over vsftpd nodes A and B (pasv_address=198.51.100.100); Python ftplib 198.51.100.2: control and the PASV LIST, RETR data.bin, STOR upload.bin and LIST data connections all reach the same node"
mktruth --description "sticky load balancer, client side: $D" --capture-point client_side \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_ip_mismatch --absent bounce --absent nat_private_pasv --absent data_connection_missing
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "sticky load balancer, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json --mismatch-by-node \
  --note "every data connection reaches the control connection's node: no data_ip_mismatch; pasv_address is the configured helper address: no nat_private_pasv" \
  --absent brute_force --absent bounce --absent nat_private_pasv --absent data_connection_missing --absent data_ip_mismatch
scen_end
