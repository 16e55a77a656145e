#!/bin/bash
# vsftpd plain FTP, Python ftplib client, active mode with PORT: LIST, RETR, STOR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_active_port
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["port"],["list"],["retr","data.bin"],
 ["stor","upload.bin",30000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd plain FTP, Python ftplib client, active mode (PORT): LIST, RETR data.bin, STOR upload.bin; the server connects from port 20" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
