package imapd

import (
	"crypto/tls"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/directory"
)

var errPrivacy = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired, Text: "TLS is required to authenticate"}

// Login implements LOGIN with the user's directory password.
func (s *session) Login(username, password string) error {
	return s.authenticate(username, password)
}

// authenticate checks a user's own password and logs the user in.
func (s *session) authenticate(username, password string) error {
	if !s.srv.PlaintextAllowed(s.peer) && !s.tls() {
		return errPrivacy
	}
	dir := s.srv.opts.Directory
	if dir == nil {
		s.loginFailed(username, "no directory configured")
		return imapserver.ErrAuthFailed
	}
	ctx, cancel := s.ctx()
	defer cancel()
	u, err := dir.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, directory.ErrBadPassword), errors.Is(err, directory.ErrNoSuchUser):
		s.loginFailed(username, "invalid credentials")
		return imapserver.ErrAuthFailed
	case err != nil:
		s.loginFailed(username, "directory: "+err.Error())
		return errUnavailable
	}
	return s.loggedIn(u.UID)
}

// loggedIn creates the user's folders on first login and records the user.
func (s *session) loggedIn(uid string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.opts.Backend.EnsureUser(ctx, uid); err != nil {
		s.srv.ctr.LoginFailed()
		return s.fail("create user folders", "", err)
	}
	s.user = uid
	s.srv.ctr.LoginGood()
	s.log.Info("login", "user", uid, "client", s.clientAddr())
	return nil
}

func (s *session) loginFailed(user, why string) {
	s.srv.ctr.LoginFailed()
	s.log.Warn("login failed", "user", user, "client", s.clientAddr(), "reason", why)
}

func (s *session) tls() bool {
	_, ok := s.conn.NetConn().(*tls.Conn) // imapserver wraps the connection at STARTTLS
	return ok
}

// Unauthenticate implements UNAUTHENTICATE (RFC 8437).
func (s *session) Unauthenticate() error {
	s.closeSelected()
	s.log.Info("unauthenticate", "user", s.user)
	s.user = ""
	return nil
}
