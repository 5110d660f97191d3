#!/usr/bin/env bash
# `make bench`, second half: the proxy, side by side in one run with a
# plain kernel-splice relay and with going direct (see docs/BENCHMARKS.md,
# "Proxy"). Output: ./var/bench/proxy.log.
#
#   PROXY_BENCH_SESSIONS=9000    idle spliced sessions for the memory figure
#   (the bench process holds the client end and the minimal store's end of
#   every session: 10,000 sessions need more than 20,000 descriptors, the
#   hard limit in this sandbox)
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/bench
LOG=$PWD/var/bench/proxy.log
[ -x bin/msgplex ] && export MSGPLEX_BIN=${MSGPLEX_BIN:-$PWD/bin/msgplex}
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
export MSGPLEX_BENCH_SESSIONS=${PROXY_BENCH_SESSIONS:-9000}
: > "$LOG"
run() { echo "+ $*" | tee -a "$LOG" >&2; "$@" 2>&1 | tee -a "$LOG" | grep -E '^(Benchmark|ok|FAIL|---)' ; }

echo "== proxy: bytes/s of a 64 MiB FETCH BODY[] from the msgplex store: direct, splice relay, proxy =="
run go test -count=1 -run '^$' -bench 'BenchmarkProxyFetchStore' -benchtime 10x -timeout 20m ./test
echo "== proxy: the same against a minimal backend, both splice engines =="
run go test -count=1 -run '^$' -bench 'BenchmarkTransfer|BenchmarkSpliceEngines' -benchtime 20x -timeout 20m ./proxy
echo "== proxy: logins/s, p50/p99 latency, proxy CPU per login (fake store and msgplex store; direct and through the proxy) =="
run go test -count=1 -run '^$' -bench 'BenchmarkProxyLogins' -benchtime 4000x -timeout 20m ./test
echo "== proxy: memory and descriptors per idle spliced session ($MSGPLEX_BENCH_SESSIONS sessions) =="
run go test -count=1 -run '^$' -bench 'BenchmarkProxyIdleSessions' -benchtime 1x -timeout 20m ./test
echo "full output: $LOG"
