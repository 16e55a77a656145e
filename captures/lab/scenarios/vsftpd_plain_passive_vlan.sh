#!/bin/bash
# 802.1Q VLAN-tagged copy of the plain passive scenario: client and server are on VLAN 100
# of a trunk link; the capture is on the trunk (frames carry the 802.1Q tag, VID 100).
# This kernel has no 8021q module, so the switch's tagging is done by relay.py (see lib.sh).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_plain_passive_vlan
lab_topo_vlan
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R t0 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.6.3","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
cap_stop
relay_stop
vsftpd_logs
mktruth --description "802.1Q-tagged (VLAN 100) capture on a trunk link of the plain passive scenario: vsftpd 10.0.6.3, Python ftplib 10.0.6.2, PASV LIST, RETR data.bin, STOR upload.bin" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing
scen_end
