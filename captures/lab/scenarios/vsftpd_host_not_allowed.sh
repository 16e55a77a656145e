#!/bin/bash
# Policy check: a session from 10.0.1.3 while the allow-list given to ftpinspect permits only
# the client 10.0.1.2/32 (and servers in 10.0.2.0/24).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_host_not_allowed
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[
 {"host":"10.0.2.2","port":21,"source":"10.0.1.2","steps":[["login","'$LAB_USER'","'$LAB_PASS'"],["pasv"],["retr","readme.txt"],["quit"]]},
 {"host":"10.0.2.2","port":21,"source":"10.0.1.3","steps":[["login","'$LAB_USER'","'$LAB_PASS'"],["pasv",{"source":"10.0.1.3"}],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "two sessions to vsftpd, from 10.0.1.2 and from 10.0.1.3, each PASV RETR readme.txt; checked with --allow-client 10.0.1.2/32 --allow-server 10.0.2.0/24, so only the 10.0.1.3 session is outside the allow-list" \
  --log $SCEN_LOGS/client.json --options '["--allow-client","10.0.1.2/32","--allow-server","10.0.2.0/24"]' \
  --finding host_not_allowed=1:1 --absent brute_force --absent data_connection_missing
scen_end
