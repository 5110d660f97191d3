package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"msgplex/config"
	"msgplex/directory"
	"msgplex/proxy/backend/fakestore"
	"msgplex/proxy/sessionlog"
)

// waitMax bounds every wait in these tests.
const waitMax = 20 * time.Second

// fakeDir is an in-memory directory.
type fakeDir struct {
	mu    sync.Mutex
	users map[string]fakeUser
	calls int
	names []string
}

type fakeUser struct {
	password string
	user     directory.User
}

func (d *fakeDir) add(name, pw, host string, status directory.Status) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users == nil {
		d.users = map[string]fakeUser{}
	}
	d.users[name] = fakeUser{pw, directory.User{UID: name, MailHost: host, Status: status}}
}

func (d *fakeDir) Lookup(ctx context.Context, name string) (directory.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[name]
	if !ok {
		return directory.User{}, directory.ErrNoSuchUser
	}
	return u.user, nil
}

func (d *fakeDir) Authenticate(ctx context.Context, name, pw string) (directory.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	d.names = append(d.names, name)
	if name == "unavailable" {
		return directory.User{}, directory.ErrUnavailable
	}
	u, ok := d.users[name]
	if !ok {
		return directory.User{}, directory.ErrNoSuchUser
	}
	if u.password != pw {
		return directory.User{}, directory.ErrBadPassword
	}
	return u.user, nil
}

func (d *fakeDir) Close() error { return nil }

// env is a proxy in front of a fake store, with a session log file.
type env struct {
	t      testing.TB
	srv    *Server
	addr   string
	store  *fakestore.Server
	dir    *fakeDir
	log    *sessionlog.Logger
	logp   string
	served chan error
	sleeps chan time.Duration
}

func newEnv(t testing.TB, mod func(*config.Proxy)) *env {
	t.Helper()
	return newEnvOpts(t, mod, nil)
}

// newEnvOpts is newEnv with a hook on the Server's Options.
func newEnvOpts(t testing.TB, mod func(*config.Proxy), modOpts func(*Options)) *env {
	t.Helper()
	st, err := fakestore.Start(fakestore.Options{AdminUser: "admin", AdminPassword: "adminpw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := &env{t: t, store: st, dir: &fakeDir{}, served: make(chan error, 1), sleeps: make(chan time.Duration, 100)}
	e.dir.add("alice", "alicepw", st.Addr(), directory.StatusActive)
	c := config.Default().Proxy
	c.AllowPlaintext = true
	c.Hostname = "mmp1"
	c.StoreAdmin = config.Credential{User: "admin", Password: "adminpw"}
	c.BackendTimeout = config.Duration(5 * time.Second)
	c.FailDelay = 0
	if mod != nil {
		mod(&c)
	}
	e.logp = filepath.Join(t.TempDir(), "session.log")
	e.log, err = sessionlog.Open(sessionlog.Options{Path: e.logp, Hostname: "mmp1"})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Config: c, Directory: e.dir, SessionLog: e.log,
		sleep: func(ctx context.Context, d time.Duration) error {
			if d > 0 {
				select {
				case e.sleeps <- d:
				default:
				}
			}
			return nil
		}}
	if modOpts != nil {
		modOpts(&o)
	}
	e.srv, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { e.served <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		e.srv.Close()
		select {
		case err := <-e.served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitMax):
			t.Error("Serve did not return")
		}
		e.log.Close()
	})
	return e
}

// waitLog waits until the session log has a line containing every want.
func (e *env) waitLog(want ...string) string {
	e.t.Helper()
	deadline := time.Now().Add(waitMax)
	for {
		e.log.Flush()
		b, _ := os.ReadFile(e.logp)
		if hasAll(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("session log lacks %q:\n%s", want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// client is a raw IMAP client.
type client struct {
	t testing.TB
	c *net.TCPConn
	r *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitMax))
	cl := &client{t: e.t, c: c.(*net.TCPConn), r: bufio.NewReader(c)}
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

// do sends a command and reads until the line starting with want's tag;
// it fails unless that line starts with want. It returns all lines.
func (c *client) do(cmd, want string) []string {
	c.t.Helper()
	c.send(cmd)
	return c.until(want)
}

func (c *client) until(want string) []string {
	c.t.Helper()
	tag := strings.Fields(want)[0]
	var lines []string
	for i := 0; i < 10000; i++ {
		l := c.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, want) {
				c.t.Fatalf("got %q, want %q (after %q)", l, want, lines)
			}
			return lines
		}
	}
	c.t.Fatal("too many lines")
	return nil
}

func (e *env) loginAlice() *client {
	c := e.dial()
	if g := c.line(); !strings.HasPrefix(g, "* OK") {
		e.t.Fatalf("greeting %q", g)
	}
	c.do("a1 LOGIN alice alicepw", "a1 OK")
	return c
}
