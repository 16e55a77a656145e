#!/bin/bash
# Control connection from 10.0.1.2, PASV data connection from 10.0.1.3 (own ftplib-based
# client binding the data socket to the second address; vsftpd pasv_promiscuous=YES lets it in).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_data_from_other_ip
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf pasv_promiscuous=YES
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"source":"10.0.1.2","steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["pasv",{"source":"10.0.1.3"}],["retr","data.bin"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "control from 10.0.1.2; first PASV data connection (LIST) from 10.0.1.2, second (RETR data.bin) from 10.0.1.3 to the announced port (vsftpd pasv_promiscuous=YES accepts it)" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
