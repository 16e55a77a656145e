#!/bin/bash
# NAT with the helper address, recorded on both sides of the router: vsftpd 10.0.2.2 behind a
# DNAT router (public 198.51.100.100, client 198.51.100.2 keeps its own address) with
# pasv_address=198.51.100.100, the correct configuration.  The 227 names the public address;
# the client follows it.  Client side: 227 = the address reached.  Server side: 227 = the public
# address while the client reached 10.0.2.2: the configured helper address, not a problem.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_nat_helper_address
lab_topo_public
lab_nat_public
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf pasv_address=$PUB_VIP
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
both_sides_start
ftpclient $NS_C '{"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],["stor","upload.bin",20000],["quit"]]}]}'
both_sides_stop
vsftpd_logs
grep -q "227 Entering Passive Mode (198,51,100,100" $SCEN_LOGS/client.json || die "227 without the helper address"
D="vsftpd 10.0.2.2 behind a DNAT router (198.51.100.100) with pasv_address=198.51.100.100 (helper address); Python ftplib 198.51.100.2 follows the 227: PASV LIST, RETR data.bin, STOR upload.bin"
mktruth --description "NAT with the helper address, client side: $D" --capture-point client_side \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent data_ip_mismatch \
  --absent bounce --absent nat_private_pasv
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "NAT with the helper address, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json \
  --note "the 227 names the configured public helper address 198.51.100.100 while the client reached 10.0.2.2 after DNAT: correct configuration, no nat_private_pasv; the summary notes the helper address and does not advise setting it" \
  --absent brute_force --absent data_connection_missing --absent data_ip_mismatch --absent bounce --absent nat_private_pasv \
  --summary-check '{"server_ip":"10.0.2.2","check":"nat","status":["ok","info"],"text_contains":["198.51.100.100"],"text_absent":["announce the public address"]}'
scen_end
