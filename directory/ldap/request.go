package ldap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"

	"msgplex/directory"
	"msgplex/directory/internal/entry"
)

// do runs attempt against each server in turn, starting with the one that
// last answered, until one gives an answer (success or a definitive
// directory error). Each attempt gets an equal share of the time left.
func (d *Dir) do(ctx context.Context, op string, attempt func(context.Context, *server) error) error {
	if d.closed.Load() {
		return fmt.Errorf("ldap directory closed: %w", directory.ErrUnavailable)
	}
	n := len(d.servers)
	first := int(d.preferred.Load())
	var errs []error
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		idx := (first + i) % n
		s := d.servers[idx]
		actx, cancel := shareCtx(ctx, n-i)
		err := attempt(actx, s)
		cancel()
		if err == nil || definitive(err) {
			if i > 0 {
				d.preferred.Store(int32(idx))
			}
			return err
		}
		d.opts.Log.Warn("ldap server failed", "op", op, "server", s.String(), "err", err)
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, context.Cause(ctx))
	}
	return fmt.Errorf("ldap %s: %w: %w", op, directory.ErrUnavailable, errors.Join(errs...))
}

// shareCtx gives one of left remaining attempts its share of ctx's time.
func shareCtx(ctx context.Context, left int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || left <= 1 {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/time.Duration(left)))
}

// definitive reports errors that are the directory's answer, not a failure
// of the server: another server would answer the same.
func definitive(err error) bool {
	return errors.Is(err, directory.ErrNoSuchUser) || errors.Is(err, directory.ErrBadPassword)
}

// retryable reports errors after which the connection is dead: redial.
func retryable(err error, c *ldap.Conn) bool {
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || c.IsClosing()
}

// search finds the one entry for name on s, redialling once if the pooled
// connection turns out dead.
func (d *Dir) search(ctx context.Context, s *server, name string) (*ldap.Entry, error) {
	for try := 0; ; try++ {
		c, err := d.serviceConn(ctx, s)
		if err != nil {
			return nil, err
		}
		e, err := d.searchOn(ctx, c, name)
		if err == nil || definitive(err) {
			return e, err
		}
		if ctx.Err() != nil {
			// The server did not answer in time: this connection may be
			// stuck behind the request; do not reuse it.
			s.dropService(c)
			return nil, fmt.Errorf("search on %s: %w", s, context.Cause(ctx))
		}
		if !retryable(err, c) {
			return nil, fmt.Errorf("search on %s: %w", s, err)
		}
		s.dropService(c)
		if try > 0 {
			return nil, fmt.Errorf("search on %s: %w", s, err)
		}
	}
}

func (d *Dir) searchOn(ctx context.Context, c *ldap.Conn, name string) (*ldap.Entry, error) {
	f := filter(d.opts.SearchFormat, ldap.EscapeFilter(name))
	limit := int(d.opts.Timeout/time.Second) + 1
	req := ldap.NewSearchRequest(d.opts.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, limit, false, f, entry.Attributes(), nil)
	r := c.SearchAsync(ctx, req, 4)
	var entries []*ldap.Entry
	for r.Next() {
		if e := r.Entry(); e != nil {
			entries = append(entries, e)
		}
	}
	err := r.Err()
	switch {
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || len(entries) > 1:
		d.opts.Log.Warn("ldap directory: search matched several entries; refusing the name", "filter", f)
		return nil, fmt.Errorf("%q matches several entries: %w", name, directory.ErrNoSuchUser)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, fmt.Errorf("base %q does not exist: %w", d.opts.BaseDN, err)
	case err != nil:
		return nil, err
	case len(entries) == 0:
		return nil, fmt.Errorf("%q: %w", name, directory.ErrNoSuchUser)
	}
	return entries[0], nil
}

// bind checks dn's password on a password-bind connection of s.
func (d *Dir) bind(ctx context.Context, s *server, dn, password string) error {
	for try := 0; ; try++ {
		c, fresh, err := d.bindConn(ctx, s)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = c.Bind(dn, password)
		interrupted := !stop()
		switch {
		case interrupted:
			c.Close()
			return fmt.Errorf("bind on %s: %w", s, context.Cause(ctx))
		case err == nil:
			d.putBind(s, c)
			return nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
			d.putBind(s, c)
			return fmt.Errorf("bind as %q: %w", dn, directory.ErrBadPassword)
		case retryable(err, c):
			c.Close()
			if fresh || try > 0 {
				return fmt.Errorf("bind on %s: %w", s, err)
			}
		case serverTrouble(err):
			c.Close()
			return fmt.Errorf("bind on %s: %w", s, err)
		default:
			// The server refused this bind for another reason (account
			// locked, unwilling to perform): a refusal, not an outage.
			c.Close()
			return fmt.Errorf("bind as %q refused: %v: %w", dn, err, directory.ErrBadPassword)
		}
	}
}

// serverTrouble reports result codes that say the server, not the
// credentials, is the problem.
func serverTrouble(err error) bool {
	for _, code := range []uint16{ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultOther,
		ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultOperationsError,
		ldap.LDAPResultProtocolError, ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired} {
		if ldap.IsErrorWithCode(err, code) {
			return true
		}
	}
	return false
}
