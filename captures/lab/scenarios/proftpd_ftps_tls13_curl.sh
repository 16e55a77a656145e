#!/bin/bash
# ProFTPD 1.3.8 (Debian proftpd-core + mod_tls from proftpd-mod-crypto) explicit FTPS at TLS 1.3,
# TLSRequired on, data connections must reuse the control session (ProFTPD's default); curl
# (--ssl-reqd --tlsv1.3) lists / and downloads three files in one control session: four PASV
# data connections, each resuming the control channel's TLS 1.3 session by PSK (ProFTPD's
# TLSLog says so).
. "$(dirname "$0")/../lib.sh"
scen_begin proftpd_ftps_tls13_curl
lab_install_servers
lab_topo_routed
user_root $SCEN_WORK/root
mkfile $SCEN_WORK/root/small.bin 3000 31; chown $LAB_USER $SCEN_WORK/root/small.bin
proftpd_conf $SCEN_WORK/proftpd.conf "DefaultRoot $SCEN_WORK/root"
proftpd_tls_lines edge TLSv1.3 >> $SCEN_WORK/proftpd.conf
proftpd_start $NS_S $SCEN_WORK/proftpd.conf
cap_start $NS_R r1 "$PCAP"
U=ftp://10.0.2.2
run_logged $NS_C $SCEN_LOGS/curl.log curl -v -sS -k --ssl-reqd --tlsv1.3 --disable-epsv -u $LAB_USER:$LAB_PASS \
  $U/ -o $SCEN_WORK/list.txt $U/data.bin -o $SCEN_WORK/got.bin $U/readme.txt -o $SCEN_WORK/got.txt $U/small.bin -o $SCEN_WORK/got.small
cap_stop
proftpd_logs
DT=$(proftpd_data_resumed 4)
clientlog --kind curl --client-ip 10.0.1.2 --size data.bin=65536 --size small.bin=3000 --out $SCEN_LOGS/client.json $SCEN_LOGS/curl.log
mktruth --description "ProFTPD 1.3.8 mod_tls explicit FTPS at TLS 1.3 (TLSRequired, session reuse required), curl --ssl-reqd --tlsv1.3: PASV LIST and RETR data.bin, readme.txt, small.bin, each data connection resuming the control session by PSK (ProFTPD's TLSLog: client reused TLS session)" \
  --log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --data-link tls-psk --data-tls "$DT" --range-check \
  --absent data_connection_missing --absent data_ip_mismatch
scen_end
