#!/bin/bash
# pyftpdlib plain FTP, Python ftplib client, EPSV: MLSD, NLST, APPE and STOU.
. "$(dirname "$0")/../lib.sh"
scen_begin pyftpdlib_mlsd_nlst_appe_stou
lab_topo_routed
user_root $SCEN_WORK/root
pyftpd_start $NS_S 21 --addr 10.0.2.2 --passive-ports 50000-50010
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["epsv"],["mlsd"],["nlst"],["appe","readme.txt",1000],["stou",5000],["quit"]]}]}'
cap_stop
pyftpd_logs
mktruth --description "pyftpdlib plain FTP, Python ftplib client, EPSV data connections for MLSD, NLST, APPE readme.txt (1000 bytes) and STOU (5000 bytes, server-chosen name)" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing
scen_end
