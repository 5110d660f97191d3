// Package fakestore is a minimal, fast IMAP backend for tests and
// benchmarks of the proxy: it greets, accepts the store-admin
// `AUTHENTICATE PLAIN` login (with or without SASL-IR), optionally reads a
// PROXY protocol header first, and after login answers a tiny command set:
//
//	CAPABILITY, NOOP, LOGOUT, IDLE (until DONE),
//	FETCH-BIG <n>   an untagged literal of n bytes ('x'), then OK
//	SINK <n>        reads n raw bytes the client sends, then OK
//	WHOAMI          "* WHOAMI <authz> <client address>"
//	RESET           close the connection with a TCP RST (SO_LINGER 0)
//
// It is not an IMAP server; it isolates the proxy's own cost.
package fakestore

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	proxyproto "github.com/pires/go-proxyproto"
)

// Options configure a Server.
type Options struct {
	AdminUser, AdminPassword string
	NoSASLIR                 bool // don't advertise SASL-IR (continuation login)
	NoCapsInOK               bool // don't send [CAPABILITY] with the login OK
	Greeting                 string
	ProxyProtocol            bool // expect a PROXY header on every connection
}

// Server is a running fake store.
type Server struct {
	opts   Options
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	Logins atomic.Int64
	// CapabilityCommands counts CAPABILITY commands, before and after login.
	CapabilityCommands atomic.Int64
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) caps(loggedIn bool) string {
	if loggedIn {
		return "IMAP4rev1 IDLE LITERAL+ MOVE UIDPLUS X-FAKESTORE"
	}
	c := "IMAP4rev1 AUTH=PLAIN"
	if !s.opts.NoSASLIR {
		c += " SASL-IR"
	}
	return c
}

type session struct {
	s      *Server
	c      net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	client string
	authz  string
}

func (s *Server) serve(c net.Conn) {
	ss := &session{s: s, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c), client: c.RemoteAddr().String()}
	if s.opts.ProxyProtocol {
		h, err := proxyproto.Read(ss.r)
		if err != nil {
			return
		}
		ss.client = h.SourceAddr.String()
	}
	g := s.opts.Greeting
	if g == "" {
		g = "* OK [CAPABILITY " + s.caps(false) + "] fakestore ready"
	}
	ss.reply(g)
	if !ss.login() {
		return
	}
	for ss.command() {
	}
}

func (ss *session) reply(format string, args ...any) {
	fmt.Fprintf(ss.w, format+"\r\n", args...)
	ss.w.Flush()
}

func (ss *session) line() (string, bool) {
	l, err := ss.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimRight(l, "\r\n"), true
}

func (ss *session) login() bool {
	for {
		l, ok := ss.line()
		if !ok {
			return false
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			ss.reply("* BAD")
			continue
		}
		tag, cmd := f[0], strings.ToUpper(f[1])
		switch {
		case cmd == "CAPABILITY":
			ss.s.CapabilityCommands.Add(1)
			ss.reply("* CAPABILITY %s", ss.s.caps(false))
			ss.reply("%s OK done", tag)
		case cmd == "AUTHENTICATE" && len(f) >= 3 && strings.EqualFold(f[2], "PLAIN"):
			ir := ""
			if len(f) >= 4 {
				ir = f[3]
			} else {
				ss.reply("+ ")
				if ir, ok = ss.line(); !ok {
					return false
				}
			}
			if ss.checkPlain(ir) {
				ss.s.Logins.Add(1)
				if ss.s.opts.NoCapsInOK {
					ss.reply("%s OK logged in", tag)
				} else {
					ss.reply("%s OK [CAPABILITY %s] logged in", tag, ss.s.caps(true))
				}
				return true
			}
			ss.reply("%s NO [AUTHENTICATIONFAILED] bad admin credential", tag)
		case cmd == "LOGOUT":
			ss.reply("* BYE bye")
			ss.reply("%s OK done", tag)
			return false
		default:
			ss.reply("%s BAD not before login", tag)
		}
	}
}

func (ss *session) checkPlain(ir string) bool {
	b, err := base64.StdEncoding.DecodeString(ir)
	if err != nil {
		return false
	}
	p := strings.Split(string(b), "\x00")
	if len(p) != 3 || p[1] != ss.s.opts.AdminUser || p[2] != ss.s.opts.AdminPassword || p[0] == "" {
		return false
	}
	ss.authz = p[0]
	return true
}

func (ss *session) command() bool {
	l, ok := ss.line()
	if !ok {
		return false
	}
	f := strings.Fields(l)
	if len(f) < 2 {
		ss.reply("* BAD empty")
		return true
	}
	tag, cmd := f[0], strings.ToUpper(f[1])
	switch cmd {
	case "CAPABILITY":
		ss.s.CapabilityCommands.Add(1)
		ss.reply("* CAPABILITY %s", ss.s.caps(true))
	case "NOOP":
	case "RESET":
		if tc, ok := ss.c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		ss.c.Close()
		return false
	case "WHOAMI":
		ss.reply("* WHOAMI %s %s", ss.authz, ss.client)
	case "LOGOUT":
		ss.reply("* BYE bye")
		ss.reply("%s OK done", tag)
		return false
	case "IDLE":
		ss.reply("+ idling")
		if l, ok := ss.line(); !ok || !strings.EqualFold(l, "DONE") {
			return false
		}
	case "FETCH-BIG":
		n, _ := strconv.ParseInt(arg(f, 2), 10, 64)
		fmt.Fprintf(ss.w, "* 1 FETCH (BODY[] {%d}\r\n", n)
		if err := writeX(ss.w, n); err != nil {
			return false
		}
		ss.w.WriteString(")\r\n")
	case "SINK":
		n, _ := strconv.ParseInt(arg(f, 2), 10, 64)
		if _, err := io.CopyN(io.Discard, ss.r, n); err != nil {
			return false
		}
	default:
		ss.reply("%s BAD unknown", tag)
		return true
	}
	ss.reply("%s OK done", tag)
	return true
}

func arg(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

var chunk = []byte(strings.Repeat("x", 64<<10))

func writeX(w *bufio.Writer, n int64) error {
	for n > 0 {
		k := int64(len(chunk))
		if k > n {
			k = n
		}
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
