#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Installs the Debian 12 packages ftpinspect builds and tests with. Run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libnids-dev
libpcap-dev libndpi-dev libjansson-dev libssl-dev zlib1g-dev libinih-dev libmagic-dev libhiredis-dev redis-server libbsd-dev
python3 python3-jsonschema python3-scapy groff-base tshark wireshark-dev tcpdump tcpreplay strace iproute2 iptables vsftpd lftp curl openssl
xvfb wireshark-qt x11-apps xdotool chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
