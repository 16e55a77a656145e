#!/bin/bash
# Recorded at two points: the public side (r1) and the server segment (r2, *_server_side).
# NAT without pasv_address: vsftpd 10.0.2.2 behind the router's DNAT/MASQUERADE (public
# 10.0.1.100). The 227 reply names the private 10.0.2.2; curl (default --ftp-skip-pasv-ip)
# ignores it and opens the data connection to 10.0.1.100. Captured on the public side.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_nat_private_pasv
lab_topo_routed
lab_nat
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
conntrack_log_start
cap_start $NS_R r1 "$PCAP"
cap_start $NS_R r2 "$PCAP_S"
run_logged $NS_C $SCEN_LOGS/curl.log curl -v -sS --disable-epsv -u $LAB_USER:$LAB_PASS ftp://10.0.1.100/data.bin -o $SCEN_WORK/got.bin
cap_stop
conntrack_log_stop
vsftpd_logs
clientlog --kind curl --client-ip 10.0.1.2 --size data.bin=65536 --out $SCEN_LOGS/client.json $SCEN_LOGS/curl.log
mktruth --description "NAT: vsftpd 10.0.2.2 behind DNAT at 10.0.1.100, no pasv_address: 227 announces the private 10.0.2.2; curl skips that address and connects to 10.0.1.100 (PASV RETR data.bin); captured on the public side" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "NAT: vsftpd 10.0.2.2 behind DNAT at 10.0.1.100, no pasv_address: 227 announces the private 10.0.2.2; curl skips that address and connects to 10.0.1.100 (PASV RETR data.bin); captured on the server segment behind the router (10.0.2.0/24)" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent nat_private_pasv \
  --note "behind the router the client is masqueraded to 10.0.2.1 and the 227 names 10.0.2.2, the address it reached: nothing here shows the NAT, no nat_private_pasv"
scen_end
