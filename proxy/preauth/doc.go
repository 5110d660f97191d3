// Package preauth speaks the pre-authentication part of IMAP on behalf of
// the proxy: the greeting, CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), STARTTLS
// (RFC 3501 §6.2.1, RFC 9051 §6.2.1), LOGIN and AUTHENTICATE with the PLAIN
// (RFC 4616, with and without SASL-IR, RFC 4959) and LOGIN
// (draft-murchison-sasl-login) mechanisms. Serve runs that dialogue on one
// connection and returns, on a successful login, an Outcome from which the
// proxy splices the client to its store.
//
// # Wire format
//
// The grammar is the strict subset of RFC 3501 §9 / RFC 9051 §9 these
// commands need: a tag (1*<ASTRING-CHAR except "+">), one SP, a command name
// (atom, case-insensitive), arguments separated by exactly one SP, CRLF.
// Arguments are atoms, quoted strings (with \" and \\ as the only escapes;
// 8-bit bytes only as valid UTF-8, RFC 9051 §9 utf8-quoted), and literals
// {n} (synchronising: the server answers "+ Ready for literal" before the
// client sends the n octets, RFC 3501 §7.5) or {n+} (non-synchronising,
// LITERAL+, RFC 7888). Literals hold CHAR8 (no NUL). A bare LF is an error.
//
// # Responses
//
//   - Greeting: "* OK [CAPABILITY ...] <hostname> IMAP proxy ready" with
//     IMAP4rev1 LITERAL+ SASL-IR ID, STARTTLS while offered, and
//     AUTH=PLAIN AUTH=LOGIN, or LOGINDISABLED while authentication needs TLS.
//   - Syntax errors, unknown commands and commands of later states
//     (SELECT, APPEND, ...): "tag BAD ..." ("* BAD" without a tag).
//   - LOGIN/AUTHENTICATE before TLS when not allowed: "tag NO
//     [PRIVACYREQUIRED] ..." (RFC 9051 §7.1); an unsupported mechanism:
//     "tag NO ..."; "*" or bad base64 in an AUTHENTICATE exchange: "tag BAD".
//     These count toward MaxBadCommands with the BADs.
//   - A login the LoginFunc refuses: "tag NO [Code] Text" from its Refusal
//     (preceded by "* OK [ALERT] Text" when Alert); any other error:
//     "tag NO [SERVERBUG] Internal error", its text never sent.
//   - Success: "tag OK [CAPABILITY <the backend's>] Logged in".
//   - The end: "* BYE line too long", "* BYE literal too large",
//     "* BYE Too many invalid commands", "* BYE Too many authentication
//     failures", "* BYE <refusal text>" (fatal Refusal),
//     "* BYE Autologout; idle for too long" (Timeout), "* BYE Server
//     shutting down" (ctx ended), "* BYE Logging out" (LOGOUT).
//
// # Invariants
//
//   - Every response is flushed before the next command is read.
//   - A command line longer than Options.MaxLine (literal octets not counted)
//     ends the session with "* BYE line too long".
//   - A literal longer than Options.MaxLiteral is refused with
//     "tag BAD literal too large": a synchronising one before the client sends
//     it (no continuation), a non-synchronising one (already on its way, with
//     no way to find the next command without reading it) also ends the
//     session with BYE.
//   - After any syntax error the parser resynchronises on the next line,
//     reading through non-synchronising literals the line announces and
//     never asking for a synchronising one.
//   - After STARTTLS, octets the client sent in plaintext after the STARTTLS
//     command are discarded unread (the CVE-2011-0411 command-injection
//     defense), and capabilities drop STARTTLS and LOGINDISABLED.
//   - The whole dialogue runs under one deadline (Options.Timeout); the
//     LoginFunc gets it in its context. When the caller's context ends, the
//     client gets "* BYE" (graceful drain).
//   - Literals may carry any octet but NUL, quoted strings any UTF-8: user
//     names reach the LoginFunc as untrusted bytes, to be escaped there.
//   - Passwords never appear in errors, in Credentials.String or in the
//     Outcome; LoginFunc's Refusal text is the only text of a NO.
//   - On success, octets the client pipelined after its login command and that
//     are already read are returned in Outcome.Buffered; the connection's
//     deadlines are cleared.
//
// The package has no package-level mutable state; the command table is
// read-only.
package preauth
