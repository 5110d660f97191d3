package preauth

// LOGOUT (RFC 9051 §6.1.3): the untagged BYE comes before the tagged OK.

func (s *session) logout(c *command) error {
	s.st = stateLogout
	s.untagged("BYE Logging out")
	s.tagged(c.tag, "OK", "LOGOUT completed")
	return ErrLogout
}
