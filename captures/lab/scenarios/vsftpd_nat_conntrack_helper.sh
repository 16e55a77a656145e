#!/bin/bash
# NAT with the Linux conntrack FTP helper, recorded on both sides of the router: vsftpd 10.0.2.2
# (no pasv_address) behind a DNAT router (public 198.51.100.100, client 198.51.100.2 keeps its
# address); only port 21 is forwarded, with `iptables -t raw ... -j CT --helper ftp`:
# nf_nat_ftp rewrites the 227 from 10,0,2,2 to 198,51,100,100 on its way to the client and
# forwards the announced port.  The client follows the 227: PASV LIST, RETR data.bin.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_nat_conntrack_helper
lab_topo_public
lab_nat_public helper
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
both_sides_start
ftpclient $NS_C '{"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],["quit"]]}]}'
both_sides_stop
vsftpd_logs
grep -q "227 Entering Passive Mode (198,51,100,100" $SCEN_LOGS/client.json || die "the client did not get a rewritten 227"
grep -q "227 Entering Passive Mode (10,0,2,2" $SCEN_LOGS/vsftpd.log || die "vsftpd did not announce its own address"
D="vsftpd 10.0.2.2 (no pasv_address) behind a DNAT router (198.51.100.100) whose conntrack FTP helper (CT --helper ftp, nf_nat_ftp) rewrites the 227 to 198.51.100.100 and opens the announced port; Python ftplib 198.51.100.2 follows the 227: PASV LIST, RETR data.bin"
mktruth --description "NAT with the conntrack FTP helper, client side: $D" --capture-point client_side \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent data_ip_mismatch \
  --absent bounce --absent nat_private_pasv \
  --summary-check '{"server_ip":"198.51.100.100","check":"nat","status":["ok","info"],"text_absent":["announce the public address"]}'
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "NAT with the conntrack FTP helper, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json \
  --note "vsftpd announces its private 10.0.2.2 and the router's helper rewrites it for the client: the data connections from the public client do arrive on the announced ports, so the 227 was usable after the rewrite: no nat_private_pasv" \
  --absent brute_force --absent data_connection_missing --absent data_ip_mismatch --absent bounce --absent nat_private_pasv \
  --summary-check '{"server_ip":"10.0.2.2","check":"nat","status":["ok","info"],"text_absent":["announce the public address"]}'
scen_end
