#!/bin/bash
# 20 concurrent sessions: 20 Python ftplib clients in parallel threads from 10.0.1.2 to one
# vsftpd, each logging in, PASV LIST and RETR data.bin.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_concurrent_sessions
lab_topo_routed
user_root $SCEN_WORK/root
mkfile $SCEN_WORK/root/data.bin 16384 12; chown $LAB_USER $SCEN_WORK/root/data.bin
vsftpd_conf $SCEN_WORK/vsftpd.conf pasv_max_port=50100 max_clients=50 max_per_ip=50
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
S='{"host":"10.0.2.2","port":21,"steps":[["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],["sleep",0.5],["quit"]]}'
P=$S; for i in $(seq 2 20); do P="$P,$S"; done
ftpclient $NS_C '{"parallel":true,"sessions":['"$P"']}'
cap_stop
vsftpd_logs
mktruth --description "20 concurrent sessions from 10.0.1.2 (Python ftplib clients in parallel threads) to vsftpd (passive range 50000-50100): each logs in, PASV LIST, PASV RETR data.bin (16384 bytes), QUIT" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50100"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing
scen_end
