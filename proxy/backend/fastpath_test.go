package backend

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"msgplex/proxy/backend/fakestore"
)

// scripted is a store on 127.0.0.1 that runs the i-th script on its i-th
// connection and reports each script's verdict ("" for fine).
func scripted(t *testing.T, scripts ...func(c net.Conn, r *bufio.Reader) string) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	verdicts := make(chan string, len(scripts))
	go func() {
		for _, script := range scripts {
			c, err := ln.Accept()
			if err != nil {
				verdicts <- "accept: " + err.Error()
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			verdicts <- script(c, bufio.NewReader(c))
			c.Close()
		}
	}()
	return ln.Addr().String(), verdicts
}

func readCmd(r *bufio.Reader) string {
	l, _ := r.ReadString('\n')
	return strings.TrimRight(l, "\r\n")
}

const irAlice = "YWxpY2UAYWRtaW4Ac2VjcmV0" // alice\0admin\0secret

// stepwiseLogin greets first, then expects the SASL-IR login.
func stepwiseLogin(c net.Conn, r *bufio.Reader) string {
	c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n"))
	if l := readCmd(r); l != "A1 AUTHENTICATE PLAIN "+irAlice {
		return "stepwise: got " + l
	}
	c.Write([]byte("A1 OK [CAPABILITY IMAP4rev1 X-ONE] in\r\n"))
	return ""
}

func verdict(t *testing.T, v <-chan string) {
	t.Helper()
	select {
	case s := <-v:
		if s != "" {
			t.Fatal(s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("store script did not finish")
	}
}

func TestPipelinedAfterFirstLogin(t *testing.T) {
	addr, v := scripted(t, stepwiseLogin, func(c net.Conn, r *bufio.Reader) string {
		// No greeting yet: a pipelined login arrives anyway.
		if l := readCmd(r); l != "A1 AUTHENTICATE PLAIN "+irAlice {
			return "pipelined: got " + l
		}
		c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\nA1 OK [CAPABILITY IMAP4rev1 X-TWO] in\r\n* 1 EXISTS\r\n"))
		return ""
	})
	d := New(Options{AdminUser: "admin", AdminPassword: "secret"})
	for i, want := range []string{"X-ONE", "X-TWO"} {
		c, err := d.Dial(context.Background(), addr, "alice", nil, nil)
		if err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
		verdict(t, v)
		if !hasCap(c.Capabilities, want) {
			t.Fatalf("login %d: caps %v", i+1, c.Capabilities)
		}
		if i == 1 && string(c.Pending) != "* 1 EXISTS\r\n" {
			t.Fatalf("pending %q", c.Pending)
		}
		c.Close()
	}
}

func TestPipelinedRefusedRedoneStepwise(t *testing.T) {
	addr, v := scripted(t, stepwiseLogin,
		func(c net.Conn, r *bufio.Reader) string { // the store lost SASL-IR
			readCmd(r)
			c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\nA1 BAD no initial response here\r\n"))
			return ""
		},
		func(c net.Conn, r *bufio.Reader) string {
			c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"))
			if l := readCmd(r); l != "A1 AUTHENTICATE PLAIN" {
				return "continuation login: got " + l
			}
			c.Write([]byte("+ \r\n"))
			if l := readCmd(r); l != irAlice {
				return "continuation: got " + l
			}
			c.Write([]byte("A1 OK [CAPABILITY IMAP4rev1 X-THREE] in\r\n"))
			return ""
		},
		func(c net.Conn, r *bufio.Reader) string { // remembered: no pipelining now
			c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"))
			if l := readCmd(r); l != "A1 AUTHENTICATE PLAIN" {
				return "second continuation login: got " + l
			}
			c.Write([]byte("+ \r\n"))
			readCmd(r)
			c.Write([]byte("A1 OK in\r\n"))
			if l := readCmd(r); l != "A2 CAPABILITY" {
				return "want CAPABILITY, got " + l
			}
			c.Write([]byte("* CAPABILITY IMAP4rev1 X-FOUR\r\nA2 OK done\r\n"))
			return ""
		})
	d := New(Options{AdminUser: "admin", AdminPassword: "secret"})
	for i, want := range []string{"X-ONE", "X-THREE", "X-FOUR"} {
		c, err := d.Dial(context.Background(), addr, "alice", nil, nil)
		if err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
		verdict(t, v)
		if i == 1 {
			verdict(t, v) // the refused pipelined attempt and its redo
		}
		if !hasCap(c.Capabilities, want) {
			t.Fatalf("login %d: caps %v", i+1, c.Capabilities)
		}
		c.Close()
	}
}

func TestPostLoginCapabilitiesRemembered(t *testing.T) {
	s := startFake(t, fakestore.Options{NoCapsInOK: true, ProxyProtocol: true})
	now := time.Unix(1000, 0)
	d := New(Options{AdminUser: "admin", AdminPassword: "secret", SendProxyProtocol: true, Now: func() time.Time { return now }})
	client := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4331}
	local := &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 143}
	login := func() {
		t.Helper()
		c, err := d.Dial(context.Background(), s.Addr(), "alice", client, local)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !hasCap(c.Capabilities, "X-FAKESTORE") {
			t.Fatalf("caps %v", c.Capabilities)
		}
		if got := whoami(t, c); got != "* WHOAMI alice 10.1.2.3:4331" {
			t.Fatalf("whoami %q", got)
		}
	}
	login()
	login()
	if n := s.CapabilityCommands.Load(); n != 1 {
		t.Fatalf("%d CAPABILITY commands, want 1 (then remembered)", n)
	}
	now = now.Add(2 * time.Minute) // past CacheTTL: asked again
	login()
	if n := s.CapabilityCommands.Load(); n != 2 {
		t.Fatalf("%d CAPABILITY commands after CacheTTL, want 2", n)
	}
}

func TestHostNamesResolvedOncePerTTL(t *testing.T) {
	s := startFake(t, fakestore.Options{})
	_, port, _ := net.SplitHostPort(s.Addr())
	now := time.Unix(1000, 0)
	lookups := 0
	d := New(Options{
		AdminUser: "admin", AdminPassword: "secret", CacheTTL: time.Minute,
		Now: func() time.Time { return now },
		LookupHost: func(ctx context.Context, host string) ([]string, error) {
			lookups++
			return []string{"127.0.0.1"}, nil
		},
	})
	for i, want := range []int{1, 1, 2} {
		if i == 2 {
			now = now.Add(time.Minute)
		}
		c, err := d.Dial(context.Background(), "store.test:"+port, "bob", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if lookups != want {
			t.Fatalf("login %d: %d lookups, want %d", i+1, lookups, want)
		}
	}
	if _, err := d.Dial(context.Background(), s.Addr(), "bob", nil, nil); err != nil || lookups != 2 {
		t.Fatalf("IP literal: err %v, %d lookups", err, lookups)
	}
}
