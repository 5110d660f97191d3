// Package proxy is msgplex's IMAP multiplexor (the classic "AService"):
// end users' clients connect here; the proxy authenticates them against the
// directory, finds their store (mailHost), logs in there on their behalf
// with the store-admin credential, and splices the two TCP connections.
//
// # Lifecycle
//
// New(Options), then Serve(ln) (IMAP with STARTTLS) and/or ServeTLS(ln)
// (implicit TLS) on any number of listeners; Shutdown(ctx) drains:
// listeners close, sessions still in pre-auth get "* BYE" (their context
// ends), spliced sessions run on until ctx ends and are then closed; Close
// does the same at once. Serve returns ErrServerClosed after either.
// Reload swaps limits, the directory and the backend options without
// touching running sessions.
//
// # One connection
//
//  1. Accept. From proxy.trustedloadbalancers only, a PROXY protocol v1/v2
//     header is read (optional, bounded by proxyHeaderTimeout) and its source
//     address becomes the client address. Nobody else may send one.
//  2. Limits: proxy.maxconnections overall and proxy.connlimits per client
//     IP; over either, the client gets "* BYE [UNAVAILABLE] …" and the
//     session log a "connection refused" line.
//  3. A random 64-bit session id; "session start" logged.
//  4. Pre-auth IMAP (package preauth) until a login succeeds. Each attempt
//     (login.go): fail-delay throttle, directory authentication, status
//     check, backend dial and store-admin login (package backend). Every
//     refusal has its IMAP response code and its own session log line.
//  5. Bytes the client sent after its login command are forwarded, then the
//     two sockets are spliced (splice.go). Plain TCP both ways with
//     proxy.spliceengine = "epoll" (the default): the sockets go to the
//     relay engine (package relay: epoll loops and splice(2), no goroutine
//     per session, ~1.2 KiB per idle session) and the session goroutine
//     ends; the engine's end of session logs and releases the slot.
//     Otherwise ("goroutines", or a TLS leg) two goroutines copy: kernel
//     splice(2) between plain TCP legs, counted from io.CopyN's return
//     values, a splice pipe held only while bytes move; idle timeout from
//     the kernel's TCP_INFO last-data times. Both: half-close, errors
//     attributed to a side with their errno.
//  6. Log socket errors with the side and errno, the byte counts and
//     duration, "session end".
//
// # Session log lines (after "[time] host msgplex-proxy[pid]: (sid 0x…) ")
//
//	session start, client IP A:P, server IP A:P
//	connection refused, client IP A:P: too many connections … (proxy.connlimits)
//	login user U, mailhost H:P
//	login failed user U [CODE]: REASON[, mailhost H]   (bad password, status, store down …)
//	closed before login: client logged out | client hung up | timed out | …
//	client socket IO error N (text) | server socket IO error N (text)
//	client socket closed by peer | server socket closed by peer   (who ended it first)
//	idle timeout (35m0s) | closed by proxy shutdown
//	N C->S bytes, M S->C bytes in S seconds
//	session end
//
// User names are passed through sessionlog.Clean (no spaces, controls or
// invalid UTF-8; at most 64 bytes), so a hostile name cannot forge lines.
//
// Invariants: a conn is never wrapped on a plain-TCP splice path; the
// password is cleared by preauth and never logged (the throttle keeps a
// salted hash of the last failed one); s.mu guards only the session and
// listener tables and the per-address counts, never I/O.
package proxy
