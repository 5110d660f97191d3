package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"msgplex/proxy/relay"
	"msgplex/proxy/sessionlog"
)

// leg is one side of a spliced session: the conn data flows through (a
// *net.TCPConn, or a *tls.Conn over it) and the raw TCP socket under it
// (for half-close, TCP state and activity probes).
type leg struct {
	conn net.Conn
	tcp  *net.TCPConn
}

// closeWrite half-closes the leg (TLS close_notify then FIN).
func (l leg) closeWrite() {
	if cw, ok := l.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		if l.conn != net.Conn(l.tcp) {
			l.tcp.CloseWrite()
		}
		return
	}
	l.tcp.CloseWrite()
}

// sideError is an I/O error attributed to one side of the session.
type sideError struct {
	side  string // "client" or "server"
	errno syscall.Errno
	err   error
}

// spliceResult is what a finished splice reports.
type spliceResult struct {
	c2s, s2c  int64
	errs      []sideError // at most one per side
	idle      bool        // ended by the idle timeout
	firstEOF  string      // the side that closed first ("" if none)
	cancelled bool        // ended by the proxy (drain deadline)
}

// splicer runs both copy directions of one session.
type splicer struct {
	client, server leg
	idle           time.Duration

	mu        sync.Mutex
	res       spliceResult
	torn      bool // both conns closed by us: later errors are ours
	closeOnce sync.Once
	timer     *time.Timer
}

// splice copies client<->server until both directions end. Between two
// plain TCP legs the bytes move with splice(2) (copyTCP): the conns are
// never wrapped, bytes are counted from io.CopyN's return values, and a
// splice pipe is held only while data moves, so an idle session costs
// its two sockets and nothing more. TLS legs copy in user space.
// Half-close: when one direction reaches EOF the other side's write half
// is closed and the other direction keeps going. An error on either
// direction tears both down. The idle timeout is checked by a timer
// against the kernel's own last-data times (TCP_INFO), so the hot path
// sets no deadlines. The session costs two goroutines (the caller's,
// copying client to server, and one more); the idle check and stop are
// callbacks, not goroutines.
func splice(client, server leg, idle time.Duration, stop context.Context) spliceResult {
	s := &splicer{client: client, server: server, idle: idle}
	if idle > 0 {
		s.timer = time.AfterFunc(idle, s.checkIdle)
	}
	unstop := context.AfterFunc(stop, func() {
		s.mu.Lock()
		s.res.cancelled = true
		s.mu.Unlock()
		s.teardown()
	})
	s2c := make(chan struct{})
	go func() {
		defer close(s2c)
		n, err := copyLeg(client, server)
		s.finish(&s.res.s2c, n, err, server, client)
	}()
	n, err := copyLeg(server, client)
	s.finish(&s.res.c2s, n, err, client, server)
	<-s2c
	unstop()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.teardown()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res
}

// copyLeg copies src to dst: kernel splice between plain TCP legs
// (copyTCP), io.Copy in user space when either is TLS.
func copyLeg(dst, src leg) (int64, error) {
	if dst.conn == net.Conn(dst.tcp) && src.conn == net.Conn(src.tcp) {
		return copyTCP(dst.tcp, src.tcp)
	}
	return io.Copy(dst.conn, src.conn)
}

// checkIdle runs on the idle timer: it ends a session quiet both ways for
// the idle timeout, else re-arms for when it could first be.
func (s *splicer) checkIdle() {
	s.mu.Lock()
	torn := s.torn
	s.mu.Unlock()
	if torn {
		return
	}
	quiet := min(quietFor(s.client.tcp), quietFor(s.server.tcp))
	if quiet >= s.idle {
		s.mu.Lock()
		s.res.idle = true
		s.mu.Unlock()
		s.teardown()
		return
	}
	s.timer.Reset(max(s.idle-quiet, time.Millisecond))
}

// finish records the end of one direction from src to dst.
func (s *splicer) finish(count *int64, n int64, err error, src, dst leg) {
	s.mu.Lock()
	*count = n
	torn := s.torn
	s.mu.Unlock()
	if err == nil || errors.Is(err, io.EOF) {
		s.mu.Lock()
		if s.res.firstEOF == "" && !torn {
			s.res.firstEOF = s.sideOf(src)
		}
		s.mu.Unlock()
		dst.closeWrite()
		return
	}
	if torn || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		s.teardown()
		return
	}
	s.record(s.blame(err, src, dst), err)
	s.teardown()
}

