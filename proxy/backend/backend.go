// Package backend connects the proxy to a user's store and logs in there
// on the user's behalf.
//
// # Protocol
//
// For each address of the mail host, in turn, within one overall timeout:
// dial TCP; optionally send a PROXY protocol v2 header carrying the
// client's address (the msgplex store accepts it from trusted proxies; the
// store must not be sent an IMAP ID before login); read the greeting
// (`* OK`, else the address is refusing); ask CAPABILITY if the greeting
// carried none; then
//
//	A1 AUTHENTICATE PLAIN <base64(user \0 admin \0 password)>   (SASL-IR)
//
// or the same with a continuation when the store lacks SASL-IR. The
// post-login capabilities come from the tagged OK's [CAPABILITY …] code,
// else from a CAPABILITY command. The returned Conn is the raw
// *net.TCPConn (never wrapped, so the proxy keeps the kernel's splice path)
// plus any bytes read past the last response (Pending).
//
// # Fast path
//
// A login costs the proxy a TCP connect and a few small reads and writes,
// so the Dialer remembers, per store address and for Options.CacheTTL,
// what the store said at its last successful login: whether its greeting
// offered AUTH=PLAIN and SASL-IR, and its post-login capabilities when its
// OK carried none. With that known, the PROXY header and the AUTHENTICATE
// command go out in one write right after connect, before the greeting is
// read (IMAP servers read commands only after greeting, so they wait in
// the socket), and no CAPABILITY command is sent: a login is one write and
// the reads of the greeting and the tagged OK. If a pipelined login is
// refused, the memory is dropped and the login is redone the careful way
// on a new connection (the store may have changed). Host names are
// resolved once per CacheTTL; IP literals never.
//
// # Health
//
// An address that fails to connect, greet or answer is marked down for
// Options.Retry and skipped while other addresses remain; if every address
// of a host is down, the one marked down longest ago is still tried once,
// so a recovered store is found by the next login, and a dead one is not
// hammered. A store that answers but refuses the login (NO) is not marked
// down: the store is alive and the refusal is about the login.
package backend

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// Options configure a Dialer; zero values are the documented defaults.
type Options struct {
	DefaultPort       int           // when the mail host has no port; default 143
	Timeout           time.Duration // connect and log in, all addresses; default 10s
	Retry             time.Duration // how long a failed address is avoided; default 30s
	AdminUser         string        // store-admin authentication identity
	AdminPassword     string
	SendProxyProtocol bool                                                     // send a PROXY v2 header first
	LookupHost        func(ctx context.Context, host string) ([]string, error) // default net.DefaultResolver.LookupHost
	Now               func() time.Time                                         // default time.Now
	// CacheTTL: how long what a store said at login, and a host name's
	// addresses, are remembered (see Fast path); default 1 minute,
	// negative: never.
	CacheTTL time.Duration
}

// keepAliveIdle: TCP keep-alive on store connections starts after this
// much silence; the kernel's interval and count apply after it. Only two
// socket options per connection (Go's default sets four).
const keepAliveIdle = time.Minute

// Dialer dials stores and remembers which addresses are down. Safe for
// concurrent use.
type Dialer struct {
	bufs sync.Pool // *bufio.Reader of readerSize bytes

	mu    sync.Mutex
	opts  Options
	down  map[string]time.Time // address -> when it was marked down
	info  map[string]storeInfo // address -> what it said at its last login
	hosts map[string]hostAddrs // "host port" -> resolved addresses
}

// New returns a Dialer.
func New(o Options) *Dialer {
	if o.DefaultPort == 0 {
		o.DefaultPort = 143
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 30 * time.Second
	}
	if o.LookupHost == nil {
		o.LookupHost = net.DefaultResolver.LookupHost
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = time.Minute
	}
	return &Dialer{opts: o, down: map[string]time.Time{}, info: map[string]storeInfo{}, hosts: map[string]hostAddrs{}}
}

// Conn is a logged-in store connection.
type Conn struct {
	*net.TCPConn
	Host         string   // the mail host with its port ("store1:143"), as dialed
	Addr         string   // the address connected to
	Capabilities []string // post-login capabilities
	Pending      []byte   // bytes read past the login response: send to the client first
}

// Error is a failure to reach or log in to a store.
type Error struct {
	Host    string // the mail host
	Addr    string // the last address tried ("" if none resolved)
	Refused bool   // the store answered and refused the login (not marked down)
	Err     error
}

