#!/bin/bash
# A download cut short: the client closes the data connection (RST) after 100000 bytes of a
# 1 MiB RETR; vsftpd answers 426. Then a complete RETR of readme.txt.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_retr_aborted
lab_topo_routed
user_root $SCEN_WORK/root
mkfile $SCEN_WORK/root/big.bin 1048576 5; chown $LAB_USER $SCEN_WORK/root/big.bin
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["retr_cut","big.bin",100000],["pasv"],["retr","readme.txt"],["quit"]]}]}'
cap_stop
vsftpd_logs
grep -q '"426' $SCEN_LOGS/client.json || die "expected a 426 reply"
mktruth --description "aborted download: PASV RETR big.bin (1 MiB), the client resets the data connection after reading 100000 bytes, vsftpd replies 426; then PASV RETR readme.txt completes" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
scen_end
