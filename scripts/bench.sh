#!/usr/bin/env bash
# `make bench`: the store benchmark (test/benchstore), msgplex side by side
# with a private Dovecot on this machine, then a table of the figures.
#
#   BENCH_SCALE=full  (default) folders of 10k and 1M messages (+10M msgplex only)
#   BENCH_SCALE=small folders of 10k only, a quick run
#
# Built folders are cached under ./var/bench/<scale>/ between runs (delete
# that directory to rebuild). Raw figures: ./var/bench/results-<scale>.tsv,
# full output: ./var/bench/bench-<scale>.log. See docs/BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
SCALE=${BENCH_SCALE:-full}
VAR=$PWD/var/bench
mkdir -p "$VAR"
OUT=$VAR/results-$SCALE.tsv
LOG=$VAR/bench-$SCALE.log
export BENCH_SCALE=$SCALE BENCH_CACHE=$VAR BENCH_OUT=$OUT
[ -x bin/msgplex ] && export MSGPLEX_BIN=${MSGPLEX_BIN:-$PWD/bin/msgplex}

echo "bench: scale $SCALE; log $LOG" >&2
start=$(date +%s)
go test -count=1 -run '^$' -bench . -benchtime 1x -timeout 60m ./test/benchstore 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))

echo
echo "== msgplex store vs Dovecot ($SCALE scale, $secs s) =="
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}'), dovecot $(dovecot --version 2>/dev/null | awk '{print $1}')"
[ -s "$OUT" ] || { echo "no figures recorded (see $LOG)"; exit 1; }
awk -F'\t' '
function lowerbetter(u) { return u ~ /^ms-/ || u ~ /^KiB/ || u == "s" }
function fmtv(v) {
  if (v == "-" || v == "NA") return v
  if (v + 0 >= 1000) return sprintf("%.0f", v)
  if (v + 0 >= 10) return sprintf("%.1f", v)
  return sprintf("%.3f", v)
}
$1 ~ /^build-/ { builds[++nb] = sprintf("  %-8s %-22s %8.1f s  %s", $2, substr($1, 7), $3, $5); next }
{
  key = $1
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  if ($4 != "") unit[key] = $4
  val[key, $2] = $3
  if ($3 == "NA") why[key, $2] = $5
}
END {
  printf "%-20s %12s %12s %8s  %-8s %s\n", "figure", "msgplex", "dovecot", "ratio", "better", "unit"
  for (i = 1; i <= n; i++) {
    k = order[i]; m = val[k, "msgplex"]; d = val[k, "dovecot"]
    if (m == "") m = "-"
    if (d == "") d = "-"
    r = "-"; w = ""
    if (m != "-" && m != "NA" && d != "-" && d != "NA" && d + 0 != 0) {
      q = m / d; r = (q < 0.1) ? sprintf("%.4f", q) : sprintf("%.2f", q)
      lb = lowerbetter(unit[k])
      w = (q == 1) ? "same" : ((q < 1) == lb ? "msgplex" : "dovecot")
    }
    u = unit[k]; if (u != "") u = u (lowerbetter(u) ? ", lower is better" : ", higher is better")
    printf "%-20s %12s %12s %8s  %-8s %s\n", k, fmtv(m), fmtv(d), r, w, u
  }
  print "ratio = msgplex/dovecot; \"-\": not measured on that server (10M is msgplex alone)"
  for (i = 1; i <= n; i++) {
    k = order[i]
    if ((k, "msgplex") in why) printf "  missing: %s msgplex: %s\n", k, why[k, "msgplex"]
    if ((k, "dovecot") in why) printf "  missing: %s dovecot: %s\n", k, why[k, "dovecot"]
  }
  if (nb > 0) print "folders built in this run (not part of any figure):"
  for (i = 1; i <= nb; i++) print builds[i]
}' "$OUT"
# Missing figures are listed above; they do not stop the rest of
# `make bench` (the proxy half). Only a run that recorded nothing fails.
[ "$status" = 0 ] || echo "bench: WARNING: go test exited $status: some figures failed (see 'missing' above and $LOG)"
exit 0
