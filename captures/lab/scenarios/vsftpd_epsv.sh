#!/bin/bash
# vsftpd plain FTP, Python ftplib client, EPSV: LIST, RETR, STOR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_epsv
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["epsv"],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd 3.0.3 plain FTP, Python ftplib client, extended passive (EPSV) over IPv4 LIST, RETR data.bin, STOR upload.bin; server passive range 50000-50010" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing
scen_end
