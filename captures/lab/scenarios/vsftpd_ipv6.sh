#!/bin/bash
# A whole session over IPv6: vsftpd listen_ipv6, Python ftplib client, EPSV and EPRT |2|.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ipv6
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
sed -i 's/^listen=YES/listen=NO/; s/^listen_ipv6=NO/listen_ipv6=YES/' $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"fd00:2::2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["epsv"],["list"],["retr","data.bin"],
 ["eprt"],["retr","readme.txt"],["stor","upload.bin",25000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "IPv6 session (fd00:1::2 -> fd00:2::2): vsftpd listen_ipv6, Python ftplib client; EPSV LIST and RETR data.bin, then EPRT |2| RETR readme.txt and STOR upload.bin" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
