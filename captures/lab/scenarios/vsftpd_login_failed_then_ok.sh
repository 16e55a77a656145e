#!/bin/bash
# vsftpd: one session, a wrong password (530) then the right one (230), then a PASV RETR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_login_failed_then_ok
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","wrongpass"],["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd plain FTP, one session: USER/PASS with a wrong password (530 Login incorrect), then USER/PASS with the right one (230), PASV RETR readme.txt" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