func (e *Error) Error() string {
	if e.Addr == "" {
		return fmt.Sprintf("backend %s: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("backend %s (%s): %v", e.Host, e.Addr, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrRefused is wrapped by login refusals from the store.
var ErrRefused = errors.New("store refused the login")

// hostPort splits a mail host into host and port, applying defaultPort.
func hostPort(mailHost string, defaultPort int) (host, port string) {
	if h, p, err := net.SplitHostPort(mailHost); err == nil {
		return h, p
	}
	return strings.Trim(mailHost, "[]"), strconv.Itoa(defaultPort)
}

// Dial connects to mailHost and logs in as user. client and local are the
// client's address and the proxy's address it connected to (for the PROXY
// header). On failure the error is an *Error.
func (d *Dialer) Dial(ctx context.Context, mailHost, user string, client, local net.Addr) (*Conn, error) {
	o := d.options() // under d.mu: SetOptions may run concurrently
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	host, port := hostPort(mailHost, o.DefaultPort)
	if host == "" {
		return nil, &Error{Host: mailHost, Err: errors.New("empty mail host")}
	}
	addrs, err := d.resolve(ctx, host, port)
	if err != nil {
		return nil, &Error{Host: mailHost, Err: err}
	}
	var last *Error
	for _, a := range d.order(addrs) {
		c, err := d.dialOne(ctx, a, user, client, local)
		if err == nil {
			c.Host = net.JoinHostPort(host, port)
			d.markUp(a)
			return c, nil
		}
		last = &Error{Host: mailHost, Addr: a, Err: err, Refused: errors.Is(err, ErrRefused)}
		if last.Refused {
			return nil, last
		}
		d.markDown(a)
		d.forget(a)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func (d *Dialer) resolve(ctx context.Context, host, port string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{net.JoinHostPort(host, port)}, nil
	}
	return d.lookup(ctx, host, port)
}

// order returns the addresses not marked down, in order; if all are down,
// only the one marked down longest ago.
func (d *Dialer) order(addrs []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opts.Now()
	var up []string
	oldest, oldestAt := "", time.Time{}
	for _, a := range addrs {
		at, isDown := d.down[a]
		if isDown && now.Sub(at) >= d.opts.Retry {
			delete(d.down, a)
			isDown = false
		}
		if !isDown {
			up = append(up, a)
		} else if oldest == "" || at.Before(oldestAt) {
			oldest, oldestAt = a, at
		}
	}
	if len(up) == 0 {
		return []string{oldest}
	}
	return up
}

func (d *Dialer) markDown(a string) {
	d.mu.Lock()
	d.down[a] = d.opts.Now()
	d.mu.Unlock()
}

func (d *Dialer) markUp(a string) {
	d.mu.Lock()
	delete(d.down, a)
	d.mu.Unlock()
}

// Down reports whether address a is currently marked down.
func (d *Dialer) Down(a string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.down[a]
	return ok && d.opts.Now().Sub(at) < d.opts.Retry
}

// SetOptions replaces the options (config reload); health marks are kept.
func (d *Dialer) SetOptions(o Options) {
	n := New(o)
	d.mu.Lock()
	d.opts = n.opts
	d.mu.Unlock()
}

func (d *Dialer) options() Options {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opts
}

func (d *Dialer) dialOne(ctx context.Context, addr, user string, client, local net.Addr) (*Conn, error) {
	si := d.known(addr)
	c, err := d.dialLogin(ctx, addr, user, client, local, si)
	if err != nil && si.pipeline && errors.Is(err, ErrRefused) {
		d.forget(addr) // the store may have changed: once more, carefully
		c, err = d.dialLogin(ctx, addr, user, client, local, storeInfo{})
	}
	return c, err
}

func (d *Dialer) dialLogin(ctx context.Context, addr, user string, client, local net.Addr, si storeInfo) (*Conn, error) {
	nd := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle, Interval: -1, Count: -1}}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = errno // "dial tcp ADDR: connect:" is said by the caller
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	tc := nc.(*net.TCPConn)
	if dl, ok := ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { tc.SetDeadline(time.Unix(1, 0)) })
	c, err := d.login(tc, addr, user, client, local, si)
	stop()
	if err != nil {
		tc.Close()
		if ctx.Err() != nil && !errors.Is(err, ErrRefused) {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return c, nil
}

// login runs the store-admin login on tc: pipelined when si says the
// store allows it, else greeting, CAPABILITY if needed, AUTHENTICATE.
func (d *Dialer) login(tc *net.TCPConn, addr, user string, client, local net.Addr, si storeInfo) (*Conn, error) {
	o := d.options()
	var hdr []byte
	if o.SendProxyProtocol && client != nil && local != nil {
		var err error
		if hdr, err = proxyproto.HeaderProxyFromAddrs(2, client, local).Format(); err != nil {
			return nil, fmt.Errorf("send PROXY header: %w", err)
		}
	}
	p := &proto{conn: tc, r: d.reader(tc)}
	defer d.putReader(p.r)
	ir := plainIR(user, o.AdminUser, o.AdminPassword)
	var after []string
	var err error
	if si.pipeline {
		after, err = p.pipelined("A1", hdr, ir)
	} else {
		after, si.pipeline, err = p.stepwise("A1", hdr, ir)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case after != nil:
		si.postLogin = nil
	case si.postLogin != nil:
		after = si.postLogin
	default:
		if after, err = p.capability("A2"); err != nil {
			return nil, err
		}
		si.postLogin = after
	}
	d.remember(addr, si)
	c := &Conn{TCPConn: tc, Addr: addr, Capabilities: after}
	if n := p.r.Buffered(); n > 0 {
		c.Pending, _ = p.r.Peek(n)
		c.Pending = append([]byte(nil), c.Pending...)
	}
	return c, nil
}

// plainIR is the SASL PLAIN initial response, base64.
func plainIR(authz, authc, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + authc + "\x00" + password))
}
