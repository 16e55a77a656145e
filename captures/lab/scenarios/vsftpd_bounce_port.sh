#!/bin/bash
# FTP bounce attempt: PORT naming the third host 10.0.3.2; vsftpd refuses (500 Illegal PORT
# command); the client then uses PASV for a RETR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_bounce_port
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["port",{"ip":"10.0.3.2"}],["retr","readme.txt"],["pasv"],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
grep -q '500 Illegal PORT command' $SCEN_LOGS/vsftpd.log || die "expected vsftpd to refuse the PORT"
mktruth --description "bounce attempt: client 10.0.1.2 sends PORT 10,0,3,2,... (third host); vsftpd answers 500 Illegal PORT command; then PASV RETR readme.txt" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
