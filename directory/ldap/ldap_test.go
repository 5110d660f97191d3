package ldap

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"msgplex/directory"
	"msgplex/directory/directorytest"
	"msgplex/internal/testslapd"
)

func startSlapd(t *testing.T, users []directorytest.TestUser) *testslapd.Server {
	t.Helper()
	text, err := directorytest.LDIF(directorytest.BaseDN, users)
	if err != nil {
		t.Fatal(err)
	}
	return testslapd.Start(t, text)
}

func newDir(t *testing.T, o Options) *Dir {
	t.Helper()
	if o.BaseDN == "" {
		o.BaseDN = directorytest.BaseDN
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	directorytest.Run(t, func(t *testing.T, users []directorytest.TestUser) directory.Directory {
		s := startSlapd(t, users)
		return newDir(t, Options{URLs: []string{s.URL}, BindDN: s.AdminDN, BindPassword: s.AdminPassword})
	})
}

func TestConformanceAnonymousCached(t *testing.T) {
	directorytest.Run(t, func(t *testing.T, users []directorytest.TestUser) directory.Directory {
		s := startSlapd(t, users)
		d := newDir(t, Options{URLs: []string{s.URL}})
		c, err := directory.NewCache(d, directory.CacheOptions{TTL: time.Minute, NegativeTTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangingServer accepts connections and never answers. It counts
// accepted connections and closes them when the test ends.
type hangingServer struct {
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func startHanging(t *testing.T) *hangingServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingServer{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
	})
	return h
}

func (h *hangingServer) URL() string { return "ldap://" + h.ln.Addr().String() }

var alice = directorytest.Users()[0]

func TestFailoverDown(t *testing.T) {
	s := startSlapd(t, directorytest.Users()[:2])
	d := newDir(t, Options{URLs: []string{"ldap://" + deadAddr(t), s.URL}, BindDN: s.AdminDN, BindPassword: s.AdminPassword, Timeout: 10 * time.Second})
	for range 3 {
		u, err := d.Authenticate(context.Background(), alice.UID, alice.Password)
		if err != nil || u.UID != "alice" {
			t.Fatalf("Authenticate with first server down: %+v %v", u, err)
		}
	}
	if _, err := d.Authenticate(context.Background(), alice.UID, "wrong"); !errors.Is(err, directory.ErrBadPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestFailoverHanging(t *testing.T) {
	s := startSlapd(t, directorytest.Users()[:2])
	h := startHanging(t)
	d := newDir(t, Options{URLs: []string{h.URL(), s.URL}, Timeout: 4 * time.Second})
	u, err := d.Authenticate(context.Background(), alice.UID, alice.Password)
	if err != nil || u.UID != "alice" {
		t.Fatalf("Authenticate with first server hanging: %+v %v", u, err)
	}
	if h.accepted.Load() == 0 {
		t.Fatal("the hanging server was never tried")
	}
}

func TestHangTimesOut(t *testing.T) {
	before := runtime.NumGoroutine()
	h := startHanging(t)
	for _, o := range []Options{
		{URLs: []string{h.URL()}, Timeout: 300 * time.Millisecond},
		{URLs: []string{h.URL()}, Timeout: 300 * time.Millisecond, BindDN: "cn=admin,dc=example,dc=com", BindPassword: "x"},
		{URLs: []string{h.URL(), h.URL()}, Timeout: 300 * time.Millisecond},
	} {
		d, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 2)
		go func() {
			_, err := d.Lookup(context.Background(), "alice")
			res <- err
			_, err = d.Authenticate(context.Background(), "alice", "pw")
			res <- err
		}()
		for range 2 {
			select {
			case err := <-res:
				if !errors.Is(err, directory.ErrUnavailable) || errors.Is(err, directory.ErrBadPassword) {
					t.Fatalf("against a hanging server: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a call against a hanging server did not return")
			}
		}
		d.Close()
	}
	// A caller's own deadline is honoured too.
	d := newDir(t, Options{URLs: []string{h.URL()}, Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if _, err := d.Lookup(ctx, "alice"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("with a caller deadline: %v", err)
	}
	cancel()
	d.Close()
	// No goroutine is left behind (bounded wait; the test's own listener
	// goroutine accounts for one).
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestRestartRedial(t *testing.T) {
	s := startSlapd(t, directorytest.Users()[:2])
	d := newDir(t, Options{URLs: []string{s.URL}, BindDN: s.AdminDN, BindPassword: s.AdminPassword, Timeout: 10 * time.Second})
	ctx := context.Background()
	if _, err := d.Authenticate(ctx, alice.UID, alice.Password); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	// The pooled and idle connections are dead now; one call redials.
	if _, err := d.Lookup(ctx, alice.UID); err != nil {
		t.Fatalf("Lookup after restart: %v", err)
	}
	if _, err := d.Authenticate(ctx, alice.UID, alice.Password); err != nil {
		t.Fatalf("Authenticate after restart: %v", err)
	}
	s.Stop()
	if _, err := d.Lookup(ctx, alice.UID); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("Lookup with slapd stopped: %v", err)
	}
	if _, err := d.Authenticate(ctx, alice.UID, alice.Password); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("Authenticate with slapd stopped: %v", err)
	}
}

// TestPasswordChangeCached: with the cache in front, a password changed in
// slapd works at once and the old one stops working within the TTL.
func TestPasswordChangeCached(t *testing.T) {
	s := startSlapd(t, directorytest.Users()[:2])
	d := newDir(t, Options{URLs: []string{s.URL}, BindDN: s.AdminDN, BindPassword: s.AdminPassword})
	const ttl = 500 * time.Millisecond
	c, err := directory.NewCache(d, directory.CacheOptions{TTL: ttl, NegativeTTL: ttl / 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, alice.UID, alice.Password); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(alice.DN(directorytest.BaseDN), "changed-pw"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Authenticate(ctx, alice.UID, "changed-pw"); err != nil {
			t.Fatalf("new password: %v", err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.Authenticate(ctx, alice.UID, alice.Password)
		if errors.Is(err, directory.ErrBadPassword) {
			break
		}
		if err != nil {
			t.Fatalf("old password: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the old password still works long after the cache TTL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := c.Stats(); st.AuthHits == 0 {
		t.Errorf("no cache hits: %+v", st)
	}
}

// TestHostileFilter checks the filter a hostile name turns into: one
// equality assertion on uid whose value is the name, byte for byte.
func TestHostileFilter(t *testing.T) {
	for _, name := range directorytest.HostileNames() {
		if directory.CheckName(name) != nil {
			continue
		}
		p, err := ldap.CompileFilter(filter("(uid=%s)", ldap.EscapeFilter(name)))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if p.Tag != ldap.FilterEqualityMatch || len(p.Children) != 2 ||
			p.Children[0].Data.String() != "uid" || p.Children[1].Data.String() != name {
			t.Errorf("%q compiles to %s", name, ldap.FilterMap[uint64(p.Tag)])
		}
	}
}

// TestRejectedNamesNeverDial: names CheckName refuses and empty passwords
// do not even open a connection.
func TestRejectedNamesNeverDial(t *testing.T) {
	h := startHanging(t)
	d := newDir(t, Options{URLs: []string{h.URL()}, Timeout: time.Second})
	ctx := context.Background()
	for _, name := range []string{"", strings.Repeat("x", 10<<10), "\xff\xfe", "a\x00b"} {
		if _, err := d.Lookup(ctx, name); !errors.Is(err, directory.ErrNoSuchUser) {
			t.Errorf("Lookup(%.20q) = %v", name, err)
		}
		if _, err := d.Authenticate(ctx, name, "pw"); !errors.Is(err, directory.ErrNoSuchUser) {
			t.Errorf("Authenticate(%.20q) = %v", name, err)
		}
	}
	if _, err := d.Authenticate(ctx, "alice", ""); !errors.Is(err, directory.ErrBadPassword) {
		t.Errorf("empty password: %v", err)
	}
	if n := h.accepted.Load(); n != 0 {
		t.Fatalf("%d connections for names that must not reach LDAP", n)
	}
}

func TestSearchFormat(t *testing.T) {
	s := startSlapd(t, directorytest.Users()[:2])
	d := newDir(t, Options{URLs: []string{s.URL}, SearchFormat: "(|(uid=%s)(mail=%s))"})
	for _, name := range []string{"bob", "bob@example.com"} {
		u, err := d.Authenticate(context.Background(), name, "bob pw 2")
		if err != nil || u.UID != "bob" {
			t.Fatalf("%s: %+v %v", name, u, err)
		}
	}
	// A filter matching several entries is refused, not guessed.
	d2 := newDir(t, Options{URLs: []string{s.URL}, SearchFormat: "(&(objectClass=inetOrgPerson)(|(uid=%s)(uid=*)))"})
	if _, err := d2.Lookup(context.Background(), "bob"); !errors.Is(err, directory.ErrNoSuchUser) {
		t.Fatalf("ambiguous filter: %v", err)
	}
	for _, bad := range []string{"(uid=alice)", "(uid=%s", "uid=%s"} {
		if _, err := New(Options{URLs: []string{s.URL}, SearchFormat: bad}); err == nil {
			t.Errorf("search format %q accepted", bad)
		}
	}
	for _, bad := range []string{"http://x", "ldap://", "x"} {
		if _, err := New(Options{URLs: []string{bad}}); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}
