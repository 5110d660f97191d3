package preauth

import (
	"encoding/base64"
	"strings"

	"github.com/emersion/go-sasl"
)

// AUTHENTICATE (RFC 9051 §6.2.2) with the PLAIN (RFC 4616, decoded by
// go-sasl's server) and LOGIN (draft-murchison-sasl-login) mechanisms, with
// or without an initial response (SASL-IR, RFC 4959):
//
//	AUTHENTICATE SP auth-type [SP (base64 / "=")] CRLF
//
// Each server challenge goes out as "+ " base64; each client response is one
// line of base64, or "*" to cancel (answered BAD).

// maxSASLSteps bounds the challenges of one exchange (LOGIN needs two).
const maxSASLSteps = 3

// Challenges of the LOGIN mechanism.
const (
	loginUserChallenge = "Username:"
	loginPassChallenge = "Password:"
)

func parseAuthenticate(p *parser, c *command) error {
	if err := p.sp(); err != nil {
		return err
	}
	mech, err := p.token(isAtomChar)
	if err != nil {
		return err
	}
	if mech == "" {
		return bad("expected a mechanism name")
	}
	c.args = append(c.args, strings.ToUpper(mech))
	if b, err := p.peek(); err != nil || b != ' ' {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	ir, err := p.token(isBase64Char)
	if err != nil {
		return err
	}
	if ir == "" {
		return bad("invalid initial response")
	}
	c.args = append(c.args, ir)
	return nil
}

func (s *session) authenticate(c *command) error {
	var cr Credentials
	var srv sasl.Server
	switch mech := c.args[0]; mech {
	case sasl.Plain:
		srv = sasl.NewPlainServer(func(authz, user, pass string) error {
			cr = Credentials{Mechanism: mech, AuthzID: authz, Username: user, Password: pass}
			return nil
		})
	case sasl.Login:
		srv = &loginServer{done: func(user, pass string) {
			cr = Credentials{Mechanism: mech, Username: user, Password: pass}
		}}
	default:
		return s.reject(c.tag, "NO", "Unsupported authentication mechanism")
	}
	var resp []byte // nil: no initial response
	if len(c.args) == 2 {
		var ok bool
		if resp, ok = decodeResponse(c.args[1]); !ok {
			return s.reject(c.tag, "BAD", "Invalid base64 in initial response")
		}
	}
	ok, err := s.saslExchange(c.tag, srv, resp)
	if !ok || err != nil {
		return err
	}
	return s.tryLogin(c.tag, cr)
}

// saslExchange runs srv to completion. It answers a failed exchange itself
// (ok false); err ends the session.
func (s *session) saslExchange(tag string, srv sasl.Server, resp []byte) (ok bool, err error) {
	for step := 0; ; step++ {
		chal, done, err := srv.Next(resp)
		if err != nil {
			return false, s.reject(tag, "BAD", "Invalid authentication response")
		}
		if done {
			return true, nil
		}
		if step >= maxSASLSteps {
			return false, s.reject(tag, "BAD", "Too many authentication steps")
		}
		s.w.WriteString("+ ")
		s.w.WriteString(base64.StdEncoding.EncodeToString(chal))
		s.w.WriteString("\r\n")
		if err := s.w.Flush(); err != nil {
			return false, err
		}
		line, err := s.p.readLine()
		if err != nil {
			if errFatal(err) {
				return false, err
			}
			return false, s.reject(tag, "BAD", err.(*badError).msg)
		}
		if string(line) == "*" {
			return false, s.reject(tag, "BAD", "Authentication cancelled")
		}
		if resp, ok = decodeResponse(string(line)); !ok {
			return false, s.reject(tag, "BAD", "Invalid base64 in authentication response")
		}
	}
}

// decodeResponse decodes base64 with padding (RFC 4648 §4, as IMAP's base64
// rule requires); "=" is the empty initial response of RFC 4959 §3. The
// result is never nil.
func decodeResponse(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) {
			return nil, false
		}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	if b == nil {
		b = []byte{}
	}
	return b, true
}

// loginServer is the server side of the LOGIN mechanism: it asks
// "Username:" (unless the initial response carries the user name) and
// "Password:", then calls done.
type loginServer struct {
	step int
	user string
	done func(user, pass string)
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if resp == nil {
			l.step = 1
			return []byte(loginUserChallenge), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte(loginPassChallenge), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte(loginPassChallenge), false, nil
	case 2:
		l.step = 3
		l.done(l.user, string(resp))
		return nil, true, nil
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
