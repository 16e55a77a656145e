#!/bin/bash
# The server's passive ports are filtered (iptables DROP in the server namespace): the client's
# SYN to the announced port is never answered; the client gives up and sends QUIT.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_blocked_data_port
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
ns $NS_S iptables -A INPUT -p tcp --dport 50000:50010 -j DROP
ns $NS_S iptables -S > $SCEN_LOGS/server-iptables.txt
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["pasv",{"timeout":4}],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "PASV announced 10.0.2.2 port 5000x, but iptables drops it on the server: the client's SYNs go unanswered (4 s), no RETR is sent, then QUIT" \
  --log $SCEN_LOGS/client.json --finding data_connection_missing=1:1 --not-absent cleartext_data --no-data-exact --absent brute_force
scen_end
