package ldap

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// server is one LDAP server's connections. mu guards pool, next and idle;
// it is never held while dialling or waiting on the network.
type server struct {
	url  *url.URL
	addr string

	mu   sync.Mutex
	pool []*ldap.Conn // service connections; nil slots are dialled on use
	next int
	idle []*ldap.Conn // password-bind connections not in use
}

func newServer(u *url.URL, size int) *server {
	addr := u.Host
	if u.Port() == "" {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &server{url: u, addr: addr, pool: make([]*ldap.Conn, size)}
}

func (s *server) String() string { return s.url.Redacted() }

// serviceConn returns a live service connection, dialling one into its
// pool slot when the slot is empty or its connection is closing.
func (d *Dir) serviceConn(ctx context.Context, s *server) (*ldap.Conn, error) {
	s.mu.Lock()
	i := s.next % len(s.pool)
	s.next++
	c := s.pool[i]
	s.mu.Unlock()
	if c != nil && !c.IsClosing() {
		return c, nil
	}
	nc, err := d.dial(ctx, s, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	old := s.pool[i]
	if old != nil && old != c && !old.IsClosing() { // another caller won
		s.mu.Unlock()
		nc.Close()
		return old, nil
	}
	s.pool[i] = nc
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nc, nil
}

// dropService closes c and empties its pool slot.
func (s *server) dropService(c *ldap.Conn) {
	s.mu.Lock()
	for i, p := range s.pool {
		if p == c {
			s.pool[i] = nil
		}
	}
	s.mu.Unlock()
	c.Close()
}

// bindConn takes an idle password-bind connection or dials one; fresh
// says it was just dialled.
func (d *Dir) bindConn(ctx context.Context, s *server) (c *ldap.Conn, fresh bool, err error) {
	s.mu.Lock()
	for len(s.idle) > 0 {
		c = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if !c.IsClosing() {
			s.mu.Unlock()
			return c, false, nil
		}
		c.Close()
	}
	s.mu.Unlock()
	c, err = d.dial(ctx, s, false)
	return c, true, err
}

// putBind returns a healthy bind connection for reuse.
func (d *Dir) putBind(s *server, c *ldap.Conn) {
	s.mu.Lock()
	if len(s.idle) < d.opts.MaxIdleBinds && !c.IsClosing() && !d.closed.Load() {
		s.idle = append(s.idle, c)
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (s *server) closeAll() {
	s.mu.Lock()
	conns := append(s.idle, s.pool...)
	s.idle = nil
	s.pool = make([]*ldap.Conn, len(s.pool))
	s.mu.Unlock()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// dial connects (TLS for ldaps://), upgrades with StartTLS if configured
// and, for a service connection, binds as BindDN. ctx bounds all of it:
// when it ends the connection is closed, which ends any wait.
func (d *Dir) dial(ctx context.Context, s *server, service bool) (*ldap.Conn, error) {
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s, err)
	}
	isTLS := s.url.Scheme == "ldaps"
	if isTLS {
		tc := tls.Client(raw, d.tlsConfig(s))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", s, err)
		}
		raw = tc
	}
	c := ldap.NewConn(raw, isTLS)
	c.Start()
	c.SetTimeout(d.opts.Timeout)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err = d.setup(c, s, service)
	if !stop() {
		err = fmt.Errorf("set up connection to %s: %w", s, context.Cause(ctx))
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (d *Dir) setup(c *ldap.Conn, s *server, service bool) error {
	if d.opts.StartTLS && s.url.Scheme == "ldap" {
		if err := c.StartTLS(d.tlsConfig(s)); err != nil {
			return fmt.Errorf("StartTLS with %s: %w", s, err)
		}
	}
	if service && d.opts.BindDN != "" {
		if err := c.Bind(d.opts.BindDN, d.opts.BindPassword); err != nil {
			return fmt.Errorf("service bind as %s to %s: %w", d.opts.BindDN, s, err)
		}
	}
	return nil
}

func (d *Dir) tlsConfig(s *server) *tls.Config {
	cfg := &tls.Config{}
	if d.opts.TLSConfig != nil {
		cfg = d.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.url.Hostname()
	}
	return cfg
}
