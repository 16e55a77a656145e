#!/bin/bash
# FTPS through the sticky balancer, recorded on both sides: 198.51.100.100 balanced over vsftpd
# nodes A 10.0.2.21 and B 10.0.2.22 (explicit FTPS, TLS 1.3, PROT P, require_ssl_reuse,
# pasv_address=198.51.100.100) with DNAT to the range --persistent; the control and the PASV
# LIST, RETR data.bin and STOR upload.bin data connections reach one node and resume the control
# session (vsftpd logs "reused").
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_lb_sticky
lab_topo_public two
lab_lb sticky
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
LB_OPENSSL_CONF=$SCEN_WORK/openssl.cnf lb_vsftpd_start vsftpd_tls_conf_edge pasv_address=$PUB_VIP
both_sides_start
ftpclient $NS_C '{"tls_opts":{"min":"TLSv1_3"},"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
both_sides_stop
lb_vsftpd_logs
! grep -q '"connect_error"' $SCEN_LOGS/client.json || die "a data connection failed"
DT=$(vsftpd_data_resumed 3 $SCEN_LOGS/vsftpd-a.log $SCEN_LOGS/vsftpd-b.log)
D="explicit FTPS (TLS 1.3, PROT P) through a balancer 198.51.100.100 with persistence (DNAT to 10.0.2.21-10.0.2.22 --persistent) over vsftpd nodes A and B (pasv_address=198.51.100.100); Python FTP_TLS 198.51.100.2: control and the PASV LIST, RETR data.bin, STOR upload.bin data connections on one node, each resuming the control session (PSK)"
COMMON=(--log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --range-check
  --absent data_connection_missing --absent data_ip_mismatch)
mktruth --description "FTPS through a sticky balancer, client side: $D" --capture-point client_side "${COMMON[@]}"
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "FTPS through a sticky balancer, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log "${COMMON[@]}" --mismatch-by-node \
  --note "all data connections reach the control connection's node and resume its TLS session: nothing to report but the TLS 1.3 facts"
scen_end
