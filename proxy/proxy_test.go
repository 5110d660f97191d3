package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"msgplex/config"
	"msgplex/directory"
	"msgplex/proxy/sessionlog"
)

func TestLoginSpliceAndLog(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.line()
	lines := c.do("a1 LOGIN alice alicepw", "a1 OK")
	if !strings.Contains(strings.Join(lines, "\n"), "X-FAKESTORE") {
		t.Fatalf("backend capabilities not relayed: %q", lines)
	}
	who := c.do("a2 WHOAMI", "a2 OK")
	if !strings.HasPrefix(who[0], "* WHOAMI alice ") {
		t.Fatalf("whoami %q", who)
	}
	const size = 3 << 20
	c.send("a3 FETCH-BIG " + fmt.Sprint(size))
	hdr := c.line()
	if hdr != fmt.Sprintf("* 1 FETCH (BODY[] {%d}", size) {
		t.Fatalf("fetch header %q", hdr)
	}
	if n, err := io.CopyN(io.Discard, c.r, size); err != nil || n != size {
		t.Fatalf("literal: %d %v", n, err)
	}
	c.until("a3 OK")
	c.do("a4 LOGOUT", "a4 OK")
	c.c.Close()
	_, port, _ := net.SplitHostPort(e.store.Addr())
	log := e.waitLog("session end")
	for _, re := range []string{
		`^\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] mmp1 msgplex-proxy\[\d+\]: \(sid 0x[0-9a-f]+\) session start, client IP 127\.0\.0\.1:\d+, server IP ` + regexp.QuoteMeta(e.addr) + `$`,
		`\(sid 0x[0-9a-f]+\) login user alice, mailhost 127\.0\.0\.1:` + port + `$`,
		`\(sid 0x[0-9a-f]+\) \d+ C->S bytes, \d+ S->C bytes in \d+ seconds$`,
		`\(sid 0x[0-9a-f]+\) session end$`,
	} {
		if !regexp.MustCompile("(?m)" + re).MatchString(log) {
			t.Errorf("log lacks %s:\n%s", re, log)
		}
	}
	m := regexp.MustCompile(`(\d+) C->S bytes, (\d+) S->C bytes`).FindStringSubmatch(log)
	var c2s, s2c int64
	fmt.Sscan(m[1], &c2s)
	fmt.Sscan(m[2], &s2c)
	if c2s != int64(len("a2 WHOAMI\r\na3 FETCH-BIG 3145728\r\na4 LOGOUT\r\n")) || s2c < size || s2c > size+1000 {
		t.Errorf("byte counts c2s=%d s2c=%d", c2s, s2c)
	}
	if strings.Contains(log, "alicepw") || strings.Contains(log, "adminpw") {
		t.Fatal("password in session log")
	}
	sn := e.srv.Counters().Snapshot()
	if v, _ := sn.Get("global.numgoodlogins"); v != 1 {
		t.Errorf("numgoodlogins %d", v)
	}
}

