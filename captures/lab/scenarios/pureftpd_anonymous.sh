#!/bin/bash
# pure-ftpd anonymous FTP (the system user ftp, read-only, home /srv/ftp as Debian made it):
# USER ftp with an e-mail address as password, PASV LIST.  No credential crosses:
# anonymous_login, and no plaintext_auth.
. "$(dirname "$0")/../lib.sh"
scen_begin pureftpd_anonymous
lab_install_servers
lab_topo_routed
user_root $SCEN_WORK/root
[ -d "$(getent passwd ftp | cut -d: -f6)" ] || die "the system user ftp has no home directory"
pureftpd_start $NS_S 10.0.2.2 -i -M
cap_start $NS_R r1 "$PCAP"
ftpclient $NS_C '{"sessions":[{"host":"10.0.2.2","port":21,"steps":[
 ["login","ftp","guest@example.org"],["raw","TYPE I"],["pasv"],["list"],["quit"]]}]}'
cap_stop
pureftpd_logs
grep -q '"login": "success"' $SCEN_LOGS/client.json || die "anonymous login failed"
mktruth --description "pure-ftpd anonymous FTP: USER ftp with an e-mail password (no credential), PASV LIST" \
  --log $SCEN_LOGS/client.json --absent brute_force --absent data_connection_missing --absent plaintext_auth \
  --finding-check '{"kind":"anonymous_login","session":0,"count":{"min":1,"max":1},"severity":"low"}'
scen_end
