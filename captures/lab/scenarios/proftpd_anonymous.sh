#!/bin/bash
# ProFTPD anonymous FTP (<Anonymous> with UserAlias anonymous ftp, read-only): USER anonymous
# with an e-mail address as password, PASV LIST pub and RETR pub/release.tar.  No credential
# crosses: anonymous_login, and no plaintext_auth.
. "$(dirname "$0")/../lib.sh"
scen_begin proftpd_anonymous
lab_install_servers
lab_topo_routed
mkdir -p $SCEN_WORK/anon/pub
printf 'public file for anonymous users\n' > $SCEN_WORK/anon/pub/notice.txt
mkfile $SCEN_WORK/anon/pub/release.tar 40000 21
chmod -R a+rX,go-w $SCEN_WORK/anon
proftpd_conf $SCEN_WORK/proftpd.conf "<Anonymous $SCEN_WORK/anon>" "User ftp" "Group ftp" "UserAlias anonymous ftp" \
  "RequireValidShell off" "<Limit WRITE>" "DenyAll" "</Limit>" "</Anonymous>"
proftpd_start $NS_S $SCEN_WORK/proftpd.conf
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","anonymous","guest@example.org"],["raw","TYPE I"],["pasv"],["list","pub"],["retr","pub/release.tar"],["quit"]]}]}'
cap_stop
proftpd_logs
grep -q ' a guest@example.org ftp ' $SCEN_LOGS/xferlog || die "ProFTPD's xferlog has no anonymous transfer"
mktruth --description "ProFTPD anonymous FTP: USER anonymous with an e-mail password (no credential), PASV LIST pub and RETR pub/release.tar" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent plaintext_auth \
  --finding-check '{"kind":"anonymous_login","session":0,"count":{"min":1,"max":1},"severity":"low"}'
scen_end