func TestPipelinedAfterLogin(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.line()
	// LOGIN and two commands in one write: the proxy must pass them on.
	if _, err := c.c.Write([]byte("a1 LOGIN alice alicepw\r\na2 WHOAMI\r\na3 NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	c.until("a1 OK")
	if l := c.until("a2 OK"); !strings.HasPrefix(l[0], "* WHOAMI alice") {
		t.Fatalf("a2: %q", l)
	}
	c.until("a3 OK")
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.dir.add("holly", "pw", e.store.Addr(), directory.StatusHold)
	e.dir.add("ina", "pw", e.store.Addr(), directory.StatusInactive)
	e.dir.add("dis", "pw", e.store.Addr(), directory.StatusDisabled)
	e.dir.add("del", "pw", e.store.Addr(), directory.StatusDeleted)
	e.dir.add("rem", "pw", e.store.Addr(), directory.StatusRemoved)
	e.dir.add("nohost", "pw", "", directory.StatusActive)
	e.dir.add("nouid", "pw", e.store.Addr(), directory.StatusHold)
	e.dir.mu.Lock()
	nouid := e.dir.users["nouid"]
	nouid.user.UID = ""
	e.dir.users["nouid"] = nouid
	e.dir.mu.Unlock()
	for _, tc := range []struct{ user, pw, want, logWant string }{
		{"alice", "wrong", "NO [AUTHENTICATIONFAILED]", "login failed user alice [AUTHENTICATIONFAILED]: invalid credentials"},
		{"nobody", "x", "NO [AUTHENTICATIONFAILED]", "login failed user nobody [AUTHENTICATIONFAILED]: no such user"},
		{"unavailable", "x", "NO [UNAVAILABLE]", "[UNAVAILABLE]: directory unavailable"},
		{"holly", "pw", "NO [UNAVAILABLE]", "login failed user holly [UNAVAILABLE]: account on hold"},
		{"ina", "pw", "NO [UNAVAILABLE]", "login failed user ina [UNAVAILABLE]: account inactive"},
		{"dis", "pw", "NO [AUTHORIZATIONFAILED]", "login failed user dis [AUTHORIZATIONFAILED]: account disabled"},
		{"del", "pw", "NO [CONTACTADMIN]", "login failed user del [CONTACTADMIN]: account deleted"},
		{"rem", "pw", "NO [CONTACTADMIN]", "login failed user rem [CONTACTADMIN]: account removed"},
		{"nohost", "pw", "NO [UNAVAILABLE]", "no mailHost"},
		{"nouid", "pw", "NO [UNAVAILABLE]", "login failed user nouid [UNAVAILABLE]: account on hold"}, // no UID: the login name
	} {
		t.Run(tc.user, func(t *testing.T) {
			c := e.dial()
			c.line()
			c.do("a1 LOGIN "+tc.user+" "+tc.pw, "a1 "+tc.want)
			e.waitLog(tc.logWant)
		})
	}
}

func TestBackendDown(t *testing.T) {
	e := newEnv(t, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	e.dir.add("carol", "pw", dead, directory.StatusActive)
	c := e.dial()
	c.line()
	lines := c.do("a1 LOGIN carol pw", "a1 NO [UNAVAILABLE]")
	if !strings.HasPrefix(lines[0], "* OK [ALERT] Your mail server is temporarily unavailable") {
		t.Fatalf("no alert: %q", lines)
	}
	e.waitLog("login failed user carol [UNAVAILABLE]: store down at "+dead+": connect:", "connection refused, mailhost "+dead)
	// The session survives a refusal: alice still logs in on it.
	c.do("a2 LOGIN alice alicepw", "a2 OK")
}

func TestClientResetMidFetch(t *testing.T) {
	e := newEnv(t, nil)
	c := e.loginAlice()
	c.send("a2 FETCH-BIG 200000000")
	c.line()
	if _, err := io.CopyN(io.Discard, c.r, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.c.SetLinger(0)
	c.c.Close()
	e.waitLog("client socket IO error 104 (connection reset by peer)", "session end")
	log := e.waitLog("S->C bytes")
	if strings.Contains(log, "server socket IO error") {
		t.Fatalf("server blamed:\n%s", log)
	}
}

func TestServerReset(t *testing.T) {
	e := newEnv(t, nil)
	c := e.loginAlice()
	c.send("a2 RESET")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("connection survived the store's reset")
	}
	log := e.waitLog("server socket IO error 104 (connection reset by peer)", "session end")
	if strings.Contains(log, "client socket IO error") {
		t.Fatalf("client blamed:\n%s", log)
	}
}

func TestHalfClose(t *testing.T) {
	e := newEnv(t, nil)
	c := e.loginAlice()
	c.send("a2 NOOP")
	c.c.CloseWrite()
	c.until("a2 OK")
	if _, err := c.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after half-close: %v", err)
	}
	e.waitLog("client socket closed by peer", "session end")
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) { c.IdleTimeout = config.Duration(300 * time.Millisecond) })
	c := e.loginAlice()
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("idle session not closed")
	}
	e.waitLog("idle timeout", "session end")
}

func TestConnLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) { c.ConnLimits = 2 })
	a, b := e.dial(), e.dial()
	a.line()
	b.line()
	c := e.dial()
	if l := c.line(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Fatalf("third connection: %q", l)
	}
	e.waitLog("connection refused, client IP 127.0.0.1:", "(proxy.connlimits)")
	a.do("x LOGOUT", "x OK")
	// A slot is free again (bounded retry: release happens after LOGOUT).
	for i := 0; ; i++ {
		d := e.dial()
		if l := d.line(); strings.HasPrefix(l, "* OK") {
			break
		}
		if i > 200 {
			t.Fatal("slot never freed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := e.srv.Counters().Snapshot().Get("global.numfailedconnections"); v < 1 {
		t.Fatal("refusal not counted")
	}
}

func TestMaxConnections(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) { c.MaxConnections = 1 })
	a := e.dial()
	a.line()
	if l := e.dial().line(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Fatalf("second connection: %q", l)
	}
	e.waitLog("(proxy.maxconnections)")
}

func TestFailDelayApplied(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) {
		c.FailDelay = config.Duration(time.Second)
		c.FailDelayMax = config.Duration(4 * time.Second)
		c.MaxAuthFailures = 10
	})
	c := e.dial()
	c.line()
	var got []time.Duration
	for i, pw := range []string{"w1", "w2", "w3", "w4"} {
		c.do(fmt.Sprintf("a%d LOGIN alice %s", i, pw), fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED]", i))
	}
	for len(e.sleeps) > 0 {
		got = append(got, <-e.sleeps)
	}
	// Each failure is answered after its delay; the next attempt waits
	// what is left of it (nothing, as the fake sleep returns at once but
	// the clock does not move: the full delay again).
	max := time.Duration(0)
	for _, d := range got {
		if d > max {
			max = d
		}
	}
	if len(got) == 0 || max > 4*time.Second || max < 3*time.Second || got[0] > time.Second {
		t.Fatalf("delays %v, want growing to 4s", got)
	}
}

func TestShutdownDrains(t *testing.T) {
	e := newEnv(t, nil)
	spliced := e.loginAlice()
	pre := e.dial()
	pre.line()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(ctx) }()
	if l := pre.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("pre-auth session got %q, want BYE", l)
	}
	// The spliced session still works during the drain.
	spliced.do("b1 NOOP", "b1 OK")
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(waitMax):
		t.Fatal("Shutdown stuck")
	}
	if _, err := spliced.r.ReadString('\n'); err == nil {
		t.Fatal("spliced session survived Close")
	}
	e.waitLog("closed by proxy shutdown")
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Fatal("still accepting")
	}
}

func TestProxyProtocolTrusted(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) {
		c.TrustedLoadBalancers = []string{"127.0.0.1"}
		c.SendProxyProtocol = false
	})
	c := e.dial()
	c.send("PROXY TCP4 203.0.113.7 10.0.0.1 55555 143")
	c.line()
	c.do("a1 LOGIN alice alicepw", "a1 OK")
	e.waitLog("session start, client IP 203.0.113.7:55555, server IP 10.0.0.1:143")
}

func TestProxyProtocolUntrusted(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.line()
	c.send("PROXY TCP4 203.0.113.7 10.0.0.1 55555 143")
	if l := c.line(); strings.HasPrefix(l, "PROXY OK") || !strings.Contains(l, "BAD") {
		t.Fatalf("untrusted PROXY header: %q", l)
	}
	log := e.waitLog("session start")
	if strings.Contains(log, "203.0.113.7") {
		t.Fatal("untrusted header believed")
	}
}

