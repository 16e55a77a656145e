#!/bin/bash
# vsftpd anonymous login (USER anonymous, e-mail as password), PASV LIST and RETR.
. "$(dirname "$0")/../lib.sh"
scen_begin vsftpd_anonymous
lab_topo_routed
mkdir -p $SCEN_WORK/anon/pub
printf 'public file for anonymous users\n' > $SCEN_WORK/anon/pub/notice.txt
mkfile $SCEN_WORK/anon/pub/release.tar 40000 21
chmod -R a+rX,go-w $SCEN_WORK/anon
vsftpd_conf $SCEN_WORK/vsftpd.conf anonymous_enable=YES anon_root=$SCEN_WORK/anon no_anon_password=NO ftp_username=ftp
mkdir -p $SCEN_WORK/root; chown $LAB_USER $SCEN_WORK/root
vsftpd_start $NS_S $SCEN_WORK/vsftpd.conf 21
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","anonymous","guest@example.org"],["raw","TYPE I"],["pasv"],["list","pub"],["retr","pub/release.tar"],["quit"]]}]}'
cap_stop
vsftpd_logs
mktruth --description "vsftpd anonymous FTP: USER anonymous with an e-mail password, PASV LIST pub and RETR pub/release.tar" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent plaintext_auth \
  --finding-check '{"kind":"anonymous_login","session":0,"count":{"min":1,"max":1},"severity":"low"}'
scen_end
