#!/bin/bash
# Packet loss, duplication and reordering during a 2 MiB RETR: frames between client and server
# pass a seeded user-space relay (relay.py, seed 42) that drops 2 %, duplicates 1 % and
# reorders 2 % of the data connection's payload segments. Captured on the client's veth,
# i.e. after the relay for server-to-client data.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_lossy_large_retr
lab_topo_relay
relay_start $NS_R r1 r2 --seed 42 --drop 0.02 --dup 0.01 --reorder 0.02 --ports 50000-50010 --log $SCEN_LOGS/relay.log
user_root $SCEN_WORK/root
mkfile $SCEN_WORK/root/large.bin 2097152 42; chown $LAB_USER $SCEN_WORK/root/large.bin
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_C c0 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.4.3","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["retr","large.bin"],["quit"]]}]}'
cap_stop
relay_stop
vsftpd_logs
grep -q '^totals' $SCEN_LOGS/relay.log || die "relay did not report"
mktruth --description "2 MiB RETR large.bin through a seeded relay (seed 42: 2% loss, 1% duplication, 2% reordering of the data connection's segments), vsftpd, Python ftplib client, PASV; captured on the client side" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --not-absent protocol_anomaly
scen_end