func (s *splicer) sideOf(l leg) string {
	if l.tcp == s.client.tcp {
		return "client"
	}
	return "server"
}

// blame decides which side an error of the src->dst direction belongs
// to: the side whose TCP connection the kernel has closed (reset), else
// by the errno (EPIPE is a write, so dst), else src.
func (s *splicer) blame(err error, src, dst leg) string {
	if tcpState(src.tcp) == unix.BPF_TCP_CLOSE {
		return s.sideOf(src)
	}
	if tcpState(dst.tcp) == unix.BPF_TCP_CLOSE || errors.Is(err, syscall.EPIPE) {
		return s.sideOf(dst)
	}
	return s.sideOf(src)
}

// record keeps one error per side, preferring anything over EPIPE (the
// echo of an earlier reset).
func (s *splicer) record(side string, err error) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.res.errs {
		if e.side == side {
			if e.errno == syscall.EPIPE && errno != syscall.EPIPE && errno != 0 {
				s.res.errs[i] = sideError{side, errno, err}
			}
			return
		}
	}
	s.res.errs = append(s.res.errs, sideError{side, errno, err})
}

// teardown closes both legs once; errors after it are the proxy's own.
func (s *splicer) teardown() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.torn = true
		s.mu.Unlock()
		s.client.conn.Close()
		s.server.conn.Close()
	})
}

// tcpState returns the kernel's TCP state of c (unix.BPF_TCP_*), or 0.
func tcpState(c *net.TCPConn) uint8 {
	info := tcpInfo(c)
	if info == nil {
		return 0
	}
	return info.State
}

// quietFor is how long c has neither sent nor received data.
func quietFor(c *net.TCPConn) time.Duration {
	info := tcpInfo(c)
	if info == nil {
		return 0
	}
	ms := min(info.Last_data_recv, info.Last_data_sent)
	return time.Duration(ms) * time.Millisecond
}

func tcpInfo(c *net.TCPConn) *unix.TCPInfo {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var info *unix.TCPInfo
	rc.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return info
}

// relay hands a session whose legs are both plain TCP to the server's
// relay engine (proxy.spliceengine = "epoll"): the engine owns the
// sockets from here, no goroutine waits for them, and its end of session
// logs the outcome and releases what handle would have (the connection
// slot, the counters, the server's WaitGroup). c2s0 and s2c0 are the
// bytes forwarded before. False: splice on this goroutine instead (the
// goroutine engine is configured, a leg is TLS, or the engine refused:
// the conns are then untouched).
func (ss *session) relay(client, server leg, c2s0, s2c0 int64) bool {
	if ss.st.SpliceEngine != "epoll" || client.conn != net.Conn(client.tcp) || server.conn != net.Conn(server.tcp) {
		return false
	}
	err := ss.srv.engine.Add(client.tcp, server.tcp, ss.st.IdleTimeout.D(), func(r relay.Result) {
		ss.relayEnd(r, c2s0, s2c0)
	})
	if err != nil {
		if !errors.Is(err, relay.ErrClosed) {
			ss.srv.log.Warn("relay engine refused a session, using goroutines", "sid", sidString(ss.sid), "err", err)
		}
		return false
	}
	ss.relayed = true
	ss.conn, ss.be, ss.tcp = nil, nil, nil // keep only what the end needs
	return true
}

// relayEnd runs once when a relayed session ends, on its own goroutine.
func (ss *session) relayEnd(r relay.Result, c2s0, s2c0 int64) {
	srv := ss.srv
	defer srv.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			srv.log.Error("relayed session end panic", "sid", sidString(ss.sid), "panic", p)
		}
	}()
	res := spliceResult{c2s: r.C2S, s2c: r.S2C, idle: r.Idle, cancelled: r.Cancelled, firstEOF: r.FirstEOF}
	for _, e := range r.Errs {
		res.errs = append(res.errs, sideError{side: e.Side, errno: e.Errno, err: e.Err})
	}
	ss.logSplice(res, c2s0, s2c0)
	ss.log(sessionlog.Event{Kind: sessionlog.End})
	srv.release(ss.ip)
	srv.counters.ConnClosed()
}
