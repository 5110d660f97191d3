// Package imapd is the store's IMAP server: go-imap/v2 imapserver
// sessions over the message store (IMAP4rev1 and IMAP4rev2 with every
// server-side extension the library has: MOVE, UIDPLUS, ESEARCH,
// SEARCHRES, SPECIAL-USE, LIST-STATUS, STATUS=SIZE, LITERAL+, SASL-IR,
// UNSELECT, NAMESPACE, BINARY, APPENDLIMIT, UNAUTHENTICATE, IDLE, and
// STARTTLS when a certificate is configured).
//
// One file per command. Decisions and workarounds for imapserver (see
// LIBRARIES.md):
//
//   - Unilateral updates have one source: the view's Sync (package
//     mailbox), which sees changes made by any session in any process.
//     Poll writes them; EXPUNGE and MOVE write the expunges Sync reports
//     and keep the rest for the next Poll, so an expunge is never sent
//     twice. imapserver's MailboxTracker is not used: it would be a second
//     source of the same events. Sessions of this process wake each other
//     at once through a per-folder hub; other processes' changes wake IDLE
//     through the view's Wait.
//   - EXAMINE is remembered by the session: STORE, EXPUNGE and MOVE in
//     the read-only folder are refused, BODY[] sets no \Seen, and CLOSE
//     (which imapserver turns into an expunge with a zero ExpungeWriter)
//     expunges nothing. APPEND to it is allowed (RFC 3501 §6.3.2), and
//     APPEND never opens a read-write view: that would claim \Recent.
//   - Plain-text authentication: the policy is per connection (loopback and
//     store.trustedproxies, or everyone with AllowPlaintext), but
//     imapserver's is per server, so two imapserver.Servers share the
//     listener: connections that may log in without TLS go to one, the
//     others to one that advertises LOGINDISABLED.
//   - The store-admin login (AUTHENTICATE PLAIN with an authorization
//     identity) is accepted only when the real TCP peer is a trusted
//     proxy; the client address a PROXY protocol header announces is used
//     in logs only. The plain-text decision is also made on the real peer:
//     it is that hop which is unencrypted.
//   - Errors: *imap.Error values go to the client as they are; a folder
//     format error becomes NO plus the "Store Error: user/<uid>: Mailbox
//     has an invalid format; repair requested" log line and a call to the
//     RepairRequester; anything else becomes NO [SERVERBUG] and one log
//     line with session id, user and client address.
package imapd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/pires/go-proxyproto"

	"msgplex/counters"
	"msgplex/directory"
)

// proxyHeaderTimeout bounds the wait for a PROXY header from a trusted peer
// (read lazily, at the client's first command).
const proxyHeaderTimeout = 5 * time.Second

// RepairRequester queues a Repair of a folder found corrupt.
type RepairRequester interface {
	RequestRepair(uid, folder string)
}

// Options configure a Server. Zero values are documented defaults.
type Options struct {
	// Backend is the store (required).
	Backend Backend
	// Directory checks users' passwords (required for LOGIN).
	Directory directory.Directory
	// AdminUser and AdminPassword are the store-admin credential; an empty
	// password disables the admin login.
	AdminUser, AdminPassword string
	// TrustedProxies are addresses or CIDRs (store.trustedproxies) that may
	// use the admin login, send a PROXY header and log in without TLS.
	// Nil: none (loopback may still log in without TLS).
	TrustedProxies []string
	// AllowPlaintext permits authentication without TLS from anywhere.
	AllowPlaintext bool
	// TLSConfig enables STARTTLS. Nil: no STARTTLS.
	TLSConfig *tls.Config
	// AppendLimit is the largest APPEND. Zero: 100 MiB.
	AppendLimit int64
	// Repair is told about corrupt folders. Nil: the log line only.
	Repair RepairRequester
	// Logger receives session logs. Nil discards.
	Logger *slog.Logger
	// Counters receives the imapstat counters (connections, logins).
	// Nil: the server keeps a set of its own.
	Counters *counters.Set
}

// Stats are the server's counters.
type Stats struct {
	Connections     uint64 // accepted since start
	CurrentSessions int64
	GoodLogins      uint64
	FailedLogins    uint64
}

// Server serves IMAP over a store.
type Server struct {
	opts    Options
	log     *slog.Logger
	trusted []netip.Prefix
	plain   *imapserver.Server // may authenticate without TLS
	strict  *imapserver.Server // LOGINDISABLED until STARTTLS
	hub     *hub

	nextID            atomic.Uint64
	ctr               *counters.Set
	mu                sync.Mutex
	listeners         map[net.Listener]struct{}
	plainLn, strictLn *chanListener
	closed            bool
	serving           sync.WaitGroup // the library's Serve loops
}

