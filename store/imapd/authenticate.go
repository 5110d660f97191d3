package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

// AuthenticateMechanisms lists the SASL mechanisms (PLAIN only).
func (s *session) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

// Authenticate implements AUTHENTICATE PLAIN (RFC 4616). Without an
// authorization identity, or with one equal to the user, it is a normal
// login. With another identity, the credential must be the store admin's
// and the real TCP peer a trusted proxy; the session is then the
// authorization identity's.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Unsupported SASL mechanism"}
	}
	return sasl.NewPlainServer(func(authz, user, pass string) error {
		if authz == "" || authz == user {
			return s.authenticate(user, pass)
		}
		return s.adminLogin(authz, user, pass)
	}), nil
}

func (s *session) adminLogin(authz, user, pass string) error {
	o := s.srv.opts
	if !s.srv.Trusted(s.peer) {
		s.loginFailed(authz, "admin login as "+user+" from an untrusted peer")
		return imapserver.ErrAuthFailed
	}
	if o.AdminPassword == "" || user != o.AdminUser || !equalConst(pass, o.AdminPassword) {
		s.loginFailed(authz, "invalid admin credentials for "+user)
		return imapserver.ErrAuthFailed
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if d := o.Directory; d != nil {
		if _, err := d.Lookup(ctx, authz); err != nil {
			s.loginFailed(authz, "admin login: lookup: "+err.Error())
			return imapserver.ErrAuthFailed
		}
	}
	return s.loggedIn(authz)
}
