package preauth

// NOOP (RFC 9051 §6.1.2).

func (s *session) noop(c *command) error {
	s.tagged(c.tag, "OK", "NOOP completed")
	return nil
}
