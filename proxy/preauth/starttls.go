package preauth

import (
	"crypto/tls"
	"fmt"
)

// STARTTLS (RFC 3501 §6.2.1, RFC 9051 §6.2.1). After the tagged OK the
// server discards whatever the client sent after the STARTTLS command in
// plaintext: a man in the middle could have appended commands there to be
// run as if they came over TLS (CVE-2011-0411, RFC 9051 §11.1). After the
// handshake the capabilities no longer offer STARTTLS or LOGINDISABLED;
// the client asks for them again (RFC 9051 §6.2.1).

func (s *session) starttls(c *command) error {
	s.tagged(c.tag, "OK", "Begin TLS negotiation now")
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write STARTTLS response: %w", err)
	}
	if _, err := s.r.Discard(s.r.Buffered()); err != nil {
		return fmt.Errorf("discard plaintext after STARTTLS: %w", err)
	}
	tc := tls.Server(s.state.Conn, s.opts.TLSConfig)
	s.inHandshake = true
	// The connection's deadline (and the context watcher) bound the
	// handshake; HandshakeContext would close the connection instead.
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("STARTTLS handshake: %w", err)
	}
	s.inHandshake = false
	s.state.Conn, s.state.TLS, s.st = tc, true, stateTLS
	s.r.Reset(tc)
	s.w.Reset(tc)
	return nil
}
