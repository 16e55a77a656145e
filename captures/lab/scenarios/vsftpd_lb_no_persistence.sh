#!/bin/bash
# A load balancer without persistence, recorded on both sides: the router balances
# 198.51.100.100 (ports 21 and 50000-50010) over two vsftpd nodes, A 10.0.2.21 and B 10.0.2.22
# (same configuration, pasv_address=198.51.100.100), every second new connection to B
# (-m statistic --mode nth, no stickiness).  Control lands on A; of the client's four PASV data
# connections the 1st and 3rd are sent to B, where nothing listens on A's passive port: B answers
# RST (connection refused), the client asks PASV again, and the 2nd and 4th reach A.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_lb_no_persistence
lab_topo_public two
lab_lb
user_root $SCEN_WORK/root
lb_vsftpd_start vsftpd_conf pasv_address=$PUB_VIP
both_sides_start
ftpclient $NS_C '{"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["list"],["retr","data.bin"],["retr","data.bin"],["quit"]]}]}'
both_sides_stop
lb_vsftpd_logs
[ "$(grep -c '"connect_error": ".*refused' $SCEN_LOGS/client.json)" = 2 ] || die "expected two refused data connections"
grep -q "OK LOGIN" $SCEN_LOGS/vsftpd-a.log || die "control did not land on node A"
D="layer-4 balancer 198.51.100.100 without persistence (iptables statistic nth DNAT) over vsftpd nodes A 10.0.2.21 and B 10.0.2.22 (pasv_address=198.51.100.100); Python ftplib 198.51.100.2: control on A, PASV LIST and PASV RETR data.bin each tried twice: the 1st and 3rd data connections go to B and are refused (RST), the 2nd and 4th reach A"
mktruth --description "load balancer without persistence, client side: $D" --capture-point client_side \
  --log $SCEN_LOGS/client.json --data-attempts --absent brute_force --absent data_ip_mismatch --absent bounce --absent nat_private_pasv \
  --note "from the client's segment every data connection goes to the announced 198.51.100.100 and port; two are refused (RST): data_connection_missing says refused; no address mismatch is visible here; the 227 is right, so no PASV-address advice" \
  --summary-check '{"server_ip":"198.51.100.100","text_absent":["pasv_address"]}'
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "load balancer without persistence, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json --data-attempts --mismatch-by-node \
  --note "control on node A 10.0.2.21; two connections from the client to the announced port reach node B 10.0.2.22 and are refused (RST): each is the session's data connection attempt, data_ip_mismatch naming both addresses and data_connection_missing 'reached 10.0.2.22 instead of 10.0.2.21: refused'; pasv_address is configured (helper address), so no nat_private_pasv; the summary advises persistence (sticky by client address) on the balancer, not a PASV address or opening the passive range" \
  --absent brute_force --absent bounce --absent nat_private_pasv \
  --finding-check '{"kind":"data_ip_mismatch","session":0,"count":{"min":2,"max":2},"text_contains":["10.0.2.21","10.0.2.22"]}' \
  --finding-check '{"kind":"data_connection_missing","session":0,"count":{"min":2,"max":2},"text_contains":["10.0.2.22"]}' \
  --summary-check '{"server_ip":"10.0.2.21","text_contains_any":["persisten","sticky"],"text_absent":["pasv_address","open the passive"]}'
scen_end
