// Package ldap is the LDAP directory backend (go-ldap/v3): directory.url
// lists one or more servers, "ldap://a:389 ldap://b:389" or "ldaps://…".
//
// # Requests
//
// Lookup searches BaseDN (subtree) with SearchFormat, every "%s" replaced
// by the name escaped with ldap.EscapeFilter, asking for uid, mail,
// mailHost, mailUserStatus and mailQuota (never userPassword), size limit
// 2: no entry is ErrNoSuchUser, two or more (an ambiguous filter) are
// ErrNoSuchUser too, with a warning logged. Authenticate looks the user up,
// then binds as the user's DN with the password on a separate connection.
// Names CheckName refuses (empty, long, non-UTF-8, control characters)
// and empty passwords never reach a server.
//
// # Connections
//
// Per server: a pool of PoolSize service connections for searches (bound
// as BindDN, or anonymous when BindDN is empty; go-ldap multiplexes
// concurrent searches on one connection), used round-robin and dialled
// lazily; and up to MaxIdleBinds idle connections for password binds,
// which are never used for searches, because a bind changes the
// connection's identity. Every connection has SetTimeout(Timeout). A
// connection that fails with a network error (result code 200), or whose
// IsClosing is true, is closed and redialled once within the request, so a
// restarted server costs no failed login.
//
// # Time and failover
//
// One call (Lookup, or Authenticate's lookup plus bind) is bounded by
// Timeout and by the caller's context, whichever ends first. Servers are
// tried in order starting with the one that last answered; each attempt
// gets an equal share of the time left, so a hung first server still
// leaves time for the second within the same call. A server that is down,
// times out, or answers busy/unavailable is a failure: the next server is
// tried. Only when every server failed does the call return
// directory.ErrUnavailable, which is never ErrBadPassword: an invalid
// credentials answer (result code 49) is the only way to get that.
// Cancellation closes the connection a request was waiting on, so no
// goroutine outlives its call by more than the close.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"msgplex/directory"
	"msgplex/directory/internal/entry"
)

// Options configures New. Zero values are the documented defaults.
type Options struct {
	// URLs are the servers, in order of preference: ldap:// or ldaps://.
	URLs []string
	// BaseDN is the search base.
	BaseDN string
	// BindDN and BindPassword are the service bind for searches; empty
	// BindDN searches anonymously.
	BindDN, BindPassword string
	// SearchFormat is the filter; every %s becomes the escaped name.
	// Default "(uid=%s)".
	SearchFormat string
	// StartTLS upgrades ldap:// connections before any bind.
	StartTLS bool
	// TLSConfig for ldaps:// and StartTLS; nil verifies against the system
	// roots with the URL's host name.
	TLSConfig *tls.Config
	// Timeout bounds one call. Default 5s.
	Timeout time.Duration
	// PoolSize is the number of service connections per server. Default 2.
	PoolSize int
	// MaxIdleBinds is how many password-bind connections per server are
	// kept for reuse. Default 8.
	MaxIdleBinds int
	// Log receives failovers and data warnings; nil discards.
	Log *slog.Logger
}

// Dir is the LDAP directory; it implements directory.Directory.
type Dir struct {
	opts      Options
	servers   []*server
	preferred atomic.Int32
	closed    atomic.Bool
}

// New checks the options; it does not dial (a directory that is down at
// start is retried on each call).
func New(o Options) (*Dir, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("ldap directory: no server URL")
	}
	if o.SearchFormat == "" {
		o.SearchFormat = "(uid=%s)"
	}
	if !strings.Contains(o.SearchFormat, "%s") {
		return nil, fmt.Errorf("ldap directory: search format %q has no %%s", o.SearchFormat)
	}
	if _, err := ldap.CompileFilter(filter(o.SearchFormat, "x")); err != nil {
		return nil, fmt.Errorf("ldap directory: search format %q: %w", o.SearchFormat, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 2
	}
	if o.MaxIdleBinds <= 0 {
		o.MaxIdleBinds = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Dir{opts: o}
	for _, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			return nil, fmt.Errorf("ldap directory: bad server URL %q (want ldap://host[:port] or ldaps://…)", raw)
		}
		d.servers = append(d.servers, newServer(u, o.PoolSize))
	}
	return d, nil
}

// filter fills the search format with an already escaped value.
func filter(format, escaped string) string {
	return strings.ReplaceAll(format, "%s", escaped)
}

// Lookup implements directory.Directory.
func (d *Dir) Lookup(ctx context.Context, name string) (directory.User, error) {
	if err := directory.CheckName(name); err != nil {
		return directory.User{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	return d.lookup(ctx, name)
}

func (d *Dir) lookup(ctx context.Context, name string) (directory.User, error) {
	var e *ldap.Entry
	err := d.do(ctx, "search", func(ctx context.Context, s *server) error {
		var err error
		e, err = d.search(ctx, s, name)
		return err
	})
	if err != nil {
		return directory.User{}, err
	}
	u, bad := entry.User(e, name)
	if bad {
		d.opts.Log.Warn("ldap directory: mailQuota is not a byte count; no quota", "dn", e.DN)
	}
	return u, nil
}

// Authenticate implements directory.Directory.
func (d *Dir) Authenticate(ctx context.Context, name, password string) (directory.User, error) {
	if err := directory.CheckCredentials(name, password); err != nil {
		return directory.User{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	u, err := d.lookup(ctx, name)
	if err != nil {
		return directory.User{}, err
	}
	err = d.do(ctx, "bind", func(ctx context.Context, s *server) error {
		return d.bind(ctx, s, u.DN, password)
	})
	if err != nil {
		return directory.User{}, err
	}
	return u, nil
}

// Close closes every connection. Calls after Close fail with
// ErrUnavailable.
func (d *Dir) Close() error {
	d.closed.Store(true)
	for _, s := range d.servers {
		s.closeAll()
	}
	return nil
}

// Reload drops every pooled connection, so the next call dials afresh
// (after a SIGHUP, for instance when certificates changed).
func (d *Dir) Reload() error {
	for _, s := range d.servers {
		s.closeAll()
	}
	return nil
}
