#!/bin/bash
# pyftpdlib plain FTP with passive_ports 60000-60010; ftpinspect's policy range is
# 50000-50010, so every announced port is out of policy.
. "$(dirname "$0")/../lib.sh"
scen_begin pyftpdlib_passive_ports_policy
lab_topo_routed
user_root $SCEN_WORK/root
pyftpd_start $NS_S 21 --addr 10.0.2.2 --passive-ports 60000-60010
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],["epsv"],["stor","upload.bin",10000],["quit"]]}]}'
cap_stop
pyftpd_logs
mktruth --description "pyftpdlib plain FTP, passive_ports=60000-60010, Python ftplib client: PASV LIST, PASV RETR data.bin, EPSV STOR upload.bin; checked with policy --passive-range 50000-50010 (3 announced ports out of policy)" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' --finding pasv_port_out_of_policy=3:3 \
  --absent brute_force --absent data_connection_missing
scen_end
