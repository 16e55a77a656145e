#!/bin/bash
# FTPS through NAT with the helper address, recorded on both sides: vsftpd 10.0.2.2 (explicit
# FTPS, TLS 1.3, PROT P, require_ssl_reuse, pasv_address=198.51.100.100, edge CA certificate)
# behind the DNAT router 198.51.100.100 (passive range forwarded).  Python FTP_TLS 198.51.100.2
# follows the (encrypted) 227: PASV LIST, RETR data.bin, STOR upload.bin over TLS 1.3, each
# data connection resuming the control session (vsftpd logs "reused").
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_ftps_nat_helper_address
lab_topo_public
lab_nat_public
user_root $SCEN_WORK/root
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
vsftpd_tls_conf_edge $SCEN_WORK/vsftpd.conf pasv_address=$PUB_VIP
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21 $SCEN_WORK/openssl.cnf
both_sides_start
ftpclient $NS_C '{"tls_opts":{"min":"TLSv1_3"},"sessions":[{"host":"'$PUB_VIP'","port":21,"steps":[
 ["auth"],["login","'$LAB_USER'","'$LAB_PASS'"],["prot","P"],["raw","TYPE I"],["pasv",{"use_announced":true}],["list"],["retr","data.bin"],
 ["stor","upload.bin",20000],["quit"]]}]}'
both_sides_stop
vsftpd_logs
DT=$(vsftpd_data_resumed 3 $SCEN_LOGS/vsftpd.log)
D="vsftpd 10.0.2.2 explicit FTPS (TLS 1.3, PROT P, require_ssl_reuse) with pasv_address=198.51.100.100 behind a DNAT router (198.51.100.100); Python FTP_TLS 198.51.100.2: PASV LIST, RETR data.bin, STOR upload.bin over TLS 1.3 resuming the control session (PSK)"
COMMON=(--log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --range-check
  --absent data_connection_missing --absent data_ip_mismatch)
mktruth --description "FTPS through NAT with the helper address, client side: $D" --capture-point client_side "${COMMON[@]}"
TRUTH=$TRUTH_S PCAP=$PCAP_S mktruth --description "FTPS through NAT with the helper address, server side: $D" --capture-point server_side \
  --conntrack $SCEN_LOGS/router-conntrack.log "${COMMON[@]}" \
  --note "the encrypted 227 names the helper address; nothing on the wire is a NAT problem: no nat_private_pasv; the data connections resume the control session by PSK (tls-psk)"
scen_end