func TestReloadLimits(t *testing.T) {
	e := newEnv(t, nil)
	keep := e.loginAlice()
	c := config.Default().Proxy
	c.AllowPlaintext = true
	c.StoreAdmin = config.Credential{User: "admin", Password: "adminpw"}
	c.MaxConnections = 1
	nd := &fakeDir{}
	nd.add("alice", "newpw", e.store.Addr(), directory.StatusActive)
	old, err := e.srv.Reload(c, nd)
	if err != nil || old != e.dir {
		t.Fatalf("Reload: %v", err)
	}
	keep.do("k1 NOOP", "k1 OK") // the running session survives
	if l := e.dial().line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("new limit not applied: %q", l)
	}
	keep.do("k2 LOGOUT", "k2 OK")
	keep.c.Close()
	for i := 0; ; i++ {
		d := e.dial()
		if l := d.line(); strings.HasPrefix(l, "* OK") {
			d.do("a1 LOGIN alice newpw", "a1 OK")
			break
		}
		if i > 200 {
			t.Fatal("slot never freed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetricsHandler(t *testing.T) {
	e := newEnv(t, nil)
	c := e.loginAlice()
	c.do("z LOGOUT", "z OK")
	c.c.Close()
	rec := &bytes.Buffer{}
	w := &respRecorder{buf: rec}
	req, _ := httpNewRequest("/metrics")
	e.srv.MetricsHandler().ServeHTTP(w, req)
	if !strings.Contains(rec.String(), "msgplex_proxy_global_numgoodlogins 1") {
		t.Fatalf("metrics:\n%s", rec)
	}
}

// TestProxyHeaderWithPipelinedCommands: a balancer's header and the
// client's first commands in one segment; nothing is lost.
func TestProxyHeaderWithPipelinedCommands(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) { c.TrustedLoadBalancers = []string{"127.0.0.0/8"} })
	c := e.dial()
	if _, err := c.c.Write([]byte("PROXY TCP4 198.51.100.1 10.0.0.1 1234 143\r\na1 LOGIN alice alicepw\r\na2 WHOAMI\r\n")); err != nil {
		t.Fatal(err)
	}
	c.line()
	c.until("a1 OK")
	if l := c.until("a2 OK"); !strings.HasPrefix(l[0], "* WHOAMI alice") {
		t.Fatalf("a2: %q", l)
	}
	e.waitLog("client IP 198.51.100.1:1234")
}

// TestIDAnswer: the proxy answers ID before login with its own parameters
// (one map for every session).
func TestIDAnswer(t *testing.T) {
	e := newEnv(t, nil)
	for range 2 {
		c := e.dial()
		c.line()
		lines := c.do(`a1 ID ("name" "test")`, "a1 OK")
		if want := `* ID ("name" "msgplex" "vendor" "msgplex")`; len(lines) != 2 || lines[0] != want {
			t.Fatalf("ID answer %q, want %q", lines, want)
		}
	}
}

// TestJSONLogSide: in the JSON session log, "socket closed by peer"
// carries the side as a field (sessionlog.Event.Side), with either engine.
func TestJSONLogSide(t *testing.T) {
	for _, engine := range []string{"epoll", "goroutines"} {
		t.Run(engine, func(t *testing.T) {
			jp := filepath.Join(t.TempDir(), "session.json")
			jl, err := sessionlog.Open(sessionlog.Options{Path: jp, Format: "json", Hostname: "mmp1"})
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvOpts(t, func(c *config.Proxy) { c.SpliceEngine = engine }, func(o *Options) { o.SessionLog = jl })
			e.log.Close() // the text log newEnvOpts opened; the JSON one is read instead
			e.log, e.logp = jl, jp
			c := e.loginAlice()
			c.do("a2 LOGOUT", "a2 OK")
			if _, err := c.r.ReadString('\n'); err != io.EOF { // the store's FIN, passed on
				t.Fatalf("after LOGOUT: %v", err)
			}
			c.c.Close()
			log := e.waitLog(`"event":"end"`)
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, `"event":"closed"`) {
					if !strings.Contains(l, `"side":"server"`) || !strings.Contains(l, `"msg":"server socket closed by peer"`) {
						t.Fatalf("closed line: %s", l)
					}
					return
				}
			}
			t.Fatalf("no closed line:\n%s", log)
		})
	}
}
