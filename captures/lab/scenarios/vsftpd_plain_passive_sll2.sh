#!/bin/bash
# Linux cooked (SLL2) copy of the plain passive scenario: the same session, captured in the
# server namespace with `tcpdump -i any -y LINUX_SLL2`.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_plain_passive_sll2
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_S any "$PCAP" -y LINUX_SLL2
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "Linux cooked capture (LINUX_SLL2, tcpdump -i any in the server namespace) of the plain passive scenario: vsftpd, Python ftplib, PASV LIST, RETR data.bin, STOR upload.bin" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing
scen_end
