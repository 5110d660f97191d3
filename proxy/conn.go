package proxy

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"msgplex/proxy/sessionlog"
)

// Socket timeouts outside the pre-auth dialogue.
const (
	proxyHeaderTimeout = 5 * time.Second  // a trusted balancer's PROXY header
	byeTimeout         = 2 * time.Second  // writing a refusal BYE
	tlsHandshakeMax    = 30 * time.Second // implicit TLS handshake, at most
)

// clientConn is an accepted connection whose first bytes (a PROXY header)
// were read through r: reads drain r's buffer before the socket.
type clientConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func (c *clientConn) Read(p []byte) (int, error) {
	if c.r != nil && c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.TCPConn.Read(p)
}

// takeBuffered returns bytes read ahead of the pre-auth reader (nil if none).
func (c *clientConn) takeBuffered() []byte {
	if c.r == nil || c.r.Buffered() == 0 {
		return nil
	}
	b, _ := c.r.Peek(c.r.Buffered())
	b = append([]byte(nil), b...)
	c.r.Discard(len(b))
	return b
}

// handle serves one accepted connection to its end, or until it is handed
// to the relay engine (relayed: the engine's end of session releases it).
func (s *Server) handle(tc *net.TCPConn, implicitTLS bool) (relayed bool) {
	defer tc.Close()
	st := s.settings()
	cc := &clientConn{TCPConn: tc}
	client, local := tc.RemoteAddr(), tc.LocalAddr()
	if st.trustedBalancer(client) {
		var err error
		if client, local, err = readProxyHeader(cc, client, local); err != nil {
			s.log.Warn("PROXY header from trusted balancer", "peer", tc.RemoteAddr().String(), "err", err)
			s.counters.ConnFailed()
			return
		}
	}
	ip := ipOf(client)
	sid := newSessionID()
	if reason := s.admit(ip, st); reason != "" {
		s.refuseConn(cc, sid, client, reason)
		return
	}
	s.counters.ConnOpened(time.Now())
	ss := &session{srv: s, sid: sid, st: st, start: time.Now(), tcp: tc, conn: cc, client: client, local: local, ip: ip}
	defer func() {
		if !ss.relayed {
			s.release(ip)
			s.counters.ConnClosed()
		}
	}()
	ss.run(implicitTLS)
	return ss.relayed
}

// readProxyHeader reads an optional PROXY v1/v2 header from a trusted
// balancer and returns the addresses it carries.
func readProxyHeader(cc *clientConn, client, local net.Addr) (net.Addr, net.Addr, error) {
	cc.r = bufio.NewReaderSize(cc.TCPConn, 256)
	cc.TCPConn.SetReadDeadline(time.Now().Add(proxyHeaderTimeout))
	h, err := proxyproto.Read(cc.r)
	cc.TCPConn.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case errors.Is(err, proxyproto.ErrNoProxyProtocol), errors.As(err, &ne) && ne.Timeout():
		return client, local, nil // a balancer's health check, or none sent
	case err != nil:
		return nil, nil, err
	}
	if h.Command.IsLocal() || h.SourceAddr == nil {
		return client, local, nil
	}
	if h.DestinationAddr != nil {
		local = h.DestinationAddr
	}
	return h.SourceAddr, local, nil
}

func (st *settings) trustedBalancer(a net.Addr) bool {
	if len(st.trusted) == 0 { // the usual case: no address to parse
		return false
	}
	ip := net.ParseIP(ipOf(a))
	if ip == nil {
		return false
	}
	for _, n := range st.trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

const reasonShutdown = "server shutting down"

// admit counts a new connection from ip, or says why it is refused.
func (s *Server) admit(ip string, st *settings) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return reasonShutdown
	case st.MaxConnections > 0 && s.active >= st.MaxConnections:
		return "too many connections (proxy.maxconnections)"
	case st.ConnLimits > 0 && s.perAddr[ip] >= st.ConnLimits:
		return "too many connections from this address (proxy.connlimits)"
	}
	s.active++
	s.perAddr[ip]++
	return ""
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.perAddr[ip]--; s.perAddr[ip] <= 0 {
		delete(s.perAddr, ip)
	}
}

func (s *Server) refuseConn(cc *clientConn, sid uint64, client net.Addr, reason string) {
	s.counters.ConnFailed()
	s.slog.Log(sid, sessionlog.Event{Kind: sessionlog.Refused, Client: client.String(), Reason: reason})
	cc.SetWriteDeadline(time.Now().Add(byeTimeout))
	text := "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
	if reason == reasonShutdown {
		text = "* BYE [UNAVAILABLE] Server shutting down\r\n"
	}
	cc.Write([]byte(text))
}

func ipOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// newSessionID is a random non-zero 64-bit id.
func newSessionID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

func sidString(sid uint64) string { return "0x" + strconv.FormatUint(sid, 16) }
