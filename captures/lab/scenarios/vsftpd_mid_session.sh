#!/bin/bash
# A capture that starts mid-session: the client logs in and does a LIST first; only then is
# tcpdump started; the capture holds the rest of the session (PASV RETR, STOR, QUIT).
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_mid_session
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
ftpclient_bg $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","'$LAB_USER'","'$LAB_PASS'"],["raw","TYPE I"],["pasv"],["list"],["touch","'$SCEN_WORK/logged-in'"],
 ["wait_file","'$SCEN_WORK/capturing'"],["raw","PWD"],["pasv"],["retr","data.bin"],["stor","upload.bin",15000],["quit"]]}]}'
wait_file $SCEN_WORK/logged-in
cap_start $NS_R r1 "$PCAP"
touch $SCEN_WORK/capturing
wait $FTPCLIENT_PID
cap_stop
vsftpd_logs
mktruth --description "capture starts mid-session: login and a PASV LIST happen before tcpdump starts; the capture holds PWD, PASV RETR data.bin, PASV STOR upload.bin and QUIT of an already logged-in session" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --not-absent protocol_anomaly
scen_end