// Capabilities advertised besides IMAP4rev1/IMAP4rev2 (which imply the rest).
var caps = imap.CapSet{
	imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
	imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapESearch: {}, imap.CapSearchRes: {},
	imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapMove: {}, imap.CapStatusSize: {},
	imap.CapSpecialUse: {}, imap.CapLiteralPlus: {}, imap.CapSASLIR: {}, imap.CapUnselect: {},
	imap.CapIdle: {}, imap.CapBinary: {}, imap.CapAppendLimit: {}, imap.CapUnauthenticate: {},
}

// New makes a Server.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("imapd: Options.Backend is required")
	}
	if opts.AppendLimit <= 0 {
		opts.AppendLimit = 100 << 20
	}
	opts.AppendLimit = min(opts.AppendLimit, 1<<32-1)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	trusted, err := ParsePrefixes(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: log, trusted: trusted, hub: newHub(), listeners: map[net.Listener]struct{}{}, ctr: opts.Counters}
	if s.ctr == nil {
		s.ctr = counters.New(time.Now())
	}
	s.plainLn, s.strictLn = newChanListener(), newChanListener()
	mk := func(insecure bool) *imapserver.Server {
		return imapserver.New(&imapserver.Options{
			NewSession:   s.newSession,
			Caps:         caps,
			Logger:       slogPrintf{log},
			TLSConfig:    opts.TLSConfig,
			InsecureAuth: insecure,
		})
	}
	s.plain, s.strict = mk(true), mk(false)
	s.serving.Go(func() { s.plain.Serve(s.plainLn) })
	s.serving.Go(func() { s.strict.Serve(s.strictLn) })
	return s, nil
}

// ParsePrefixes parses addresses and CIDRs.
func ParsePrefixes(l []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range l {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("imapd: trusted proxy %q: not an address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Trusted says whether addr (a TCP peer) is a trusted proxy.
func (s *Server) Trusted(addr net.Addr) bool {
	return s.trustedIP(addrIP(addr))
}

func (s *Server) trustedIP(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// PlaintextAllowed says whether a peer may authenticate without TLS.
func (s *Server) PlaintextAllowed(peer net.Addr) bool {
	if s.opts.AllowPlaintext {
		return true
	}
	ip := addrIP(peer)
	return ip.IsLoopback() || s.trustedIP(ip)
}

// addrIP is the IP of a peer address; a TCP address (every connection's)
// is read as it is, without formatting and parsing it again.
func addrIP(addr net.Addr) netip.Addr {
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Serve accepts connections on ln until Close; a PROXY protocol header is
// honoured from trusted peers only.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	pl := &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: proxyHeaderTimeout,
		Policy: func(upstream net.Addr) (proxyproto.Policy, error) {
			if s.Trusted(upstream) {
				return proxyproto.USE, nil
			}
			return proxyproto.REJECT, nil
		},
	}
	for {
		c, err := pl.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("imapd: accept: %w", err)
		}
		peer := c.RemoteAddr
		if pc, ok := c.(*proxyproto.Conn); ok {
			peer = pc.Raw().RemoteAddr
		}
		pconn := &peerConn{Conn: newCoalescingConn(c), peer: peer()}
		if s.PlaintextAllowed(pconn.peer) {
			s.plainLn.push(pconn)
		} else {
			s.strictLn.push(pconn)
		}
	}
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("imapd: server closed")

// Close stops the listeners and ends every session.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	// The library's Close waits for its Serve loops with a WaitGroup that
	// Serve joins only once running: a Close right after New raced with
	// that. End the loops first (their listeners close), then Close.
	s.plainLn.Close()
	s.strictLn.Close()
	s.serving.Wait()
	return errors.Join(s.plain.Close(), s.strict.Close())
}

// Stats reports the counters.
func (s *Server) Stats() Stats {
	snap := s.ctr.Snapshot()
	get := func(name string) int64 { v, _ := snap.Get(name); return v }
	return Stats{
		Connections: uint64(get(counters.NumConnections)), CurrentSessions: get(counters.NumCurrentConnections),
		GoodLogins: uint64(get(counters.NumGoodLogins)), FailedLogins: uint64(get(counters.NumFailedLogins)),
	}
}

// peerConn remembers the real TCP peer of a connection whose RemoteAddr
// may be the client address from a PROXY header.
type peerConn struct {
	net.Conn
	peer net.Addr
}

// chanListener hands connections from Serve's accept loop to one
// imapserver.Server.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// slogPrintf adapts slog to imapserver.Logger.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) {
	l.log.Error("imapserver", "msg", fmt.Sprintf(format, args...))
}
