package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"msgplex/config"
	"msgplex/counters"
	"msgplex/directory"
	"msgplex/proxy/backend"
	"msgplex/proxy/relay"
	"msgplex/proxy/sessionlog"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("proxy: server closed")

// Options configure a Server. Zero durations, sizes and counts in Config
// take the defaults of config.Default(), except FailDelay (0: no delay),
// MaxConnections and ConnLimits (0: no limit), which keep their meaning.
type Options struct {
	Config     config.Proxy
	Directory  directory.Directory // required
	TLSConfig  *tls.Config         // STARTTLS and ServeTLS; nil: neither
	SessionLog *sessionlog.Logger  // default: text on stderr
	Counters   *counters.Set       // default: a new Set
	Logger     *slog.Logger        // operational log; default: discard
	// LookupHost resolves mail hosts; default the system resolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)

	sleep func(ctx context.Context, d time.Duration) error // tests
}

// Server is the proxy. Safe for concurrent use.
type Server struct {
	opts     Options
	cfg      atomic.Pointer[settings]
	dirMu    sync.RWMutex
	dir      directory.Directory
	dialer   *backend.Dialer
	throttle *throttle
	slog     *sessionlog.Logger
	counters *counters.Set
	log      *slog.Logger
	serverID map[string]string // answered to ID; read-only, shared by sessions

	preauthCtx    context.Context // ends at Shutdown/Close: BYE to pre-auth sessions
	cancelPreauth context.CancelFunc
	spliceCtx     context.Context // ends at Close: spliced sessions torn down
	stopSplice    context.CancelFunc
	engine        *relay.Engine // plain-TCP spliced sessions (proxy.spliceengine = "epoll")

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]bool
	perAddr   map[string]int
	active    int
	wg        sync.WaitGroup
}

// settings is the reloadable configuration with defaults applied.
type settings struct {
	config.Proxy
	trusted []*net.IPNet
}

