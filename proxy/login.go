package proxy

import (
	"context"
	"errors"

	"msgplex/directory"
	"msgplex/proxy/backend"
	"msgplex/proxy/preauth"
	"msgplex/proxy/sessionlog"
)

// IMAP response codes of refusals (RFC 5530).
const (
	codeAuthFailed  = "AUTHENTICATIONFAILED"
	codeAuthzFailed = "AUTHORIZATIONFAILED"
	codeUnavailable = "UNAVAILABLE"
	codeContact     = "CONTACTADMIN"
)

// login is the preauth.LoginFunc: throttle, directory, status, store.
func (ss *session) login(ctx context.Context, cr preauth.Credentials, _ *preauth.State) (preauth.LoginResult, error) {
	s := ss.srv
	st := s.settings()
	ip := ss.ip
	name := cr.Username
	if err := s.opts.sleep(ctx, s.throttle.wait(ip, name, st)); err != nil {
		return preauth.LoginResult{}, ss.refuse(name, codeUnavailable, "interrupted during fail delay", "Try again later", false)
	}
	if cr.AuthzID != "" && cr.AuthzID != name {
		s.counters.LoginFailed()
		return preauth.LoginResult{}, ss.refuse(name, codeAuthzFailed, "authorization identity differs from user", "Authorization identity not permitted", true)
	}
	u, err := s.directory().Authenticate(ctx, name, cr.Password)
	if err != nil {
		return preauth.LoginResult{}, ss.authFailed(ctx, ip, name, cr.Password, err, st)
	}
	storeUser := u.UID
	if storeUser == "" {
		storeUser = name
	}
	if r := ss.checkStatus(storeUser, u.Status); r != nil {
		s.counters.LoginFailed()
		return preauth.LoginResult{}, r
	}
	s.throttle.success(name)
	if u.MailHost == "" {
		s.counters.LoginFailed()
		return preauth.LoginResult{}, ss.refuse(name, codeUnavailable, "no mailHost in the directory", "No mail server is assigned to your account", false)
	}
	be, err := s.dialer.Dial(ctx, u.MailHost, storeUser, ss.client, ss.local)
	if err != nil {
		s.counters.LoginFailed()
		return preauth.LoginResult{}, ss.backendDown(name, u.MailHost, err, st)
	}
	ss.be, ss.user = be, storeUser
	s.counters.LoginGood()
	ss.log(sessionlog.Event{Kind: sessionlog.Login, User: storeUser, MailHost: be.Host})
	return preauth.LoginResult{Capabilities: be.Capabilities}, nil
}

// authFailed handles a directory refusal: bad credentials are counted and
// delayed; an unavailable directory is a temporary refusal.
func (ss *session) authFailed(ctx context.Context, ip, name, password string, err error, st *settings) error {
	s := ss.srv
	s.counters.LoginFailed()
	if errors.Is(err, directory.ErrBadPassword) || errors.Is(err, directory.ErrNoSuchUser) {
		s.throttle.fail(ip, name, password, st)
		reason := "invalid credentials"
		if errors.Is(err, directory.ErrNoSuchUser) {
			reason = "no such user"
		}
		r := ss.refuse(name, codeAuthFailed, reason, "Authentication failed", true)
		if s.opts.sleep(ctx, s.throttle.wait(ip, name, st)) != nil {
			r.Fatal = true
		}
		return r
	}
	s.log.Warn("directory", "sid", sidString(ss.sid), "err", err)
	return ss.refuse(name, codeUnavailable, "directory unavailable: "+err.Error(), "The user directory is unavailable, try again later", false)
}

// checkStatus refuses users who may not log in now (mailUserStatus); user
// names them in the log (their UID, else the login name, as the login line).
func (ss *session) checkStatus(user string, status directory.Status) *preauth.Refusal {
	switch status {
	case directory.StatusActive, directory.StatusOverQuota, "":
		return nil
	case directory.StatusHold:
		return ss.refuse(user, codeUnavailable, "account on hold", "Your account is temporarily on hold, try again later", false)
	case directory.StatusInactive:
		return ss.refuse(user, codeUnavailable, "account inactive", "Your account is not active yet, try again later", false)
	case directory.StatusDisabled:
		return ss.refuse(user, codeAuthzFailed, "account disabled", "Your account is disabled", false)
	case directory.StatusDeleted, directory.StatusRemoved:
		return ss.refuse(user, codeContact, "account "+string(status), "Your account no longer exists, contact your administrator", false)
	}
	return ss.refuse(user, codeAuthzFailed, "unknown account status "+sessionlog.Clean(string(status)), "Your account may not log in", false)
}

// backendDown answers NO [UNAVAILABLE] with the configured alert and logs
// which store failed and why.
func (ss *session) backendDown(name, mailHost string, err error, st *settings) error {
	reason := err.Error()
	var be *backend.Error
	if errors.As(err, &be) && be.Refused {
		reason = "store refused proxy login: " + be.Err.Error()
	} else if errors.As(err, &be) {
		reason = "store down: " + be.Err.Error()
		if be.Addr != "" {
			reason = "store down at " + be.Addr + ": " + be.Err.Error()
		}
	}
	ss.log(sessionlog.Event{Kind: sessionlog.Failed, User: name, Code: codeUnavailable, Reason: reason, MailHost: mailHost})
	return &preauth.Refusal{Code: codeUnavailable, Text: st.ServerDownAlert, Alert: true}
}

// refuse logs a failed login and returns the client's refusal.
func (ss *session) refuse(name, code, reason, text string, countsAsFailure bool) *preauth.Refusal {
	ss.log(sessionlog.Event{Kind: sessionlog.Failed, User: name, Code: code, Reason: reason})
	return &preauth.Refusal{Code: code, Text: text, CountsAsFailure: countsAsFailure}
}
