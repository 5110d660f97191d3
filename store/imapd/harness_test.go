package imapd

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"msgplex/directory"
	"msgplex/store"
	"msgplex/store/index"
	"msgplex/store/message"
)

// memDir is a directory of fixed users (name -> password).
type memDir map[string]string

func (d memDir) Lookup(ctx context.Context, name string) (directory.User, error) {
	if _, ok := d[name]; !ok {
		return directory.User{}, directory.ErrNoSuchUser
	}
	return directory.User{UID: name, Status: directory.StatusActive}, nil
}

func (d memDir) Authenticate(ctx context.Context, name, pw string) (directory.User, error) {
	if p, ok := d[name]; !ok || p != pw {
		return directory.User{}, directory.ErrBadPassword
	}
	return directory.User{UID: name, Status: directory.StatusActive}, nil
}

func (d memDir) Close() error { return nil }

// logBuf collects log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

type env struct {
	t     testing.TB
	srv   *Server
	st    *store.Store
	addr  string
	logs  *logBuf
	admin string
}

const adminPW = "s3cret-admin"

func newEnv(t testing.TB, mod func(*Options)) *env {
	t.Helper()
	return newEnvAt(t, t.TempDir(), 64<<20, mod)
}

// newEnvAt is newEnv with the data root and the mapping budget given.
func newEnvAt(t testing.TB, root string, budget int64, mod func(*Options)) *env {
	t.Helper()
	st, err := store.Open(store.Options{DataRoot: root, Budget: index.NewBudget(budget), Summarize: message.Summarize})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	opts := Options{
		Backend:        StoreBackend(st),
		Directory:      memDir{"alice": "alicepw", "bob": "bobpw"},
		AdminUser:      "msgplex-admin",
		AdminPassword:  adminPW,
		TrustedProxies: []string{"127.0.0.0/8"},
		AppendLimit:    60 << 20,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		st.Close()
	})
	return &env{t: t, srv: srv, st: st, addr: ln.Addr().String(), logs: logs}
}

// client logs in with imapclient.
func (e *env) client(user, pw string) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		e.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// tconn is a raw transcript connection: tc.do("A1 SELECT INBOX", "A1 OK").
type tconn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func (e *env) raw() *tconn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	tc := &tconn{t: e.t, c: c, br: bufio.NewReader(c)}
	tc.expect("* OK")
	return tc
}

func (tc *tconn) send(line string) {
	tc.t.Helper()
	tc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(tc.c, "%s\r\n", line); err != nil {
		tc.t.Fatal(err)
	}
}

// expect reads lines until one starts with prefix and returns all lines read.
func (tc *tconn) expect(prefix string) []string {
	tc.t.Helper()
	var lines []string
	for range 10000 {
		tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := tc.br.ReadString('\n')
		if err != nil {
			tc.t.Fatalf("waiting for %q: %v; got %q", prefix, err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if strings.HasPrefix(l, prefix) {
			return lines
		}
		tag, _, _ := strings.Cut(prefix, " ")
		if tag != "*" && tag != "+" && strings.HasPrefix(l, tag+" ") {
			tc.t.Fatalf("want %q, got %q", prefix, lines)
		}
	}
	tc.t.Fatalf("no %q", prefix)
	return nil
}

// do sends a command and waits for the tagged line starting with want.
func (tc *tconn) do(cmd, want string) string {
	tc.t.Helper()
	tc.send(cmd)
	return strings.Join(tc.expect(want), "\n")
}

func (e *env) login(user string) *tconn {
	tc := e.raw()
	tc.do("L1 LOGIN "+user+" "+user+"pw", "L1 OK")
	return tc
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
