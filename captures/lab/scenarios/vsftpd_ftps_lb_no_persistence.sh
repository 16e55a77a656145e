#!/bin/bash
# FTPS through a load balancer without persistence, recorded on both sides: 198.51.100.100
# balanced over vsftpd nodes A 10.0.2.21 and B 10.0.2.22 (explicit FTPS, TLS 1.3, PROT P,
# require_ssl_reuse, pasv_address=198.51.100.100), every second new connection to B (nth).
# Control on A; the 1st and 3rd data connections go to B and are refused (RST); the client asks
# PASV again and the 2nd and 4th reach A, resuming the control session.  The PASV replies are
# encrypted: the refused attempts cannot be tied to an announcement from the wire alone, so
# their findings are not asserted (the attempts are listed as data_attempts_encrypted).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_lb_no_persistence
lab_topo_public two
lab_lb
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
LB_OPENSSL_CONF=$SCEN_WORK/openssl.cnf lb_vsftpd_start vsftpd_tls_conf_edge pasv_address=$PUB_VIP
both_sides_start
ftpclient $NS_C '{"tls_opts":{"min":"TLSv1_3"},"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["list"],["retr","data.bin"],["retr","data.bin"],["quit"]]}]}'
both_sides_stop
lb_vsftpd_logs
[ "$(grep -c '"connect_error": ".*refused' $SCEN_LOGS/client.json)" = 2 ] || die "expected two refused data connections"
DT=$(vsftpd_data_resumed 2 $SCEN_LOGS/vsftpd-a.log $SCEN_LOGS/vsftpd-b.log)
D="explicit FTPS (TLS 1.3, PROT P) through a balancer 198.51.100.100 without persistence (nth DNAT) over vsftpd nodes A 10.0.2.21 and B 10.0.2.22 (pasv_address=198.51.100.100); Python FTP_TLS 198.51.100.2: control on A, LIST and RETR data.bin each tried twice: 1st and 3rd data connections refused by B (RST), 2nd and 4th reach A resuming the control session (PSK)"
COMMON=(--log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --data-attempts
  --not-absent data_connection_missing --not-absent data_ip_mismatch)
mktruth --description "FTPS through a balancer without persistence, client side: $D" --capture-point client_side "${COMMON[@]}"
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "FTPS through a balancer without persistence, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log "${COMMON[@]}" --mismatch-by-node \
  --note "control on node A; two connections from the session's client to node B 10.0.2.22 are refused while the session is active; the PASV replies are encrypted, so linking them is an inference (same client, passive range, timing): data_ip_mismatch and data_connection_missing are not asserted either way"
scen_end
