#!/bin/bash
# pure-ftpd 1.0.50 (Debian package) explicit FTPS, TLS required for control and data (-Y 3),
# OpenSSL pinned to TLS 1.3; curl (--ssl-reqd --tlsv1.3) lists / and downloads data.bin and
# small.bin in one control session: three PASV data connections over TLS 1.3.  pure-ftpd logs
# TLS only to syslog and curl does not say whether a data connection resumed the control
# session, so the link is not asserted; the data connections' TLS version and cipher are curl's.
. "$(dirname "$0")/../lib.sh"
scen_begin pureftpd_ftps_tls13_curl
lab_install_servers
lab_topo_routed
user_root $SCEN_WORK/root
mkfile $SCEN_WORK/root/small.bin 3000 31; chown $LAB_USER $SCEN_WORK/root/small.bin
openssl_conf $SCEN_WORK/openssl.cnf TLSv1.3 TLSv1.3
cat $CAP_DIR/certs/edge/server.key $CAP_DIR/certs/edge/server.pem > $SCEN_WORK/pure-ftpd.pem
cp $SCEN_WORK/openssl.cnf $SCEN_LOGS/openssl-server.cnf
PUREFTPD_OPENSSL_CONF=$SCEN_WORK/openssl.cnf pureftpd_start $NS_S 10.0.2.2 -E -Y 3 -2 $SCEN_WORK/pure-ftpd.pem
cap_start $NS_R r1 "$PCAP"
U=ftp://10.0.2.2
run_logged $NS_C $SCEN_LOGS/curl.log curl -v -sS -k --ssl-reqd --tlsv1.3 --disable-epsv -u $LAB_USER:$LAB_PASS \
  $U/ -o $SCEN_WORK/list.txt $U/data.bin -o $SCEN_WORK/got.bin $U/small.bin -o $SCEN_WORK/got.small
cap_stop
pureftpd_logs
cmp -s $SCEN_WORK/got.bin $SCEN_WORK/root/data.bin || die "data.bin differs"
grep -q "TLSv1.3" $SCEN_LOGS/curl.log || die "curl did not log TLS 1.3"
DT=$(grep -E '^\* SSL connection using' $SCEN_LOGS/curl.log | tail -1 | sed -E 's/.*using ([^ ]+) \/ ([^ ]+).*/\1,\2/')
clientlog --kind curl --client-ip 10.0.1.2 --size data.bin=65536 --size small.bin=3000 --out $SCEN_LOGS/client.json $SCEN_LOGS/curl.log
mktruth --description "pure-ftpd 1.0.50 explicit FTPS (-Y 3: TLS for control and data), TLS 1.3; curl --ssl-reqd --tlsv1.3: PASV LIST, RETR data.bin and small.bin over TLS 1.3" \
  --log $SCEN_LOGS/client.json "${TLS13_EDGE_TRUTH[@]}" --range-check --data-tls "$DT" \
  --absent data_connection_missing --absent data_ip_mismatch
scen_end
