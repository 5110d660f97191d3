package preauth

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ioGuard bounds how long a test waits for the other side: a hang guard,
// not a timing assertion.
const ioGuard = 20 * time.Second

// fakeLogin is a LoginFunc over a fixed user table, recording each attempt.
type fakeLogin struct {
	mu    sync.Mutex
	seen  []Credentials
	state []State
}

var errInternal = errors.New("directory exploded; password=secret")

func (f *fakeLogin) login(ctx context.Context, cr Credentials, s *State) (LoginResult, error) {
	f.mu.Lock()
	f.seen = append(f.seen, cr)
	f.state = append(f.state, *s)
	f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return LoginResult{}, errors.New("login context has no deadline")
	}
	switch {
	case cr.Username == "alice" && cr.Password == "secret" && (cr.AuthzID == "" || cr.AuthzID == "alice"):
		return LoginResult{Capabilities: []string{"IMAP4rev1", "IDLE", "bad cap", "UIDPLUS"}}, nil
	case cr.Username == "hold":
		return LoginResult{}, &Refusal{Code: "UNAVAILABLE", Text: "Mailbox on hold, try later"}
	case cr.Username == "gone":
		return LoginResult{}, &Refusal{Code: "UNAVAILABLE", Text: "Mail store down\r\nA9 OK injected", Alert: true, Fatal: true}
	case cr.Username == "nilref":
		var ref *Refusal // a typed nil: a LoginFunc bug, answered SERVERBUG
		return LoginResult{}, ref
	case cr.Username == "boom":
		return LoginResult{}, errInternal
	}
	return LoginResult{}, &Refusal{Code: "AUTHENTICATIONFAILED", Text: "Invalid credentials", CountsAsFailure: true}
}

func (f *fakeLogin) calls() []Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Credentials(nil), f.seen...)
}

type result struct {
	out *Outcome
	err error
}

// transcript drives Serve from the client side.
type transcript struct {
	t      *testing.T
	conn   net.Conn // client side
	srv    net.Conn // server side
	r      *bufio.Reader
	done   chan result
	cancel context.CancelFunc
	fake   *fakeLogin
}

// loopbackPair returns a connected TCP pair on 127.0.0.1.
func loopbackPair(t testing.TB) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type acc struct {
		c   net.Conn
		err error
	}
	ch := make(chan acc, 1)
	go func() { c, err := ln.Accept(); ch <- acc{c, err} }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		t.Fatal(a.err)
	}
	return client, a.c
}

// start runs Serve on a new connection; pipe selects net.Pipe over TCP.
func start(t *testing.T, opts Options, pipe bool) *transcript {
	t.Helper()
	var cli, srv net.Conn
	if pipe {
		cli, srv = net.Pipe()
	} else {
		cli, srv = loopbackPair(t)
	}
	return startOn(t, opts, cli, srv)
}

func startOn(t *testing.T, opts Options, cli, srv net.Conn) *transcript {
	t.Helper()
	if opts.Hostname == "" {
		opts.Hostname = "proxy.test"
	}
	ctx, cancel := context.WithCancel(context.Background())
	tc := &transcript{t: t, conn: cli, srv: srv, r: bufio.NewReader(cli), done: make(chan result, 1), cancel: cancel, fake: &fakeLogin{}}
	go func() {
		out, err := Serve(ctx, srv, opts, tc.fake.login)
		if err != nil {
			srv.Close()
		}
		tc.done <- result{out, err}
	}()
	t.Cleanup(func() {
		cancel()
		cli.Close()
		srv.Close()
	})
	cli.SetDeadline(time.Now().Add(ioGuard))
	return tc
}

func (tc *transcript) send(s string) {
	tc.t.Helper()
	if _, err := tc.conn.Write([]byte(s)); err != nil {
		tc.t.Fatalf("send %q: %v", s, err)
	}
}

func (tc *transcript) line() string {
	tc.t.Helper()
	l, err := tc.r.ReadString('\n')
	if err != nil {
		tc.t.Fatalf("read response (got %q): %v", l, err)
	}
	if !strings.HasSuffix(l, "\r\n") {
		tc.t.Fatalf("response %q not ended by CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads one line per prefix and checks each starts with it.
func (tc *transcript) expect(prefixes ...string) []string {
	tc.t.Helper()
	var lines []string
	for _, p := range prefixes {
		l := tc.line()
		if !strings.HasPrefix(l, p) {
			tc.t.Fatalf("got %q, want prefix %q", l, p)
		}
		lines = append(lines, l)
	}
	return lines
}

// do sends a command line and expects the responses.
func (tc *transcript) do(cmd string, prefixes ...string) []string {
	tc.t.Helper()
	tc.send(cmd + "\r\n")
	return tc.expect(prefixes...)
}

// greeting reads the greeting and returns its capabilities.
func (tc *transcript) greeting() []string {
	tc.t.Helper()
	l := tc.expect("* OK [CAPABILITY ")[0]
	caps, rest, _ := strings.Cut(strings.TrimPrefix(l, "* OK [CAPABILITY "), "] ")
	if rest != "proxy.test IMAP proxy ready" {
		tc.t.Fatalf("greeting %q", l)
	}
	return strings.Fields(caps)
}

// capability runs CAPABILITY and returns the list.
func (tc *transcript) capability(tag string) []string {
	tc.t.Helper()
	l := tc.do(tag+" CAPABILITY", "* CAPABILITY ", tag+" OK")[0]
	return strings.Fields(strings.TrimPrefix(l, "* CAPABILITY "))
}

// result waits for Serve to return.
func (tc *transcript) result() (*Outcome, error) {
	tc.t.Helper()
	select {
	case r := <-tc.done:
		return r.out, r.err
	case <-time.After(ioGuard):
		tc.t.Fatal("Serve did not return")
		return nil, nil
	}
}

// expectEOF checks the server closed the connection.
func (tc *transcript) expectEOF() {
	tc.t.Helper()
	if l, err := tc.r.ReadString('\n'); err == nil {
		tc.t.Fatalf("got %q, want the connection closed", l)
	}
}

// selfSigned returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and a client config trusting it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "proxy.test"},
		DNSNames:     []string{"proxy.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, ServerName: "proxy.test"}
	return server, client
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, p string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}
