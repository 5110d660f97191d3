package backend

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"msgplex/proxy/backend/fakestore"
)

func startFake(t *testing.T, o fakestore.Options) *fakestore.Server {
	t.Helper()
	o.AdminUser, o.AdminPassword = "admin", "secret"
	s, err := fakestore.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func whoami(t *testing.T, c *Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("W WHOAMI\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func TestLoginVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    fakestore.Options
	}{
		{"sasl-ir", fakestore.Options{}},
		{"continuation", fakestore.Options{NoSASLIR: true}},
		{"no caps in OK", fakestore.Options{NoCapsInOK: true}},
		{"no caps in greeting", fakestore.Options{Greeting: "* OK hi"}},
		{"proxy protocol", fakestore.Options{ProxyProtocol: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t, tc.o)
			d := New(Options{AdminUser: "admin", AdminPassword: "secret", SendProxyProtocol: tc.o.ProxyProtocol, Timeout: 10 * time.Second})
			client := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4331}
			local := &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 143}
			c, err := d.Dial(context.Background(), s.Addr(), "alice", client, local)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !hasCap(c.Capabilities, "X-FAKESTORE") {
				t.Fatalf("post-login caps %v", c.Capabilities)
			}
			want := "* WHOAMI alice "
			if tc.o.ProxyProtocol {
				want += "10.1.2.3:4331"
			}
			if got := whoami(t, c); !strings.HasPrefix(got, want) {
				t.Fatalf("whoami %q want prefix %q", got, want)
			}
		})
	}
}

func TestRefusedNotMarkedDown(t *testing.T) {
	s := startFake(t, fakestore.Options{})
	d := New(Options{AdminUser: "admin", AdminPassword: "wrong"})
	_, err := d.Dial(context.Background(), s.Addr(), "alice", nil, nil)
	var be *Error
	if !errors.As(err, &be) || !be.Refused || !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v", err)
	}
	if d.Down(s.Addr()) {
		t.Fatal("refusing store marked down")
	}
}

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestFailoverAndDownMarks(t *testing.T) {
	s := startFake(t, fakestore.Options{})
	dead := deadAddr(t)
	_, livePort, _ := net.SplitHostPort(s.Addr())
	_, deadPort, _ := net.SplitHostPort(dead)
	// One host name resolving to a dead and a live address (same port
	// needed: use two names mapping to the two ports via LookupHost).
	now := time.Unix(1000, 0)
	lookups := 0
	d := New(Options{
		AdminUser: "admin", AdminPassword: "secret", Retry: time.Minute,
		Now: func() time.Time { return now },
		LookupHost: func(ctx context.Context, host string) ([]string, error) {
			lookups++
			return []string{"127.0.0.1", "127.0.0.2"}, nil
		},
	})
	_ = livePort
	// Mail host with the dead port: both addresses refuse.
	_, err := d.Dial(context.Background(), "store.test:"+deadPort, "alice", nil, nil)
	var be *Error
	if !errors.As(err, &be) || be.Refused || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("err %v", err)
	}
	if !d.Down("127.0.0.1:"+deadPort) || !d.Down("127.0.0.2:"+deadPort) {
		t.Fatal("dead addresses not marked down")
	}
	// All down: exactly one attempt, at the address marked down first.
	if got := d.order([]string{"127.0.0.1:" + deadPort, "127.0.0.2:" + deadPort}); len(got) != 1 {
		t.Fatalf("all down: order %v", got)
	}
	now = now.Add(2 * time.Minute)
	if d.Down("127.0.0.1:" + deadPort) {
		t.Fatal("mark outlived Retry")
	}
}

func TestFailoverToSecondAddress(t *testing.T) {
	s := startFake(t, fakestore.Options{})
	_, port, _ := net.SplitHostPort(s.Addr())
	// 127.0.0.2 is loopback too but nobody listens there on this port
	// unless the fake bound 0.0.0.0; the fake binds 127.0.0.1 only.
	d := New(Options{
		AdminUser: "admin", AdminPassword: "secret",
		LookupHost: func(ctx context.Context, host string) ([]string, error) {
			return []string{"127.0.0.2", "127.0.0.1"}, nil
		},
	})
	c, err := d.Dial(context.Background(), "store.test:"+port, "bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Addr != "127.0.0.1:"+port || !d.Down("127.0.0.2:"+port) {
		t.Fatalf("connected to %s; down marks wrong", c.Addr)
	}
	// The next login skips the down address.
	c2, err := d.Dial(context.Background(), "store.test:"+port, "bob", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
}

func TestTimeoutOnSilentStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			buf := make([]byte, 10)
			c.Read(buf) // never greets; returns when the dialer gives up
		}
	}()
	d := New(Options{Timeout: 200 * time.Millisecond})
	_, err = d.Dial(context.Background(), ln.Addr().String(), "alice", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "greeting") {
		t.Fatalf("err %v", err)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"store1":          "store1 1143",
		"store1:143":      "store1 143",
		"[::1]:993":       "::1 993",
		"10.0.0.1":        "10.0.0.1 1143",
		"store1.example.": "store1.example. 1143",
	} {
		h, p := hostPort(in, 1143)
		if h+" "+p != want {
			t.Errorf("hostPort(%q) = %s %s", in, h, p)
		}
	}
}

// TestSetOptionsDuringDial: a reload (SetOptions) while logins dial; run
// with -race, which reported Dial reading the options without the lock.
func TestSetOptionsDuringDial(t *testing.T) {
	s := startFake(t, fakestore.Options{})
	o := Options{AdminUser: "admin", AdminPassword: "secret", Timeout: 10 * time.Second}
	d := New(o)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			o.DefaultPort = 1000 + i
			d.SetOptions(o)
		}
	}()
	for range 10 {
		c, err := d.Dial(context.Background(), s.Addr(), "alice", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	<-done
}
