#!/usr/bin/env bash
# `make run`: start a working msgplex on this machine — the store on
# 127.0.0.1:1143, the proxy on 127.0.0.1:2143 (STARTTLS) and 2993 (TLS) —
# with an LDIF directory holding two sample users. Everything lives under
# ./var/ (created on first use). Ctrl-C stops both daemons.
#
#   LDAP="ldap://ldap.example.com" make run   # use a real directory instead
#   (also set LDAP_BASEDN, LDAP_BINDDN, LDAP_BINDPW as your directory needs)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin/msgplex
VAR=$PWD/var
mkdir -p "$VAR/data" "$VAR/state"

# Sample users with random passwords, made once.
if [ ! -f "$VAR/passwords" ]; then
  gen() { head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12; }
  printf 'alice %s\nbob %s\n' "$(gen)" "$(gen)" > "$VAR/passwords"
  chmod 600 "$VAR/passwords"
fi
ADMINPW_FILE=$VAR/storeadmin.password
[ -f "$ADMINPW_FILE" ] || { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$ADMINPW_FILE"; chmod 600 "$ADMINPW_FILE"; }
ADMINPW=$(cat "$ADMINPW_FILE")

{
  printf 'dn: dc=example,dc=com\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n'
  printf 'dn: ou=people,dc=example,dc=com\nobjectClass: top\nobjectClass: organizationalUnit\nou: people\n\n'
  while read -r user pw; do
    cat <<LDIF
dn: uid=$user,ou=people,dc=example,dc=com
objectClass: top
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: $user
cn: ${user^}
sn: ${user^}
mail: $user@example.com
mailHost: 127.0.0.1:1143
userPassword: $pw

LDIF
  done < "$VAR/passwords"
} > "$VAR/users.ldif"
chmod 600 "$VAR/users.ldif"

DIRURL="ldif:$VAR/users.ldif"
[ -n "${LDAP:-}" ] && DIRURL=$LDAP
cat > "$VAR/msgplex.toml" <<TOML
# Written by 'make run' on every start; see README.md for every key.
[store]
dataroot = "$VAR/data"
admin.user = "msgplex-admin"
admin.password = "$ADMINPW"
trustedproxies = ["127.0.0.0/8", "::1/128"]

[service.imap]
listen = "127.0.0.1:1143"

[directory]
url = "$DIRURL"
basedn = "${LDAP_BASEDN:-dc=example,dc=com}"
binddn = "${LDAP_BINDDN:-}"
bindpassword = "${LDAP_BINDPW:-}"

[proxy]
listen = "127.0.0.1:2143"
tlslisten = "127.0.0.1:2993"
statedir = "$VAR/state"
sessionlog = "$VAR/proxy-session.log"
storeadmin.user = "msgplex-admin"
storeadmin.password = "$ADMINPW"
backendport = 1143
TOML

pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait; }
trap stop INT TERM EXIT

"$BIN" store --config "$VAR/msgplex.toml" 2>>"$VAR/store.log" & pids+=($!)
"$BIN" proxy --config "$VAR/msgplex.toml" 2>>"$VAR/proxy.log" & pids+=($!)
sleep 1
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a daemon failed to start; see $VAR/*.log" >&2; tail -5 "$VAR"/*.log >&2; exit 1; }; done

cat <<EOM

msgplex is running (logs in $VAR/*.log; Ctrl-C stops it).

  Directory: $DIRURL
  Users:
$(while read -r u p; do echo "    $u / $p"; done < "$VAR/passwords")

EOM
cat <<EOM
  Connect your mail client to the proxy (what end users use):
    IMAP  127.0.0.1 port 2143 with STARTTLS   (self-signed certificate in $VAR/state)
    IMAPS 127.0.0.1 port 2993
  e.g.  openssl s_client -quiet -connect 127.0.0.1:2993
        a LOGIN alice <password>
  Session log: $VAR/proxy-session.log
  Counters:    $BIN counterutil --config $VAR/msgplex.toml -o imapstat

EOM
cat <<EOM
  The store itself listens on 127.0.0.1:1143 (plain IMAP, loopback only):
    python3 -c 'import imaplib; m=imaplib.IMAP4("127.0.0.1",1143); m.login("alice","<password>"); print(m.list())'
  Admin tools: $BIN mboxutil --config $VAR/msgplex.toml -l -x
EOM
wait -n "${pids[@]}" || true
echo "a daemon exited; stopping" >&2