// New returns a Server; it fails on a bad configuration.
func New(o Options) (*Server, error) {
	if o.Directory == nil {
		return nil, errors.New("proxy: no directory")
	}
	st, err := newSettings(o.Config)
	if err != nil {
		return nil, err
	}
	if o.SessionLog == nil {
		if o.SessionLog, err = sessionlog.Open(sessionlog.Options{Hostname: st.Hostname}); err != nil {
			return nil, err
		}
	}
	if o.Counters == nil {
		o.Counters = counters.New(time.Now())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	s := &Server{
		opts: o, dir: o.Directory, slog: o.SessionLog, counters: o.Counters, log: o.Logger,
		throttle:  newThrottle(time.Now),
		serverID:  map[string]string{"name": "msgplex", "vendor": "msgplex"},
		listeners: map[net.Listener]bool{},
		perAddr:   map[string]int{},
	}
	s.preauthCtx, s.cancelPreauth = context.WithCancel(context.Background())
	s.spliceCtx, s.stopSplice = context.WithCancel(context.Background())
	s.engine = relay.New(relay.Options{})
	context.AfterFunc(s.spliceCtx, func() { s.engine.Close() })
	s.cfg.Store(st)
	s.dialer = backend.New(s.backendOptions(st))
	return s, nil
}

func newSettings(c config.Proxy) (*settings, error) {
	d := config.Default().Proxy
	setDefault(&c.BackendPort, d.BackendPort)
	setDefault(&c.BackendTimeout, d.BackendTimeout)
	setDefault(&c.BackendRetry, d.BackendRetry)
	setDefault(&c.PreauthTimeout, d.PreauthTimeout)
	setDefault(&c.IdleTimeout, d.IdleTimeout)
	setDefault(&c.MaxLineLength, d.MaxLineLength)
	setDefault(&c.MaxLiteral, d.MaxLiteral)
	setDefault(&c.MaxAuthFailures, d.MaxAuthFailures)
	setDefault(&c.FailDelayMax, d.FailDelayMax)
	setDefault(&c.DrainTimeout, d.DrainTimeout)
	setDefault(&c.ServerDownAlert, d.ServerDownAlert)
	setDefault(&c.SpliceEngine, d.SpliceEngine)
	if c.SpliceEngine != "epoll" && c.SpliceEngine != "goroutines" {
		return nil, fmt.Errorf("proxy.spliceengine: %q is neither \"epoll\" nor \"goroutines\"", c.SpliceEngine)
	}
	if c.Hostname == "" { // once, not a uname(2) per session
		if h, err := os.Hostname(); err == nil {
			c.Hostname = h
		}
	}
	st := &settings{Proxy: c}
	for _, t := range c.TrustedLoadBalancers {
		n, err := parseCIDR(t)
		if err != nil {
			return nil, fmt.Errorf("proxy.trustedloadbalancers: %w", err)
		}
		st.trusted = append(st.trusted, n)
	}
	return st, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// parseCIDR accepts "10.0.0.0/8" or a bare address.
func parseCIDR(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("bad address %q", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

func (s *Server) backendOptions(st *settings) backend.Options {
	return backend.Options{
		DefaultPort:       st.BackendPort,
		Timeout:           st.BackendTimeout.D(),
		Retry:             st.BackendRetry.D(),
		AdminUser:         st.StoreAdmin.User,
		AdminPassword:     st.StoreAdmin.Password,
		SendProxyProtocol: st.SendProxyProtocol,
		LookupHost:        s.opts.LookupHost,
	}
}

// Reload applies a new configuration and, if dir is not nil, a new
// directory; it returns the directory replaced (the caller closes it once
// logins in flight are done). Running sessions are untouched. Listen
// addresses, the session log path and TLS files are not reloaded here.
func (s *Server) Reload(c config.Proxy, dir directory.Directory) (directory.Directory, error) {
	st, err := newSettings(c)
	if err != nil {
		return nil, err
	}
	s.cfg.Store(st)
	s.dialer.SetOptions(s.backendOptions(st))
	if dir == nil {
		return nil, nil
	}
	s.dirMu.Lock()
	old := s.dir
	s.dir = dir
	s.dirMu.Unlock()
	return old, nil
}

func (s *Server) settings() *settings { return s.cfg.Load() }

func (s *Server) directory() directory.Directory {
	s.dirMu.RLock()
	defer s.dirMu.RUnlock()
	return s.dir
}

// Counters returns the live counters.
func (s *Server) Counters() *counters.Set { return s.counters }

// MetricsHandler serves the counters in the Prometheus text format, from
// a registry of its own.
func (s *Server) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(counters.NewCollector(s.counters, "proxy"))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Serve accepts IMAP connections (STARTTLS offered if TLSConfig is set)
// on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts implicit-TLS IMAP connections (port 993) on ln.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("proxy: ServeTLS without a TLS configuration")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	if !s.trackListener(ln, true) {
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || !errors.Is(err, net.ErrClosed) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("proxy: accept: %w", err)
		}
		backoff = 0
		tc, ok := c.(*net.TCPConn)
		if !ok {
			s.log.Error("accept: not a TCP connection", "type", fmt.Sprintf("%T", c))
			c.Close()
			continue
		}
		if !s.startSession() {
			tc.Close()
			return ErrServerClosed
		}
		go func() {
			relayed := false
			defer func() {
				if !relayed { // else the relay engine's end of session does it
					s.wg.Done()
				}
			}()
			defer s.recoverSession(tc)
			relayed = s.handle(tc, implicitTLS)
		}()
	}
}

func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.listeners[ln] = true
		return true
	}
	delete(s.listeners, ln)
	return true
}

// recoverSession keeps a bug in one session from ending the proxy.
func (s *Server) recoverSession(tc *net.TCPConn) {
	if r := recover(); r != nil {
		tc.Close()
		s.log.Error("session panic", "client", tc.RemoteAddr().String(), "panic", r, "stack", string(debug.Stack()))
	}
}

// startSession counts a session goroutine unless the server is closed;
// under s.mu, so no Add can follow the Wait of Shutdown or Close.
func (s *Server) startSession() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// stopAccepting closes the listeners and ends every pre-auth session.
func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	s.cancelPreauth()
}

// Shutdown stops accepting, sends BYE to sessions in pre-auth and waits
// for spliced sessions to finish; when ctx ends first, it closes them and
// returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.stopSplice() // no session left: stops the relay engine's loops
		s.slog.Flush()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes the listeners and every session at once.
func (s *Server) Close() error {
	s.stopAccepting()
	s.stopSplice()
	s.wg.Wait()
	s.slog.Flush()
	return nil
}

// ActiveSessions is the number of connections being served.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
