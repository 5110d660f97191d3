package preauth

import (
	"errors"
	"strings"
)

// LOGIN (RFC 9051 §6.2.3): LOGIN SP userid SP password, both astrings.

func parseLogin(p *parser, c *command) error {
	for range 2 {
		if err := p.sp(); err != nil {
			return err
		}
		a, err := p.astring()
		if err != nil {
			return err
		}
		c.args = append(c.args, a)
	}
	return nil
}

func (s *session) login(c *command) error {
	return s.tryLogin(c.tag, Credentials{Mechanism: "LOGIN", Username: c.args[0], Password: c.args[1]})
}

// tryLogin hands credentials from LOGIN or AUTHENTICATE to the LoginFunc
// and answers the result. It returns errLoggedIn on success, nil to go on,
// or an error that ends the session.
func (s *session) tryLogin(tag string, cr Credentials) error {
	res, err := s.loginf(s.ctx, cr, &s.state)
	if err == nil {
		s.creds = cr
		text := "Logged in"
		if caps := capList(res.Capabilities); caps != "" {
			text = "[CAPABILITY " + caps + "] Logged in"
		}
		s.tagged(tag, "OK", text)
		return errLoggedIn
	}
	var ref *Refusal
	if !errors.As(err, &ref) || ref == nil {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		// Never the error's own text: it may say anything (STYLE.md §6).
		s.tagged(tag, "NO", "[SERVERBUG] Internal error")
		return nil
	}
	if ref.Alert {
		s.untagged("OK [ALERT] " + refusalText(ref))
	}
	text := refusalText(ref)
	if isAtom(ref.Code) {
		text = "[" + ref.Code + "] " + text
	}
	s.tagged(tag, "NO", text)
	if ref.Fatal {
		return ref
	}
	if ref.CountsAsFailure {
		if s.failures++; s.failures >= s.opts.MaxFailures {
			return ErrTooManyFailures
		}
	}
	return nil
}

// refusalText is a refusal's human text, safe to send.
func refusalText(ref *Refusal) string {
	if ref.Text == "" {
		return "Authentication failed"
	}
	return sanitize(ref.Text)
}

// capList renders the backend's capabilities, dropping any that is not an
// atom.
func capList(caps []string) string {
	var b strings.Builder
	for _, c := range caps {
		if !isAtom(c) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c)
	}
	return b.String()
}
