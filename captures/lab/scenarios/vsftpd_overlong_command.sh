#!/bin/bash
# An overlong command line on the control channel: after login the client sends a 6000-byte
# "SITE AAAA..." line (longer than vsftpd's and ftpinspect's 4096-byte line limit); vsftpd
# answers "500 Input line too long." and closes the control connection.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_overlong_command
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
LONG=$(head -c 5995 /dev/zero | tr '\0' 'A')
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw_lines",["SITE '$LONG'"]]]}]}'
cap_stop
vsftpd_logs
grep -q '500 Input line too long' $SCEN_LOGS/client.json || die "expected vsftpd to refuse the line"
mktruth --description "overlong control line: after login the client sends one 6000-byte line 'SITE AAA...' (vsftpd limit 4096); vsftpd answers 500 Input line too long. and closes the control connection" \
  --log $SCEN_LOGS/client.json --finding protocol_anomaly=1 --absent brute_force --absent data_connection_missing
scen_end
