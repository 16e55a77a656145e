#!/bin/bash
# Regenerates the whole captures corpus: certificates, then every scenario under
# captures/lab/scenarios/ (each builds its own ftpi-lab-* namespaces, runs real servers and
# clients, captures, writes <scenario>.pcap and <scenario>.truth.json, and tears everything
# down, also on failure).  Run as root on Debian 12:
#     sudo captures/lab/make-all.sh                 # everything
#     sudo captures/lab/make-all.sh vsftpd_epsv ... # only these scenarios (certificates kept)
set -uo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
CAP=$(cd "$LAB/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "make-all.sh: run as root" >&2; exit 1; }
. "$LAB/lib.sh"
set +e
lab_install || exit 1
lab_install_servers || exit 1
if [ $# -eq 0 ]; then
    bash "$LAB/certs.sh" || exit 1
    set -- $(cd "$LAB/scenarios" && ls *.sh | sed 's/\.sh$//')
else
    # The private keys are not committed. New certificates would no longer match the
    # committed TLS captures, so a TLS scenario alone cannot be regenerated without them
    # (certs/ca for the first scenarios, certs/edge for those using the edge CA).
    for s in "$@"; do
        f=$LAB/scenarios/$s.sh
        if grep -q -E '_edge|certs/edge|TLS13_EDGE' "$f"; then key=$CAP/certs/edge/server.key
        elif grep -q -E 'vsftpd_tls_conf|--cert ' "$f"; then key=$CAP/certs/ca/ca.key
        else continue; fi
        if [ ! -f "$key" ]; then
            echo "make-all.sh: $s needs the lab certificates' private keys, which are not" \
                 "committed; run make-all.sh without arguments to regenerate everything" >&2
            exit 1
        fi
    done
fi
failed=()
for s in "$@"; do
    echo "=== $s" >&2
    if ! bash "$LAB/scenarios/$s.sh"; then
        failed+=("$s")
    fi
done
lab_ns_clean
rm -rf "${FTPI_LAB_WORK:-/tmp/ftpi-lab}"
$PY "$LAB/readme_table.py"
size=$(du -sb "$CAP" | cut -f1)
echo "captures/ size: $size bytes" >&2
[ "$size" -lt 31457280 ] || { echo "captures/ is over 30 MB" >&2; failed+=("(size)"); }
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all scenarios done" >&2
