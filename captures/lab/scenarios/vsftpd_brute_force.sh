#!/bin/bash
# Password guessing: 3 sessions from 10.0.1.2, 3 wrong passwords each (vsftpd drops the
# control connection after the 3rd failure: max_login_fails=3) = 9 failed PASS within ~30 s.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_brute_force
lab_topo_routed
user_root $SCEN_WORK/root
vsftpd_conf $SCEN_WORK/vsftpd.conf max_login_fails=3
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
S='{"host":"10.0.2.2","port":21,"steps":[["login","'$LAB_USER'","guess1"],["login","'$LAB_USER'","guess2"],["login","'$LAB_USER'","guess3"]]}'
ftpclient $NS_C '{"pause_between":0.5,"sessions":['"$S,$S,$S"']}'
cap_stop
vsftpd_logs
mktruth --description "brute force (policy 5 failures in 300 s): 3 control sessions from 10.0.1.2 to vsftpd, 3 wrong passwords each for user $LAB_USER (9 x 530; vsftpd closes the connection after the 3rd failure)" \
  --log $SCEN_LOGS/client.json --options '["--brute-force","5/300"]' --finding brute_force=1:1 --absent data_connection_missing
scen_end
