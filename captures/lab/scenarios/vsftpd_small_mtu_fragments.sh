#!/bin/bash
# A session through a link with a small MTU where the senders fragment: the client's link has
# MTU 68 (the IPv4 minimum) and both ends run without path MTU discovery (ip_no_pmtu_disc=1: DF is off), so the
# client's kernel fragments what it sends and the router fragments what the server sends to
# the client. Login, PASV, LIST, RETR data.bin, STOR; captured on the router's client-side veth,
# where control replies, commands and data travel as IPv4 fragments.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_small_mtu_fragments
lab_topo_routed
ns $NS_C sysctl -qw net.ipv4.ip_no_pmtu_disc=1
ns $NS_S sysctl -qw net.ipv4.ip_no_pmtu_disc=1
ns $NS_R sysctl -qw net.ipv4.ip_no_pmtu_disc=1
no_offload $NS_C c0
no_offload $NS_R r1
ns $NS_C ip link set c0 mtu 68
ns $NS_R ip link set r1 mtu 68
# the server still believes in 1500-byte packets (MSS from its own link), so its segments
# are cut by the router on the way to the client
ns $NS_C ip route change default via 10.0.1.1 advmss 1400
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd 3.0.3, Python ftplib client, PASV LIST, RETR data.bin, STOR upload.bin through a client link with MTU 68 (the IPv4 minimum) and no path MTU discovery: the client and the router send IPv4 fragments; captured on the router's client-side veth" \
  --log $SCEN_LOGS/client.json --options '["--passive-range","50000-50010"]' \
  --absent pasv_port_out_of_policy --absent brute_force --absent data_connection_missing \
  --absent ip_fragment_conflict --absent tcp_overlap_conflict
scen_end
