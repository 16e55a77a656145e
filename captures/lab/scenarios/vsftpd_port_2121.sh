#!/bin/bash
# Control channel on a non-standard port: vsftpd listen_port=2121, PASV LIST and RETR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_port_2121
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf listen_port=2121
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 2121
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":2121,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd plain FTP with the control channel on TCP port 2121 (listen_port=2121), PASV LIST and RETR data.bin" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
