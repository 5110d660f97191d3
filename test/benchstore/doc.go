// Package benchstore is the store benchmark harness behind `make bench`:
// msgplex's store and a private Dovecot (Debian's dovecot-imapd) measured
// side by side, in one run, on the same machine with the same messages
// (the MIME corpus in ../shared/testdata/mime, CRLF-normalised).
//
// It holds benchmarks only:
//
//	BENCH_SCALE=small go test -run '^$' -bench . -benchtime 1x ./test/benchstore
//
// BENCH_SCALE=small (the default) builds folders of 10 thousand messages
// only; BENCH_SCALE=full adds 1 million (both servers) and 10 million
// (msgplex alone, through the store's bulk-import path). BENCH_CACHE names
// a directory where built folders are kept between runs, keyed by scale
// and by a hash of what they depend on; without it everything is built in
// a temporary directory and thrown away. BENCH_OUT names a TSV file that
// receives one line per figure (figure, server, value, unit, note), which
// scripts/bench.sh turns into the side-by-side table.
//
// Figures (each a sub-benchmark, reported with b.ReportMetric):
//
//   - append/cN: durable APPEND rate, messages/s, with N concurrent
//     go-imap/v2 imapclient clients appending to one INBOX;
//   - select/SIZE: SELECT latency (median, p99) on a folder of SIZE
//     messages, repeated on one connection; folder building and Dovecot's
//     first indexing are excluded;
//   - fetchflags/SIZE: `UID FETCH 1:* (FLAGS)` rate, messages/s;
//   - body50m: `BODY.PEEK[]` of one 50 MiB message, MB/s (10^6 bytes);
//   - idle: memory per idle session that SELECTed INBOX (the 10 thousand
//     folder): growth of the summed RSS and PSS of the server's whole
//     process tree, divided by the number of sessions.
//
// Reading commands go through a minimal raw IMAP client (rawconn.go) so
// that the client's parsing cost, identical for both servers, stays small
// next to the servers'. Every loop is bounded in count and in time, and
// only 127.0.0.1 is used.
package benchstore
