#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers the tests run:
# slapd (the directory), isync (mbsync), dovecot-imapd (a backend and the
# benchmark's reference), python3 (imaplib). Idempotent: it installs only
# what is missing, and never starts the packages' system services.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in slapd ldap-utils isync dovecot-imapd python3 openssl; do
  have "$p" || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own daemons from starting on install.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
[ -n "$made_policy" ] && rm -f "$policy"
exit 0
