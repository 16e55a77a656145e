#!/bin/bash
# NAT without the helper address, recorded on both sides of the router: vsftpd 10.0.2.2 behind a
# DNAT router (public 198.51.100.100, passive range forwarded, client 198.51.100.2 keeps its
# address), no pasv_address: the 227 names the private 10.0.2.2.  The client first follows the
# 227: its SYNs to 10.0.2.2 are dropped by the router (never reach the server segment), the
# connect times out; then it asks PASV again and connects to the control address (the port
# forwarded by the DNAT), RETR data.bin.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_nat_no_helper
lab_topo_public
lab_nat_public
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
both_sides_start
ftpclient $NS_C '{"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv",{"use_announced":true,"timeout":3}],["list"],
 ["pasv"],["retr","data.bin"],["quit"]]}]}'
both_sides_stop
vsftpd_logs
grep -q "227 Entering Passive Mode (10,0,2,2" $SCEN_LOGS/client.json || die "227 without the private address"
grep -q '"connect_error": "timed out"' $SCEN_LOGS/client.json || die "the first data connection did not time out"
D="vsftpd 10.0.2.2 behind a DNAT router (198.51.100.100, passive range forwarded), no pasv_address: the 227 names the private 10.0.2.2; Python ftplib 198.51.100.2 follows it (SYNs dropped by the router, timeout), then PASV again and RETR data.bin through the control address"
mktruth --description "NAT without the helper address, client side: $D" --capture-point client_side \
  --log $SCEN_LOGS/client.json --data-attempts --absent brute_force --absent data_ip_mismatch --absent bounce \
  --note "private address in the 227 that the client cannot use: nat_private_pasv; the SYNs to 10.0.2.2 went unanswered; the summary advises announcing the public address" \
  --summary-check '{"server_ip":"198.51.100.100","check":"nat","status":["warn","fail"],"text_contains":["pasv_address"]}'
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "NAT without the helper address, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json --data-attempts --attempt-unseen \
  --finding nat_private_pasv=1:1 \
  --note "a public client reached the private 10.0.2.2 and the 227 names 10.0.2.2: the server is behind NAT without a helper address (nat_private_pasv); the first announced port was never connected at this point (no SYN seen: nothing more can be said here)" \
  --absent brute_force --absent data_ip_mismatch --absent bounce \
  --finding-check '{"kind":"data_connection_missing","session":0,"count":{"min":1,"max":1},"text_absent":["refused","unanswered","without answer"]}' \
  --summary-check '{"server_ip":"10.0.2.2","check":"nat","status":["warn","fail"],"text_contains":["pasv_address"]}'
scen_end
