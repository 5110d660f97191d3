package preauth

import "strings"

// CAPABILITY (RFC 9051 §6.1.1).

func (s *session) capability(c *command) error {
	s.untagged("CAPABILITY " + s.capabilities())
	s.tagged(c.tag, "OK", "CAPABILITY completed")
	return nil
}

// capabilities lists what this pre-auth phase implements: IMAP4rev1,
// LITERAL+ (RFC 7888), SASL-IR (RFC 4959), ID (RFC 2971); STARTTLS while it
// is available; LOGINDISABLED (RFC 9051 §6.2.3) instead of the AUTH=
// mechanisms while authentication is not allowed. IMAP4rev2 is not claimed:
// the store behind the proxy decides that, in its post-login capabilities.
func (s *session) capabilities() string {
	var b strings.Builder
	b.WriteString("IMAP4rev1 LITERAL+ SASL-IR ID")
	if s.startTLSOffered() {
		b.WriteString(" STARTTLS")
	}
	if s.loginAllowed() {
		b.WriteString(" AUTH=PLAIN AUTH=LOGIN")
	} else {
		b.WriteString(" LOGINDISABLED")
	}
	return b.String()
}
